//! What can go wrong between kefu and its database.

use std::path::PathBuf;

/// Every failure of the call-record store. Each variant names what was being done, so the
/// one-line message a CLI prints is enough to act on. The underlying error is part of that
/// message (and deliberately not a `source()`, so `{:#}` does not print it twice).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {error}")]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The database file could not be opened or configured.
    #[error("cannot open database {path}: {error}")]
    Open { path: PathBuf, error: sqlx::Error },
    /// A read-only command found no database: the server never ran with this data directory.
    #[error("no call records in {dir} (kefu serve has not run there)")]
    NoDatabase { dir: PathBuf },
    /// Applying the embedded migrations failed (or the database holds migrations this build
    /// does not know, or one of ours was edited after it ran).
    #[error("cannot migrate database {path}: {error}")]
    Migrate {
        path: PathBuf,
        error: sqlx::migrate::MigrateError,
    },
    /// The database was last migrated by an older kefu; a read-only command will not upgrade it.
    #[error(
        "database {path} has schema version {found}, this kefu needs {needed} (run kefu serve once to upgrade it)"
    )]
    SchemaOutdated {
        path: PathBuf,
        found: i64,
        needed: i64,
    },
    /// A statement failed; `op` is the store operation, e.g. `insert_call`.
    #[error("{op} failed: {error}")]
    Query {
        op: &'static str,
        error: sqlx::Error,
    },
    /// `insert_call` was given an id that is already stored.
    #[error("call {0} already exists")]
    DuplicateId(String),
    /// No call has this id, id prefix or SIP Call-ID.
    #[error("no call {0}")]
    NotFound(String),
    /// An id prefix (or SIP Call-ID) matches more than one call.
    #[error("call id {given} is ambiguous, it matches {}", matches.join(", "))]
    AmbiguousId { given: String, matches: Vec<String> },
    /// `append_digit` was given something that is not a DTMF key.
    #[error("{0:?} is not a DTMF key (0-9, *, #, A-D)")]
    InvalidDigit(char),
    /// A stored value does not parse; the row was written by something other than this store.
    #[error("call {id}: stored {column} {value:?} is invalid")]
    Corrupt {
        id: String,
        column: &'static str,
        value: String,
    },
    /// A stored shop value does not parse (edited outside kefu).
    #[error("shop record {key}: stored {column} {value:?} is invalid")]
    ShopCorrupt {
        column: &'static str,
        key: String,
        value: String,
    },
}

impl StoreError {
    /// Wraps a failed statement with the name of the operation that ran it.
    pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |error| StoreError::Query { op, error }
    }
}
