//! Writing the shop: imports (all in one transaction), the demo seed, and what the dialogue
//! core changes (a cancelled order, a new return).
//!
//! An import upserts by each record's key (an order already stored is replaced, with its items)
//! and bumps `shop_revision`, which running servers watch to reload their snapshot.

use jiff::civil::Date;
use sqlx::{Sqlite, Transaction};

use super::database::Store;
use super::error::StoreError;
use crate::shop::{ShopData, demo};

impl Store {
    /// Writes every record of `data` in one transaction: all of them or, on any failure, none.
    /// Returns how many records it wrote.
    pub async fn import_shop(&self, data: &ShopData) -> Result<usize, StoreError> {
        let op = "import_shop";
        let mut tx = self.pool.begin().await.map_err(StoreError::query(op))?;
        let records = write_all(&mut tx, data)
            .await
            .map_err(StoreError::query(op))?;
        bump_revision(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(records)
    }

    /// Loads the demo shop, dated for `today`, into a database that never had a shop. Returns
    /// whether it did. A merchant's own import marks the shop seeded too, so deleting every
    /// demo record never brings it back.
    pub async fn seed_demo_shop(&self, today: Date) -> Result<bool, StoreError> {
        let op = "seed_demo_shop";
        let mut tx = self.pool.begin().await.map_err(StoreError::query(op))?;
        let seeded: i64 = sqlx::query_scalar("SELECT seeded FROM shop_revision WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if seeded != 0 {
            return Ok(false);
        }
        write_all(&mut tx, &demo::data(today))
            .await
            .map_err(StoreError::query(op))?;
        bump_revision(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(true)
    }

    /// Marks an order cancelled (the dialogue core checked it had not shipped).
    pub async fn cancel_order(&self, number: &str) -> Result<bool, StoreError> {
        let op = "cancel_order";
        let mut tx = self.pool.begin().await.map_err(StoreError::query(op))?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'cancelled' WHERE number = $1 AND status IN ('pending', 'paid')",
        )
        .bind(number)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        bump_revision(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(done.rows_affected() == 1)
    }

    /// Opens a return (RMA) for an order and returns its id (`RMA-` and the next number).
    pub async fn create_return(
        &self,
        order_number: &str,
        reason: &str,
        today: Date,
    ) -> Result<String, StoreError> {
        let op = "create_return";
        let mut tx = self.pool.begin().await.map_err(StoreError::query(op))?;
        let rmas: Vec<String> = sqlx::query_scalar("SELECT rma FROM returns")
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        let next = rmas
            .iter()
            .filter_map(|r| r.strip_prefix("RMA-")?.parse::<u64>().ok())
            .max()
            .unwrap_or(5000)
            + 1;
        let rma = format!("RMA-{next}");
        sqlx::query(
            "INSERT INTO returns (rma, order_number, status, reason, created_at) \
             VALUES ($1, $2, 'requested', $3, $4)",
        )
        .bind(&rma)
        .bind(order_number)
        .bind(reason)
        .bind(today.to_string())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        bump_revision(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(rma)
    }
}

async fn bump_revision(tx: &mut Transaction<'_, Sqlite>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE shop_revision SET revision = revision + 1, seeded = 1 WHERE id = 1")
        .execute(&mut **tx)
        .await
        .map(drop)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

async fn write_all(tx: &mut Transaction<'_, Sqlite>, d: &ShopData) -> Result<usize, sqlx::Error> {
    for c in &d.customers {
        sqlx::query(
            "INSERT INTO customers (id, name, phone, email, language) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone, \
             email = excluded.email, language = excluded.language",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.phone)
        .bind(&c.email)
        .bind(c.language.code())
        .execute(&mut **tx)
        .await?;
    }
    for p in &d.products {
        sqlx::query(
            "INSERT INTO products (sku, name, language, description, attributes, price, currency, stock) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, language = excluded.language, \
             description = excluded.description, attributes = excluded.attributes, \
             price = excluded.price, currency = excluded.currency, stock = excluded.stock",
        )
        .bind(&p.sku)
        .bind(&p.name)
        .bind(p.language.code())
        .bind(&p.description)
        .bind(json(&p.attributes))
        .bind(p.price.to_string())
        .bind(&p.currency)
        .bind(i64::from(p.stock))
        .execute(&mut **tx)
        .await?;
    }
    for o in &d.orders {
        sqlx::query(
            "INSERT INTO orders (number, customer_id, status, placed_at, total, currency, address) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (number) DO UPDATE SET customer_id = excluded.customer_id, \
             status = excluded.status, placed_at = excluded.placed_at, total = excluded.total, \
             currency = excluded.currency, address = excluded.address",
        )
        .bind(&o.number)
        .bind(&o.customer_id)
        .bind(o.status.as_str())
        .bind(o.placed_at.to_string())
        .bind(o.total.to_string())
        .bind(&o.currency)
        .bind(&o.address)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM order_items WHERE order_number = $1")
            .bind(&o.number)
            .execute(&mut **tx)
            .await?;
        for (seq, item) in o.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_items (order_number, seq, sku, quantity) VALUES ($1, $2, $3, $4)",
            )
            .bind(&o.number)
            .bind(seq as i64)
            .bind(&item.sku)
            .bind(i64::from(item.quantity))
            .execute(&mut **tx)
            .await?;
        }
    }
    for s in &d.shipments {
        sqlx::query(
            "INSERT INTO shipments (order_number, carrier, tracking_number, status, eta) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (order_number) DO UPDATE SET carrier = excluded.carrier, \
             tracking_number = excluded.tracking_number, status = excluded.status, eta = excluded.eta",
        )
        .bind(&s.order_number)
        .bind(&s.carrier)
        .bind(&s.tracking_number)
        .bind(s.status.as_str())
        .bind(s.eta.map(|d| d.to_string()))
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM shipment_events WHERE order_number = $1")
            .bind(&s.order_number)
            .execute(&mut **tx)
            .await?;
        for (seq, e) in s.events.iter().enumerate() {
            sqlx::query(
                "INSERT INTO shipment_events (order_number, seq, at, status, location, description) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&s.order_number)
            .bind(seq as i64)
            .bind(e.at.to_string())
            .bind(&e.status)
            .bind(&e.location)
            .bind(&e.description)
            .execute(&mut **tx)
            .await?;
        }
    }
    for r in &d.returns {
        sqlx::query(
            "INSERT INTO returns (rma, order_number, status, reason, created_at, refund_amount, refunded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (rma) DO UPDATE SET order_number = excluded.order_number, \
             status = excluded.status, reason = excluded.reason, created_at = excluded.created_at, \
             refund_amount = excluded.refund_amount, refunded_at = excluded.refunded_at",
        )
        .bind(&r.rma)
        .bind(&r.order_number)
        .bind(r.status.as_str())
        .bind(&r.reason)
        .bind(r.created_at.to_string())
        .bind(r.refund_amount.map(|m| m.to_string()))
        .bind(r.refunded_at.map(|d| d.to_string()))
        .execute(&mut **tx)
        .await?;
    }
    for p in &d.policies {
        sqlx::query(
            "INSERT INTO return_policies (language, return_window_days, conditions, refund_days) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (language) DO UPDATE SET return_window_days = excluded.return_window_days, \
             conditions = excluded.conditions, refund_days = excluded.refund_days",
        )
        .bind(p.language.code())
        .bind(i64::from(p.return_window_days))
        .bind(&p.conditions)
        .bind(i64::from(p.refund_days))
        .execute(&mut **tx)
        .await?;
    }
    for f in &d.faq {
        sqlx::query(
            "INSERT INTO faq (id, language, questions, answer, tags) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET language = excluded.language, \
             questions = excluded.questions, answer = excluded.answer, tags = excluded.tags",
        )
        .bind(&f.id)
        .bind(f.language.code())
        .bind(json(&f.questions))
        .bind(&f.answer)
        .bind(json(&f.tags))
        .execute(&mut **tx)
        .await?;
    }
    for p in &d.promotions {
        sqlx::query(
            "INSERT INTO promotions (code, language, title, description, starts, ends) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (code, language) DO UPDATE SET title = excluded.title, \
             description = excluded.description, starts = excluded.starts, ends = excluded.ends",
        )
        .bind(&p.code)
        .bind(p.language.code())
        .bind(&p.title)
        .bind(&p.description)
        .bind(p.starts.to_string())
        .bind(p.ends.to_string())
        .execute(&mut **tx)
        .await?;
    }
    for c in &d.collectibles {
        sqlx::query(
            "INSERT INTO collectibles (asset_id, name, owner_customer_id, licence, resale_allowed, royalty_percent) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (asset_id) DO UPDATE SET name = excluded.name, \
             owner_customer_id = excluded.owner_customer_id, licence = excluded.licence, \
             resale_allowed = excluded.resale_allowed, royalty_percent = excluded.royalty_percent",
        )
        .bind(&c.asset_id)
        .bind(&c.name)
        .bind(&c.owner_customer_id)
        .bind(&c.licence)
        .bind(i64::from(c.resale_allowed))
        .bind(i64::from(c.royalty_percent))
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM collectible_transfers WHERE asset_id = $1")
            .bind(&c.asset_id)
            .execute(&mut **tx)
            .await?;
        for (seq, t) in c.transfers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO collectible_transfers (asset_id, seq, from_customer_id, to_customer_id, at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&c.asset_id)
            .bind(seq as i64)
            .bind(&t.from_customer_id)
            .bind(&t.to_customer_id)
            .bind(t.at.to_string())
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(d.customers.len()
        + d.products.len()
        + d.orders.len()
        + d.shipments.len()
        + d.returns.len()
        + d.policies.len()
        + d.faq.len()
        + d.promotions.len()
        + d.collectibles.len())
}
