//! The call state machine: a caller leg, the flow that drives it, what kefu plays, and (once a
//! transfer connects) the agent leg it bridges to. Sans-IO: the runtime feeds it datagrams, SIP
//! happenings and a 20 ms tick, all with `now`, and drains [`CallOutput`]s.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::call::barge_in::{BargeIn, Verdict};
use crate::call::latency::TurnLatency;
use crate::call::leg::Leg;
use crate::call::utterance::{Ending, SpeechId, Utterance};
use crate::config::flow::TransferTarget;
use crate::dialogue::{
    FlowAction, FlowEvent, FlowRun, Heard, ListenRequest, PromptRef, TransferOutcome,
};
use crate::media::frame::Frame;
use crate::media::player::Playback;
use crate::media::prompt::{Prompt, PromptLibrary, language_key};
use crate::media::tone::ToneGenerator;
use crate::speech::listener::{ListenSettings, Listener, TurnEvent, TurnId};

/// Which leg a datagram or a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegId {
    Caller,
    Agent,
}

/// What the runtime must do for the call.
// `Record` carries two frames by value on purpose: boxing them would allocate every 20 ms, and
// outputs are drained right after each input, so the queue never holds many.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum CallOutput {
    /// Send these RTP (or RTCP) bytes from the leg's socket.
    Transmit {
        leg: LegId,
        rtcp: bool,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    /// One frame pair for the call recording: caller left, kefu or agent right.
    Record { caller: Frame, other: Frame },
    /// Start writing the caller's message to a file (a `record` node).
    MessageStart { max: Duration },
    /// One frame of the caller's message.
    MessageFrame(Frame),
    /// The message is complete; the runtime answers with [`Call::message_saved`].
    MessageStop,
    /// Something for the call record and the live view (`node`, `digit`, ...).
    Event { kind: &'static str, detail: String },
    /// Ring this target and bridge it in (or, with `refer`, REFER the caller to it); answer
    /// with [`Call::agent_connected`], [`Call::transfer_failed`] or, after a REFER, a hangup.
    Transfer {
        target: TransferTarget,
        timeout: Duration,
        refer: bool,
    },
    /// Decode this turn of the caller's speech; answer with [`Call::recognised`]. A partial
    /// decode may be skipped when decoders are busy; a final one may not. A final one replaces
    /// (cancels) a final one still in flight, whose result must then not be delivered: it was
    /// started at a pause the caller spoke on through.
    Recognise {
        turn: TurnId,
        partial: bool,
        audio: Vec<f32>,
        grammar: Option<String>,
        hints: Option<String>,
        language: String,
    },
    /// Synthesise `text` with `voice` (or the language's default) and hand each piece to
    /// [`Call::speech_audio`] as it is ready, then call [`Call::speech_done`].
    Speak {
        speech: SpeechId,
        text: String,
        voice: Option<String>,
        language: String,
    },
    /// Stop synthesising `speech`: the caller cut it short. Pieces still arriving are dropped.
    StopSpeaking { speech: SpeechId },
    /// End the agent leg (BYE to the agent).
    DropAgent,
    /// End the call with this stable end cause (BYE to the caller).
    Hangup { cause: String },
}

/// Speech the endpointer has heard when it opens a turn (its `min_speech_ms`).
const ENDPOINT_ONSET: Duration = Duration::from_millis(120);

/// Partial decodes while the caller talks: often enough to end a complete order number early.
const PARTIAL_EVERY: Duration = Duration::from_millis(500);
/// No partial decode of a turn shorter than 1.5 s (16 kHz samples).
const PARTIAL_MIN_SAMPLES: usize = 24_000;

/// The tone before a message is recorded.
const BEEP_HZ: f64 = 1000.0;
const BEEP_DBM0: f64 = -12.0;
const BEEP_LENGTH: Duration = Duration::from_millis(400);

/// Caller audio above this RMS counts as voice for a message's silence limit (about -40 dBFS).
const VOICE_RMS: f32 = 300.0;

/// What the prompts in the playback queue are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Playing {
    Nothing,
    /// A flow `Play`: the flow hears `PlaybackFinished` when it ends.
    Flow,
    /// A transfer's announcement: the agent is rung when it ends.
    Announce,
}

/// A caller's message being recorded.
#[derive(Debug, Clone, Copy)]
struct Message {
    until: Instant,
    /// Stop after this long without voice.
    silence: Option<Duration>,
    last_voice: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running the flow: kefu talks, the caller presses keys.
    Flow,
    /// Ringing an agent; the caller hears what the flow played (announce) then silence.
    Transferring,
    /// Caller and agent talk through kefu.
    Bridged,
    /// Hangup decided; nothing more is sent.
    Ended,
}

/// What a decode of one turn found.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    pub text: String,
    /// The grammar's interpretation (SISR `out`), when a grammar was used and matched.
    pub interpretation: Option<String>,
    pub confidence: f32,
}

/// How a call is set up, beyond its leg and flow.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Selects `<lang>/` prompts and grammars, and the language whisper decodes.
    pub language: String,
    /// Record the whole call.
    pub record: bool,
    /// Hang up after this long without RTP from the caller.
    pub media_timeout: Duration,
    /// A speech model is loaded: `Listen` runs; without one the flow gets keys only.
    pub speech: bool,
    /// Caller speech that stops kefu's voice (see `call::barge_in`).
    pub barge_in_min_speech: Duration,
}

/// A caller's turn that has ended and waits for its decode.
#[derive(Debug, Clone, Copy)]
struct PendingTurn {
    turn: TurnId,
    speech_start: Instant,
    speech_end: Instant,
    decided_at: Instant,
}

/// A decode started when the caller paused, before the endpoint: it is the final decode if the
/// turn ends at that pause (with `samples` of audio). Its result may come before the endpoint.
#[derive(Debug)]
struct EarlyDecode {
    turn: TurnId,
    samples: usize,
    result: Option<Result<Recognition, String>>,
}

pub struct Call {
    caller: Leg,
    agent: Option<Leg>,
    flow: FlowRun,
    prompts: Arc<PromptLibrary>,
    /// Selects `<lang>/` prompts.
    language: String,
    playback: Playback,
    tones: Option<ToneGenerator>,
    phase: Phase,
    record: bool,
    /// What the prompts now playing are for.
    playing: Playing,
    /// A transfer waiting for its announcement to finish.
    pending_transfer: Option<(TransferTarget, Duration, bool)>,
    /// Set while a `record` node is capturing the caller's message.
    message: Option<Message>,
    media_timeout: Duration,
    speech: bool,
    /// Set while the flow listens: the caller's turns are found here.
    listener: Option<(Listener, ListenRequest)>,
    /// The last turn handed out, so turns stay numbered across listens.
    last_turn: TurnId,
    pending_turn: Option<PendingTurn>,
    early: Option<EarlyDecode>,
    /// What the flow is saying now (a prompt list or a synthesised reply), for the timeline.
    utterance: Option<Utterance>,
    /// The last synthesised reply's id.
    last_speech: SpeechId,
    /// The caller's last turn, until the first packet of kefu's answer to it leaves.
    latency: Option<TurnLatency>,
    /// Whether the caller's speech stops kefu's voice.
    barge: BargeIn,
    /// kefu's voice is held (not stopped) while a barge-in is judged.
    paused: bool,
    answered_at: Instant,
    outputs: VecDeque<CallOutput>,
    scratch: Vec<u8>,
}

