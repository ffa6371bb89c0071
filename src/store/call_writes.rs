//! What a live call writes: one small autocommit statement per fact, so a crash loses nothing
//! already written and no call waits on another call's transaction.
//!
//! Answer and end live in the `calls` row; the timeline (`call_events`) holds the rest. The
//! per-call sequence number is computed inside the INSERT, which is safe because each call's
//! events come from the one task that runs the call.

use std::path::Path;

use jiff::Timestamp;

use super::database::Store;
use super::error::StoreError;
use super::record::Direction;
use super::timestamp::format_timestamp;

/// A call that just started: the INVITE arrived or was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    /// kefu's own id for the call.
    pub id: String,
    pub sip_call_id: String,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub started_at: Timestamp,
}

impl Store {
    /// Records a new, live call for this store's node.
    pub async fn insert_call(&self, call: &NewCall) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calls (id, sip_call_id, direction, from_uri, to_uri, node, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&call.id)
        .bind(&call.sip_call_id)
        .bind(call.direction.as_str())
        .bind(&call.from)
        .bind(&call.to)
        .bind(&*self.node)
        .bind(format_timestamp(call.started_at))
        .execute(&self.pool)
        .await
        .map_err(|source| match &source {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::DuplicateId(call.id.clone())
            }
            _ => StoreError::Query {
                op: "insert_call",
                source,
            },
        })?;
        Ok(())
    }

    /// Records the answer and the negotiated codec. A later answer (re-INVITE) keeps the first
    /// answer time but updates the codec.
    pub async fn mark_answered(
        &self,
        id: &str,
        at: Timestamp,
        codec: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE calls SET answered_at = COALESCE(answered_at, $2), codec = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(format_timestamp(at))
        .bind(codec)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("mark_answered"))?;
        found(done.rows_affected(), id)
    }

    /// Appends one entry to the call's timeline. `kind` is one of [`super::event_kind`] (or a
    /// new stable code); `detail` is free text for people, e.g. the node name or a digit.
    pub async fn add_event(
        &self,
        id: &str,
        at: Timestamp,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO call_events (call_id, seq, at, kind, detail) \
             SELECT id, COALESCE((SELECT MAX(seq) FROM call_events WHERE call_id = $1), 0) + 1, \
                    $2, $3, $4 \
             FROM calls WHERE id = $1",
        )
        .bind(id)
        .bind(format_timestamp(at))
        .bind(kind)
        .bind(detail)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("add_event"))?;
        found(done.rows_affected(), id)
    }

    /// Appends a pressed key to the call's `digits`. The timeline entry, with its time, is a
    /// separate [`Store::add_event`] with kind `digit`.
    pub async fn append_digit(&self, id: &str, digit: char) -> Result<(), StoreError> {
        let digit = dtmf_key(digit)?;
        let mut buf = [0u8; 4];
        let done = sqlx::query("UPDATE calls SET digits = digits || $2 WHERE id = $1")
            .bind(id)
            .bind(&*digit.encode_utf8(&mut buf))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("append_digit"))?;
        found(done.rows_affected(), id)
    }

    /// Appends a flow node (or, first, the flow name) to the call's `flow_path`.
    pub async fn push_flow_step(&self, id: &str, node: &str) -> Result<(), StoreError> {
        // `flow_path` is always a JSON array of strings written only here, so appending the
        // JSON-encoded name before its closing bracket keeps it valid, in one portable UPDATE.
        let element = serde_json::to_string(node).expect("a str always serializes to JSON");
        let done = sqlx::query(
            "UPDATE calls SET flow_path = CASE WHEN flow_path = '[]' THEN '[' || $2 || ']' \
             ELSE substr(flow_path, 1, length(flow_path) - 1) || ',' || $2 || ']' END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(element)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("push_flow_step"))?;
        found(done.rows_affected(), id)
    }

    /// Records where the call's recording is written.
    pub async fn set_recording(&self, id: &str, path: &Path) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE calls SET recording = $2 WHERE id = $1")
            .bind(id)
            .bind(path.to_string_lossy().as_ref())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("set_recording"))?;
        found(done.rows_affected(), id)
    }

    /// Ends the call with a stable cause code. The first end wins: ending an ended call changes
    /// nothing and returns `false`.
    pub async fn end_call(&self, id: &str, at: Timestamp, cause: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE calls SET ended_at = $2, end_cause = $3 WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(id)
        .bind(format_timestamp(at))
        .bind(cause)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("end_call"))?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        // Rare path: tell "already ended" from "no such call".
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM calls WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("end_call"))?;
        match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound(id.to_owned())),
        }
    }
}

/// A DTMF key as stored: `0`-`9`, `*`, `#`, `A`-`D` (lower case accepted).
fn dtmf_key(key: char) -> Result<char, StoreError> {
    match key {
        '0'..='9' | '*' | '#' | 'A'..='D' => Ok(key),
        'a'..='d' => Ok(key.to_ascii_uppercase()),
        other => Err(StoreError::InvalidDigit(other)),
    }
}

fn found(rows: u64, id: &str) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(id.to_owned()))
    } else {
        Ok(())
    }
}
