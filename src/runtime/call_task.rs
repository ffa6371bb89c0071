//! The async shell of one inbound call: admission, SDP, the dialog, the RTP sockets and the 20 ms
//! clock around the sans-IO [`Call`]. Every log line of the call carries `call=<id>`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsipstack::dialog::dialog::{DialogState, TerminatedReason};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, StatusCode, StatusCodeKind};
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::call::leg::{Leg, LegMedia};
use crate::call::{Call, CallOutput, CallSettings, LegId};
use crate::dialogue::{Conversed, FlowRun, TransferOutcome, VAR_SPEECH};
use crate::media::codec::CodecKind;
use crate::rtp::rtcp::NtpTimestamp;
use crate::runtime::asr::{Decoding, Turn};
use crate::runtime::live::{CallCommand, LiveEvent};
use crate::runtime::llm;
use crate::runtime::merchant::ApiError;
use crate::runtime::recorder::MessageWriter;
use crate::runtime::server::Shared;
use crate::runtime::shop;
use crate::runtime::speaker::{self, Piece, Speaking};
use crate::runtime::transfer::{self, AgentConnection};
use crate::shop::ShopData;
use crate::sip::request::{InviteInfo, dtmf_relay_digit, refer_progress};
use crate::sip::sdp::{self, AudioCodecSpec, LocalMedia, Negotiated, SdpError, SessionDescription};
use crate::speech::listener::TurnId;
use crate::store::{Direction, NewCall, OutcomeRow, TurnRow, event_kind};

/// Codecs kefu answers with, in the order it prefers them when an offer lists several.
pub fn supported_codecs() -> Vec<AudioCodecSpec> {
    CodecKind::PREFERENCE
        .iter()
        .map(|k| AudioCodecSpec {
            name: k.sdp_name().into(),
            clock_rate: k.rtp_clock_rate(),
            channels: k.sdp_channels(),
        })
        .collect()
}

