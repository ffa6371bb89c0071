//! `kefu serve`: load the configuration, open the store, bind SIP (UDP + TCP) and HTTP, answer
//! calls until SIGTERM, then drain.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, MerchantSection, Overrides};
use crate::media::prompt::PromptLibrary;
use crate::runtime::asr::AsrPool;
use crate::runtime::live::{CallCommand, LiveCalls};
use crate::runtime::llm::Llm;
use crate::runtime::merchant::MerchantApi;
use crate::runtime::ports::PortPool;
use crate::runtime::recorder::Recorders;
use crate::runtime::shop::{self, ShopFeed};
use crate::runtime::sip_socket::GuardedUdpSocket;
use crate::runtime::sip_stream::GuardedTcpListener;
use crate::runtime::{dispatch, prompts};
use crate::sip::admission::{Admission, AdmissionLimits};
use crate::sip::digest::DigestAuth;
use crate::sip::registrar::Registrar;
use crate::speech::models::ModelStore;
use crate::speech::tts::Tts;
use crate::store::Store;

/// What every task of the server shares.
pub struct Shared {
    pub config: Config,
    pub prompts: Arc<PromptLibrary>,
    pub store: Store,
    pub admission: Mutex<Admission>,
    pub live: LiveCalls,
    pub ports: PortPool,
    pub dialog_layer: Arc<DialogLayer>,
    /// Our Contact URI for dialogs.
    pub contact: rsipstack::sip::Uri,
    /// The address written into SDP.
    pub media_ip: IpAddr,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The writer thread of every call recording.
    pub recorders: Recorders,
    /// Agent phones' registrations.
    pub registrar: Mutex<Registrar>,
    pub digest: DigestAuth,
    /// Speech recognition; `None` without a model (callers use keys).
    pub asr: Option<AsrPool>,
    /// Speech synthesis for `say` nodes (voices from voices.toml).
    pub tts: Arc<Tts>,
    /// What the shop assistant answers from (`converse` nodes).
    pub shop: ShopFeed,
    /// The merchant's live order system, when `[merchant]` names one.
    pub merchant: Option<Arc<MerchantApi>>,
    /// The language model that rephrases replies, when `[llm]` names one.
    pub llm: Option<Arc<Llm>>,
}

