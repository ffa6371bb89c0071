//! Reading a merchant's shop file: CSV or JSON, one kind of record per file.
//!
//! Every bad line is reported with its number and the reason, and the good ones are kept, so
//! the caller (`kefu shop import`) can import them or nothing. JSON is an array of objects
//! (`[{...}, {...}]`, a record's line is where its `{` is) or JSON Lines (`.jsonl`). CSV has a
//! header row of the same field names; a field holding a list is written in one cell:
//! `questions`/`tags` as `a | b`, `items` as `KET-BLUE x2; MUG-01`, `attributes` as
//! `color=blue; size=large`, and `events`/`transfers` as a JSON array.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Shop, ShopData, asset_key, phone_key};

/// The kinds of shop record, one per import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Products,
    Orders,
    Shipments,
    Returns,
    Policy,
    Faq,
    Promotions,
    Collectibles,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Customers,
        Kind::Products,
        Kind::Orders,
        Kind::Shipments,
        Kind::Returns,
        Kind::Policy,
        Kind::Faq,
        Kind::Promotions,
        Kind::Collectibles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Products => "products",
            Kind::Orders => "orders",
            Kind::Shipments => "shipments",
            Kind::Returns => "returns",
            Kind::Policy => "policy",
            Kind::Faq => "faq",
            Kind::Promotions => "promotions",
            Kind::Collectibles => "collectibles",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind a file is named for (`orders.csv`, `faq-2026.json`).
    pub fn of_file(path: &Path) -> Option<Kind> {
        let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| stem == k.name() || stem.starts_with(&format!("{}-", k.name())))
    }

    /// The fields a record of this kind may have (CSV headers, JSON keys).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Customers => &["id", "name", "phone", "email", "language"],
            Kind::Products => &[
                "sku",
                "name",
                "language",
                "description",
                "attributes",
                "price",
                "currency",
                "stock",
            ],
            Kind::Orders => &[
                "number",
                "customer_id",
                "status",
                "placed_at",
                "total",
                "currency",
                "address",
                "items",
            ],
            Kind::Shipments => &[
                "order_number",
                "carrier",
                "tracking_number",
                "status",
                "eta",
                "events",
            ],
            Kind::Returns => &[
                "rma",
                "order_number",
                "status",
                "reason",
                "created_at",
                "refund_amount",
                "refunded_at",
            ],
            Kind::Policy => &[
                "language",
                "return_window_days",
                "conditions",
                "refund_days",
            ],
            Kind::Faq => &["id", "language", "questions", "answer", "tags"],
            Kind::Promotions => &["code", "language", "title", "description", "starts", "ends"],
            Kind::Collectibles => &[
                "asset_id",
                "name",
                "owner_customer_id",
                "licence",
                "resale_allowed",
                "royalty_percent",
                "transfers",
            ],
        }
    }
}

/// The file layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    JsonLines,
}

impl Format {
    pub fn of_file(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// A line that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What a file held: its good records (in `data`, under the file's kind, with the line each
/// came from in `lines`) and its bad lines.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub kind: Kind,
    pub data: ShopData,
    pub lines: Vec<usize>,
    pub errors: Vec<LineError>,
}

impl Parsed {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Reads `text` as records of `kind`, checking each on its own and against the others in the
/// file (duplicates); see [`check_references`] for links to the rest of the shop.
pub fn parse(kind: Kind, format: Format, text: &str) -> Parsed {
    let rows = match format {
        Format::Csv => csv_rows(kind, text),
        Format::Json => json_rows(text),
        Format::JsonLines => json_line_rows(text),
    };
    parse_rows(kind, rows)
}

/// Checks records that arrived as JSON values (a merchant's live API) the way [`parse`] checks
/// a file's; a record's "line" is its position, from 1.
pub fn parse_values(kind: Kind, values: Vec<Value>) -> Parsed {
    parse_rows(
        kind,
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| Ok((i + 1, v)))
            .collect(),
    )
}

fn parse_rows(kind: Kind, rows: Vec<Row>) -> Parsed {
    let mut parsed = Parsed {
        kind,
        data: ShopData::default(),
        lines: Vec::new(),
        errors: Vec::new(),
    };
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let (line, value) = match row {
            Ok(row) => row,
            Err(error) => {
                parsed.errors.push(error);
                continue;
            }
        };
        let outcome = unknown_field(kind, &value)
            .map_or_else(|| push(kind, value, &mut parsed.data), Err)
            .and_then(|key| match first_line_of.get(&key) {
                Some(first) => {
                    pop(kind, &mut parsed.data);
                    Err(format!("duplicate {key} (first on line {first})"))
                }
                None => {
                    first_line_of.insert(key, line);
                    Ok(())
                }
            });
        match outcome {
            Ok(()) => parsed.lines.push(line),
            Err(reason) => parsed.errors.push(LineError { line, reason }),
        }
    }
    parsed
}