/// A new call id: time-ordered and unique enough to type a prefix of it.
fn new_call_id() -> String {
    let ms = jiff::Timestamp::now().as_millisecond();
    format!("{ms:x}{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// Handles a new INVITE from first response to last BYE.
pub async fn inbound(shared: Arc<Shared>, mut tx: Transaction) {
    let id = new_call_id();
    let span = tracing::info_span!("call", call = %id);
    async move {
        let info = match InviteInfo::read(&tx.original) {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable INVITE");
                let _ = tx.reply(StatusCode::BadRequest).await;
                return;
            }
        };
        let started = jiff::Timestamp::now();
        let new = NewCall {
            id: id.clone(),
            sip_call_id: info.sip_call_id.clone(),
            direction: Direction::Inbound,
            from: info.from.clone(),
            to: info.to.clone(),
            started_at: started,
        };
        if let Err(e) = shared.store.insert_call(&new).await {
            tracing::error!(error = %e, "cannot record the call; refusing it");
            let _ = tx.reply(StatusCode::ServerInternalError).await;
            return;
        }
        shared.live.publish(event(
            &id,
            "started",
            format!("{} -> {}", info.from, info.dialled),
        ));
        let cause = match run_inbound(&shared, &id, &info, tx).await {
            Ok(cause) => cause,
            Err(cause) => cause,
        };
        tracing::info!(cause = %cause, "call ended");
        metrics::counter!("kefu_calls_total", "end_cause" => cause.clone()).increment(1);
        if let Err(e) = shared
            .store
            .end_call(&id, jiff::Timestamp::now(), &cause)
            .await
        {
            tracing::error!(error = %e, "could not record the end of the call");
        }
        // Only now is the call gone: shutdown waits for the live set to empty, and must not
        // close the store before the end above is written.
        shared.live.remove(&id);
        shared.live.publish(event(&id, "ended", cause));
    }
    .instrument(span)
    .await
}

fn event(id: &str, kind: &str, detail: String) -> LiveEvent {
    LiveEvent {
        call_id: id.to_owned(),
        at: jiff::Timestamp::now().to_string(),
        kind: kind.into(),
        detail,
    }
}

/// Refuses the INVITE with `status` and returns the end cause.
async fn refuse(
    tx: &mut Transaction,
    status: StatusCode,
    headers: Vec<Header>,
    cause: &str,
) -> String {
    if let Err(e) = tx.reply_with(status, headers, None).await {
        tracing::debug!(error = %e, "could not send the refusal");
    }
    cause.to_owned()
}

async fn run_inbound(
    shared: &Arc<Shared>,
    id: &str,
    info: &InviteInfo,
    mut tx: Transaction,
) -> Result<String, String> {
    let now = Instant::now();
    let source = source_ip(&tx);
    let admitted = {
        let mut admission = shared
            .admission
            .lock()
            .expect("admission lock is never held across a panic");
        admission.admit(now, source, shared.live.len())
    };
    if let Err(refusal) = admitted {
        let retry = Header::RetryAfter(refusal.retry_after().to_string().into());
        return Err(refuse(
            &mut tx,
            StatusCode::ServiceUnavailable,
            vec![retry],
            refusal.end_cause(),
        )
        .await);
    }

    let body = String::from_utf8_lossy(tx.original.body()).into_owned();
    let offer = match SessionDescription::parse(&body) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "broken SDP offer");
            let warning =
                Header::Warning(format!("399 kefu \"{}\"", e.to_string().replace('"', "'")).into());
            return Err(refuse(&mut tx, StatusCode::BadRequest, vec![warning], "sip.400").await);
        }
    };
    let Some(flow_name) = shared.config.dialplan.route(&info.dialled) else {
        return Err(refuse(&mut tx, StatusCode::NotFound, vec![], "sip.404").await);
    };
    let flow = shared
        .config
        .flows
        .get(flow_name)
        .cloned()
        .expect("the dialplan only routes to loaded flows");

    let sockets = match shared.ports.bind().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "no RTP port");
            return Err(refuse(
                &mut tx,
                StatusCode::ServiceUnavailable,
                vec![],
                "media.no_ports",
            )
            .await);
        }
    };
    let local_port = sockets
        .rtp
        .local_addr()
        .map_err(|e| format!("media.socket: {e}"))?
        .port();
    let local = LocalMedia {
        addr: shared.media_ip,
        port: local_port,
        session_id: rand::random::<u32>() as u64,
        session_version: 1,
    };
    let answer = match sdp::negotiate_answer(&offer, &supported_codecs(), &local) {
        Ok(a) => a,
        Err(e @ (SdpError::NoCommonCodec | SdpError::NoAudio)) => {
            tracing::info!(error = %e, "no common codec");
            let warning = Header::Warning("305 kefu \"Incompatible media format\"".into());
            return Err(refuse(
                &mut tx,
                StatusCode::NotAcceptableHere,
                vec![warning],
                "sip.488",
            )
            .await);
        }
        Err(e) => {
            tracing::warn!(error = %e, "SDP offer refused");
            return Err(refuse(&mut tx, StatusCode::NotAcceptableHere, vec![], "sip.488").await);
        }
    };
    let Some(codec) = codec_of(&answer.negotiated) else {
        return Err(refuse(&mut tx, StatusCode::NotAcceptableHere, vec![], "sip.488").await);
    };

    let (state_tx, mut states) = shared.dialog_layer.new_dialog_state_channel();
    let dialog = shared
        .dialog_layer
        .get_or_create_server_invite(&tx, state_tx, None, Some(shared.contact.clone()))
        .map_err(|e| format!("sip.dialog: {e}"))?;
    let mut invite_dialog = dialog.clone();
    tokio::spawn(async move {
        let _ = invite_dialog.handle(&mut tx).await;
    });
    let answer_sdp = answer.description.to_string();
    // 180 first: gateways that start a ring-back or a billing timer on it expect it.
    if let Err(e) = dialog.ringing(None, None) {
        tracing::debug!(error = %e, "180 not sent");
    }
    let ring = Duration::from_millis(shared.config.server.sip.answer_delay_ms);
    if !ring.is_zero()
        && let Some(cause) = ring_before_answer(&mut states, ring).await
    {
        return Err(cause);
    }
    dialog
        .accept(
            Some(vec![Header::ContentType("application/sdp".into())]),
            Some(answer_sdp.into_bytes()),
        )
        .map_err(|e| format!("sip.accept: {e}"))?;
    let answered = Instant::now();
    metrics::histogram!("kefu_invite_to_answer_seconds")
        .record(answered.duration_since(now).as_secs_f64());
    let _ = shared
        .store
        .mark_answered(id, jiff::Timestamp::now(), &codec.to_string())
        .await;
    shared
        .live
        .publish(event(id, "answered", codec.to_string()));

    let jitter_packets = (shared.config.server.rtp.jitter_ms / 20).clamp(1, 16) as u16;
    let leg = new_leg(&answer.negotiated, codec, jitter_packets)
        .map_err(|e| format!("media.codec: {e}"))?;
    // The caller's number lets the assistant recognise a customer.
    let speech = if shared.asr.is_some() { "on" } else { "off" };
    let vars = [
        ("caller".to_owned(), uri_user(&info.from)),
        (VAR_SPEECH.to_owned(), speech.to_owned()),
    ]
    .into();
    let mut run = FlowRun::new(flow.clone(), vars);
    let mut shop = shared.shop.subscribe();
    let mut shop_open = true;
    let (mut base, today) = shop.borrow_and_update().clone();
    run.set_knowledge(base.clone(), today);
    // Records the merchant's system gave this call, laid over each new shop snapshot.
    let mut fetched = ShopData::default();
    let media_timeout = Duration::from_secs(shared.config.server.rtp.media_timeout_s);
    let settings = CallSettings {
        language: flow.language.clone(),
        record: flow.record_calls,
        media_timeout,
        speech: shared.asr.is_some(),
        barge_in_min_speech: Duration::from_millis(
            shared.config.server.speech.barge_in_min_speech_ms,
        ),
        complete_silence: Duration::from_millis(shared.config.server.speech.complete_silence_ms),
    };
    let mut call = Call::new(answered, leg, run, shared.prompts.clone(), settings);

    let (commands_tx, mut commands) = mpsc::channel(8);
    shared.live.insert(id, commands_tx);
    let recordings = shared.config.server.data.dir.join("recordings");
    let mut tap = if flow.record_calls {
        match shared.recorders.open(&recordings, id) {
            Ok(t) => {
                let _ = shared.store.set_recording(id, t.path()).await;
                Some(t)
            }
            Err(e) => {
                tracing::error!(error = %e, "recording disabled for this call");
                None
            }
        }
    } else {
        None
    };
    let mut message: Option<MessageWriter> = None;
    let store = shared.store.clone();
    let (writes_tx, writes) = mpsc::unbounded_channel::<Write>();
    let writer = tokio::spawn(write_events(store, id.to_owned(), writes));

    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut rtp_buf = vec![0u8; 2048];
    let mut rtcp_buf = vec![0u8; 2048];
    let mut agent_buf = vec![0u8; 2048];
    // The agent side of a bridged call; three options because select! borrows each separately.
    let mut agent_sockets: Option<crate::runtime::ports::RtpSockets> = None;
    let mut agent_states: Option<rsipstack::dialog::dialog::DialogStateReceiver> = None;
    let mut agent_dialog: Option<rsipstack::dialog::invite_dialog::InviteDialog> = None;
    let mut ringing: Option<tokio::task::JoinHandle<Result<AgentConnection, TransferOutcome>>> =
        None;
    // A blind transfer (REFER, RFC 3515): the REFER's own answer, then the NOTIFYs until this
    // deadline.
    let mut referring: Option<
        tokio::task::JoinHandle<rsipstack::Result<Option<rsipstack::sip::Response>>>,
    > = None;
    let mut refer_deadline: Option<tokio::time::Instant> = None;
    let mut referred = false;
    let mut pending_refer: Option<String> = None;
    let mut confirmed = false;
    let mut cause: Option<String> = None;
    let mut remote_gone = false;
    // Decodes of the caller's turns: the final one the flow waits for, and at most one partial.
    // A new final decode replaces (and so cancels) one in flight: an early decode made stale
    // by the caller speaking on.
    let mut final_decoding: Option<(TurnId, Decoding)> = None;
    let mut partial_decoding: Option<(TurnId, Decoding)> = None;
    // The reply being synthesised; replacing or dropping it stops its synthesis.
    let mut speaking: Option<Speaking> = None;
    // A change to the shop the assistant asked for (cancel, return); its reply waits.
    let mut changing: Option<tokio::task::JoinHandle<bool>> = None;
    // A lookup in the merchant's system; the greeting or turn that needs it waits.
    let mut looking_up: Option<tokio::task::JoinHandle<Result<ShopData, ApiError>>> = None;
    // A reply being rephrased by the language model; the reply waits.
    let mut phrasing: Option<tokio::task::JoinHandle<Result<String, String>>> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if referred {
                    call.hang_up("transfer.refer");
                }
                if refer_deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    refer_deadline = None;
                    call.transfer_failed(Instant::now(), TransferOutcome::NoAnswer);
                }
                call.handle_tick(Instant::now());
            }
            r = async { referring.as_mut().expect("guarded by is_some").await }, if referring.is_some() => {
                referring = None;
                let accepted = matches!(&r, Ok(Ok(Some(resp))) if resp.status_code.kind() == StatusCodeKind::Successful);
                if !accepted {
                    refer_deadline = None;
                    let why = match r {
                        Ok(Ok(Some(resp))) => format!("REFER answered {}", resp.status_code),
                        Ok(Ok(None)) => "REFER unanswered".to_owned(),
                        Ok(Err(e)) => format!("REFER: {e}"),
                        Err(e) => format!("REFER task: {e}"),
                    };
                    call.transfer_failed(Instant::now(), TransferOutcome::Failed(why));
                }
            }
            r = shop.changed(), if shop_open => match r {
                Ok(()) => {
                    let today;
                    (base, today) = shop.borrow_and_update().clone();
                    call.set_knowledge(shop::overlay(&base, &fetched), today);
                }
                // The feed is gone: the call keeps the shop it has.
                Err(_) => shop_open = false,
            },
            r = async { changing.as_mut().expect("guarded by is_some").await }, if changing.is_some() => {
                changing = None;
                let ok = r.unwrap_or(false);
                if ok {
                    shared.shop.changed();
                }
                call.shop_changed(Instant::now(), ok);
            }
            r = async { looking_up.as_mut().expect("guarded by is_some").await }, if looking_up.is_some() => {
                looking_up = None;
                // A failure is logged by the lookup; the call only needs to know.
                let found = r.ok().and_then(Result::ok);
                if let Some(found) = &found {
                    fetched.lay_over(found);
                    let today = shop.borrow().1;
                    call.set_knowledge(shop::overlay(&base, &fetched), today);
                }
                call.looked_up(Instant::now(), found.is_some());
            }
            r = async { phrasing.as_mut().expect("guarded by is_some").await }, if phrasing.is_some() => {
                phrasing = None;
                call.phrased(Instant::now(), r.ok().and_then(Result::ok));
            }
            r = async { final_decoding.as_mut().expect("guarded by is_some").1.result().await }, if final_decoding.is_some() => {
                let (turn, _) = final_decoding.take().expect("guarded by is_some");
                call.recognised(Instant::now(), turn, false, r);
            }
            r = async { partial_decoding.as_mut().expect("guarded by is_some").1.result().await }, if partial_decoding.is_some() => {
                let (turn, _) = partial_decoding.take().expect("guarded by is_some");
                call.recognised(Instant::now(), turn, true, r);
            }
            piece = async { speaking.as_mut().expect("guarded by is_some").next().await }, if speaking.is_some() => {
                let id = speaking.as_ref().expect("guarded by is_some").id;
                match piece {
                    Piece::Audio(samples) => call.speech_audio(Instant::now(), id, &samples),
                    Piece::Done(result) => {
                        speaking = None;
                        call.speech_done(id, result);
                    }
                }
            }
            r = sockets.rtp.recv_from(&mut rtp_buf) => {
                if let Ok((n, from)) = r {
                    metrics::counter!("kefu_rtp_packets_total", "direction" => "in").increment(1);
                    call.handle_rtp(Instant::now(), LegId::Caller, from, &rtp_buf[..n]);
                }
            }
            r = sockets.rtcp.recv_from(&mut rtcp_buf) => {
                if let Ok((n, _)) = r {
                    call.handle_rtcp(Instant::now(), LegId::Caller, &rtcp_buf[..n]);
                }
            }
            state = states.recv() => match state {
                None => {
                    call.hang_up("sip.dialog_lost");
                }
                Some(DialogState::Terminated(_, reason)) => {
                    remote_gone = true;
                    cause.get_or_insert(terminated_cause(&reason).to_owned());
                    call.hang_up(terminated_cause(&reason));
                }
                Some(DialogState::Info(_, req, handle)) => {
                    let content_type = req.headers.iter().find_map(|h| match h {
                        Header::ContentType(c) => Some(c.value().to_owned()),
                        _ => None,
                    }).unwrap_or_default();
                    match dtmf_relay_digit(&content_type, req.body()) {
                        Some(d) => {
                            let _ = handle.reply(StatusCode::OK).await;
                            call.handle_info_digit(Instant::now(), d);
                        }
                        None => { let _ = handle.reply(StatusCode::UnsupportedMediaType).await; }
                    }
                }
                Some(DialogState::Updated(_, req, handle)) => {
                    reinvite(&mut call, &req, &handle, &supported_codecs(), &local, codec).await;
                }
                Some(DialogState::Options(_, _, handle)) => { let _ = handle.reply(StatusCode::OK).await; }
                Some(DialogState::Notify(_, req, handle)) => {
                    let _ = handle.reply(StatusCode::OK).await;
                    if refer_deadline.is_some() && let Some(status) = refer_progress(&req) {
                        match status {
                            100..=199 => {}
                            200..=299 => {
                                refer_deadline = None;
                                // On the next tick, so the 200 to this NOTIFY leaves before BYE.
                                referred = true;
                            }
                            _ => {
                                refer_deadline = None;
                                let why = format!("referred call failed: {status}");
                                call.transfer_failed(Instant::now(), TransferOutcome::Failed(why));
                            }
                        }
                    }
                }
                Some(DialogState::Refer(_, _, handle))
                | Some(DialogState::Message(_, _, handle)) | Some(DialogState::Publish(_, _, handle)) => {
                    let _ = handle.reply(StatusCode::NotImplemented).await;
                }
                Some(DialogState::Confirmed(..)) => {
                    confirmed = true;
                    if let Some(uri) = pending_refer.take() {
                        referring = Some(send_refer(&dialog, uri));
                    }
                }
                Some(_) => {}
            },
            Some(cmd) = commands.recv() => match cmd {
                CallCommand::Hangup { cause } => call.hang_up(cause),
            },
            r = async { ringing.as_mut().expect("guarded by is_some").await }, if ringing.is_some() => {
                ringing = None;
                match r {
                    Ok(Ok(conn)) => {
                        let AgentConnection { leg, sockets, dialog, states } = conn;
                        call.agent_connected(Instant::now(), leg);
                        agent_sockets = Some(sockets);
                        agent_states = Some(states);
                        agent_dialog = Some(dialog);
                    }
                    Ok(Err(outcome)) => call.transfer_failed(Instant::now(), outcome),
                    Err(e) => call.transfer_failed(Instant::now(), TransferOutcome::Failed(e.to_string())),
                }
            }
            r = async { agent_sockets.as_ref().expect("guarded by is_some").rtp.recv_from(&mut agent_buf).await }, if agent_sockets.is_some() => {
                if let Ok((n, from)) = r {
                    call.handle_rtp(Instant::now(), LegId::Agent, from, &agent_buf[..n]);
                }
            }
            state = async { agent_states.as_mut().expect("guarded by is_some").recv().await }, if agent_states.is_some() => {
                if matches!(state, None | Some(DialogState::Terminated(..))) {
                    agent_states = None;
                    agent_sockets = None;
                    if let Some(d) = agent_dialog.take() {
                        shared.dialog_layer.remove_dialog(&d.id());
                    }
                    call.agent_hung_up(Instant::now());
                }
            }
        }
        while let Some(out) = call.poll_output() {
            match out {
                CallOutput::Transmit {
                    leg: LegId::Caller,
                    rtcp,
                    to,
                    bytes,
                } => {
                    let socket = if rtcp { &sockets.rtcp } else { &sockets.rtp };
                    if socket.try_send_to(&bytes, to).is_ok() && !rtcp {
                        metrics::counter!("kefu_rtp_packets_total", "direction" => "out")
                            .increment(1);
                    }
                }
                CallOutput::Transmit {
                    leg: LegId::Agent,
                    rtcp,
                    to,
                    bytes,
                } => {
                    if let Some(a) = &agent_sockets {
                        let socket = if rtcp { &a.rtcp } else { &a.rtp };
                        let _ = socket.try_send_to(&bytes, to);
                    }
                }
                CallOutput::DropAgent => {
                    agent_sockets = None;
                    agent_states = None;
                    if let Some(d) = agent_dialog.take() {
                        let layer = shared.dialog_layer.clone();
                        tokio::spawn(async move {
                            let _ = d.bye().await;
                            layer.remove_dialog(&d.id());
                        });
                    }
                }
                CallOutput::Record { caller, other } => {
                    if let Some(t) = &mut tap {
                        t.push(caller, other);
                    }
                }
                CallOutput::MessageStart { .. } => {
                    message = MessageWriter::start(&recordings, id).ok();
                }
                CallOutput::MessageFrame(f) => {
                    if let Some(m) = &mut message {
                        m.push(f);
                    }
                }
                CallOutput::MessageStop => {
                    if let Some(m) = message.take() {
                        let (path, seconds) = m.finish();
                        call.message_saved(Instant::now(), path.display().to_string(), seconds);
                    }
                }
                CallOutput::Event { kind, detail } => {
                    shared.live.publish(event(id, kind, detail.clone()));
                    // Partial hypotheses are for the live view; the record keeps final results.
                    if kind != "partial" {
                        let _ = writes_tx.send(Write::Event(kind.to_owned(), detail));
                    }
                }
                CallOutput::Conversed(turn) => {
                    let row = turn_row(&turn);
                    let detail = serde_json::to_string(&row).unwrap_or_default();
                    shared.live.publish(event(id, event_kind::TURN, detail));
                    let _ = writes_tx.send(Write::Turn(row));
                }
                CallOutput::ChangeShop(action) => {
                    let store = shared.store.clone();
                    let today = jiff::Zoned::now().date();
                    changing = Some(tokio::spawn(async move {
                        shop::change(&store, &action, today).await
                    }));
                }
                CallOutput::LookUp(lookup) => match &shared.merchant {
                    Some(api) => {
                        looking_up = Some(tokio::spawn(shop::look_up(api.clone(), lookup)))
                    }
                    None => call.looked_up(Instant::now(), false),
                },
                CallOutput::Phrase(request) => match &shared.llm {
                    Some(llm) => phrasing = Some(tokio::spawn(llm::phrase(llm.clone(), request))),
                    None => call.phrased(Instant::now(), None),
                },
                CallOutput::Recognise {
                    turn,
                    partial,
                    audio,
                    grammar,
                    hints,
                    language,
                } => {
                    let Some(pool) = &shared.asr else { continue };
                    if partial && partial_decoding.is_some() {
                        continue;
                    }
                    let request = Turn {
                        audio,
                        language,
                        grammar,
                        hints,
                        partial,
                    };
                    match pool.submit(request) {
                        Ok(Some(d)) if partial => partial_decoding = Some((turn, d)),
                        Ok(Some(d)) => final_decoding = Some((turn, d)),
                        Ok(None) => {}
                        Err(reason) => call.recognised(Instant::now(), turn, partial, Err(reason)),
                    }
                }
                CallOutput::Speak {
                    speech,
                    text,
                    voice,
                    language,
                } => {
                    speaking = Some(speaker::start(
                        shared.tts.clone(),
                        speech,
                        text,
                        voice,
                        language,
                    ));
                }
                CallOutput::StopSpeaking { speech } => {
                    if speaking.as_ref().is_some_and(|s| s.id == speech) {
                        speaking = None;
                    }
                }
                CallOutput::Transfer {
                    target,
                    timeout,
                    refer: false,
                } => {
                    tracing::info!(%target, "transferring");
                    let caller_user = uri_user(&info.from);
                    ringing = Some(tokio::spawn(transfer::connect(
                        shared.clone(),
                        target,
                        caller_user,
                        timeout,
                    )));
                }
                CallOutput::Transfer {
                    target,
                    timeout,
                    refer: true,
                } => match transfer::refer_to(shared, &target) {
                    Ok(uri) => {
                        refer_deadline = Some(tokio::time::Instant::now() + timeout);
                        // REFER is an in-dialog request: not before the caller's ACK.
                        if confirmed {
                            referring = Some(send_refer(&dialog, uri));
                        } else {
                            pending_refer = Some(uri);
                        }
                    }
                    Err(outcome) => call.transfer_failed(Instant::now(), outcome),
                },
                CallOutput::Hangup { cause: c } => {
                    cause.get_or_insert(c);
                }
            }
        }
        if call.is_ended() {
            break;
        }
    }
    if let Some(r) = ringing.take() {
        r.abort();
    }
    if let Some(d) = agent_dialog.take() {
        let _ = d.bye().await;
        shared.dialog_layer.remove_dialog(&d.id());
    }
    if !remote_gone && let Err(e) = dialog.bye().await {
        tracing::debug!(error = %e, "BYE failed");
    }
    shared.dialog_layer.remove_dialog(&dialog.id());
    if let Some(t) = tap {
        t.finish().await;
    }
    drop(writes_tx);
    let _ = writer.await;
    if let Some(report) = call.flow().conversation() {
        let outcome = OutcomeRow {
            outcome: report.outcome.as_str().to_owned(),
            skill: report.skill.unwrap_or_default().to_owned(),
            summary: report.summary.unwrap_or_default(),
            sentiment: report.sentiment,
        };
        if let Err(e) = shared.store.set_outcome(id, &outcome).await {
            tracing::error!(error = %e, "could not record the conversation's outcome");
        }
    }
    let (lost, jitter_ms) = call.caller().receive_quality();
    metrics::counter!("kefu_rtp_lost_packets_total").increment(lost.max(0) as u64);
    metrics::histogram!("kefu_rtp_jitter_ms").record(jitter_ms);
    let c = call.caller().counters();
    tracing::info!(
        lost,
        jitter_ms,
        packets_in = c.packets_in,
        packets_out = c.packets_out,
        bad = c.bad_packets,
        "media closed"
    );
    Ok(cause.unwrap_or_else(|| "flow.hangup".into()))
}

