//! Reading call records back: listings, one call with its timeline, end-cause counts.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;
use sqlx::{FromRow, SqliteConnection};

use super::database::Store;
use super::error::StoreError;
use super::record::{CallEvent, CallRecord, Direction, intents_of, transcript_of};
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

/// `SELECT <every calls column> FROM calls <rest>` as one `&'static str`, the SQL text sqlx 0.9
/// takes without `AssertSqlSafe`; each distinct text is prepared once per connection.
macro_rules! select_calls {
    ($($rest:literal),+) => {
        concat!(
            "SELECT id, sip_call_id, direction, from_uri, to_uri, node, started_at, answered_at, \
             ended_at, end_cause, codec, digits, flow_path, recording FROM calls ",
            $($rest),+
        )
    };
}

/// The calls query of a listing and the query of those same calls' events, for one `WHERE`.
/// Newest first; the id breaks ties between calls started in the same millisecond.
macro_rules! listing {
    ($filter:literal) => {
        (
            select_calls!($filter, " ORDER BY started_at DESC, id DESC LIMIT $1"),
            concat!(
                "SELECT call_id, at, kind, detail FROM call_events WHERE call_id IN ",
                "(SELECT id FROM calls ",
                $filter,
                " ORDER BY started_at DESC, id DESC LIMIT $1) ORDER BY call_id, seq"
            ),
        )
    };
}