pub async fn serve(overrides: Overrides) -> anyhow::Result<()> {
    let config = Config::load(&overrides)?;
    let tts = Arc::new(Tts::new(
        config.voices.clone(),
        Some(config.server.data.dir.join("tts-cache")),
    ));
    let prompts = Arc::new(prompts::load(&config, &tts)?);
    let asr = start_speech(&config)?;
    // Start the voices' processes now, not on the first caller's first reply.
    let warming = tts.clone();
    tokio::task::spawn_blocking(move || warming.warm());
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let store = Store::open(&config.server.data.dir).await?;
    let stale = store.close_stale_calls(jiff::Timestamp::now()).await?;
    if stale > 0 {
        tracing::warn!(
            calls = stale,
            "ended calls left live by a previous run (server.restart)"
        );
    }
    // A new database gets the demo shop, so `kefu chat` and the assistant have something to
    // answer from; the merchant's `kefu shop import` replaces or extends it.
    if store.seed_demo_shop(jiff::Zoned::now().date()).await? {
        tracing::info!("loaded the demo shop into the new database (kefu shop list orders)");
    }
    let merchant = merchant_api(&config.server.merchant);
    let llm = Llm::from_config(&config.server.llm);
    let shop = ShopFeed::start(
        store.clone(),
        shop::lookups(merchant.as_deref()),
        llm.is_some(),
    )
    .await?;

    let cancel = CancellationToken::new();
    let sip_addr = config.server.sip.listen;
    let transport = TransportLayer::new(cancel.clone());
    let udp = GuardedUdpSocket::bind(sip_addr)
        .await
        .with_context(|| format!("binding SIP UDP {sip_addr}"))?;
    transport.add_transport(
        UdpConnection::from_socket(udp, None, Some(cancel.child_token()))
            .await?
            .into(),
    );
    let tcp = GuardedTcpListener::bind(sip_addr)
        .await
        .with_context(|| format!("binding SIP TCP {sip_addr}"))?;
    let endpoint = EndpointBuilder::new()
        .with_user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
        .with_transport_layer(transport)
        .with_cancel_token(cancel.clone())
        .with_inspector(Box::new(dispatch::ResponseCounter))
        .build();
    let incoming = endpoint.incoming_transactions()?;
    tcp.serve(endpoint.inner.clone(), cancel.clone());
    let dialog_layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));

    let media_ip = config.server.sip.public_ip.unwrap_or(sip_addr.ip());
    let contact: rsipstack::sip::Uri = format!("sip:kefu@{media_ip}:{}", sip_addr.port())
        .as_str()
        .try_into()
        .context("building the Contact URI")?;
    let l = &config.server.limits;
    let limits = AdmissionLimits {
        max_calls: l.max_calls,
        invites_per_second: l.invites_per_second,
        invite_burst: l.invite_burst,
    };
    let ports = PortPool::new(sip_addr.ip(), config.server.rtp.port_range()?);
    let http_addr = config.server.http.listen;
    let http = tokio::net::TcpListener::bind(http_addr)
        .await
        .with_context(|| format!("binding HTTP {http_addr}"))?;
    let realm = config.server.sip.realm.clone();
    let grace = Duration::from_secs(config.server.limits.shutdown_grace_s);
    tracing::info!(
        sip = %sip_addr, http = %http_addr, config = %config.origin, flows = config.flows.len(),
        prompts = prompts.len(), "kefu is answering calls"
    );
    let shared = Arc::new(Shared {
        config,
        prompts,
        store,
        admission: Mutex::new(Admission::new(limits)),
        live: LiveCalls::default(),
        ports,
        dialog_layer,
        contact,
        media_ip,
        metrics,
        shop,
        merchant,
        llm,
        registrar: Mutex::new(Registrar::default()),
        recorders: Recorders::start().context("starting the recording writer")?,
        // A per-process secret: nonces from before a restart get a fresh challenge.
        digest: DigestAuth::new(&realm, &format!("{:032x}", rand::random::<u128>())),
        asr,
        tts,
    });

    let api = crate::api::router(shared.clone());
    let http_cancel = cancel.clone();
    let http_task = tokio::spawn(async move {
        axum::serve(http, api)
            .with_graceful_shutdown(http_cancel.cancelled_owned())
            .await
    });
    let dispatch_task = tokio::spawn(dispatch::run(shared.clone(), incoming));
    let endpoint_task = tokio::spawn(async move { endpoint.serve().await });

    shutdown_signal().await;
    drain(&shared, grace).await;
    cancel.cancel();
    dispatch_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), http_task).await;
    shared.store.close().await;
    tracing::info!("kefu stopped");
    Ok(())
}

/// Loads the whisper model and starts its workers. No model installed: keys only, and a line
/// saying how to install one. A model that is there but broken stops `serve`.
fn start_speech(config: &Config) -> anyhow::Result<Option<AsrPool>> {
    let speech = &config.server.speech;
    let store = ModelStore::new(&config.server.data.dir);
    let model = match store.resolve(&speech.model) {
        Ok(path) => path,
        Err(e) => {
            tracing::warn!(
                "no speech model ({e}): callers can use keys only; install one with \
                 `kefu models fetch {}`",
                speech.model
            );
            return Ok(None);
        }
    };
    let pool = AsrPool::start(&model, speech, &config.grammars)
        .with_context(|| format!("loading the speech model {}", model.display()))?;
    Ok(Some(pool))
}

/// New calls get 503 from now on; live calls get `grace` to finish, then BYE.
async fn drain(shared: &Shared, grace: Duration) {
    shared
        .admission
        .lock()
        .expect("admission lock is never held across a panic")
        .start_draining();
    tracing::info!(
        live = shared.live.len(),
        grace_s = grace.as_secs(),
        "draining: new calls get 503"
    );
    let deadline = tokio::time::Instant::now() + grace;
    while !shared.live.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !shared.live.is_empty() {
        tracing::info!(live = shared.live.len(), "grace period over: hanging up");
        shared.live.command_all(CallCommand::Hangup {
            cause: "server.shutdown",
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !shared.live.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "no SIGTERM handler; only Ctrl-C stops kefu");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The merchant's API client, when `[merchant]` names an order or customer URL.
pub fn merchant_api(merchant: &MerchantSection) -> Option<Arc<MerchantApi>> {
    if merchant.order_url.is_none() && merchant.customer_url.is_none() {
        return None;
    }
    tracing::info!(
        orders = merchant.order_url.as_deref().unwrap_or("-"),
        customers = merchant.customer_url.as_deref().unwrap_or("-"),
        "orders not in the shop are looked up in the merchant's system"
    );
    Some(Arc::new(MerchantApi::new(merchant.clone())))
}