fn unknown_field(kind: Kind, value: &Value) -> Option<String> {
    let Value::Object(object) = value else {
        return Some("expected an object with the record's fields".into());
    };
    let fields = kind.fields();
    object
        .keys()
        .find(|k| !fields.contains(&k.as_str()))
        .map(|k| {
            format!(
                "unknown field `{k}` for {} (fields: {})",
                kind.name(),
                fields.join(", ")
            )
        })
}

/// Adds one record to `data` after its own checks; returns its key (for duplicates).
fn push(kind: Kind, value: Value, data: &mut ShopData) -> Result<String, String> {
    match kind {
        Kind::Customers => {
            let c: super::Customer = record(value)?;
            nonempty("id", &c.id)?;
            nonempty("name", &c.name)?;
            if phone_key(&c.phone).len() < 7 {
                return Err(format!("phone \"{}\" has fewer than 7 digits", c.phone));
            }
            data.customers.push(c);
            Ok(format!(
                "customer {}",
                data.customers.last().map_or("", |c| &c.id)
            ))
        }
        Kind::Products => {
            let p: super::Product = record(value)?;
            nonempty("sku", &p.sku)?;
            nonempty("name", &p.name)?;
            let key = format!("product {}", p.sku);
            data.products.push(p);
            Ok(key)
        }
        Kind::Orders => {
            let o: super::Order = record(value)?;
            if o.number.is_empty() || !o.number.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "order number \"{}\" must be letters and digits (callers say it)",
                    o.number
                ));
            }
            if o.items.is_empty() {
                return Err("an order needs at least one item".into());
            }
            if let Some(item) = o.items.iter().find(|i| i.quantity == 0) {
                return Err(format!("item {} has quantity 0", item.sku));
            }
            let key = format!("order {}", o.number);
            data.orders.push(o);
            Ok(key)
        }
        Kind::Shipments => {
            let s: super::Shipment = record(value)?;
            nonempty("tracking_number", &s.tracking_number)?;
            nonempty("carrier", &s.carrier)?;
            let key = format!("shipment for order {}", s.order_number);
            data.shipments.push(s);
            Ok(key)
        }
        Kind::Returns => {
            let r: super::Return = record(value)?;
            nonempty("rma", &r.rma)?;
            let key = format!("return {}", r.rma);
            data.returns.push(r);
            Ok(key)
        }
        Kind::Policy => {
            let p: super::Policy = record(value)?;
            let key = format!("policy for {}", p.language.code());
            data.policies.push(p);
            Ok(key)
        }
        Kind::Faq => {
            let f: super::FaqEntry = record(value)?;
            nonempty("id", &f.id)?;
            nonempty("answer", &f.answer)?;
            if f.questions.iter().all(|q| q.trim().is_empty()) {
                return Err("an FAQ entry needs at least one question".into());
            }
            let key = format!("faq {}", f.id);
            data.faq.push(f);
            Ok(key)
        }
        Kind::Promotions => {
            let p: super::Promotion = record(value)?;
            nonempty("code", &p.code)?;
            if p.ends < p.starts {
                return Err(format!("ends {} is before starts {}", p.ends, p.starts));
            }
            let key = format!("promotion {} ({})", p.code, p.language.code());
            data.promotions.push(p);
            Ok(key)
        }
        Kind::Collectibles => {
            let c: super::Collectible = record(value)?;
            nonempty("asset_id", &c.asset_id)?;
            if let Some(last) = c.transfers.last()
                && last.to_customer_id != c.owner_customer_id
            {
                return Err(format!(
                    "the last transfer goes to {}, but the owner is {}",
                    last.to_customer_id, c.owner_customer_id
                ));
            }
            if c.royalty_percent > 100 {
                return Err(format!("royalty_percent {} is over 100", c.royalty_percent));
            }
            let key = format!("collectible {}", asset_key(&c.asset_id));
            data.collectibles.push(c);
            Ok(key)
        }
    }
}

