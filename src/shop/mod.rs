//! What the merchant's shop knows: customers, products, orders, shipments, returns, the return
//! policy, FAQ, promotions and digital collectibles.
//!
//! [`ShopData`] is the records as written (an import file, the demo dataset, the database);
//! [`Shop`] is an immutable snapshot of them, indexed for the dialogue core's lookups, which
//! are all in memory (a 10,000-entry FAQ is a few MB). The runtime swaps in a new snapshot when
//! the database's shop revision moves (`kefu shop import` from another process), so FAQ changes
//! reach the next turn without a restart.

pub mod demo;
pub mod import;
pub mod merchant;
pub mod records;

use std::collections::HashMap;

pub use records::{
    Collectible, Customer, FaqEntry, Lang, Money, Order, OrderItem, OrderStatus, Policy, Product,
    Promotion, Return, ReturnStatus, Shipment, ShipmentEvent, ShipmentStatus, Transfer,
};

/// Every record of a shop, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopData {
    pub customers: Vec<Customer>,
    pub products: Vec<Product>,
    pub orders: Vec<Order>,
    pub shipments: Vec<Shipment>,
    pub returns: Vec<Return>,
    pub policies: Vec<Policy>,
    pub faq: Vec<FaqEntry>,
    pub promotions: Vec<Promotion>,
    pub collectibles: Vec<Collectible>,
}

impl ShopData {
    /// Lays `live` records (a merchant API's answers) over these: a customer, product, order,
    /// shipment or return with the key of one already here replaces it, the rest are added.
    /// FAQ, policies and promotions stay as they are, in the same order.
    pub fn lay_over(&mut self, live: &ShopData) {
        fn lay<T: Clone, K: PartialEq>(base: &mut Vec<T>, live: &[T], key: impl Fn(&T) -> K) {
            for record in live {
                match base.iter_mut().find(|b| key(b) == key(record)) {
                    Some(old) => *old = record.clone(),
                    None => base.push(record.clone()),
                }
            }
        }
        lay(&mut self.customers, &live.customers, |c| c.id.clone());
        lay(&mut self.products, &live.products, |p| p.sku.clone());
        lay(&mut self.orders, &live.orders, |o| o.number.clone());
        lay(&mut self.shipments, &live.shipments, |s| {
            s.order_number.clone()
        });
        lay(&mut self.returns, &live.returns, |r| r.rma.clone());
    }

    /// Adds `other`'s records after these.
    pub fn append(&mut self, other: ShopData) {
        self.customers.extend(other.customers);
        self.products.extend(other.products);
        self.orders.extend(other.orders);
        self.shipments.extend(other.shipments);
        self.returns.extend(other.returns);
        self.policies.extend(other.policies);
        self.faq.extend(other.faq);
        self.promotions.extend(other.promotions);
        self.collectibles.extend(other.collectibles);
    }
}

/// An indexed, read-only snapshot of a shop.
#[derive(Debug, Default)]
pub struct Shop {
    data: ShopData,
    customer_by_id: HashMap<String, usize>,
    customer_by_phone: HashMap<String, usize>,
    order_by_number: HashMap<String, usize>,
    /// Per customer id, order indexes newest first.
    orders_of: HashMap<String, Vec<usize>>,
    shipment_of: HashMap<String, usize>,
    returns_of: HashMap<String, Vec<usize>>,
    product_by_sku: HashMap<String, usize>,
    collectible_by_id: HashMap<String, usize>,
}

impl Shop {
    pub fn new(data: ShopData) -> Shop {
        let mut shop = Shop::default();
        for (i, c) in data.customers.iter().enumerate() {
            shop.customer_by_id.insert(c.id.clone(), i);
            shop.customer_by_phone.insert(phone_key(&c.phone), i);
        }
        for (i, o) in data.orders.iter().enumerate() {
            shop.order_by_number.insert(o.number.clone(), i);
            shop.orders_of
                .entry(o.customer_id.clone())
                .or_default()
                .push(i);
        }
        for list in shop.orders_of.values_mut() {
            list.sort_by(|&a, &b| {
                let (a, b) = (&data.orders[a], &data.orders[b]);
                (b.placed_at, &b.number).cmp(&(a.placed_at, &a.number))
            });
        }
        for (i, s) in data.shipments.iter().enumerate() {
            shop.shipment_of.insert(s.order_number.clone(), i);
        }
        for (i, r) in data.returns.iter().enumerate() {
            shop.returns_of
                .entry(r.order_number.clone())
                .or_default()
                .push(i);
        }
        for (i, p) in data.products.iter().enumerate() {
            shop.product_by_sku.insert(p.sku.clone(), i);
        }
        for (i, c) in data.collectibles.iter().enumerate() {
            shop.collectible_by_id.insert(asset_key(&c.asset_id), i);
        }
        shop.data = data;
        shop
    }

    pub fn data(&self) -> &ShopData {
        &self.data
    }

