//! What a live call writes: one small autocommit statement per fact, so a crash loses nothing
//! already written and no call waits on another call's transaction.
//!
//! Answer and end live in the `calls` row; the timeline (`call_events`) holds the rest. The
//! per-call sequence number is computed inside the INSERT: exact in SQLite, where writes are
//! serialized; on PostgreSQL it relies on one task writing each call's events (a clash would
//! be a key violation, never a lost or reordered event).

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
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::DuplicateId(call.id.clone())
            }
            _ => StoreError::Query {
                op: "insert_call",
                error,
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
    /// Start, answer and end are not added here: they are columns of the call, and
    /// [`super::CallRecord::timeline`] puts them in the timeline.
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
        // `SELECT id`, not `SELECT 1`: PostgreSQL's int4 would not decode as i64.
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM calls WHERE id = $1")
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Instant;

    use super::*;
    use crate::store::call_reads::ListFilter;
    use crate::store::fixtures::{at, new_call, temp_store};
    use crate::store::record::event_kind;

    #[tokio::test]
    async fn a_call_from_start_to_end() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("call-1", 0)).await.unwrap();
        store
            .mark_answered("call-1", at(800), "PCMU")
            .await
            .unwrap();
        store.push_flow_step("call-1", "hotline").await.unwrap();
        store.push_flow_step("call-1", "greeting").await.unwrap();
        store
            .add_event("call-1", at(800), event_kind::NODE, "greeting")
            .await
            .unwrap();
        store.push_flow_step("call-1", "menu").await.unwrap();
        store
            .add_event("call-1", at(4_000), event_kind::NODE, "menu")
            .await
            .unwrap();
        store.append_digit("call-1", '2').await.unwrap();
        store
            .add_event("call-1", at(6_250), event_kind::DIGIT, "2")
            .await
            .unwrap();
        store
            .set_recording("call-1", Path::new("data/recordings/call-1.wav"))
            .await
            .unwrap();
        store
            .add_event("call-1", at(7_000), event_kind::TRANSFER, "sip:agent@pbx")
            .await
            .unwrap();
        let ended = store
            .end_call("call-1", at(65_000), "caller.hangup")
            .await
            .unwrap();
        assert!(ended);

        let call = store.get_call("call-1").await.unwrap();
        assert_eq!(call.sip_call_id, "call-1@carrier.example");
        assert_eq!(call.direction, Direction::Inbound);
        assert_eq!(call.node, "local");
        assert_eq!(call.started_at, "2026-11-21T09:00:00.000Z");
        assert_eq!(
            call.answered_at.as_deref(),
            Some("2026-11-21T09:00:00.800Z")
        );
        assert_eq!(call.ended_at.as_deref(), Some("2026-11-21T09:01:05.000Z"));
        assert_eq!(call.end_cause.as_deref(), Some("caller.hangup"));
        assert_eq!(call.codec.as_deref(), Some("PCMU"));
        assert_eq!(call.digits, "2");
        assert_eq!(call.flow_path, ["hotline", "greeting", "menu"]);
        assert_eq!(
            call.recording.as_deref(),
            Some("data/recordings/call-1.wav")
        );
        let kinds: Vec<&str> = call.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["node", "node", "digit", "transfer"]);
        assert_eq!(call.events[3].detail, "sip:agent@pbx");
    }

    #[tokio::test]
    async fn the_first_end_wins() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("c", 0)).await.unwrap();
        assert!(store.end_call("c", at(1_000), "flow.hangup").await.unwrap());
        assert!(
            !store
                .end_call("c", at(2_000), "caller.hangup")
                .await
                .unwrap()
        );
        let call = store.get_call("c").await.unwrap();
        assert_eq!(call.ended_at.as_deref(), Some("2026-11-21T09:00:01.000Z"));
        assert_eq!(call.end_cause.as_deref(), Some("flow.hangup"));
    }

    #[tokio::test]
    async fn a_second_answer_keeps_the_first_time_and_updates_the_codec() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("c", 0)).await.unwrap();
        store.mark_answered("c", at(500), "PCMU").await.unwrap();
        store.mark_answered("c", at(9_000), "G722").await.unwrap();
        let call = store.get_call("c").await.unwrap();
        assert_eq!(
            call.answered_at.as_deref(),
            Some("2026-11-21T09:00:00.500Z")
        );
        assert_eq!(call.codec.as_deref(), Some("G722"));
    }

    #[tokio::test]
    async fn writes_to_an_unknown_call_fail_with_not_found() {
        let (_dir, store) = temp_store().await;
        let is_not_found =
            |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound(id)) if id == "ghost");
        assert!(is_not_found(
            store.mark_answered("ghost", at(0), "PCMU").await
        ));
        assert!(is_not_found(
            store.add_event("ghost", at(0), "hold", "").await
        ));
        assert!(is_not_found(store.append_digit("ghost", '1').await));
        assert!(is_not_found(store.push_flow_step("ghost", "menu").await));
        assert!(is_not_found(
            store.set_recording("ghost", Path::new("x.wav")).await
        ));
        assert!(matches!(
            store.end_call("ghost", at(0), "caller.hangup").await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_duplicate_id_is_refused() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("c", 0)).await.unwrap();
        let again = store.insert_call(&new_call("c", 5)).await;
        assert!(matches!(again, Err(StoreError::DuplicateId(id)) if id == "c"));
    }

    #[tokio::test]
    async fn digits_are_dtmf_keys_only() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("c", 0)).await.unwrap();
        for key in ['1', '*', '#', 'a', 'D', '0'] {
            store.append_digit("c", key).await.unwrap();
        }
        assert!(matches!(
            store.append_digit("c", 'x').await,
            Err(StoreError::InvalidDigit('x'))
        ));
        assert_eq!(store.get_call("c").await.unwrap().digits, "1*#AD0");
    }

    #[tokio::test]
    async fn flow_steps_keep_any_text() {
        let (_dir, store) = temp_store().await;
        store.insert_call(&new_call("c", 0)).await.unwrap();
        let names = [
            "订单",
            "a\"b",
            "x,y]",
            "[",
            "",
            "back\\slash",
            "line\nbreak",
            "nul\0",
        ];
        for name in names {
            store.push_flow_step("c", name).await.unwrap();
        }
        assert_eq!(store.get_call("c").await.unwrap().flow_path, names);
    }

    #[tokio::test]
    async fn close_stale_calls_ends_only_this_nodes_live_calls() {
        let (dir, store) = temp_store().await;
        store.insert_call(&new_call("ended", 0)).await.unwrap();
        store
            .end_call("ended", at(10), "caller.hangup")
            .await
            .unwrap();
        store.insert_call(&new_call("live-1", 20)).await.unwrap();
        store.insert_call(&new_call("live-2", 30)).await.unwrap();
        let other = store.clone().with_node("node-b");
        other.insert_call(&new_call("elsewhere", 40)).await.unwrap();
        store.close().await;

        // The next process on the same data directory.
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.close_stale_calls(at(60_000)).await.unwrap(), 2);
        for id in ["live-1", "live-2"] {
            let call = store.get_call(id).await.unwrap();
            assert_eq!(call.end_cause.as_deref(), Some("server.restart"));
            assert_eq!(call.ended_at.as_deref(), Some("2026-11-21T09:01:00.000Z"));
        }
        let ended = store.get_call("ended").await.unwrap();
        assert_eq!(ended.end_cause.as_deref(), Some("caller.hangup"));
        assert_eq!(store.get_call("elsewhere").await.unwrap().ended_at, None);
        assert_eq!(store.close_stale_calls(at(70_000)).await.unwrap(), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(24))]
        /// The string-spliced JSON array stays valid for any names, control characters and
        /// non-ASCII included (serde_json escapes NUL, which SQLite's length() stops at).
        #[test]
        fn flow_path_round_trips_any_names(
            names in proptest::collection::vec(proptest::prelude::any::<String>(), 0..6)
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime builds");
            let stored = runtime.block_on(async {
                let (_dir, store) = temp_store().await;
                store.insert_call(&new_call("c", 0)).await.unwrap();
                for name in &names {
                    store.push_flow_step("c", name).await.unwrap();
                }
                store.get_call("c").await.unwrap().flow_path
            });
            proptest::prop_assert_eq!(stored, names);
        }
    }

    /// Many calls writing at once, as kefu does: every statement lands. Also prints the rate.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_lose_nothing() {
        const TASKS: usize = 16;
        const CALLS_PER_TASK: usize = 25;
        const WRITES_PER_CALL: usize = 9;
        let (_dir, store) = temp_store().await;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..CALLS_PER_TASK {
                    let id = format!("t{task}-c{n}");
                    let t0 = i64::try_from(n * 1_000).expect("small");
                    store.insert_call(&new_call(&id, t0)).await?;
                    store.mark_answered(&id, at(t0 + 100), "PCMU").await?;
                    store.push_flow_step(&id, "hotline").await?;
                    store.add_event(&id, at(t0 + 200), "node", "menu").await?;
                    store.append_digit(&id, '1').await?;
                    store.add_event(&id, at(t0 + 300), "digit", "1").await?;
                    store.append_digit(&id, '#').await?;
                    store.add_event(&id, at(t0 + 400), "digit", "#").await?;
                    store.end_call(&id, at(t0 + 900), "caller.hangup").await?;
                }
                Ok::<(), StoreError>(())
            }));
        }
        // Hammer the same call from several tasks too: its sequence numbers must not clash.
        store.insert_call(&new_call("shared", 0)).await.unwrap();
        let mut shared = Vec::new();
        for task in 0..4 {
            let store = store.clone();
            shared.push(tokio::spawn(async move {
                for n in 0..20 {
                    store
                        .add_event("shared", at(n), "hold", &format!("{task}-{n}"))
                        .await?;
                }
                Ok::<(), StoreError>(())
            }));
        }
        for task in tasks.into_iter().chain(shared) {
            task.await.expect("writer task panicked").unwrap();
        }
        let elapsed = started.elapsed();
        let writes = TASKS * CALLS_PER_TASK * WRITES_PER_CALL + 80;
        println!(
            "{writes} writes from {} tasks in {elapsed:?}: {:.0} writes/s",
            TASKS + 4,
            writes as f64 / elapsed.as_secs_f64()
        );

        let all = store
            .list_calls(&ListFilter {
                limit: 1_000,
                live_only: false,
                since: None,
            })
            .await
            .unwrap();
        assert_eq!(all.len(), TASKS * CALLS_PER_TASK + 1);
        for call in all.iter().filter(|c| c.id != "shared") {
            assert_eq!(call.digits, "1#", "{}", call.id);
            assert_eq!(call.flow_path, ["hotline"], "{}", call.id);
            assert_eq!(call.events.len(), 3, "{}", call.id);
            assert_eq!(call.end_cause.as_deref(), Some("caller.hangup"));
            assert_eq!(call.codec.as_deref(), Some("PCMU"));
        }
        let shared = store.get_call("shared").await.unwrap();
        let details: HashSet<&str> = shared.events.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(shared.events.len(), 80);
        assert_eq!(details.len(), 80);
    }
}