/// Undoes the last [`push`] of `kind` (a duplicate).
fn pop(kind: Kind, data: &mut ShopData) {
    match kind {
        Kind::Customers => drop(data.customers.pop()),
        Kind::Products => drop(data.products.pop()),
        Kind::Orders => drop(data.orders.pop()),
        Kind::Shipments => drop(data.shipments.pop()),
        Kind::Returns => drop(data.returns.pop()),
        Kind::Policy => drop(data.policies.pop()),
        Kind::Faq => drop(data.faq.pop()),
        Kind::Promotions => drop(data.promotions.pop()),
        Kind::Collectibles => drop(data.collectibles.pop()),
    }
}

fn record<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn nonempty(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("`{field}` is empty"))
    } else {
        Ok(())
    }
}

/// Checks what the file's records point at (customers, products, orders) against the shop
/// they will join plus the file itself, and moves the records that point at nothing into
/// `parsed.errors`.
pub fn check_references(parsed: &mut Parsed, shop: &Shop) {
    let data = &parsed.data;
    let customer =
        |id: &str| shop.customer(id).is_some() || data.customers.iter().any(|c| c.id == id);
    let product =
        |sku: &str| shop.product(sku).is_some() || data.products.iter().any(|p| p.sku == sku);
    let order = |n: &str| shop.order(n).is_some() || data.orders.iter().any(|o| o.number == n);
    let problems: Vec<Option<String>> = match parsed.kind {
        Kind::Orders => data
            .orders
            .iter()
            .map(|o| {
                if !customer(&o.customer_id) {
                    return Some(format!("unknown customer {}", o.customer_id));
                }
                o.items
                    .iter()
                    .find(|i| !product(&i.sku))
                    .map(|i| format!("unknown product {}", i.sku))
            })
            .collect(),
        Kind::Shipments => data
            .shipments
            .iter()
            .map(|s| (!order(&s.order_number)).then(|| format!("unknown order {}", s.order_number)))
            .collect(),
        Kind::Returns => data
            .returns
            .iter()
            .map(|r| (!order(&r.order_number)).then(|| format!("unknown order {}", r.order_number)))
            .collect(),
        Kind::Collectibles => data
            .collectibles
            .iter()
            .map(|c| {
                std::iter::once(c.owner_customer_id.as_str())
                    .chain(c.transfers.iter().flat_map(|t| {
                        t.from_customer_id
                            .as_deref()
                            .into_iter()
                            .chain([t.to_customer_id.as_str()])
                    }))
                    .find(|id| !customer(id))
                    .map(|id| format!("unknown customer {id}"))
            })
            .collect(),
        _ => return,
    };
    let lines = std::mem::take(&mut parsed.lines);
    for (line, problem) in lines.iter().zip(&problems) {
        match problem {
            None => parsed.lines.push(*line),
            Some(reason) => parsed.errors.push(LineError {
                line: *line,
                reason: reason.clone(),
            }),
        }
    }
    let mut keep = problems.iter().map(Option::is_none);
    let mut kept = || keep.next().unwrap_or(true);
    let data = &mut parsed.data;
    match parsed.kind {
        Kind::Orders => data.orders.retain(|_| kept()),
        Kind::Shipments => data.shipments.retain(|_| kept()),
        Kind::Returns => data.returns.retain(|_| kept()),
        Kind::Collectibles => data.collectibles.retain(|_| kept()),
        _ => {}
    }
    parsed.errors.sort_by_key(|e| e.line);
}

