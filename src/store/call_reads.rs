//! Reading call records back: listings, one call with its timeline, end-cause counts.

use jiff::Timestamp;
use serde::Serialize;
use sqlx::{SqliteConnection, FromRow};

use super::database::Store;
use super::error::StoreError;
use super::record::{CallEvent, CallRecord, Direction};
use super::timestamp::format_timestamp;

/// Which calls [`Store::list_calls`] returns, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    /// At most this many calls.
    pub limit: u32,
    /// Only calls that have not ended.
    pub live_only: bool,
    /// Only calls started at or after this instant.
    pub since: Option<Timestamp>,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            limit: 50,
            live_only: false,
            since: None,
        }
    }
}

/// How many ended calls share one end cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndCauseCount {
    pub end_cause: String,
    pub calls: u64,
}

/// `SELECT <every calls column> FROM calls <rest>`, as one literal so sqlx can cache it.
macro_rules! select_calls {
    ($($rest:literal),+) => {
        concat!(
            "SELECT id, sip_call_id, direction, from_uri, to_uri, node, started_at, answered_at, \
             ended_at, end_cause, codec, digits, flow_path, recording FROM calls ",
            $($rest),+
        )
    };
}

impl Store {
    /// Calls matching `filter`, newest first, each with its timeline events.
    pub async fn list_calls(&self, filter: &ListFilter) -> Result<Vec<CallRecord>, StoreError> {
        const OP: &str = "list_calls";
        // One literal per filter shape keeps each a cached prepared statement and lets the
        // planner use the started_at and live-call indices. Newest first; the id breaks ties
        // between calls started in the same millisecond.
        let sql = match (filter.live_only, filter.since.is_some()) {
            (false, false) => select_calls!("ORDER BY started_at DESC, id DESC LIMIT $1"),
            (true, false) => select_calls!(
                "WHERE ended_at IS NULL ORDER BY started_at DESC, id DESC LIMIT $1"
            ),
            (false, true) => select_calls!(
                "WHERE started_at >= $2 ORDER BY started_at DESC, id DESC LIMIT $1"
            ),
            (true, true) => select_calls!(
                "WHERE ended_at IS NULL AND started_at >= $2 ",
                "ORDER BY started_at DESC, id DESC LIMIT $1"
            ),
        };
        // One read transaction: the rows and their events come from the same snapshot.
        let mut tx = self.pool.begin().await.map_err(StoreError::query(OP))?;
        let mut query = sqlx::query_as::<_, CallRow>(sql).bind(i64::from(filter.limit));
        if let Some(since) = filter.since {
            query = query.bind(format_timestamp(since));
        }
        let rows = query
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        let mut calls = Vec::with_capacity(rows.len());
        for row in rows {
            let events = events_of(&mut tx, &row.id, OP).await?;
            calls.push(row.into_record(events)?);
        }
        tx.commit().await.map_err(StoreError::query(OP))?;
        Ok(calls)
    }

    /// One call with its timeline, found by its id, its SIP Call-ID or a unique prefix of its
    /// id (in that order of preference).
    pub async fn get_call(&self, given: &str) -> Result<CallRecord, StoreError> {
        const OP: &str = "get_call";
        if given.is_empty() {
            return Err(StoreError::NotFound(String::new()));
        }
        let mut tx = self.pool.begin().await.map_err(StoreError::query(OP))?;
        let mut rows = sqlx::query_as::<_, CallRow>(select_calls!("WHERE id = $1"))
            .bind(given)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if rows.is_empty() {
            rows = sqlx::query_as::<_, CallRow>(select_calls!(
                "WHERE sip_call_id = $1 ORDER BY id LIMIT 5"
            ))
            .bind(given)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        }
        if rows.is_empty() {
            // substr/length rather than LIKE: case-sensitive and free of wildcards in both
            // SQLite and PostgreSQL. A scan, but only for a person typing a short id.
            rows = sqlx::query_as::<_, CallRow>(select_calls!(
                "WHERE substr(id, 1, length($1)) = $1 ORDER BY id LIMIT 5"
            ))
            .bind(given)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        }
        let row = match rows.len() {
            0 => return Err(StoreError::NotFound(given.to_owned())),
            1 => rows.pop().expect("one row checked above"),
            _ => {
                return Err(StoreError::Ambiguous {
                    given: given.to_owned(),
                    matches: rows.into_iter().map(|r| r.id).collect(),
                });
            }
        };
        let events = events_of(&mut tx, &row.id, OP).await?;
        tx.commit().await.map_err(StoreError::query(OP))?;
        row.into_record(events)
    }

    /// Ended calls per end cause, most frequent first.
    pub async fn count_by_end_cause(&self) -> Result<Vec<EndCauseCount>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(end_cause, 'unknown') AS cause, COUNT(*) AS n FROM calls \
             WHERE ended_at IS NOT NULL GROUP BY cause ORDER BY n DESC, cause",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("count_by_end_cause"))?;
        Ok(rows
            .into_iter()
            .map(|(end_cause, n)| EndCauseCount {
                end_cause,
                calls: u64::try_from(n).unwrap_or(0),
            })
            .collect())
    }
}

async fn events_of(
    conn: &mut SqliteConnection,
    call_id: &str,
    op: &'static str,
) -> Result<Vec<CallEvent>, StoreError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT at, kind, detail FROM call_events WHERE call_id = $1 ORDER BY seq")
            .bind(call_id)
            .fetch_all(conn)
            .await
            .map_err(StoreError::query(op))?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, detail)| CallEvent { at, kind, detail })
        .collect())
}

/// A `calls` row as stored.
#[derive(FromRow)]
struct CallRow {
    id: String,
    sip_call_id: String,
    direction: String,
    from_uri: String,
    to_uri: String,
    node: String,
    started_at: String,
    answered_at: Option<String>,
    ended_at: Option<String>,
    end_cause: Option<String>,
    codec: Option<String>,
    digits: String,
    flow_path: String,
    recording: Option<String>,
}

impl CallRow {
    fn into_record(self, events: Vec<CallEvent>) -> Result<CallRecord, StoreError> {
        let Some(direction) = Direction::parse(&self.direction) else {
            return Err(StoreError::Corrupt {
                id: self.id,
                column: "direction",
                value: self.direction,
            });
        };
        let flow_path: Vec<String> = match serde_json::from_str(&self.flow_path) {
            Ok(path) => path,
            Err(_) => {
                return Err(StoreError::Corrupt {
                    id: self.id,
                    column: "flow_path",
                    value: self.flow_path,
                });
            }
        };
        Ok(CallRecord {
            id: self.id,
            sip_call_id: self.sip_call_id,
            direction,
            from: self.from_uri,
            to: self.to_uri,
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            end_cause: self.end_cause,
            codec: self.codec,
            digits: self.digits,
            flow_path,
            recording: self.recording,
            node: self.node,
            events,
        })
    }
}