impl Call {
    /// A call just answered at `now`; the flow starts at once so the greeting's first frame goes
    /// out on the first tick.
    pub fn new(
        now: Instant,
        caller: Leg,
        flow: FlowRun,
        prompts: Arc<PromptLibrary>,
        settings: CallSettings,
    ) -> Call {
        let mut call = Call {
            caller,
            agent: None,
            flow,
            prompts,
            language: settings.language,
            playback: Playback::new(),
            tones: None,
            phase: Phase::Flow,
            record: settings.record,
            playing: Playing::Nothing,
            pending_transfer: None,
            message: None,
            media_timeout: settings.media_timeout,
            speech: settings.speech,
            listener: None,
            last_turn: 0,
            pending_turn: None,
            early: None,
            utterance: None,
            last_speech: 0,
            latency: None,
            barge: BargeIn::new(settings.barge_in_min_speech),
            paused: false,
            answered_at: now,
            outputs: VecDeque::new(),
            scratch: Vec::with_capacity(1500),
        };
        call.flow.start(now);
        call.drain_flow(now);
        call
    }

    pub fn caller(&self) -> &Leg {
        &self.caller
    }

    pub fn flow(&self) -> &FlowRun {
        &self.flow
    }

    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    pub fn handle_rtp(&mut self, now: Instant, leg: LegId, from: SocketAddr, bytes: &[u8]) {
        match leg {
            LegId::Caller => self.caller.handle_rtp(now, from, bytes),
            LegId::Agent => {
                if let Some(agent) = &mut self.agent {
                    agent.handle_rtp(now, from, bytes)
                }
            }
        }
    }

    pub fn handle_rtcp(&mut self, now: Instant, leg: LegId, bytes: &[u8]) {
        match (leg, &mut self.agent) {
            (LegId::Caller, _) => self.caller.handle_rtcp(now, bytes),
            (LegId::Agent, Some(agent)) => agent.handle_rtcp(now, bytes),
            (LegId::Agent, None) => {}
        }
    }

    /// A digit that arrived by SIP INFO.
    pub fn handle_info_digit(&mut self, now: Instant, digit: char) {
        self.on_digit(now, digit);
    }

    /// The caller put the call on hold or resumed (re-INVITE); media goes to `remote`.
    pub fn handle_caller_media_change(&mut self, remote: SocketAddr) {
        self.caller.update_remote(remote);
    }

    /// The agent answered: bridge from the next tick.
    pub fn agent_connected(&mut self, now: Instant, agent: Leg) {
        self.agent = Some(agent);
        self.playback.stop();
        self.phase = Phase::Bridged;
        self.event("transfer", "connected".into());
        let _ = now;
    }

    /// The agent did not answer, was busy, or could not be reached: back to the flow.
    pub fn transfer_failed(&mut self, now: Instant, outcome: TransferOutcome) {
        self.event("transfer", format!("failed: {outcome:?}"));
        self.phase = Phase::Flow;
        self.flow.handle(now, FlowEvent::TransferEnded(outcome));
        self.drain_flow(now);
    }

    /// The agent hung up: the flow decides what follows (usually goodbye).
    pub fn agent_hung_up(&mut self, now: Instant) {
        self.agent = None;
        self.event("transfer", "agent hung up".into());
        self.phase = Phase::Flow;
        self.flow
            .handle(now, FlowEvent::TransferEnded(TransferOutcome::Completed));
        self.drain_flow(now);
    }

    /// The runtime wrote the caller's message.
    pub fn message_saved(&mut self, now: Instant, path: String, seconds: f32) {
        self.event("recording", format!("message {path}"));
        self.flow
            .handle(now, FlowEvent::RecordingFinished { path, seconds });
        self.drain_flow(now);
    }

    /// The decode of `turn` is done (or failed: the reason is for the call record).
    pub fn recognised(
        &mut self,
        now: Instant,
        turn: TurnId,
        partial: bool,
        result: Result<Recognition, String>,
    ) {
        if partial {
            if let Ok(r) = &result {
                self.event("partial", r.text.clone());
                if r.interpretation.is_some()
                    && let Some((listener, _)) = &mut self.listener
                {
                    listener.grammar_complete(turn);
                }
            }
            return;
        }
        if self.pending_turn.as_ref().is_none_or(|p| p.turn != turn) {
            // An early decode done before its endpoint: kept until the turn ends.
            if let Some(early) = &mut self.early
                && early.turn == turn
            {
                // A whole answer already (an order number): end the turn on a short silence.
                if result.as_ref().is_ok_and(|r| r.interpretation.is_some())
                    && let Some((listener, _)) = &mut self.listener
                {
                    listener.grammar_complete(turn);
                }
                early.result = Some(result);
            }
            return; // or the flow stopped listening meanwhile
        }
        self.early = None;
        self.finish_turn(now, result);
    }

    /// A rendered piece (16 kHz) of synthesised reply `speech`: queued behind what plays.
    pub fn speech_audio(&mut self, now: Instant, speech: SpeechId, samples: &[i16]) {
        let Some(synthesis) = self.utterance.as_mut().and_then(|u| u.speech.as_mut()) else {
            return;
        };
        if synthesis.id == speech {
            synthesis.first_audio.get_or_insert(now);
            self.playback.enqueue(Prompt::from_samples(samples));
            if let Some(latency) = &mut self.latency {
                latency.audio_ready(now);
            }
        }
    }

    /// Synthesis of `speech` is over; with an error, the reason goes to the timeline (a reply
    /// that could not be spoken is never silence without a record of why).
    pub fn speech_done(&mut self, speech: SpeechId, result: Result<(), String>) {
        let Some(synthesis) = self.utterance.as_mut().and_then(|u| u.speech.as_mut()) else {
            return;
        };
        if synthesis.id != speech {
            return;
        }
        synthesis.done = true;
        if let Err(reason) = result {
            self.event("tts_failed", reason);
        }
    }

    /// Closes the current utterance's timeline entry (and stops its synthesis).
    fn end_utterance(&mut self, ending: Ending) {
        let Some(utterance) = self.utterance.take() else {
            return;
        };
        if let Some(s) = &utterance.speech
            && !s.done
        {
            self.outputs
                .push_back(CallOutput::StopSpeaking { speech: s.id });
        }
        let detail = utterance.record(ending, self.playback.played(), self.answered_at);
        self.event("spoke", detail);
    }

