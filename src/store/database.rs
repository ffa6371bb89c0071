//! Opening `kefu.db`: one connection pool, WAL mode, the embedded migrations.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::error::StoreError;
use super::timestamp::format_timestamp;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "kefu.db";

/// End cause written on calls a crashed process left open.
pub const RESTART_END_CAUSE: &str = "server.restart";

/// Node name used until the runtime sets the configured one with [`Store::with_node`].
pub const DEFAULT_NODE: &str = "local";

static MIGRATOR: Migrator = sqlx::migrate!("src/store/migrations");

/// How long a statement waits for another connection's write lock before failing.
/// SQLite has one writer at a time; a checkpoint can hold the lock for a moment.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections in the server's pool. SQLite runs one write at a time whatever the pool size,
/// and a writer that finds the lock taken sleeps in the busy handler, so more connections only
/// add hand-offs; two let a listing run beside the writes. Measured (release build, 2 shared
/// cores, 64 tasks each writing a call's 7 statements, plus a 50-call listing per 10 calls):
/// 1 connection ~9-15k writes/s, 2 ~14-18k, 4 ~10-13k. kefu's load, 20 new calls/s each
/// writing a few rows/s, is a few thousand writes/s at most.
const SERVER_CONNECTIONS: u32 = 2;

/// The call-record store. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
    /// Written into each new call; `close_stale_calls` only touches this node's calls, so
    /// nodes sharing one PostgreSQL database do not close each other's live calls.
    pub(crate) node: Arc<str>,
    /// The database file, for error messages.
    path: Arc<Path>,
}

impl Store {
    /// Opens (creating if needed) `data_dir/kefu.db` for the server: creates the directory,
    /// switches the file to WAL so readers never block writers, and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .map_err(|error| StoreError::CreateDir {
                path: data_dir.to_path_buf(),
                error,
            })?;
        let path = data_dir.join(DATABASE_FILE);
        let options = connect_options(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL still survives a process crash (the WAL is in the OS cache);
            // only a power loss can drop the last commits. FULL would fsync every write.
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(SERVER_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|error| StoreError::Open {
                path: path.clone(),
                error,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|error| StoreError::Migrate {
                path: path.clone(),
                error,
            })?;
        Ok(Store::new(pool, path))
    }

    /// Opens an existing database for a command that reads it, possibly while the server
    /// runs. Never creates the file and never migrates it.
    pub async fn open_existing(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(StoreError::NoDatabase {
                dir: data_dir.to_path_buf(),
            });
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect_options(&path))
            .await
            .map_err(|error| StoreError::Open {
                path: path.clone(),
                error,
            })?;
        let store = Store::new(pool, path);
        store.check_schema().await?;
        Ok(store)
    }

    fn new(pool: SqlitePool, path: PathBuf) -> Store {
        Store {
            pool,
            node: Arc::from(DEFAULT_NODE),
            path: Arc::from(path),
        }
    }

    /// Sets the node name written into new calls and used by [`Store::close_stale_calls`].
    pub fn with_node(mut self, node: &str) -> Store {
        self.node = Arc::from(node);
        self
    }

    /// This store's node name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for running statements and closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Ends every call of this node that has no `ended_at`: a previous process died while they
    /// were live. Run once at server start, before any new call. Returns how many were closed.
    pub async fn close_stale_calls(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE calls SET ended_at = $1, end_cause = $2 WHERE ended_at IS NULL AND node = $3",
        )
        .bind(format_timestamp(now))
        .bind(RESTART_END_CAUSE)
        .bind(&*self.node)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("close_stale_calls"))?;
        Ok(done.rows_affected())
    }

    /// Fails with [`StoreError::SchemaOutdated`] when the file was last migrated by an older
    /// kefu, whose tables may lack columns this build reads.
    async fn check_schema(&self) -> Result<(), StoreError> {
        let needed = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let has_table: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("check_schema"))?;
        let found: i64 = if has_table == 0 {
            0
        } else {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("check_schema"))?
            .unwrap_or(0)
        };
        if found < needed {
            return Err(StoreError::SchemaOutdated {
                path: self.path.to_path_buf(),
                found,
                needed,
            });
        }
        Ok(())
    }
}

/// Options shared by the server and the read-only commands.
fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::call_reads::ListFilter;
    use crate::store::fixtures::{new_call, temp_store};

    #[tokio::test]
    async fn open_creates_the_directory_and_a_wal_database() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let store = Store::open(&data).await.unwrap();
        assert!(data.join(DATABASE_FILE).is_file());
        assert_eq!(store.path(), data.join(DATABASE_FILE));
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn open_existing_without_a_database_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open_existing(dir.path()).await.unwrap_err();
        assert!(matches!(err, StoreError::NoDatabase { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "no call records in {} (kefu serve has not run there)",
                dir.path().display()
            )
        );
        assert!(!dir.path().join(DATABASE_FILE).exists());
    }

    #[tokio::test]
    async fn a_reader_sees_what_the_running_server_wrote() {
        let (dir, server) = temp_store().await;
        server.insert_call(&new_call("c1", 0)).await.unwrap();
        let reader = Store::open_existing(dir.path()).await.unwrap();
        let calls = reader.list_calls(&ListFilter::default()).await.unwrap();
        assert_eq!(calls.len(), 1);
        // The server keeps writing while the reader is open.
        server.insert_call(&new_call("c2", 1)).await.unwrap();
        assert_eq!(reader.get_call("c2").await.unwrap().id, "c2");
    }

    #[tokio::test]
    async fn open_existing_refuses_an_unmigrated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let pool = SqlitePoolOptions::new()
            .connect_with(connect_options(&path).create_if_missing(true))
            .await
            .unwrap();
        pool.close().await;
        let err = Store::open_existing(dir.path()).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::SchemaOutdated {
                    found: 0,
                    needed: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn reopening_keeps_the_records() {
        let (dir, store) = temp_store().await;
        store.insert_call(&new_call("kept", 0)).await.unwrap();
        store.close().await;
        let again = Store::open(dir.path()).await.unwrap();
        assert_eq!(again.get_call("kept").await.unwrap().id, "kept");
    }
}
