//! What a merchant's live order system answers (`[merchant]` in kefu.toml; the client is
//! `runtime::merchant`): a JSON object with the records that go with an order or a customer,
//! in the same fields as `kefu shop import`: `{"customers": [...], "orders": [...],
//! "shipments": [...], "returns": [...], "products": [...]}`, any of them absent. Each record
//! is checked as an import file's is, so a bad answer is named, never half used.

use serde_json::Value;

use super::ShopData;
use super::import::{self, Kind};

/// The kinds an answer may carry, in the order they are checked.
const KINDS: [Kind; 5] = [
    Kind::Customers,
    Kind::Products,
    Kind::Orders,
    Kind::Shipments,
    Kind::Returns,
];

/// The records of an answer, checked as `kefu shop import` checks a file.
pub fn records(text: &str) -> Result<ShopData, String> {
    let mut object = match serde_json::from_str(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err("expected a JSON object of record lists".into()),
        Err(e) => return Err(format!("not valid JSON: {e}")),
    };
    let mut data = ShopData::default();
    for kind in KINDS {
        let values = match object.remove(kind.name()) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(values)) => values,
            Some(_) => return Err(format!("`{}` is not a list", kind.name())),
        };
        let parsed = import::parse_values(kind, values);
        if let Some(e) = parsed.errors.first() {
            return Err(format!("{} record {}: {}", kind.name(), e.line, e.reason));
        }
        data.append(parsed.data);
    }
    if let Some(key) = object.keys().next() {
        return Err(format!(
            "unknown list `{key}` (lists: customers, products, orders, shipments, returns)"
        ));
    }
    Ok(data)
}

/// `template` with `key` replaced by `value`, percent-encoded for a URL.
pub fn fill(template: &str, key: &str, value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    template.replace(key, &encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a merchant's system answers for order 77001 (shared with the chat test).
    const ORDER: &str = include_str!("../../tests/data/merchant-77001.json");

    #[test]
    fn an_answer_is_checked_like_an_import_file() {
        let data = records(ORDER).expect("valid answer");
        assert_eq!(data.orders[0].number, "77001");
        assert_eq!(data.shipments[0].carrier, "UPS");

        let e = records(r#"{"orders": [{"number": "7-7", "items": []}]}"#).unwrap_err();
        assert!(e.starts_with("orders record 1: "), "{e}");
        let e = records(r#"{"order": []}"#).unwrap_err();
        assert!(e.contains("unknown list `order`"), "{e}");
        let e = records("[1, 2]").unwrap_err();
        assert!(e.contains("JSON object"), "{e}");
        let e = records("{\"orders\": ").unwrap_err();
        assert!(e.starts_with("not valid JSON"), "{e}");
        let e = records(r#"{"orders": {}}"#).unwrap_err();
        assert!(e.contains("`orders` is not a list"), "{e}");
    }

    #[test]
    fn templates_are_filled_percent_encoded() {
        assert_eq!(
            fill(
                "http://shop/api/customers?phone={phone}",
                "{phone}",
                "+1 555/01"
            ),
            "http://shop/api/customers?phone=%2B1%20555%2F01"
        );
        assert_eq!(
            fill("http://shop/o/{order}", "{order}", "10023"),
            "http://shop/o/10023"
        );
    }
}
