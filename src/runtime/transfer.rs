//! Connecting a caller to a person: find where the agent is, ring it with kefu's own offer (kefu
//! stays in the media path as a B2BUA, so it can record and later let supervisors listen), and
//! hand the call task a ready agent leg, or say why not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogStateReceiver;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::StatusCode;

use crate::call::leg::Leg;
use crate::config::flow::TransferTarget;
use crate::config::server::Trunk;
use crate::dialogue::TransferOutcome;
use crate::runtime::call_task::{codec_of, new_leg, supported_codecs};
use crate::runtime::ports::RtpSockets;
use crate::runtime::server::Shared;
use crate::sip::sdp::{self, LocalMedia};

/// telephone-event payload type kefu offers to agents.
const OFFER_TELEPHONE_EVENT_PT: u8 = 101;

/// A connected agent: its leg for the call core, its sockets and its dialog.
pub struct AgentConnection {
    pub leg: Leg,
    pub sockets: RtpSockets,
    pub dialog: InviteDialog,
    pub states: DialogStateReceiver,
}

/// Rings `target` for at most `ring` and returns the connected agent, or why it failed.
pub async fn connect(
    shared: Arc<Shared>,
    target: TransferTarget,
    caller_user: String,
    ring: Duration,
) -> Result<AgentConnection, TransferOutcome> {
    let contacts = resolve(&shared, &target)?;
    let deadline = Instant::now() + ring;
    let mut last = TransferOutcome::NoAnswer;
    for contact in contacts {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match ring_one(&shared, &contact, &caller_user, left).await {
            Ok(c) => return Ok(c),
            Err(outcome) => {
                tracing::info!(%contact, ?outcome, "agent did not take the call");
                last = outcome;
            }
        }
    }
    Err(last)
}

/// Where a blind transfer sends the caller: the first contact of `target`.
pub fn refer_to(shared: &Shared, target: &TransferTarget) -> Result<String, TransferOutcome> {
    resolve(shared, target).map(|contacts| {
        contacts
            .into_iter()
            .next()
            .expect("resolve returns at least one")
    })
}

/// The trunk whose proxy is `uri`'s host and port, if any.
fn trunk_for<'a>(shared: &'a Shared, uri: &rsipstack::sip::Uri) -> Option<&'a Trunk> {
    let target = uri.host_with_port.to_string();
    shared.config.server.trunks.iter().find(|t| {
        let proxy: Result<rsipstack::sip::Uri, _> = t.proxy.as_str().try_into();
        proxy.is_ok_and(|p| p.host_with_port.to_string() == target)
    })
}

/// The contacts to try, in order.
fn resolve(shared: &Shared, target: &TransferTarget) -> Result<Vec<String>, TransferOutcome> {
    let now = Instant::now();
    let mut registrar = shared
        .registrar
        .lock()
        .expect("registrar lock is never held across a panic");
    let contacts: Vec<String> = match target {
        TransferTarget::Agent(name) => registrar.locate(now, name).into_iter().collect(),
        TransferTarget::Queue(name) => shared
            .config
            .server
            .queues
            .iter()
            .find(|q| &q.name == name)
            .map(|q| {
                q.agents
                    .iter()
                    .filter_map(|a| registrar.locate(now, a))
                    .collect()
            })
            .unwrap_or_default(),
        TransferTarget::Uri(uri) => vec![uri.clone()],
    };
    if contacts.is_empty() {
        return Err(TransferOutcome::Failed(format!(
            "nobody registered for {target}"
        )));
    }
    Ok(contacts)
}

async fn ring_one(
    shared: &Shared,
    contact: &str,
    caller_user: &str,
    ring: Duration,
) -> Result<AgentConnection, TransferOutcome> {
    let failed = |e: String| TransferOutcome::Failed(e);
    let callee: rsipstack::sip::Uri = contact
        .try_into()
        .map_err(|e| failed(format!("bad contact {contact}: {e}")))?;
    let sockets = shared
        .ports
        .bind()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let port = sockets
        .rtp
        .local_addr()
        .map_err(|e| failed(e.to_string()))?
        .port();
    let local = LocalMedia {
        addr: shared.media_ip,
        port,
        session_id: rand::random::<u32>().into(),
        session_version: 1,
    };
    let offer = sdp::build_offer(&supported_codecs(), &local, OFFER_TELEPHONE_EVENT_PT);
    let caller: rsipstack::sip::Uri = format!("sip:{caller_user}@{}", shared.media_ip)
        .as_str()
        .try_into()
        .map_err(|e| failed(format!("caller uri: {e}")))?;
    // A target at a configured trunk's proxy goes out with that trunk's caller id and answers
    // its digest challenge (RFC 3261 §22.2); rsipstack resends the INVITE with credentials.
    let trunk = trunk_for(shared, &callee);
    let credential = trunk.and_then(|t| {
        Some(Credential {
            username: t.username.clone()?,
            password: t.password.clone()?,
            realm: None,
            auth_username: None,
        })
    });
    let caller = match trunk.and_then(|t| t.from_user.as_deref()) {
        Some(user) => format!("sip:{user}@{}", shared.media_ip)
            .as_str()
            .try_into()
            .map_err(|e| failed(format!("trunk from_user: {e}")))?,
        None => caller,
    };
    let option = InviteOption {
        caller,
        callee,
        contact: shared.contact.clone(),
        content_type: Some("application/sdp".into()),
        offer: Some(offer.to_string().into_bytes()),
        credential,
        ..Default::default()
    };
    let (state_tx, states) = shared.dialog_layer.new_dialog_state_channel();
    let (dialog, pending) = shared
        .dialog_layer
        .do_invite_async(option, state_tx)
        .map_err(|e| failed(format!("INVITE: {e}")))?;
    let response = match tokio::time::timeout(ring, pending).await {
        Err(_) => {
            let _ = dialog.cancel().await;
            return Err(TransferOutcome::NoAnswer);
        }
        Ok(Err(e)) => return Err(failed(format!("INVITE task: {e}"))),
        Ok(Ok(Err(e))) => return Err(failed(format!("INVITE: {e}"))),
        Ok(Ok(Ok((_, response)))) => response,
    };
    let Some(response) = response else {
        return Err(TransferOutcome::NoAnswer);
    };
    match response.status_code {
        StatusCode::OK => {}
        StatusCode::BusyHere | StatusCode::BusyEverywhere | StatusCode::Decline => {
            return Err(TransferOutcome::Busy);
        }
        StatusCode::RequestTimeout
        | StatusCode::TemporarilyUnavailable
        | StatusCode::RequestTerminated => {
            return Err(TransferOutcome::NoAnswer);
        }
        other => return Err(failed(format!("agent answered {other}"))),
    }
    let body = String::from_utf8_lossy(&response.body).into_owned();
    let negotiated = match sdp::accept_answer(&offer, &body) {
        Ok(n) => n,
        Err(e) => {
            let _ = dialog.hangup().await;
            return Err(failed(format!("agent's SDP: {e}")));
        }
    };
    let Some(codec) = codec_of(&negotiated) else {
        let _ = dialog.hangup().await;
        return Err(failed("agent chose a codec kefu did not offer".into()));
    };
    let leg = new_leg(&negotiated, codec, 2).map_err(|e| failed(e.to_string()))?;
    Ok(AgentConnection {
        leg,
        sockets,
        dialog,
        states,
    })
}