type Row = Result<(usize, Value), LineError>;

fn csv_rows(kind: Kind, text: &str) -> Vec<Row> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![Err(LineError {
                line: 1,
                reason: format!("unreadable header row: {e}"),
            })];
        }
    };
    let fields = kind.fields();
    if let Some(unknown) = headers.iter().find(|h| !fields.contains(h)) {
        return vec![Err(LineError {
            line: 1,
            reason: format!(
                "unknown column `{unknown}` for {} (columns: {})",
                kind.name(),
                fields.join(", ")
            ),
        })];
    }
    let mut rows = Vec::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                rows.push(Err(LineError {
                    line,
                    reason: format!("unreadable CSV row: {e}"),
                }));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut object = Map::new();
        let mut bad = None;
        for (header, cell) in headers.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            match csv_cell(header, cell) {
                Ok(value) => {
                    object.insert(header.to_string(), value);
                }
                Err(reason) => {
                    bad = Some(format!("column `{header}`: {reason}"));
                    break;
                }
            }
        }
        rows.push(match bad {
            Some(reason) => Err(LineError { line, reason }),
            None => Ok((line, Value::Object(object))),
        });
    }
    rows
}

/// One CSV cell as the JSON value its field takes.
fn csv_cell(field: &str, cell: &str) -> Result<Value, String> {
    let strings = |sep: char| {
        Value::Array(
            cell.split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        )
    };
    Ok(match field {
        "questions" | "tags" => strings('|'),
        "items" => {
            let mut items = Vec::new();
            for item in cell.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let (sku, quantity) = match item.rsplit_once(" x") {
                    Some((sku, n)) => (
                        sku.trim(),
                        n.trim()
                            .parse::<u32>()
                            .map_err(|_| format!("\"{item}\" is not `SKU xN`"))?,
                    ),
                    None => (item, 1),
                };
                items.push(serde_json::json!({ "sku": sku, "quantity": quantity }));
            }
            Value::Array(items)
        }
        "attributes" => {
            let mut object = Map::new();
            for pair in cell.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("\"{pair}\" is not `name=value`"))?;
                object.insert(k.trim().into(), Value::String(v.trim().into()));
            }
            Value::Object(object)
        }
        "events" | "transfers" => {
            serde_json::from_str(cell).map_err(|e| format!("not a JSON array: {e}"))?
        }
        "stock" | "return_window_days" | "refund_days" | "royalty_percent" => Value::Number(
            cell.parse::<u32>()
                .map_err(|_| format!("\"{cell}\" is not a whole number"))?
                .into(),
        ),
        "resale_allowed" => Value::Bool(match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => true,
            "false" | "no" | "0" => false,
            _ => return Err(format!("\"{cell}\" is not true or false")),
        }),
        _ => Value::String(cell.into()),
    })
}

fn json_rows(text: &str) -> Vec<Row> {
    let values: Vec<Value> = match serde_json::from_str(text) {
        Ok(Value::Array(values)) => values,
        Ok(_) => {
            return vec![Err(LineError {
                line: 1,
                reason: "expected a JSON array of records".into(),
            })];
        }
        Err(e) => {
            return vec![Err(LineError {
                line: e.line(),
                reason: format!("not valid JSON: {e}"),
            })];
        }
    };
    let lines = element_lines(text);
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Ok((lines.get(i).copied().unwrap_or(0), value)))
        .collect()
}

fn json_line_rows(text: &str) -> Vec<Row> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .map_err(|e| LineError {
                    line: i + 1,
                    reason: format!("not valid JSON: {e}"),
                })
        })
        .collect()
}