/// `sip:+15551230000@host;x=y` -> `+15551230000` (or `kefu` when there is no user part).
fn uri_user(uri: &str) -> String {
    let rest = uri.split_once(':').map_or(uri, |(_, r)| r);
    match rest.split_once('@') {
        Some((user, _)) if !user.is_empty() => user.to_owned(),
        _ => "kefu".to_owned(),
    }
}

/// Sends REFER to the caller in the background (RFC 3515): its answer is the task's result.
fn send_refer(
    dialog: &rsipstack::dialog::invite_dialog::InviteDialog,
    uri: String,
) -> tokio::task::JoinHandle<rsipstack::Result<Option<rsipstack::sip::Response>>> {
    tracing::info!(%uri, "referring the caller");
    let d = dialog.clone();
    tokio::spawn(async move { d.refer(format!("<{uri}>"), None, None).await })
}

/// The codec SDP negotiation settled on.
pub fn codec_of(n: &Negotiated) -> Option<CodecKind> {
    CodecKind::from_sdp(&n.codec.name, n.codec.clock_rate, n.codec.channels)
}

/// A media leg for what SDP negotiated, starting now.
pub fn new_leg(
    n: &Negotiated,
    codec: CodecKind,
    jitter_packets: u16,
) -> Result<Leg, crate::media::CodecError> {
    let media = LegMedia {
        codec,
        payload_type: n.codec.payload_type,
        telephone_event: n.telephone_event,
        remote: n.remote_rtp,
        rtcp_mux: n.rtcp_mux,
    };
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Leg::new(
        media,
        Instant::now(),
        NtpTimestamp::from_unix(since_epoch),
        jitter_packets,
        rand::random(),
    )
}

