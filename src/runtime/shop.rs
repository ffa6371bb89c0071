//! The shop a server or `kefu chat` answers from: loaded from the database, seeded with the
//! demo shop on a new one, reloaded when its revision moves (an import from another process),
//! and changed by what the assistant decides (a cancelled order, a new return).

use std::path::Path;
use std::sync::Arc;

use jiff::civil::Date;
use tokio::sync::{Notify, watch};

use crate::dialogue::assistant::{Action, Knowledge, Lookup, Lookups, Turn};
use crate::dialogue::understand::intent::Classifier;
use crate::runtime::merchant::{ApiError, MerchantApi};
use crate::shop::{Shop, ShopData};
use crate::store::Store;

/// The shop in a data directory, kept fresh: reloaded when its revision moves, with what the
/// merchant's live system said laid over it.
pub struct LiveShop {
    store: Store,
    revision: i64,
    classifier: Arc<Classifier>,
    merchant: Option<Arc<MerchantApi>>,
    /// Records fetched from the merchant's system so far.
    fetched: ShopData,
    /// The database's shop alone.
    base: Arc<Knowledge>,
    pub knowledge: Arc<Knowledge>,
}

impl LiveShop {
    /// Opens (creating and seeding with the demo shop if new) the data directory's shop.
    pub async fn open(
        data_dir: &Path,
        today: Date,
        merchant: Option<Arc<MerchantApi>>,
        phrasing: bool,
    ) -> anyhow::Result<LiveShop> {
        let store = Store::open(data_dir).await?;
        store.seed_demo_shop(today).await?;
        let (revision, data) = store.load_shop().await?;
        let classifier = Arc::new(Classifier::shipped());
        let base = knowledge(data, &classifier, lookups(merchant.as_deref()), phrasing);
        Ok(LiveShop {
            store,
            revision,
            classifier,
            merchant,
            fetched: ShopData::default(),
            knowledge: base.clone(),
            base,
        })
    }

    /// Reloads the shop if anything changed it since the last load.
    pub async fn refresh(&mut self) -> anyhow::Result<()> {
        if self.store.shop_revision().await? == self.revision {
            return Ok(());
        }
        let (revision, data) = self.store.load_shop().await?;
        self.revision = revision;
        let base = &self.base;
        self.base = knowledge(data, &self.classifier, base.lookups, base.phrasing);
        self.knowledge = overlay(&self.base, &self.fetched);
        Ok(())
    }

    /// Fetches what `lookup` names from the merchant's system and lays it over the shop.
    pub async fn look_up(&mut self, lookup: Lookup) -> Result<(), ApiError> {
        let Some(api) = self.merchant.clone() else {
            return Ok(());
        };
        let found = look_up(api, lookup).await?;
        self.fetched.lay_over(&found);
        self.knowledge = overlay(&self.base, &self.fetched);
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

/// The knowledge of a shop's records, with what the driver can do for the assistant.
fn knowledge(
    data: ShopData,
    classifier: &Arc<Classifier>,
    lookups: Lookups,
    phrasing: bool,
) -> Arc<Knowledge> {
    let mut knowledge = Knowledge::new(Arc::new(Shop::new(data)), classifier.clone());
    knowledge.lookups = lookups;
    knowledge.phrasing = phrasing;
    Arc::new(knowledge)
}

/// What the assistant may ask the merchant's system for.
pub fn lookups(merchant: Option<&MerchantApi>) -> Lookups {
    merchant.map_or_else(Lookups::default, |api| Lookups {
        orders: api.finds_orders(),
        customers: api.finds_customers(),
    })
}

/// Fetches a lookup's records on the blocking pool (the client is blocking); logged and
/// counted when the merchant's system fails.
pub async fn look_up(api: Arc<MerchantApi>, lookup: Lookup) -> Result<ShopData, ApiError> {
    let started = std::time::Instant::now();
    let fetched = tokio::task::spawn_blocking(move || {
        let mut found = ShopData::default();
        if let Some(phone) = &lookup.phone {
            found.append(api.customer(phone)?.unwrap_or_default());
        }
        for number in &lookup.orders {
            found.append(api.order(number)?.unwrap_or_default());
        }
        Ok(found)
    })
    .await
    .unwrap_or_else(|e| {
        Err(ApiError::Unreachable {
            url: String::new(),
            detail: format!("lookup task: {e}"),
        })
    });
    metrics::histogram!("kefu_merchant_lookup_seconds").record(started.elapsed().as_secs_f64());
    if let Err(e) = &fetched {
        metrics::counter!("kefu_merchant_lookup_failures_total").increment(1);
        tracing::warn!(error = %e, "merchant lookup failed");
    }
    fetched
}

/// `base` with the records fetched so far laid over it.
pub fn overlay(base: &Arc<Knowledge>, fetched: &ShopData) -> Arc<Knowledge> {
    if fetched == &ShopData::default() {
        base.clone()
    } else {
        Arc::new(base.with_records(fetched))
    }
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
    pub async fn start(store: Store, lookups: Lookups, phrasing: bool) -> anyhow::Result<ShopFeed> {
        let classifier = Arc::new(Classifier::shipped());
        let (mut revision, data) = store.load_shop().await?;
        let mut today = jiff::Zoned::now().date();
        let first = knowledge(data, &classifier, lookups, phrasing);
        let (tx, grounds) = watch::channel((first, today));
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
                        tracing::info!(revision, "shop reloaded");
                        let knowledge = knowledge(data, &classifier, lookups, phrasing);
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
