//! Reading the whole shop into memory, and its revision (for reloading when it changes).

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::database::Store;
use super::error::StoreError;
use crate::shop::{
    Collectible, Customer, FaqEntry, Lang, Money, Order, OrderItem, Policy, Product, Promotion,
    Return, Shipment, ShipmentEvent, ShopData, Transfer,
};

type Bad = (&'static str, String, String);
type ProductRow = (String, String, String, String, String, String, String, i64);
type ReturnRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// The shop's revision: it moves on every import and every change the dialogue makes.
    pub async fn shop_revision(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT revision FROM shop_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("shop_revision"))
    }

    /// Every shop record, with the revision they were read at.
    pub async fn load_shop(&self) -> Result<(i64, ShopData), StoreError> {
        let op = "load_shop";
        let q = StoreError::query(op);
        let mut tx = self.pool.begin().await.map_err(q)?;
        let q = || StoreError::query(op);
        let revision: i64 = sqlx::query_scalar("SELECT revision FROM shop_revision WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(q())?;
        let corrupt = |(column, key, value): Bad| StoreError::ShopCorrupt { column, key, value };
        let mut data = ShopData::default();

        let rows: Vec<(String, String, String, String, String)> =
            sqlx::query_as("SELECT id, name, phone, email, language FROM customers ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .map_err(q())?;
        for (id, name, phone, email, language) in rows {
            let language = lang(&id, &language).map_err(corrupt)?;
            data.customers.push(Customer {
                id,
                name,
                phone,
                email,
                language,
            });
        }

        let rows: Vec<ProductRow> = sqlx::query_as(
            "SELECT sku, name, language, description, attributes, price, currency, stock \
                 FROM products ORDER BY sku",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (sku, name, language, description, attributes, price, currency, stock) in rows {
            data.products.push(Product {
                language: lang(&sku, &language).map_err(corrupt)?,
                attributes: from_json("attributes", &sku, &attributes).map_err(corrupt)?,
                price: money("price", &sku, &price).map_err(corrupt)?,
                stock: u32::try_from(stock).unwrap_or(0),
                sku,
                name,
                description,
                currency,
            });
        }

        let mut items: HashMap<String, Vec<OrderItem>> = HashMap::new();
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT order_number, sku, quantity FROM order_items ORDER BY order_number, seq",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (number, sku, quantity) in rows {
            items.entry(number).or_default().push(OrderItem {
                sku,
                quantity: u32::try_from(quantity).unwrap_or(0),
            });
        }
        let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT number, customer_id, status, placed_at, total, currency, address \
             FROM orders ORDER BY number",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (number, customer_id, status, placed_at, total, currency, address) in rows {
            data.orders.push(Order {
                status: from_text("status", &number, &status).map_err(corrupt)?,
                placed_at: from_text("placed_at", &number, &placed_at).map_err(corrupt)?,
                total: money("total", &number, &total).map_err(corrupt)?,
                items: items.remove(&number).unwrap_or_default(),
                number,
                customer_id,
                currency,
                address,
            });
        }

        let mut events: HashMap<String, Vec<ShipmentEvent>> = HashMap::new();
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT order_number, at, status, location, description FROM shipment_events \
             ORDER BY order_number, seq",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (number, at, status, location, description) in rows {
            let at = from_text("shipment_events.at", &number, &at).map_err(corrupt)?;
            events.entry(number).or_default().push(ShipmentEvent {
                at,
                status,
                location,
                description,
            });
        }
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT order_number, carrier, tracking_number, status, eta FROM shipments \
             ORDER BY order_number",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (order_number, carrier, tracking_number, status, eta) in rows {
            data.shipments.push(Shipment {
                status: from_text("shipments.status", &order_number, &status).map_err(corrupt)?,
                eta: eta
                    .map(|e| from_text("eta", &order_number, &e))
                    .transpose()
                    .map_err(corrupt)?,
                events: events.remove(&order_number).unwrap_or_default(),
                order_number,
                carrier,
                tracking_number,
            });
        }

        let rows: Vec<ReturnRow> = sqlx::query_as(
            "SELECT rma, order_number, status, reason, created_at, refund_amount, refunded_at \
             FROM returns ORDER BY created_at, rma",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (rma, order_number, status, reason, created_at, amount, refunded_at) in rows {
            data.returns.push(Return {
                status: from_text("returns.status", &rma, &status).map_err(corrupt)?,
                created_at: from_text("created_at", &rma, &created_at).map_err(corrupt)?,
                refund_amount: amount
                    .map(|a| money("refund_amount", &rma, &a))
                    .transpose()
                    .map_err(corrupt)?,
                refunded_at: refunded_at
                    .map(|d| from_text("refunded_at", &rma, &d))
                    .transpose()
                    .map_err(corrupt)?,
                rma,
                order_number,
                reason,
            });
        }

        let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT language, return_window_days, conditions, refund_days FROM return_policies \
             ORDER BY language",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (language, window, conditions, refund_days) in rows {
            data.policies.push(Policy {
                language: lang("policy", &language).map_err(corrupt)?,
                return_window_days: u32::try_from(window).unwrap_or(0),
                conditions,
                refund_days: u32::try_from(refund_days).unwrap_or(0),
            });
        }

        let rows: Vec<(String, String, String, String, String)> =
            sqlx::query_as("SELECT id, language, questions, answer, tags FROM faq ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .map_err(q())?;
        for (id, language, questions, answer, tags) in rows {
            data.faq.push(FaqEntry {
                language: lang(&id, &language).map_err(corrupt)?,
                questions: from_json("questions", &id, &questions).map_err(corrupt)?,
                tags: from_json("tags", &id, &tags).map_err(corrupt)?,
                id,
                answer,
            });
        }

        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT code, language, title, description, starts, ends FROM promotions \
             ORDER BY starts, code",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (code, language, title, description, starts, ends) in rows {
            data.promotions.push(Promotion {
                language: lang(&code, &language).map_err(corrupt)?,
                starts: from_text("starts", &code, &starts).map_err(corrupt)?,
                ends: from_text("ends", &code, &ends).map_err(corrupt)?,
                code,
                title,
                description,
            });
        }

        let mut transfers: HashMap<String, Vec<Transfer>> = HashMap::new();
        let rows: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT asset_id, from_customer_id, to_customer_id, at FROM collectible_transfers \
             ORDER BY asset_id, seq",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (asset_id, from_customer_id, to_customer_id, at) in rows {
            let at = from_text("transfers.at", &asset_id, &at).map_err(corrupt)?;
            transfers.entry(asset_id).or_default().push(Transfer {
                from_customer_id,
                to_customer_id,
                at,
            });
        }
        let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT asset_id, name, owner_customer_id, licence, resale_allowed, royalty_percent \
             FROM collectibles ORDER BY asset_id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(q())?;
        for (asset_id, name, owner_customer_id, licence, resale, royalty) in rows {
            data.collectibles.push(Collectible {
                transfers: transfers.remove(&asset_id).unwrap_or_default(),
                resale_allowed: resale != 0,
                royalty_percent: u32::try_from(royalty).unwrap_or(0),
                asset_id,
                name,
                owner_customer_id,
                licence,
            });
        }
        tx.commit().await.map_err(q())?;
        Ok((revision, data))
    }
}

fn lang(key: &str, code: &str) -> Result<Lang, Bad> {
    Lang::parse(code).ok_or(("language", key.to_string(), code.to_string()))
}

fn money(column: &'static str, key: &str, text: &str) -> Result<Money, Bad> {
    Money::parse(text).ok_or((column, key.to_string(), text.to_string()))
}

/// A value stored as its text form (a date, a status), read back as an import reads it.
fn from_text<T: DeserializeOwned>(column: &'static str, key: &str, text: &str) -> Result<T, Bad> {
    serde_json::from_value(serde_json::Value::String(text.into()))
        .map_err(|_| (column, key.to_string(), text.to_string()))
}

fn from_json<T: DeserializeOwned>(column: &'static str, key: &str, text: &str) -> Result<T, Bad> {
    serde_json::from_str(text).map_err(|_| (column, key.to_string(), text.to_string()))
}