    /// Hands the final result of the pending turn to the flow.
    fn finish_turn(&mut self, now: Instant, result: Result<Recognition, String>) {
        let Some(pending) = self.pending_turn.take() else {
            return;
        };
        let text = result.as_ref().ok().map(|r| r.text.as_str());
        match self.barge.judge(pending.turn, text) {
            Verdict::Flow => {}
            Verdict::Interrupt => {
                // Words over kefu's voice: the flow hears that the caller spoke (and stops the
                // utterance), then what they said.
                self.paused = false;
                self.flow.handle(now, FlowEvent::SpeechStarted);
                self.drain_flow(now);
            }
            Verdict::Resume | Verdict::Ignore => {
                let resumed = std::mem::replace(&mut self.paused, false);
                let detail = serde_json::json!({
                    "text": text.unwrap_or_default(),
                    "resumed": resumed,
                    "error": result.as_ref().err(),
                });
                self.event("false_interruption", detail.to_string());
                return;
            }
        }
        metrics::histogram!("kefu_asr_endpoint_to_final_seconds").record(
            now.saturating_duration_since(pending.decided_at)
                .as_secs_f64(),
        );
        let ms = |t: Instant| t.saturating_duration_since(self.answered_at).as_millis() as u64;
        match result {
            Ok(r) => {
                // Times are milliseconds since the answer: the turn's speech, the endpoint
                // decision and the final result, for the latency figures of the record.
                let detail = serde_json::json!({
                    "text": r.text,
                    "interpretation": r.interpretation,
                    "confidence": (r.confidence * 100.0).round() / 100.0,
                    "speech_start_ms": ms(pending.speech_start),
                    "speech_end_ms": ms(pending.speech_end),
                    "endpoint_ms": ms(pending.decided_at),
                    "final_ms": ms(now),
                });
                self.event("speech", detail.to_string());
                self.latency = Some(TurnLatency::heard(
                    pending.speech_end,
                    pending.decided_at,
                    now,
                ));
                self.flow.handle(
                    now,
                    FlowEvent::Heard(Heard {
                        text: r.text,
                        interpretation: r.interpretation,
                        confidence: r.confidence,
                    }),
                );
            }
            Err(reason) => self.flow.handle(now, FlowEvent::SpeechFailed { reason }),
        }
        self.drain_flow(now);
    }

    /// Ends the call from outside (API hang-up, shutdown, SIP trouble).
    pub fn hang_up(&mut self, cause: &str) {
        if self.phase != Phase::Ended {
            self.end_utterance(Ending::HungUp);
            if self.agent.take().is_some() {
                self.outputs.push_back(CallOutput::DropAgent);
            }
            self.phase = Phase::Ended;
            self.outputs.push_back(CallOutput::Hangup {
                cause: cause.to_owned(),
            });
        }
    }

    /// The 20 ms clock: one frame in and one frame out on every leg.
    pub fn handle_tick(&mut self, now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        if self.media_timed_out(now) {
            self.hang_up("media.timeout");
            return;
        }
        let heard = self.caller.pull_frame(now);
        while let Some(digit) = self.caller.poll_digit() {
            self.on_digit(now, digit);
        }
        self.listen(now, &heard);
        let guarded = self
            .utterance
            .as_ref()
            .is_some_and(|u| u.elapsed(self.playback.played()) < crate::call::barge_in::ECHO_GUARD);
        if self.barge.heard(heard.rms(), guarded) {
            self.paused = true;
            let played = self
                .utterance
                .as_ref()
                .map_or(Duration::ZERO, |u| u.elapsed(self.playback.played()));
            let detail = serde_json::json!({ "played_ms": played.as_millis() as u64 });
            self.event("barge_in", detail.to_string());
        }
        if self.flow.poll_timeout().is_some_and(|t| t <= now) {
            self.flow.handle(now, FlowEvent::Tick);
            self.drain_flow(now);
        }
        if let Some(m) = &mut self.message {
            self.outputs.push_back(CallOutput::MessageFrame(heard));
            if heard.rms() > VOICE_RMS {
                m.last_voice = now;
            }
            let silent_too_long = m
                .silence
                .is_some_and(|s| now.saturating_duration_since(m.last_voice) >= s);
            if now >= m.until || silent_too_long {
                self.stop_message();
            }
        }
        let spoken = match self.phase {
            Phase::Bridged => {
                let agent = self
                    .agent
                    .as_mut()
                    .expect("a bridged call has an agent leg");
                let from_agent = agent.pull_frame(now);
                let to = agent.push_frame(now, &heard, &mut self.scratch);
                self.transmit(LegId::Agent, to);
                from_agent
            }
            _ => self.next_spoken_frame(now),
        };
        self.barge.played(spoken.rms());
        let to = self.caller.push_frame(now, &spoken, &mut self.scratch);
        self.transmit(LegId::Caller, to);
        if self.record {
            self.outputs.push_back(CallOutput::Record {
                caller: heard,
                other: spoken,
            });
        }
        if let Some(report) = self.caller.poll_rtcp(now) {
            let to = self.caller.remote_rtcp();
            self.outputs.push_back(CallOutput::Transmit {
                leg: LegId::Caller,
                rtcp: true,
                to,
                bytes: report,
            });
        }
        if let Some(agent) = &mut self.agent
            && let Some(report) = agent.poll_rtcp(now)
        {
            let to = agent.remote_rtcp();
            self.outputs.push_back(CallOutput::Transmit {
                leg: LegId::Agent,
                rtcp: true,
                to,
                bytes: report,
            });
        }
    }

    pub fn poll_output(&mut self) -> Option<CallOutput> {
        self.outputs.pop_front()
    }

    /// Feeds the caller's frame to the listener, if the flow listens.
    fn listen(&mut self, now: Instant, heard: &Frame) {
        let Some((listener, request)) = &mut self.listener else {
            return;
        };
        let Some(event) = listener.handle_frame(now, heard) else {
            return;
        };
        let recognise = |turn, partial, audio| CallOutput::Recognise {
            turn,
            partial,
            audio,
            grammar: request.grammar.clone(),
            hints: request.hints.clone(),
            language: self.language.clone(),
        };
        match event {
            TurnEvent::Started { turn } => {
                self.last_turn = turn;
                // The caller speaks again before kefu answered the last turn: that answer's
                // latency no longer means anything.
                self.latency = None;
                if self.speaking_interruptibly() {
                    // Over kefu's voice: held until it proves to be speech, not echo or a cough.
                    self.barge.turn_started(turn, ENDPOINT_ONSET);
                } else {
                    self.flow.handle(now, FlowEvent::SpeechStarted);
                    self.drain_flow(now);
                }
            }
            // A partial decode earns its cost only on long turns (an order number read out),
            // where a complete answer can end the turn early.
            TurnEvent::Partial { turn, audio } if audio.len() >= PARTIAL_MIN_SAMPLES => {
                let output = recognise(turn, true, audio);
                self.outputs.push_back(output);
            }
            TurnEvent::Partial { .. } => {}
            // Decode now what the turn ends with if this pause ends it: the result is then
            // ready at the endpoint, not one decode after it. A newer decode replaces it.
            TurnEvent::Paused { turn, audio } => {
                self.early = Some(EarlyDecode {
                    turn,
                    samples: audio.len(),
                    result: None,
                });
                let output = recognise(turn, false, audio);
                self.outputs.push_back(output);
            }
            TurnEvent::Ended {
                turn,
                audio,
                speech_start,
                speech_end,
                decided_at,
            } => {
                let early = self
                    .early
                    .take_if(|e| e.turn == turn && e.samples == audio.len());
                if early.is_none() {
                    let output = recognise(turn, false, audio);
                    self.outputs.push_back(output);
                }
                self.pending_turn = Some(PendingTurn {
                    turn,
                    speech_start,
                    speech_end,
                    decided_at,
                });
                match early {
                    Some(EarlyDecode {
                        result: Some(result),
                        ..
                    }) => {
                        self.finish_turn(now, result);
                    }
                    // Still decoding: its result comes through `recognised`.
                    Some(e) => self.early = Some(e),
                    None => {}
                }
            }
        }
    }