/// What the writer task stores for a call, in order.
enum Write {
    /// A timeline entry (`digit` and `node` also update the call's columns).
    Event(String, String),
    /// A turn with the assistant: `call_turns` and a `turn` timeline entry.
    Turn(TurnRow),
}

fn turn_row(c: &Conversed) -> TurnRow {
    TurnRow {
        said: c.said.clone(),
        intent: c.turn.intent.to_string(),
        confidence: c.turn.confidence,
        slots: c
            .turn
            .slots
            .to_map()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        sentiment: c.turn.sentiment,
        reply: c.turn.reply.clone(),
    }
}

/// Writes a call's timeline in order, off the media loop.
async fn write_events(
    store: crate::store::Store,
    id: String,
    mut writes: mpsc::UnboundedReceiver<Write>,
) {
    while let Some(write) = writes.recv().await {
        let at = jiff::Timestamp::now();
        let result = match write {
            Write::Event(kind, detail) => {
                let columns = match kind.as_str() {
                    "digit" => match detail.chars().next() {
                        Some(d) => store.append_digit(&id, d).await,
                        None => Ok(()),
                    },
                    "node" => store.push_flow_step(&id, &detail).await,
                    _ => Ok(()),
                };
                columns.and(store.add_event(&id, at, &kind, &detail).await)
            }
            Write::Turn(row) => {
                let detail = serde_json::to_string(&row).unwrap_or_default();
                store
                    .add_turn(&id, at, &row)
                    .await
                    .and(store.add_event(&id, at, event_kind::TURN, &detail).await)
            }
        };
        if let Err(e) = result {
            tracing::error!(call = %id, error = %e, "could not record a call event");
        }
    }
}

