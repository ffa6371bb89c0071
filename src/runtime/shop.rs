//! The shop a server or `kefu chat` answers from: loaded from the database, seeded with the
//! demo shop on a new one, reloaded when its revision moves (an import from another process),
//! and changed by what the assistant decides (a cancelled order, a new return).

use std::path::Path;
use std::sync::Arc;

use jiff::civil::Date;

use crate::dialogue::assistant::{Action, Knowledge, Turn};
use crate::dialogue::understand::intent::Classifier;
use crate::shop::Shop;
use crate::store::Store;

/// The shop in a data directory, kept fresh: reloaded when its revision moves.
pub struct LiveShop {
    store: Store,
    revision: i64,
    classifier: Arc<Classifier>,
    pub knowledge: Knowledge,
}

impl LiveShop {
    /// Opens (creating and seeding with the demo shop if new) the data directory's shop.
    pub async fn open(data_dir: &Path, today: Date) -> anyhow::Result<LiveShop> {
        let store = Store::open(data_dir).await?;
        store.seed_demo_shop(today).await?;
        let (revision, data) = store.load_shop().await?;
        let classifier = Arc::new(Classifier::shipped());
        let knowledge = Knowledge::new(Arc::new(Shop::new(data)), classifier.clone());
        Ok(LiveShop {
            store,
            revision,
            classifier,
            knowledge,
        })
    }

    /// Reloads the shop if anything changed it since the last load.
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        if self.store.shop_revision().await? == self.revision {
            return Ok(());
        }
        let (revision, data) = self.store.load_shop().await?;
        self.revision = revision;
        self.knowledge = Knowledge::new(Arc::new(Shop::new(data)), self.classifier.clone());
        Ok(())
    }

    /// Carries out a turn's store actions; false when one failed.
    pub async fn apply(&mut self, turn: &Turn, today: Date) -> bool {
        for action in &turn.actions {
            let done = match action {
                Action::CancelOrder { order } => self.store.cancel_order(order).await.map(drop),
                Action::CreateReturn { order, reason } => self
                    .store
                    .create_return(order, reason, today)
                    .await
                    .map(drop),
                _ => Ok(()),
            };
            if let Err(e) = done {
                tracing::warn!(error = %e, "shop action failed");
                return false;
            }
        }
        true
    }

    pub async fn close(&self) {
        self.store.close().await;
    }
}