    /// kefu is speaking (or about to: synthesis under way) something the caller may cut short.
    fn speaking_interruptibly(&self) -> bool {
        self.playing == Playing::Flow
            && self.utterance.as_ref().is_some_and(|u| {
                u.interruptible && (self.playback.is_playing() || u.awaits_audio())
            })
    }

    fn media_timed_out(&self, now: Instant) -> bool {
        let since = self.caller.last_received().unwrap_or(self.answered_at);
        now.saturating_duration_since(since) >= self.media_timeout
    }

    fn next_spoken_frame(&mut self, now: Instant) -> Frame {
        if self.paused {
            return Frame::SILENCE;
        }
        if let Some(tones) = &mut self.tones {
            match tones.next_frame() {
                Some(f) => return f,
                None => self.tones = None,
            }
        }
        if let Some(f) = self.playback.next_frame() {
            if self
                .latency
                .as_ref()
                .is_some_and(TurnLatency::awaits_packet)
            {
                let latency = self.latency.take().expect("checked above");
                // The frame goes out on this tick: the reply's first packet.
                let detail = latency.sent(now, self.answered_at);
                self.event("latency", detail);
            }
            return f;
        }
        if self.playing == Playing::Flow
            && self.utterance.as_ref().is_some_and(Utterance::awaits_audio)
        {
            // The next sentence is still being synthesised.
            return Frame::SILENCE;
        }
        match std::mem::replace(&mut self.playing, Playing::Nothing) {
            Playing::Nothing => Frame::SILENCE,
            Playing::Flow => {
                self.end_utterance(Ending::Finished);
                self.flow.handle(now, FlowEvent::PlaybackFinished);
                // kefu is silent now: a turn held back as a possible barge-in is the flow's.
                if self.barge.release().is_some() {
                    self.flow.handle(now, FlowEvent::SpeechStarted);
                }
                self.drain_flow(now);
                // A new prompt may have been queued; its first frame goes out now, not 20 ms late.
                self.playback.next_frame().unwrap_or(Frame::SILENCE)
            }
            Playing::Announce => {
                if let Some((target, timeout, refer)) = self.pending_transfer.take() {
                    self.ring(target, timeout, refer);
                }
                Frame::SILENCE
            }
        }
    }

    fn on_digit(&mut self, now: Instant, digit: char) {
        self.event("digit", digit.to_string());
        if self.message.is_some() {
            // Any key ends a message (callers are told "press any key when done").
            self.stop_message();
            return;
        }
        if self.phase == Phase::Bridged {
            // Keys pressed while talking to an agent go to the agent's phone.
            if let Some(agent) = &mut self.agent {
                agent.send_digit(digit);
            }
            return;
        }
        self.flow.handle(now, FlowEvent::Digit(digit));
        self.drain_flow(now);
    }

    fn stop_message(&mut self) {
        self.message = None;
        self.outputs.push_back(CallOutput::MessageStop);
    }

    fn drain_flow(&mut self, now: Instant) {
        while let Some(action) = self.flow.poll_action() {
            match action {
                FlowAction::NodeEntered { name } => self.event("node", name.to_string()),
                FlowAction::Play {
                    prompts,
                    interruptible,
                } => {
                    for p in &prompts {
                        self.queue_prompt(p);
                    }
                    if let Some(latency) = &mut self.latency {
                        latency.replied(now);
                        latency.audio_ready(now);
                    }
                    let names: Vec<&str> = prompts.iter().map(PromptRef::as_str).collect();
                    self.utterance = Some(Utterance::prompts(
                        names.join(" "),
                        interruptible,
                        now,
                        self.playback.played(),
                    ));
                    // Reported finished when the queue runs dry, even if it is empty.
                    self.playing = Playing::Flow;
                }
                FlowAction::Say {
                    text,
                    voice,
                    interruptible,
                } => {
                    self.last_speech += 1;
                    let speech = self.last_speech;
                    if let Some(latency) = &mut self.latency {
                        latency.replied(now);
                    }
                    self.utterance = Some(Utterance::spoken(
                        text.clone(),
                        interruptible,
                        speech,
                        now,
                        self.playback.played(),
                    ));
                    self.outputs.push_back(CallOutput::Speak {
                        speech,
                        text,
                        voice,
                        language: self.language.clone(),
                    });
                    self.playing = Playing::Flow;
                }
                FlowAction::StopPlayback => {
                    self.end_utterance(Ending::Interrupted);
                    self.playback.stop();
                    self.playing = Playing::Nothing;
                    self.paused = false;
                }
                FlowAction::StartRecording {
                    max_seconds,
                    silence_seconds,
                    beep,
                } => {
                    if beep {
                        self.tones = Some(ToneGenerator::beep(BEEP_HZ, BEEP_DBM0, BEEP_LENGTH));
                    }
                    let max = Duration::from_secs(u64::from(max_seconds));
                    let silence = silence_seconds.map(|s| Duration::from_secs(u64::from(s)));
                    self.message = Some(Message {
                        until: now + max,
                        silence,
                        last_voice: now,
                    });
                    self.outputs.push_back(CallOutput::MessageStart { max });
                }
                FlowAction::StopRecording => {
                    if self.message.is_some() {
                        self.stop_message();
                    }
                }
                FlowAction::Transfer {
                    target,
                    timeout_ms,
                    announce,
                    refer,
                } => {
                    self.phase = Phase::Transferring;
                    let timeout = Duration::from_millis(u64::from(timeout_ms));
                    if announce.is_empty() {
                        self.ring(target, timeout, refer);
                    } else {
                        // "Please hold while we connect you" first; ring when it has played.
                        for p in &announce {
                            self.queue_prompt(p);
                        }
                        self.playing = Playing::Announce;
                        self.pending_transfer = Some((target, timeout, refer));
                    }
                }
                FlowAction::Listen(request) if self.speech => {
                    let settings = ListenSettings {
                        end_silence: request.end_silence,
                        denoise: request.denoise,
                        partial_every: PARTIAL_EVERY,
                    };
                    match Listener::new(now, settings, self.last_turn) {
                        Ok(listener) => self.listener = Some((listener, request)),
                        Err(e) => tracing::error!(error = %e, "cannot listen"),
                    }
                }
                // Without a model the flow hears no speech and goes on with keys.
                FlowAction::Listen(_) => {}
                FlowAction::StopListening => {
                    self.barge.reset();
                    self.paused = false;
                    self.listener = None;
                    self.pending_turn = None;
                    self.early = None;
                }
                FlowAction::Note { kind, detail } => self.event(kind, detail),
                FlowAction::Hangup { cause } => self.hang_up(&cause),
            }
        }
    }

