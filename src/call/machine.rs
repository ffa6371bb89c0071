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
use jiff::civil::Date;

use crate::dialogue::assistant::{self, Knowledge};
use crate::dialogue::{
    Conversed, FlowAction, FlowEvent, FlowRun, Heard, ListenRequest, PromptRef, TransferOutcome,
};
use crate::media::frame::Frame;
use crate::media::player::Playback;
use crate::media::prompt::{Prompt, PromptLibrary, language_key};
use crate::media::tone::ToneGenerator;
use crate::speech::complete;
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
    /// The shop assistant answered a turn: store it with the call (`call_turns`).
    Conversed(Box<Conversed>),
    /// Make this change to the shop, then answer with [`Call::shop_changed`].
    ChangeShop(assistant::Action),
    /// Fetch these records from the merchant's system and lay them over the call's knowledge
    /// (`set_knowledge`), then answer with [`Call::looked_up`].
    LookUp(assistant::Lookup),
    /// Have the language model rephrase this reply, then answer with [`Call::phrased`].
    Phrase(assistant::phrasing::PhraseRequest),
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
    /// The agent answered and hears the flow's brief (the assistant's summary) alone; the
    /// caller hears silence until it ends.
    Briefing,
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
    /// Silence that ends a turn heard to be a complete answer (see `speech::complete`).
    pub complete_silence: Duration,
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

/// The brief said to an agent before the caller is put through.
struct Briefing {
    speech: SpeechId,
    audio: Playback,
    /// Synthesis is over: once `audio` has played, the call is bridged.
    synthesised: bool,
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
    /// What to say to the agent of the transfer under way when they answer.
    brief: Option<String>,
    /// The brief being said to the agent who answered.
    briefing: Option<Briefing>,
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
    /// Silence that ends a turn heard as a whole answer (`CallSettings::complete_silence`).
    complete_silence: Duration,
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
            brief: None,
            briefing: None,
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
            complete_silence: settings.complete_silence,
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

    /// The agent answered: brief them if the flow has something to say, then bridge.
    pub fn agent_connected(&mut self, now: Instant, agent: Leg) {
        self.agent = Some(agent);
        self.playback.stop();
        let _ = now;
        let Some(text) = self.brief.take() else {
            self.phase = Phase::Bridged;
            self.event("transfer", "connected".into());
            return;
        };
        self.last_speech += 1;
        let speech = self.last_speech;
        self.briefing = Some(Briefing {
            speech,
            audio: Playback::new(),
            synthesised: false,
        });
        self.phase = Phase::Briefing;
        self.event("transfer", format!("briefing the agent: {text}"));
        self.outputs.push_back(CallOutput::Speak {
            speech,
            text,
            voice: None,
            language: self.language.clone(),
        });
    }

    /// The agent did not answer, was busy, or could not be reached: back to the flow.
    pub fn transfer_failed(&mut self, now: Instant, outcome: TransferOutcome) {
        self.brief = None;
        self.event("transfer", format!("failed: {outcome:?}"));
        self.phase = Phase::Flow;
        self.flow.handle(now, FlowEvent::TransferEnded(outcome));
        self.drain_flow(now);
    }

    /// The agent hung up: the flow decides what follows (usually goodbye).
    pub fn agent_hung_up(&mut self, now: Instant) {
        self.agent = None;
        self.briefing = None;
        self.event("transfer", "agent hung up".into());
        self.phase = Phase::Flow;
        self.flow
            .handle(now, FlowEvent::TransferEnded(TransferOutcome::Completed));
        self.drain_flow(now);
    }

    /// The shop the assistant answers from changed (or the day did).
    pub fn set_knowledge(&mut self, knowledge: Arc<Knowledge>, today: Date) {
        self.flow.set_knowledge(knowledge, today);
    }

    /// The runtime made (or failed to make) the last `ChangeShop`.
    pub fn shop_changed(&mut self, now: Instant, ok: bool) {
        self.flow.handle(now, FlowEvent::ShopChanged { ok });
        self.drain_flow(now);
    }

    /// The runtime fetched (or failed to fetch) the records of the last `LookUp`.
    pub fn looked_up(&mut self, now: Instant, ok: bool) {
        self.flow.handle(now, FlowEvent::LookedUp { ok });
        self.drain_flow(now);
    }

    /// The language model's rephrasing of the last `Phrase`, or `None` to say it as written.
    pub fn phrased(&mut self, now: Instant, text: Option<String>) {
        self.flow.handle(now, FlowEvent::Phrased { text });
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
                // A whole answer already (an order number read out): end on a short silence.
                if r.interpretation.is_some()
                    && let Some((listener, _)) = &mut self.listener
                {
                    listener.answer_complete(turn);
                }
            }
            return;
        }
        if self.pending_turn.as_ref().is_none_or(|p| p.turn != turn) {
            // An early decode done before its endpoint: kept until the turn ends.
            if let Some(early) = &mut self.early
                && early.turn == turn
            {
                // A whole answer already (the grammar's, or a finished sentence of free
                // speech): end the turn on a short silence.
                if let Some((listener, request)) = &mut self.listener
                    && let Ok(r) = &result
                    && match request.grammar {
                        Some(_) => r.interpretation.is_some(),
                        None => complete::sounds_finished(&r.text),
                    }
                {
                    listener.answer_complete(turn);
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
        if let Some(briefing) = self.briefing.as_mut().filter(|b| b.speech == speech) {
            briefing.audio.enqueue(Prompt::from_samples(samples));
            return;
        }
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
        if let Some(briefing) = self.briefing.as_mut().filter(|b| b.speech == speech) {
            briefing.synthesised = true;
            if let Err(reason) = result {
                self.event("tts_failed", reason);
            }
            return;
        }
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
            Phase::Briefing => {
                self.brief_agent(now);
                Frame::SILENCE
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

    /// One frame of the brief to the agent (what the agent says meanwhile is not passed on);
    /// bridges the call once it has all played.
    fn brief_agent(&mut self, now: Instant) {
        let (Some(agent), Some(briefing)) = (self.agent.as_mut(), self.briefing.as_mut()) else {
            return;
        };
        let _ = agent.pull_frame(now);
        let frame = briefing.audio.next_frame();
        let done = frame.is_none() && briefing.synthesised;
        let to = agent.push_frame(now, &frame.unwrap_or(Frame::SILENCE), &mut self.scratch);
        self.transmit(LegId::Agent, to);
        if done {
            self.briefing = None;
            self.phase = Phase::Bridged;
            self.event("transfer", "connected".into());
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
                    // Recordings by name, text prompts by their words.
                    let names: Vec<&str> = prompts
                        .iter()
                        .map(|p| {
                            let key = language_key(&self.language, p.as_str());
                            self.prompts.text(&key).unwrap_or(p.as_str())
                        })
                        .collect();
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
                    language,
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
                        language: language.unwrap_or_else(|| self.language.clone()),
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
                    brief,
                    refer,
                } => {
                    self.phase = Phase::Transferring;
                    self.brief = brief;
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
                        complete_silence: self.complete_silence,
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
                FlowAction::Conversed(turn) => self.outputs.push_back(CallOutput::Conversed(turn)),
                FlowAction::ChangeShop(change) => {
                    self.outputs.push_back(CallOutput::ChangeShop(change));
                }
                FlowAction::LookUp(lookup) => self.outputs.push_back(CallOutput::LookUp(lookup)),
                FlowAction::Phrase(request) => {
                    self.outputs.push_back(CallOutput::Phrase(request));
                }
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
#[path = "machine_tests.rs"]
mod tests;
