//! Test helpers shared by the store's unit tests: a real SQLite file in a temporary directory.

use jiff::Timestamp;
use tempfile::TempDir;

use super::call_writes::NewCall;
use super::database::Store;
use super::record::Direction;

/// A fresh store in its own directory; keep the `TempDir` alive as long as the store.
pub(crate) async fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("the test machine can create a temp dir");
    let store = Store::open(dir.path())
        .await
        .expect("a new store opens in an empty dir");
    (dir, store)
}

/// An instant `ms` milliseconds after 2026-11-21T09:00:00Z.
pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_795_251_600_000 + ms).expect("test instants are in range")
}

/// An inbound call started `ms` after the test epoch.
pub(crate) fn new_call(id: &str, ms: i64) -> NewCall {
    NewCall {
        id: id.to_owned(),
        sip_call_id: format!("{id}@carrier.example"),
        direction: Direction::Inbound,
        from: "sip:+8613800000000@carrier.example".to_owned(),
        to: "sip:400100@kefu.example".to_owned(),
        started_at: at(ms),
    }
}