    fn ring(&mut self, target: TransferTarget, timeout: Duration, refer: bool) {
        let how = if refer { "referring to" } else { "ringing" };
        self.event("transfer", format!("{how} {target}"));
        self.outputs.push_back(CallOutput::Transfer {
            target,
            timeout,
            refer,
        });
    }

    fn queue_prompt(&mut self, prompt: &PromptRef) {
        let key = language_key(&self.language, prompt.as_str());
        match self.prompts.get(&key) {
            Some(p) => self.playback.enqueue(p.clone()),
            // Every prompt a flow names is loaded at start, so this is a broken invariant in
            // the library, not bad input; keep the call going in silence.
            None => tracing::error!(prompt = %key, "prompt missing from the library"),
        }
    }

    fn transmit(&mut self, leg: LegId, to: SocketAddr) {
        if !self.scratch.is_empty() {
            let bytes = std::mem::take(&mut self.scratch);
            self.outputs.push_back(CallOutput::Transmit {
                leg,
                rtcp: false,
                to,
                bytes,
            });
        }
    }

    fn event(&mut self, kind: &'static str, detail: String) {
        self.outputs.push_back(CallOutput::Event { kind, detail });
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::call::leg::LegMedia;
    use crate::config::flow::parse_flow;
    use crate::media::codec::CodecKind;
    use crate::media::prompt::Prompt;
    use crate::rtp::rtcp::NtpTimestamp;

    const FLOW: &str = r#"
start = "greeting"
[nodes.greeting]
kind = "play"
prompt = "greeting"
barge_in = true
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "bye", "0" = "agent" }
timeout_ms = 60000
retries = 1
on_failure = "bye"
[nodes.agent]
kind = "transfer"
target = "queue:agents"
timeout_ms = 5000
announce = "menu"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

    const PEER: &str = "127.0.0.1:40000";

    /// A call answered at `t0` on PCMU with telephone-event 101; prompts are 1 s of a loud tone.
    fn call(t0: Instant) -> Call {
        call_with(t0, FLOW, false)
    }

    /// [`call`] with another flow, and speech recognition on or off.
    fn call_with(t0: Instant, flow: &str, speech: bool) -> Call {
        let flow =
            Arc::new(parse_flow("t", flow, std::path::Path::new("t.toml")).expect("valid flow"));
        let tone: Vec<i16> = (0..16_000)
            .map(|i| if (i / 8) % 2 == 0 { 8000 } else { -8000 })
            .collect();
        let mut prompts = PromptLibrary::new();
        prompts.insert("en/greeting", Prompt::from_samples(&tone));
        prompts.insert("en/menu", Prompt::from_samples(&tone));
        prompts.insert("en/long", Prompt::from_samples(&tone.repeat(10)));
        let media = LegMedia {
            codec: CodecKind::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: PEER.parse().expect("addr"),
            rtcp_mux: false,
        };
        let leg = Leg::new(
            media,
            t0,
            NtpTimestamp::from_unix(Duration::from_secs(1)),
            2,
            7,
        )
        .expect("PCMU leg");
        let run = FlowRun::new(flow, Default::default());
        Call::new(
            t0,
            leg,
            run,
            Arc::new(prompts),
            CallSettings {
                language: "en".into(),
                record: true,
                media_timeout: Duration::from_secs(30),
                speech,
                barge_in_min_speech: crate::call::barge_in::DEFAULT_MIN_SPEECH,
            },
        )
    }

    fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    fn drain(call: &mut Call) -> Vec<CallOutput> {
        std::iter::from_fn(|| call.poll_output()).collect()
    }

    fn hangup_cause(outputs: &[CallOutput]) -> Option<&str> {
        outputs.iter().find_map(|o| match o {
            CallOutput::Hangup { cause } => Some(cause.as_str()),
            _ => None,
        })
    }

    #[test]
    fn the_greeting_leaves_on_the_first_tick() {
        let t0 = Instant::now();
        let mut c = call(t0);
        c.handle_tick(t0);
        let out = drain(&mut c);
        let packet = out
            .iter()
            .find_map(|o| match o {
                CallOutput::Transmit {
                    leg: LegId::Caller,
                    rtcp: false,
                    bytes,
                    to,
                } => Some((bytes, *to)),
                _ => None,
            })
            .expect("an RTP packet on the first tick");
        assert_eq!(packet.1, PEER.parse::<SocketAddr>().expect("addr"));
        assert_eq!(packet.0.len(), 12 + 160);
        // Not µ-law silence (0xFF/0x7F): the prompt's tone is loud.
        assert!(
            packet.0[12..]
                .iter()
                .filter(|&&b| b != 0xff && b != 0x7f)
                .count()
                > 100
        );
        assert!(
            out.iter().any(|o| matches!(o, CallOutput::Record { .. })),
            "recording tap fed"
        );
    }

    #[test]
    fn no_rtp_for_the_media_timeout_hangs_up_at_that_tick() {
        let t0 = Instant::now();
        let mut c = call(t0);
        let tick = Duration::from_millis(20);
        let mut now = t0;
        // 30 s without a single packet from the caller: the tick at 30.00 s ends the call.
        while now < t0 + Duration::from_secs(30) {
            c.handle_tick(now);
            assert_eq!(
                hangup_cause(&drain(&mut c)),
                None,
                "too early at {:?}",
                now - t0
            );
            now += tick;
        }
        c.handle_tick(now);
        assert_eq!(hangup_cause(&drain(&mut c)), Some("media.timeout"));
        assert!(c.is_ended());
    }

    #[test]
    fn rtp_keeps_the_call_alive() {
        let t0 = Instant::now();
        let mut c = call(t0);
        let from: SocketAddr = PEER.parse().expect("addr");
        let mut now = t0;
        for i in 0..2000u16 {
            c.handle_rtp(
                now,
                LegId::Caller,
                from,
                &rtp(0, i == 0, i, u32::from(i) * 160, &[0xff; 160]),
            );
            c.handle_tick(now);
            assert_eq!(hangup_cause(&drain(&mut c)), None);
            now += Duration::from_millis(20);
        }
    }

    #[test]
    fn an_rfc4733_key_during_the_menu_takes_its_branch() {
        let t0 = Instant::now();
        let mut c = call(t0);
        let from: SocketAddr = PEER.parse().expect("addr");
        let mut now = t0;
        let mut nodes = Vec::new();
        // Greeting (1 s), then the menu prompt; key 1 at 1.5 s as start + 3 end packets.
        for i in 0..100u16 {
            let ts = 8000 + u32::from(i) * 160;
            c.handle_rtp(
                now,
                LegId::Caller,
                from,
                &rtp(0, i == 0, i, ts, &[0xff; 160]),
            );
            if i == 75 {
                c.handle_rtp(
                    now,
                    LegId::Caller,
                    from,
                    &rtp(101, true, 1000, 20_000, &[1, 10, 0, 160]),
                );
                for _ in 0..3 {
                    c.handle_rtp(
                        now,
                        LegId::Caller,
                        from,
                        &rtp(101, false, 1001, 20_000, &[1, 0x80 | 10, 3, 32]),
                    );
                }
            }
            c.handle_tick(now);
            for o in drain(&mut c) {
                match o {
                    CallOutput::Event {
                        kind: "node",
                        detail,
                    } => nodes.push(detail),
                    CallOutput::Hangup { cause } => {
                        assert_eq!(cause, "flow.hangup");
                        assert_eq!(nodes, ["greeting", "menu", "bye"]);
                        assert_eq!(c.flow().digits(), "1");
                        return;
                    }
                    _ => {}
                }
            }
            now += Duration::from_millis(20);
        }
        panic!("no hangup after key 1; nodes {nodes:?}");
    }