    /// This shop with `live` records (a merchant API's answers) laid over it (see
    /// [`ShopData::lay_over`]).
    pub fn with_records(&self, live: &ShopData) -> Shop {
        let mut data = self.data.clone();
        data.lay_over(live);
        Shop::new(data)
    }

    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customer_by_id
            .get(id)
            .map(|&i| &self.data.customers[i])
    }

    /// The customer whose phone is `number`, however the caller's number is written
    /// (`sip:+1555…@host`, `+1 555 …`, `1555…`).
    pub fn customer_by_phone(&self, number: &str) -> Option<&Customer> {
        let key = phone_key(number);
        if key.len() < 7 {
            return None;
        }
        if let Some(&i) = self.customer_by_phone.get(&key) {
            return Some(&self.data.customers[i]);
        }
        // Without the country code: match on the national part when exactly one does.
        let mut found = self
            .customer_by_phone
            .iter()
            .filter(|(k, _)| k.ends_with(&key) || key.ends_with(k.as_str()));
        match (found.next(), found.next()) {
            (Some((_, &i)), None) => Some(&self.data.customers[i]),
            _ => None,
        }
    }

    pub fn order(&self, number: &str) -> Option<&Order> {
        self.order_by_number
            .get(number)
            .map(|&i| &self.data.orders[i])
    }

    /// A customer's orders, newest first.
    pub fn orders_of(&self, customer_id: &str) -> impl Iterator<Item = &Order> {
        self.orders_of
            .get(customer_id)
            .into_iter()
            .flatten()
            .map(|&i| &self.data.orders[i])
    }

    pub fn shipment(&self, order_number: &str) -> Option<&Shipment> {
        self.shipment_of
            .get(order_number)
            .map(|&i| &self.data.shipments[i])
    }

    /// The order's returns, oldest first.
    pub fn returns_of(&self, order_number: &str) -> impl Iterator<Item = &Return> {
        self.returns_of
            .get(order_number)
            .into_iter()
            .flatten()
            .map(|&i| &self.data.returns[i])
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.product_by_sku
            .get(sku)
            .map(|&i| &self.data.products[i])
    }

    pub fn products(&self) -> &[Product] {
        &self.data.products
    }

    pub fn collectible(&self, asset_id: &str) -> Option<&Collectible> {
        self.collectible_by_id
            .get(&asset_key(asset_id))
            .map(|&i| &self.data.collectibles[i])
    }

    pub fn collectibles(&self) -> &[Collectible] {
        &self.data.collectibles
    }

    /// The return policy in `lang`, else any.
    pub fn policy(&self, lang: Lang) -> Option<&Policy> {
        let policies = &self.data.policies;
        policies
            .iter()
            .find(|p| p.language == lang)
            .or(policies.first())
    }

    /// Days after delivery a return is accepted: the policy's, else 30.
    pub fn return_window_days(&self, lang: Lang) -> u32 {
        self.policy(lang).map_or(30, |p| p.return_window_days)
    }

    /// Business days from a received return to the refund: the policy's, else 5.
    pub fn refund_days(&self, lang: Lang) -> u32 {
        self.policy(lang).map_or(5, |p| p.refund_days)
    }

    pub fn faq(&self) -> &[FaqEntry] {
        &self.data.faq
    }

    pub fn promotions(&self) -> &[Promotion] {
        &self.data.promotions
    }
}

/// A phone number's digits, for matching.
pub fn phone_key(number: &str) -> String {
    let number = number.strip_prefix("sip:").unwrap_or(number);
    let user = number.split(['@', ';']).next().unwrap_or("");
    user.chars().filter(char::is_ascii_digit).collect()
}

/// Asset ids compare without case and separators ("art 0007" = "ART-0007").
pub fn asset_key(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_shop_is_indexed() {
        let shop = Shop::new(demo::data(demo::ANCHOR));
        let alice = shop
            .customer_by_phone("sip:+15551230001@127.0.0.1")
            .unwrap();
        assert_eq!(alice.id, "C001");
        assert_eq!(shop.customer_by_phone("5551230001").unwrap().id, "C001");
        assert!(shop.customer_by_phone("12").is_none());
        let newest = shop.orders_of("C001").next().unwrap();
        assert_eq!(newest.number, "10023");
        assert!(shop.shipment("10023").is_some());
        assert_eq!(shop.collectible("art 0007").unwrap().asset_id, "ART-0007");
        assert!(shop.policy(Lang::Zh).is_some());
    }

    #[test]
    fn live_records_replace_or_join_the_snapshot() {
        let shop = Shop::new(demo::data(demo::ANCHOR));
        let mut newer = shop.order("10023").unwrap().clone();
        newer.status = OrderStatus::Delivered;
        let mut extra = newer.clone();
        extra.number = "88001".into();
        let live = ShopData {
            orders: vec![newer, extra],
            ..ShopData::default()
        };
        let laid = shop.with_records(&live);
        assert_eq!(laid.order("10023").unwrap().status, OrderStatus::Delivered);
        assert!(laid.order("88001").is_some());
        assert_eq!(laid.data().orders.len(), shop.data().orders.len() + 1);
        assert_eq!(laid.faq(), shop.faq());
        assert_eq!(
            laid.orders_of("C001").count(),
            shop.orders_of("C001").count() + 1
        );
    }
}
