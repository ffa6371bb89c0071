//! The demo shop (`sip-config/shop/*.json`), loaded into an empty database on first start so a
//! fresh install answers questions about real-looking orders.
//!
//! The files are dated around [`ANCHOR`]; loading moves every date by the days between it and
//! today, so the newest order is always a few days old ("an order from Tuesday") and parcels
//! are still on their way.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

use super::ShopData;
use super::import::{Format, Kind, parse};

/// The day the demo files call today.
pub const ANCHOR: Date = jiff::civil::date(2026, 11, 20);

const FILES: [(Kind, &str); 9] = [
    (
        Kind::Customers,
        include_str!("../../sip-config/shop/customers.json"),
    ),
    (
        Kind::Products,
        include_str!("../../sip-config/shop/products.json"),
    ),
    (
        Kind::Orders,
        include_str!("../../sip-config/shop/orders.json"),
    ),
    (
        Kind::Shipments,
        include_str!("../../sip-config/shop/shipments.json"),
    ),
    (
        Kind::Returns,
        include_str!("../../sip-config/shop/returns.json"),
    ),
    (
        Kind::Policy,
        include_str!("../../sip-config/shop/policy.json"),
    ),
    (Kind::Faq, include_str!("../../sip-config/shop/faq.json")),
    (
        Kind::Promotions,
        include_str!("../../sip-config/shop/promotions.json"),
    ),
    (
        Kind::Collectibles,
        include_str!("../../sip-config/shop/collectibles.json"),
    ),
];

/// The demo shop with its dates moved so that [`ANCHOR`] falls on `today`.
pub fn data(today: Date) -> ShopData {
    let mut data = ShopData::default();
    for (kind, text) in FILES {
        let parsed = parse(kind, Format::Json, text);
        // The files ship inside the binary and `every_demo_record_loads` reads them all.
        assert!(
            parsed.errors.is_empty(),
            "demo {}: {:?}",
            kind.name(),
            parsed.errors
        );
        append(&mut data, parsed.data);
    }
    let shift = (today - ANCHOR).get_days();
    move_dates(&mut data, shift);
    data
}

/// Appends every record of `more` to `data`.
pub fn append(data: &mut ShopData, more: ShopData) {
    data.customers.extend(more.customers);
    data.products.extend(more.products);
    data.orders.extend(more.orders);
    data.shipments.extend(more.shipments);
    data.returns.extend(more.returns);
    data.policies.extend(more.policies);
    data.faq.extend(more.faq);
    data.promotions.extend(more.promotions);
    data.collectibles.extend(more.collectibles);
}

fn move_dates(data: &mut ShopData, days: i32) {
    if days == 0 {
        return;
    }
    let day = |d: &mut Date| {
        if let Ok(moved) = d.checked_add(days.days()) {
            *d = moved;
        }
    };
    let instant = |t: &mut Timestamp| {
        if let Ok(moved) = t.checked_add((i64::from(days) * 24).hours()) {
            *t = moved;
        }
    };
    for o in &mut data.orders {
        day(&mut o.placed_at);
    }
    for s in &mut data.shipments {
        s.eta.as_mut().map(day);
        s.events.iter_mut().for_each(|e| instant(&mut e.at));
    }
    for r in &mut data.returns {
        day(&mut r.created_at);
        r.refunded_at.as_mut().map(day);
    }
    for p in &mut data.promotions {
        day(&mut p.starts);
        day(&mut p.ends);
    }
    for c in &mut data.collectibles {
        c.transfers.iter_mut().for_each(|t| day(&mut t.at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shop::Shop;
    use crate::shop::import::check_references;

    #[test]
    fn every_demo_record_loads_and_points_at_real_records() {
        let shop = Shop::new(data(ANCHOR));
        for (kind, text) in FILES {
            let mut parsed = parse(kind, Format::Json, text);
            check_references(&mut parsed, &shop);
            assert!(
                parsed.errors.is_empty(),
                "{}: {:?}",
                kind.name(),
                parsed.errors
            );
        }
        let data = shop.data();
        assert!(data.customers.len() >= 24);
        assert!(data.faq.len() >= 40);
        assert!(data.faq.iter().any(|f| f.language == crate::shop::Lang::Zh));
        assert!(!data.collectibles.is_empty());
    }

    #[test]
    fn dates_follow_today() {
        let later = jiff::civil::date(2027, 3, 5);
        let moved = data(later);
        let order = moved.orders.iter().find(|o| o.number == "10023").unwrap();
        assert_eq!(order.placed_at, jiff::civil::date(2027, 3, 2));
    }
}