    /// Ticks the call from `from` to `to` (exclusive) with caller silence, collecting outputs.
    fn run(
        c: &mut Call,
        t0: Instant,
        from_ms: u64,
        to_ms: u64,
        key_at: Option<(u64, u8)>,
    ) -> Vec<(u64, CallOutput)> {
        feed(c, t0, from_ms, to_ms, key_at, |_| [0xff; 160])
    }

    /// Ticks the call from `from` to `to` (exclusive), the caller sending `payload(ms)` (µ-law)
    /// each 20 ms and the key `key_at`, collecting outputs.
    fn feed(
        c: &mut Call,
        t0: Instant,
        from_ms: u64,
        to_ms: u64,
        key_at: Option<(u64, u8)>,
        payload: impl Fn(u64) -> [u8; 160],
    ) -> Vec<(u64, CallOutput)> {
        let peer: SocketAddr = PEER.parse().expect("addr");
        let mut out = Vec::new();
        for ms in (from_ms..to_ms).step_by(20) {
            let now = t0 + Duration::from_millis(ms);
            let i = (ms / 20) as u16;
            c.handle_rtp(
                now,
                LegId::Caller,
                peer,
                &rtp(0, i == 0, i, u32::from(i) * 160, &payload(ms)),
            );
            if let Some((at, event)) = key_at
                && at == ms
            {
                c.handle_rtp(
                    now,
                    LegId::Caller,
                    peer,
                    &rtp(101, true, 5000, 90_000, &[event, 10, 0, 160]),
                );
                for _ in 0..3 {
                    c.handle_rtp(
                        now,
                        LegId::Caller,
                        peer,
                        &rtp(101, false, 5001, 90_000, &[event, 0x8a, 3, 32]),
                    );
                }
            }
            c.handle_tick(now);
            out.extend(drain(c).into_iter().map(|o| (ms, o)));
        }
        out
    }

    const LISTEN_FLOW: &str = r#"
start = "ask"
[nodes.ask]
kind = "listen"
prompt = "menu"
speech = { end_silence_ms = 500, denoise = false }
var = "said"
timeout_ms = 5000
retries = 0
next = "bye"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

    /// A call whose flow listens after a 1 s prompt, with speech recognition on.
    fn listening_call(t0: Instant) -> Call {
        call_with(t0, LISTEN_FLOW, true)
    }

    /// Feeds caller audio from `from_ms` to `to_ms`: a loud 200 Hz buzz with harmonics (speech
    /// to the VAD) inside `voiced`, silence elsewhere. Returns the outputs with their times.
    fn talk(
        c: &mut Call,
        t0: Instant,
        from_ms: u64,
        to_ms: u64,
        voiced: &[(u64, u64)],
    ) -> Vec<(u64, CallOutput)> {
        feed(c, t0, from_ms, to_ms, None, |ms| {
            let loud = voiced.iter().any(|&(a, b)| (a..b).contains(&ms));
            std::array::from_fn(|n| {
                let t = (ms * 8 + n as u64) as f32 / 8000.0;
                let v: f32 = (1..8)
                    .map(|h| (2.0 * std::f32::consts::PI * 200.0 * h as f32 * t).sin() / h as f32)
                    .sum();
                let sample = if loud { (v * 6000.0) as i16 } else { 0 };
                crate::media::codec::g711::linear_to_ulaw(sample)
            })
        })
    }

    fn recognitions(out: &[(u64, CallOutput)]) -> Vec<(u64, TurnId, usize)> {
        out.iter()
            .filter_map(|(ms, o)| match o {
                CallOutput::Recognise {
                    turn,
                    partial: false,
                    audio,
                    ..
                } => Some((*ms, *turn, audio.len())),
                _ => None,
            })
            .collect()
    }

    fn heard(text: &str) -> Result<Recognition, String> {
        Ok(Recognition {
            text: text.into(),
            interpretation: None,
            confidence: 0.9,
        })
    }

    #[test]
    fn the_final_decode_starts_at_the_pause_and_is_ready_at_the_endpoint() {
        let t0 = Instant::now();
        let mut c = listening_call(t0);
        // The caller speaks 1.5 .. 2.5 s; the 500 ms endpoint falls at about 3 s.
        let out = talk(&mut c, t0, 0, 2800, &[(1500, 2500)]);
        let early = recognitions(&out);
        let [(at, turn, samples)] = early[..] else {
            panic!("one early decode by 2.8 s: {early:?}");
        };
        // Once the post-roll (200 ms) after the speech is complete; the VAD lags a frame or two.
        assert!((2700..=2780).contains(&at), "early decode at {at} ms");
        // Its result comes back before the endpoint.
        c.recognised(
            t0 + Duration::from_millis(2800),
            turn,
            false,
            heard("hello"),
        );
        let out = talk(&mut c, t0, 2800, 4000, &[]);
        assert!(recognitions(&out).is_empty(), "no second decode");
        let (speech_at, detail) = out
            .iter()
            .find_map(|(ms, o)| match o {
                CallOutput::Event {
                    kind: "speech",
                    detail,
                } => Some((*ms, detail.clone())),
                _ => None,
            })
            .expect("the turn's result reaches the flow");
        let detail: serde_json::Value = serde_json::from_str(&detail).expect("JSON");
        assert_eq!(detail["text"], "hello");
        // Delivered at the endpoint itself: no decode after it.
        assert_eq!(detail["final_ms"], detail["endpoint_ms"]);
        assert_eq!(detail["endpoint_ms"], speech_at);
        assert!(samples > 16 * 1000, "the turn's audio: {samples} samples");
        assert_eq!(
            hangup_cause(&out.into_iter().map(|(_, o)| o).collect::<Vec<_>>()),
            Some("flow.hangup")
        );
    }

    #[test]
    fn speech_after_the_pause_makes_the_early_decode_stale() {
        let t0 = Instant::now();
        let mut c = listening_call(t0);
        // 1.5 .. 2.5 s, a 300 ms pause, then 2.8 .. 3.5 s.
        let out = talk(&mut c, t0, 0, 5000, &[(1500, 2500), (2800, 3500)]);
        let decodes = recognitions(&out);
        assert_eq!(decodes.len(), 2, "{decodes:?}");
        let (first, second) = (decodes[0], decodes[1]);
        assert_eq!(first.1, second.1, "one turn");
        assert!(
            second.2 > first.2 + 16 * 900,
            "the second covers the resumed speech"
        );
        // The second was asked at its own pause, before the endpoint; its result is final.
        c.recognised(
            t0 + Duration::from_millis(5000),
            second.1,
            false,
            heard("two parts"),
        );
        let out = drain(&mut c);
        let detail = out
            .iter()
            .find_map(|o| match o {
                CallOutput::Event {
                    kind: "speech",
                    detail,
                } => Some(detail.clone()),
                _ => None,
            })
            .expect("the result reaches the flow");
        assert!(detail.contains("two parts"), "{detail}");
    }