/// Answers a re-INVITE (hold, resume, new address) with our SDP for the same codec.
async fn reinvite(
    call: &mut Call,
    req: &rsipstack::sip::Request,
    handle: &rsipstack::dialog::dialog::TransactionHandle,
    supported: &[AudioCodecSpec],
    local: &LocalMedia,
    codec: CodecKind,
) {
    let body = String::from_utf8_lossy(req.body()).into_owned();
    if body.trim().is_empty() {
        // An offerless re-INVITE (RFC 3261 §14.2): offer what we use now.
        let _ = handle.reply(StatusCode::OK).await;
        return;
    }
    let outcome = SessionDescription::parse(&body)
        .map_err(|_| StatusCode::BadRequest)
        .and_then(|offer| {
            sdp::negotiate_answer(&offer, supported, local)
                .map_err(|_| StatusCode::NotAcceptableHere)
        });
    match outcome {
        Ok(answer) if codec_of(&answer.negotiated) == Some(codec) => {
            call.handle_caller_media_change(answer.negotiated.remote_rtp);
            let body = answer.description.to_string().into_bytes();
            let headers = vec![Header::ContentType("application/sdp".into())];
            let _ = handle
                .respond(StatusCode::OK, Some(headers), Some(body))
                .await;
        }
        Ok(_) => {
            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
        }
        Err(status) => {
            let _ = handle.reply(status).await;
        }
    }
}

