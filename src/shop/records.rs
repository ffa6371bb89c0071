//! One struct per kind of shop record, as a merchant's import file and the demo dataset write
//! them (JSON field names = CSV headers). Dates are `YYYY-MM-DD`, timestamps RFC 3339, money a
//! decimal string ("39.90") so no float ever rounds a price.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A language the shop speaks to callers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: String,
    pub name: String,
    /// E.164 (`+15551230001`); the caller's number is matched against it.
    pub phone: String,
    #[serde(default)]
    pub email: String,
    pub language: Lang,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub sku: String,
    pub name: String,
    pub language: Lang,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub price: Money,
    pub currency: String,
    pub stock: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
        }
    }

    /// Not yet handed to a carrier: the address can change and the order can be cancelled.
    pub fn before_shipping(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Paid)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub number: String,
    pub customer_id: String,
    pub status: OrderStatus,
    pub placed_at: Date,
    pub total: Money,
    pub currency: String,
    pub address: String,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::LabelCreated => "label_created",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::OutForDelivery => "out_for_delivery",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Exception => "exception",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    pub order_number: String,
    pub carrier: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    #[serde(default)]
    pub eta: Option<Date>,
    #[serde(default)]
    pub events: Vec<ShipmentEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentEvent {
    pub at: Timestamp,
    pub status: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Received,
    Refunded,
    Rejected,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Received => "received",
            ReturnStatus::Refunded => "refunded",
            ReturnStatus::Rejected => "rejected",
        }
    }
}

/// A return (RMA) and its refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Return {
    pub rma: String,
    pub order_number: String,
    pub status: ReturnStatus,
    #[serde(default)]
    pub reason: String,
    pub created_at: Date,
    #[serde(default)]
    pub refund_amount: Option<Money>,
    #[serde(default)]
    pub refunded_at: Option<Date>,
}

/// The return policy, one per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub language: Lang,
    pub return_window_days: u32,
    pub conditions: String,
    /// Business days from a received return to the refund.
    pub refund_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    pub id: String,
    pub language: Lang,
    /// Ways a caller asks it; retrieval matches against all of them.
    pub questions: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub code: String,
    pub language: Lang,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub starts: Date,
    pub ends: Date,
}

/// A digital collectible and the chain of who owned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collectible {
    pub asset_id: String,
    pub name: String,
    pub owner_customer_id: String,
    #[serde(default)]
    pub licence: String,
    pub resale_allowed: bool,
    #[serde(default)]
    pub royalty_percent: u32,
    /// Oldest first; the first has no `from_customer_id` (minted).
    #[serde(default)]
    pub transfers: Vec<Transfer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    #[serde(default)]
    pub from_customer_id: Option<String>,
    pub to_customer_id: String,
    pub at: Date,
}

/// An amount of money in hundredths, written and read as a decimal string ("39.90").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    pub cents: i64,
}

impl Money {
    pub fn parse(text: &str) -> Option<Money> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
            return None;
        }
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
        Some(Money {
            cents: whole.checked_mul(100)?.checked_add(fraction)?,
        })
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "\"{text}\" is not an amount (write it like \"39.90\")"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_and_writes_decimal_strings() {
        assert_eq!(Money::parse("39.90"), Some(Money { cents: 3990 }));
        assert_eq!(Money::parse("5"), Some(Money { cents: 500 }));
        assert_eq!(Money::parse("0.5"), Some(Money { cents: 50 }));
        assert_eq!(Money { cents: 3990 }.to_string(), "39.90");
        for bad in ["", "-1", "1.234", "1,50", "abc", ".5"] {
            assert_eq!(Money::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_bad_status_names_the_choices() {
        let error = serde_json::from_str::<OrderStatus>("\"shiped\"").unwrap_err();
        assert!(error.to_string().contains("expected one of"), "{error}");
    }
}