    #[test]
    fn a_finished_prompt_moves_the_flow_on_without_a_key() {
        let t0 = Instant::now();
        let mut c = call(t0);
        let out = run(&mut c, t0, 0, 1500, None);
        let menu_at = out
            .iter()
            .find_map(|(ms, o)| {
                matches!(o, CallOutput::Event { kind: "node", detail } if detail == "menu")
                    .then_some(*ms)
            })
            .expect("the menu follows the 1 s greeting");
        // The greeting's 50 frames go out at 0..=980 ms; the menu starts on the next tick.
        assert_eq!(menu_at, 1000);
    }

    #[test]
    fn a_transfer_rings_only_after_its_announcement() {
        let t0 = Instant::now();
        let mut c = call(t0);
        // Key 0 at 1.2 s (during the menu prompt): announce (1 s), then ring.
        let out = run(&mut c, t0, 0, 3000, Some((1200, 0)));
        let entered = out
            .iter()
            .find_map(|(ms, o)| {
                matches!(o, CallOutput::Event { kind: "node", detail } if detail == "agent")
                    .then_some(*ms)
            })
            .expect("the agent node is entered");
        let rang = out
            .iter()
            .find_map(|(ms, o)| matches!(o, CallOutput::Transfer { .. }).then_some(*ms))
            .expect("the agent is rung");
        assert_eq!(entered, 1200);
        assert_eq!(rang, 2200, "rung when the 1 s announcement has played");
    }

    const SAY_FLOW: &str = r#"
start = "reply"
[nodes.reply]
kind = "say"
text = "Your parcel left today. It arrives on Friday."
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "bye" }
timeout_ms = 60000
[nodes.bye]
kind = "hangup"
"#;

    fn spoke(out: &[(u64, CallOutput)]) -> Vec<(u64, serde_json::Value)> {
        out.iter()
            .filter_map(|(ms, o)| match o {
                CallOutput::Event {
                    kind: "spoke",
                    detail,
                } => Some((*ms, serde_json::from_str(detail).expect("json"))),
                _ => None,
            })
            .collect()
    }

    /// A spoken reply plays each piece as it arrives, waits in silence for the next one, and
    /// ends (the flow moves on) only once synthesis is done and the last piece has played.
    #[test]
    fn a_spoken_reply_plays_its_pieces_as_they_arrive() {
        let t0 = Instant::now();
        let mut c = call_with(t0, SAY_FLOW, false);
        let speech = drain(&mut c)
            .into_iter()
            .find_map(|o| match o {
                CallOutput::Speak {
                    speech,
                    text,
                    voice,
                    language,
                } => {
                    assert_eq!(text, "Your parcel left today. It arrives on Friday.");
                    assert_eq!((voice, language.as_str()), (None, "en"));
                    Some(speech)
                }
                _ => None,
            })
            .expect("the say node asks for speech");
        // The first sentence (0.5 s) is ready at 40 ms; the second comes at 1000 ms.
        run(&mut c, t0, 0, 40, None);
        c.speech_audio(t0 + Duration::from_millis(40), speech, &[1000; 8000]);
        let out = run(&mut c, t0, 40, 1000, None);
        assert!(
            spoke(&out).is_empty(),
            "the gap is not the end: {:?}",
            spoke(&out)
        );
        c.speech_audio(t0 + Duration::from_millis(1000), speech, &[1000; 8000]);
        c.speech_done(speech, Ok(()));
        let out = run(&mut c, t0, 1000, 2000, None);
        let [(ended_at, record)] = &spoke(&out)[..] else {
            panic!("one utterance: {:?}", spoke(&out));
        };
        assert_eq!(
            *ended_at, 1500,
            "25 frames of the second piece from 1000 ms"
        );
        assert_eq!(record["ended"], "finished");
        assert_eq!(record["played_ms"], 1000);
        assert_eq!(record["first_audio_ms"], 40);
        assert!(out.iter().any(|(ms, o)| *ms == 1500
            && matches!(o, CallOutput::Event { kind: "node", detail } if detail == "menu")));
    }

    #[test]
    fn a_key_stops_the_reply_and_its_synthesis() {
        let t0 = Instant::now();
        let mut c = call_with(t0, SAY_FLOW, false);
        drain(&mut c);
        c.speech_audio(t0, 1, &[1000; 16_000]);
        let out = run(&mut c, t0, 0, 600, Some((300, 1)));
        assert!(
            out.iter()
                .any(|(_, o)| matches!(o, CallOutput::StopSpeaking { speech: 1 })),
            "synthesis is stopped"
        );
        let [(_, record)] = &spoke(&out)[..] else {
            panic!("one utterance: {:?}", spoke(&out));
        };
        assert_eq!(record["ended"], "interrupted");
        // Frames at 0..=280 ms went out before the key at 300 ms stopped the reply.
        assert_eq!(record["played_ms"], 300);
        // A late piece of the stopped reply is dropped.
        c.speech_audio(t0 + Duration::from_millis(600), 1, &[1000; 16_000]);
        c.speech_done(1, Ok(()));
        assert!(spoke(&run(&mut c, t0, 600, 700, None)).is_empty());
    }

    #[test]
    fn a_reply_that_cannot_be_spoken_is_on_the_record_and_the_flow_goes_on() {
        let t0 = Instant::now();
        let mut c = call_with(t0, SAY_FLOW, false);
        drain(&mut c);
        c.speech_done(1, Err("tts: festival: festival exited".into()));
        let out = run(&mut c, t0, 0, 100, None);
        assert!(out.iter().any(|(_, o)| matches!(o,
            CallOutput::Event { kind: "tts_failed", detail } if detail.contains("festival exited"))));
        assert_eq!(spoke(&out)[0].1["ended"], "finished");
        assert!(out.iter().any(|(_, o)| matches!(o,
            CallOutput::Event { kind: "node", detail } if detail == "menu")));
    }

    /// Every stage of a turn's voice-to-voice time is on the record: the caller stops at
    /// 2.5 s, the endpoint falls 500 ms later with the early decode ready, the say node asks
    /// for speech at once, its first sentence is ready 40 ms later and leaves on the next tick.
    #[test]
    fn a_turn_answered_by_speech_records_its_latency() {
        let t0 = Instant::now();
        let flow = LISTEN_FLOW.replace("next = \"bye\"", "next = \"answer\"")
            + "[nodes.answer]\nkind = \"say\"\ntext = \"You said {said}.\"\nnext = \"bye\"\n";
        let mut c = call_with(t0, &flow, true);
        let out = talk(&mut c, t0, 0, 2800, &[(1500, 2500)]);
        let [(_, turn, _)] = recognitions(&out)[..] else {
            panic!("one early decode");
        };
        c.recognised(
            t0 + Duration::from_millis(2800),
            turn,
            false,
            heard("hello"),
        );
        let out = talk(&mut c, t0, 2800, 3100, &[]);
        let (asked_at, speech) = out
            .iter()
            .find_map(|(ms, o)| match o {
                CallOutput::Speak { speech, text, .. } if text == "You said hello." => {
                    Some((*ms, *speech))
                }
                _ => None,
            })
            .expect("the answer is spoken");
        c.speech_audio(
            t0 + Duration::from_millis(asked_at + 40),
            speech,
            &[1000; 8000],
        );
        let out = talk(&mut c, t0, 3100, 3400, &[]);
        let (sent_at, latency) = out
            .iter()
            .find_map(|(ms, o)| match o {
                CallOutput::Event {
                    kind: "latency",
                    detail,
                } => Some((
                    *ms,
                    serde_json::from_str::<serde_json::Value>(detail).expect("json"),
                )),
                _ => None,
            })
            .expect("a latency record");
        assert_eq!(latency["final_ms"], latency["endpoint_ms"], "{latency}");
        assert_eq!(latency["reply_ms"], latency["final_ms"], "{latency}");
        assert_eq!(latency["first_audio_ms"], asked_at + 40, "{latency}");
        assert_eq!(latency["first_packet_ms"], sent_at, "{latency}");
        assert_eq!(sent_at, 3100, "the first tick after the audio arrived");
        let end = latency["speech_end_ms"].as_u64().expect("speech end");
        assert_eq!(latency["voice_to_voice_ms"], sent_at - end, "{latency}");
    }

    /// A listen node over a 10 s prompt: barge-in tests.
    const LONG_PROMPT_FLOW: &str = r#"