/// Lets the phone ring for `ring` before answering; the caller may give up (CANCEL) meanwhile,
/// which rsipstack answers 200 and 487 (RFC 3261 §9.2). Returns the end cause if the call ended.
async fn ring_before_answer(
    states: &mut rsipstack::dialog::dialog::DialogStateReceiver,
    ring: Duration,
) -> Option<String> {
    let answer_at = tokio::time::sleep(ring);
    tokio::pin!(answer_at);
    loop {
        tokio::select! {
            _ = &mut answer_at => return None,
            state = states.recv() => match state {
                Some(DialogState::Terminated(_, reason)) => return Some(terminated_cause(&reason).to_owned()),
                None => return Some("sip.terminated".to_owned()),
                Some(_) => {}
            },
        }
    }
}

fn terminated_cause(reason: &TerminatedReason) -> &'static str {
    match reason {
        TerminatedReason::UacBye => "caller.hangup",
        TerminatedReason::UacCancel => "caller.cancel",
        TerminatedReason::Timeout => "sip.timeout",
        TerminatedReason::UasBye => "flow.hangup",
        _ => "sip.terminated",
    }
}

/// The source address of the request, for per-source rate limiting: the Via `received`
/// parameter rsipstack adds (RFC 3261 §18.2.1), else the Via host.
fn source_ip(tx: &Transaction) -> std::net::IpAddr {
    let via = tx
        .original
        .via_header()
        .map(|v| v.value().to_owned())
        .unwrap_or_default();
    let received = via
        .split(';')
        .find_map(|p| p.trim().strip_prefix("received="))
        .and_then(|ip| ip.parse().ok());
    received
        .or_else(|| {
            let sent_by = via.split_whitespace().nth(1)?.split(';').next()?;
            sent_by
                .parse::<SocketAddr>()
                .map(|a| a.ip())
                .ok()
                .or_else(|| sent_by.parse().ok())
        })
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}
