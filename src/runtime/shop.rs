//! The shop a server or `kefu chat` answers from: loaded from the database, seeded with the
//! demo shop on a new one, reloaded when its revision moves (an import from another process),
//! and changed by what the assistant decides (a cancelled order, a new return).

use std::path::Path;
use std::sync::Arc;

use jiff::civil::Date;
use tokio::sync::{Notify, watch};

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
            if !change(&self.store, action, today).await {
                return false;
            }
        }
        true
    }

    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// Makes one change the assistant decided (other actions are not the store's); false, logged,
/// when the store refused it.
pub async fn change(store: &Store, action: &Action, today: Date) -> bool {
    let done = match action {
        Action::CancelOrder { order } => store.cancel_order(order).await.map(drop),
        Action::CreateReturn { order, reason } => {
            store.create_return(order, reason, today).await.map(drop)
        }
        _ => Ok(()),
    };
    if let Err(e) = &done {
        tracing::warn!(error = %e, ?action, "shop change failed");
    }
    done.is_ok()
}

/// What a call's assistant answers from: the shop's knowledge and the day it is.
pub type Grounds = (Arc<Knowledge>, Date);

/// How often the server looks for a changed shop (an import from `kefu shop import`).
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The server's shop: every call subscribes and gets the new knowledge when an import or a
/// call's change moves the shop's revision, or the day changes, within `RELOAD_EVERY`.
#[derive(Clone)]
pub struct ShopFeed {
    grounds: watch::Receiver<Grounds>,
    poke: Arc<Notify>,
}

impl ShopFeed {
    /// Loads the shop from `store` and keeps it fresh in a background task.
    pub async fn start(store: Store) -> anyhow::Result<ShopFeed> {
        let classifier = Arc::new(Classifier::shipped());
        let (mut revision, data) = store.load_shop().await?;
        let mut today = jiff::Zoned::now().date();
        let knowledge = Arc::new(Knowledge::new(
            Arc::new(Shop::new(data)),
            classifier.clone(),
        ));
        let (tx, grounds) = watch::channel((knowledge, today));
        let poke = Arc::new(Notify::new());
        let woken = poke.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_EVERY) => {}
                    _ = woken.notified() => {}
                }
                if tx.is_closed() {
                    return;
                }
                let day = jiff::Zoned::now().date();
                let moved = match store.shop_revision().await {
                    Ok(r) => r != revision,
                    Err(e) => {
                        tracing::debug!(error = %e, "shop revision unreadable");
                        continue;
                    }
                };
                if !moved && day == today {
                    continue;
                }
                match store.load_shop().await {
                    Ok((r, data)) => {
                        revision = r;
                        today = day;
                        let shop = Arc::new(Shop::new(data));
                        let knowledge = Arc::new(Knowledge::new(shop, classifier.clone()));
                        tracing::info!(revision, "shop reloaded");
                        let _ = tx.send((knowledge, today));
                    }
                    Err(e) => tracing::error!(error = %e, "shop reload failed; keeping the last"),
                }
            }
        });
        Ok(ShopFeed { grounds, poke })
    }

    /// A receiver for one call: the current grounds, and each change.
    pub fn subscribe(&self) -> watch::Receiver<Grounds> {
        self.grounds.clone()
    }

    /// Something changed the shop: reload now rather than at the next look.
    pub fn changed(&self) {
        self.poke.notify_one();
    }
}