start = "ask"
[nodes.ask]
kind = "listen"
prompt = "long"
speech = { end_silence_ms = 500, denoise = false }
var = "said"
timeout_ms = 5000
retries = 0
next = "bye"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

    /// The µ-law payload kefu sent at each tick.
    fn sent(out: &[(u64, CallOutput)]) -> Vec<(u64, Vec<u8>)> {
        out.iter()
            .filter_map(|(ms, o)| match o {
                CallOutput::Transmit {
                    rtcp: false, bytes, ..
                } => Some((*ms, bytes[12..].to_vec())),
                _ => None,
            })
            .collect()
    }

    /// Silence, but for the few samples the 16 → 8 kHz filter carries over from the frame
    /// before.
    fn silent(payload: &[u8]) -> bool {
        payload.iter().skip(24).all(|&b| b == 0xff || b == 0x7f)
    }

    fn events<'a>(out: &'a [(u64, CallOutput)], kind: &str) -> Vec<(u64, &'a str)> {
        out.iter()
            .filter_map(|(ms, o)| match o {
                CallOutput::Event { kind: k, detail } if *k == kind => Some((*ms, detail.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Runs the call to `to_ms`, answering every final decode with `text` 100 ms after it is
    /// asked for.
    fn talk_and_hear(
        c: &mut Call,
        t0: Instant,
        to_ms: u64,
        voiced: &[(u64, u64)],
        text: &str,
    ) -> Vec<(u64, CallOutput)> {
        let mut out = Vec::new();
        let mut due: Vec<(u64, TurnId)> = Vec::new();
        for ms in (0..to_ms).step_by(20) {
            for (at, turn) in due.extract_if(.., |(at, _)| *at == ms) {
                c.recognised(t0 + Duration::from_millis(at), turn, false, heard(text));
            }
            let step = talk(c, t0, ms, ms + 20, voiced);
            due.extend(
                recognitions(&step)
                    .into_iter()
                    .map(|(at, turn, _)| (at + 100, turn)),
            );
            out.extend(step);
        }
        out
    }

    #[test]
    fn speech_over_a_prompt_stops_it_at_the_frame_the_rule_fires() {
        let t0 = Instant::now();
        let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
        let out = talk_and_hear(&mut c, t0, 8000, &[(5000, 6500)], "I want to return it");
        let barge = events(&out, "barge_in");
        let [(at, _)] = barge[..] else {
            panic!("one barge-in: {barge:?}");
        };
        // 300 ms of speech from 5.0 s; the VAD lags a frame or two.
        assert!((5280..=5340).contains(&at), "barge-in at {at} ms");
        let payloads = sent(&out);
        let before = payloads
            .iter()
            .find(|(ms, _)| *ms == at - 20)
            .expect("frame before");
        let then = payloads.iter().find(|(ms, _)| *ms == at).expect("frame at");
        assert!(!silent(&before.1), "kefu spoke until the rule fired");
        let next = payloads
            .iter()
            .find(|(ms, _)| *ms == at + 20)
            .expect("frame after");
        assert!(
            silent(&then.1),
            "and was silent on that very frame: {:?} then {:?}",
            then.1,
            next.1
        );
        // The words reach the flow, which stops the prompt for good and moves on.
        let spoke = spoke(&out);
        assert_eq!(spoke[0].1["ended"], "interrupted", "{spoke:?}");
        assert_eq!(spoke[0].1["played_ms"], at, "{spoke:?}");
        assert_eq!(
            hangup_cause(&out.into_iter().map(|(_, o)| o).collect::<Vec<_>>()),
            Some("flow.hangup")
        );
    }

    #[test]
    fn a_short_noise_burst_does_not_stop_the_prompt() {
        let t0 = Instant::now();
        let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
        let out = talk_and_hear(&mut c, t0, 10_400, &[(5000, 5150)], "");
        assert!(events(&out, "barge_in").is_empty());
        let spoke = spoke(&out);
        assert_eq!(spoke[0].1["ended"], "finished", "{spoke:?}");
        assert_eq!(spoke[0].1["played_ms"], 10_000);
    }

    #[test]
    fn a_backchannel_pauses_then_resumes_the_prompt() {
        let t0 = Instant::now();
        let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
        let out = talk_and_hear(&mut c, t0, 12_000, &[(5000, 5400)], "Mhm.");
        assert_eq!(events(&out, "barge_in").len(), 1);
        let resumed = events(&out, "false_interruption");
        let [(resumed_at, detail)] = resumed[..] else {
            panic!("one false interruption: {resumed:?}");
        };
        assert!(detail.contains("\"resumed\":true"), "{detail}");
        let payloads = sent(&out);
        let after = payloads
            .iter()
            .find(|(ms, _)| *ms == resumed_at + 20)
            .expect("frame after");
        assert!(!silent(&after.1), "the prompt plays on");
        let spoke = spoke(&out);
        assert_eq!(spoke[0].1["ended"], "finished", "{spoke:?}");
        assert_eq!(
            spoke[0].1["played_ms"], 10_000,
            "all of it, nothing skipped"
        );
    }

    #[test]
    fn the_echo_of_kefus_own_voice_does_not_stop_it() {
        let t0 = Instant::now();
        let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
        // The caller's side returns kefu's prompt 12 dB down (a square wave of 2000 under the
        // prompt's 8000), all through the prompt.
        let out = feed(&mut c, t0, 0, 10_400, None, |ms| {
            std::array::from_fn(|n| {
                let i = (ms * 8 + n as u64) / 4;
                let v = if i.is_multiple_of(2) { 2000 } else { -2000 };
                crate::media::codec::g711::linear_to_ulaw(v)
            })
        });
        assert!(
            events(&out, "barge_in").is_empty(),
            "{:?}",
            events(&out, "barge_in")
        );
        assert_eq!(spoke(&out)[0].1["ended"], "finished");
    }
}