impl Store {
    /// Calls matching `filter`, newest first, each with its timeline events.
    pub async fn list_calls(&self, filter: &ListFilter) -> Result<Vec<CallRecord>, StoreError> {
        const OP: &str = "list_calls";
        // One pair of literals per filter shape keeps each a cached prepared statement and
        // lets the planner use the started_at and live-call indices.
        let (calls_sql, events_sql) = match (filter.live_only, filter.since.is_some()) {
            (false, false) => listing!(""),
            (true, false) => listing!("WHERE ended_at IS NULL"),
            (false, true) => listing!("WHERE started_at >= $2"),
            (true, true) => listing!("WHERE ended_at IS NULL AND started_at >= $2"),
        };
        let limit = i64::from(filter.limit);
        let since = filter.since.map(format_timestamp);
        // One read transaction: the calls and their events come from the same snapshot.
        let mut tx = self.pool.begin().await.map_err(StoreError::query(OP))?;
        let mut calls_query = sqlx::query_as::<_, CallRow>(calls_sql).bind(limit);
        let mut events_query =
            sqlx::query_as::<_, (String, String, String, String)>(events_sql).bind(limit);
        if let Some(since) = &since {
            calls_query = calls_query.bind(since.clone());
            events_query = events_query.bind(since.clone());
        }
        let rows = calls_query
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        let event_rows = events_query
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        let mut events: HashMap<String, Vec<CallEvent>> = HashMap::with_capacity(rows.len());
        for (call_id, at, kind, detail) in event_rows {
            events
                .entry(call_id)
                .or_default()
                .push(CallEvent { at, kind, detail });
        }
        let calls = rows
            .into_iter()
            .map(|row| {
                let timeline = events.remove(&row.id).unwrap_or_default();
                row.into_record(timeline)
            })
            .collect::<Result<Vec<_>, _>>()?;
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
                return Err(StoreError::AmbiguousId {
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
            transcript: transcript_of(&events),
            intents: intents_of(&events),
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::store::fixtures::{at, new_call, temp_store};

    fn ids(calls: &[CallRecord]) -> Vec<&str> {
        calls.iter().map(|c| c.id.as_str()).collect()
    }

    async fn three_calls(store: &Store) {
        // "b" and "c" start in the same millisecond: the id orders them.
        store.insert_call(&new_call("a", 0)).await.unwrap();
        store.insert_call(&new_call("b", 5_000)).await.unwrap();
        store.insert_call(&new_call("c", 5_000)).await.unwrap();
        store
            .end_call("a", at(3_000), "caller.hangup")
            .await
            .unwrap();
        store
            .add_event("b", at(5_100), "node", "menu")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn lists_newest_first_with_events() {
        let (_dir, store) = temp_store().await;
        three_calls(&store).await;
        let all = store.list_calls(&ListFilter::default()).await.unwrap();
        assert_eq!(ids(&all), ["c", "b", "a"]);
        assert_eq!(all[1].events.len(), 1);
        assert_eq!(all[1].events[0].detail, "menu");
        assert!(all[0].events.is_empty());
    }

    #[tokio::test]
    async fn live_calls_are_those_without_an_end() {
        let (_dir, store) = temp_store().await;
        three_calls(&store).await;
        let filter = ListFilter {
            live_only: true,
            ..ListFilter::default()
        };
        let live = store.list_calls(&filter).await.unwrap();
        assert_eq!(ids(&live), ["c", "b"]);
        assert!(live.iter().all(|c| c.ended_at.is_none()));
        assert_eq!(live[1].events.len(), 1);
    }

    #[tokio::test]
    async fn limit_and_since_narrow_the_listing() {
        let (_dir, store) = temp_store().await;
        three_calls(&store).await;
        let first_two = ListFilter {
            limit: 2,
            ..ListFilter::default()
        };
        assert_eq!(
            ids(&store.list_calls(&first_two).await.unwrap()),
            ["c", "b"]
        );
        let since = ListFilter {
            since: Some(at(1_000)),
            ..ListFilter::default()
        };
        assert_eq!(ids(&store.list_calls(&since).await.unwrap()), ["c", "b"]);
        let live_since_later = ListFilter {
            live_only: true,
            since: Some(at(5_001)),
            ..ListFilter::default()
        };
        assert!(
            store
                .list_calls(&live_since_later)
                .await
                .unwrap()
                .is_empty()
        );
        let limited_events = ListFilter {
            limit: 1,
            ..ListFilter::default()
        };
        let newest = store.list_calls(&limited_events).await.unwrap();
        assert_eq!(ids(&newest), ["c"]);
        assert!(newest[0].events.is_empty());
    }

    #[tokio::test]
    async fn get_call_by_id_sip_call_id_or_unique_prefix() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("7f3a9c01", 0)).await.unwrap();
        store.insert_call(&new_call("7f3b0000", 1)).await.unwrap();
        store.insert_call(&new_call("7f3b", 2)).await.unwrap();

        assert_eq!(store.get_call("7f3a9c01").await.unwrap().id, "7f3a9c01");
        assert_eq!(store.get_call("7f3a").await.unwrap().id, "7f3a9c01");
        // An exact id wins over the longer id it prefixes.
        assert_eq!(store.get_call("7f3b").await.unwrap().id, "7f3b");
        let by_sip = store.get_call("7f3b0000@carrier.example").await.unwrap();
        assert_eq!(by_sip.id, "7f3b0000");

        match store.get_call("7f3").await {
            Err(StoreError::AmbiguousId { given, matches }) => {
                assert_eq!(given, "7f3");
                assert_eq!(matches, ["7f3a9c01", "7f3b", "7f3b0000"]);
            }
            other => panic!("expected an ambiguous prefix, got {other:?}"),
        }
        assert!(matches!(
            store.get_call("7F3A").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.get_call("%").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.get_call("").await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn counts_ended_calls_by_cause() {
        let (_dir, store) = temp_store().await;
        for (id, cause) in [
            ("1", "caller.hangup"),
            ("2", "media.timeout"),
            ("3", "caller.hangup"),
        ] {
            store.insert_call(&new_call(id, 0)).await.unwrap();
            store.end_call(id, at(1), cause).await.unwrap();
        }
        store.insert_call(&new_call("live", 0)).await.unwrap();
        let counts = store.count_by_end_cause().await.unwrap();
        let expected = [
            EndCauseCount {
                end_cause: "caller.hangup".into(),
                calls: 2,
            },
            EndCauseCount {
                end_cause: "media.timeout".into(),
                calls: 1,
            },
        ];
        assert_eq!(counts, expected);
    }

    #[tokio::test]
    async fn json_has_every_key_with_its_type() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("live", 0)).await.unwrap();
        store.insert_call(&new_call("done", 1)).await.unwrap();
        store.mark_answered("done", at(2), "PCMU").await.unwrap();
        store.append_digit("done", '9').await.unwrap();
        store
            .set_recording("done", std::path::Path::new("r.wav"))
            .await
            .unwrap();
        store.end_call("done", at(9), "flow.hangup").await.unwrap();

        let live = serde_json::to_value(store.get_call("live").await.unwrap()).unwrap();
        for key in ["id", "direction", "from", "to", "started_at", "digits"] {
            assert!(live[key].is_string(), "{key} in {live}");
        }
        for key in ["answered_at", "ended_at", "end_cause", "codec", "recording"] {
            assert!(live.get(key).is_some_and(Value::is_null), "{key} in {live}");
        }
        assert_eq!(live["direction"], "inbound");
        assert_eq!(live["digits"], "");

        let done = serde_json::to_value(store.get_call("done").await.unwrap()).unwrap();
        let required = [
            "id",
            "direction",
            "from",
            "to",
            "started_at",
            "answered_at",
            "ended_at",
            "end_cause",
            "codec",
            "digits",
            "recording",
        ];
        for key in required {
            assert!(done[key].is_string(), "{key} in {done}");
        }
        assert_eq!(done["ended_at"], "2026-11-21T09:00:00.009Z");
        assert!(done["events"].is_array());
        assert!(done["flow_path"].is_array());
    }
}