/// The line each element of a top-level JSON array starts on.
fn element_lines(text: &str) -> Vec<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let (mut in_string, mut escaped, mut expecting) = (false, false, false);
    let mut lines = Vec::new();
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting && !c.is_whitespace() && c != ',' && c != ']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_formats_come_from_file_names() {
        assert_eq!(Kind::of_file(Path::new("x/orders.csv")), Some(Kind::Orders));
        assert_eq!(Kind::of_file(Path::new("faq-2026.json")), Some(Kind::Faq));
        assert_eq!(Kind::of_file(Path::new("stuff.csv")), None);
        assert_eq!(
            Format::of_file(Path::new("a.JSONL")),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::of_file(Path::new("a.txt")), None);
    }

    #[test]
    fn csv_cells_hold_lists() {
        let text = "number,customer_id,status,placed_at,total,currency,address,items\n\
                    10023,C001,shipped,2026-11-17,79.80,USD,1 Main St,KET-BLUE x2; MUG-01\n";
        let parsed = parse(Kind::Orders, Format::Csv, text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let order = &parsed.data.orders[0];
        assert_eq!(order.items.len(), 2);
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.items[1].quantity, 1);
        assert_eq!(parsed.lines, [2]);
    }

    #[test]
    fn every_bad_line_is_named_and_the_good_ones_kept() {
        let text = "id,language,questions,answer,tags\n\
                    faq-1,en,How long is shipping? | When will it come,Five days.,shipping\n\
                    faq-2,fr,Bonjour,Oui.,\n\
                    faq-3,en,,An answer with no question.,\n\
                    faq-1,en,Again?,Dup.,\n\
                    faq-4,en,\"unterminated\n";
        let parsed = parse(Kind::Faq, Format::Csv, text);
        assert_eq!(parsed.lines, [2]);
        let errors: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
        assert!(
            errors[0].starts_with("line 3: unknown variant `fr`"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("line 4: missing field `questions`"),
            "{errors:?}"
        );
        assert_eq!(errors[2], "line 5: duplicate faq faq-1 (first on line 2)");
        assert!(
            errors[3].starts_with("line 6: unreadable CSV row"),
            "{errors:?}"
        );
    }

    #[test]
    fn an_unknown_column_is_named() {
        let parsed = parse(Kind::Customers, Format::Csv, "id,name,colour\nC1,A,red\n");
        assert_eq!(parsed.errors.len(), 1);
        assert!(
            parsed.errors[0]
                .reason
                .starts_with("unknown column `colour`")
        );
    }

    #[test]
    fn json_records_report_the_line_they_start_on() {
        let text = "[\n  {\"id\": \"C1\", \"name\": \"A\", \"phone\": \"+15551230009\", \"language\": \"en\"},\n  {\n    \"id\": \"C2\", \"name\": \"B\", \"phone\": \"12\", \"language\": \"en\"\n  }\n]";
        let parsed = parse(Kind::Customers, Format::Json, text);
        assert_eq!(parsed.lines, [2]);
        assert_eq!(parsed.errors[0].line, 3);
        assert!(parsed.errors[0].reason.contains("fewer than 7 digits"));
        let broken = parse(Kind::Customers, Format::Json, "[\n{\"id\": }\n]");
        assert_eq!(broken.errors[0].line, 2);
    }

    #[test]
    fn references_to_nothing_are_bad_lines() {
        let shop = Shop::new(super::super::demo::data(super::super::demo::ANCHOR));
        let text = "order_number,carrier,tracking_number,status\n\
                    10023,UPS,1Z999,in_transit\n\
                    99999,UPS,1Z998,in_transit\n";
        let mut parsed = parse(Kind::Shipments, Format::Csv, text);
        check_references(&mut parsed, &shop);
        assert_eq!(parsed.lines, [2]);
        assert_eq!(parsed.data.shipments.len(), 1);
        assert_eq!(parsed.errors[0].to_string(), "line 3: unknown order 99999");
    }
}
