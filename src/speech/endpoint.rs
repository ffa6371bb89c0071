//! Turn taking: when the caller starts speaking, when they have finished, and the audio between.
//!
//! [`Endpointer`] is fed one voice decision per 20 ms frame (from [`super::vad`]) with the
//! frame. `now` is the instant the frame is complete, so frames are handed in 20 ms apart and
//! a frame covers `now - 20 ms .. now`. In virtual time, frame `i` of a call that starts at
//! `t0` is handed in at `t0 + (i + 1) × 20 ms`.
//!
//! ```text
//! Idle ──speech──► MaybeSpeech ──speech for min_speech_ms──► Speaking ──silence_ms of non-speech──► Idle
//!   ▲                  │ non-speech (a click)                   │ or max_turn_ms since onset
//!   └──────────────────┘                                        └─► SpeechEnded (+ the turn's audio)
//! ```
//!
//! A pause shorter than the silence window is part of the turn (hangover). Once a pause has
//! lasted `post_roll_ms`, the audio the turn would end with is complete: `Paused` says so, once
//! per pause, so the caller can start the final decode early and have it ready at the endpoint
//! (if speech resumes instead, that decode is stale). While speaking,
//! `Partial` events come every `partial_every_ms` from the onset, pauses included, so the
//! caller can run a partial decode and, if the grammar is already complete, call
//! [`Endpointer::shorten_silence`]. `NoInput` comes once, `no_input_ms` after
//! [`Endpointer::start`], if no turn has begun by then.
//!
//! The audio of a turn runs from `pre_roll_ms` before the onset (a detector notices speech a
//! little late; whisper wants the first consonant) to `post_roll_ms` after the last speech
//! frame; see [`super::turn::TurnBuffer`] for its memory.

use std::time::{Duration, Instant};

use crate::media::frame::{FRAME_MS, FRAME_SAMPLES, Frame};
use crate::speech::turn::TurnBuffer;

/// Longest `min_speech_ms` and `pre_roll_ms` accepted: both size the look-back history.
pub const MAX_LOOK_BACK_MS: u32 = 2_000;
/// Longest `max_turn_ms` accepted: it sizes the buffer of a turn (16 kHz i16, 64 KB per 2 s).
pub const MAX_TURN_LIMIT_MS: u32 = 120_000;

const FRAME: Duration = Duration::from_millis(FRAME_MS as u64);

/// Invalid endpointing settings (from a flow or the node's config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// `min_speech_ms` is longer than [`MAX_LOOK_BACK_MS`].
    #[error("min_speech_ms {0} is over {MAX_LOOK_BACK_MS}")]
    MinSpeech(u32),
    /// `pre_roll_ms` is longer than [`MAX_LOOK_BACK_MS`].
    #[error("pre_roll_ms {0} is over {MAX_LOOK_BACK_MS}")]
    PreRoll(u32),
    /// `max_turn_ms` is not longer than `min_speech_ms`, or over [`MAX_TURN_LIMIT_MS`].
    #[error("max_turn_ms {0} must be above min_speech_ms and at most {MAX_TURN_LIMIT_MS}")]
    MaxTurn(u32),
}

/// Settings of an [`Endpointer`], all in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Speech must last this long, without a break, to open a turn. Default 120 ms: a click,
    /// a cough's burst or a line pop is shorter; the shortest word ("no") is longer.
    pub min_speech_ms: u32,
    /// Non-speech that ends a turn. Default 500 ms, the low end of common voice-agent
    /// endpointing (0.5-3 s): the bot answers quickly, and a mid-sentence pause is rarely that long.
    pub silence_ms: u32,
    /// Interval of `Partial` events while speaking; 0 for none. Default 500 ms.
    pub partial_every_ms: u32,
    /// `NoInput` this long after `start` without any turn; 0 for never. Default 5000 ms, the
    /// usual IVR no-input timeout.
    pub no_input_ms: u32,
    /// A turn is ended this long after its onset even if the caller goes on. Default 28 s:
    /// the most whisper decodes in one 30 s window with the pre- and post-roll; a shorter cap
    /// cuts long sentences mid-word (measured on the Asterisk prompts: a 15 s cap cost 1 WER
    /// point).
    pub max_turn_ms: u32,
    /// Audio kept before the onset. Default 200 ms, covering the detector's own lag.
    pub pre_roll_ms: u32,
    /// Audio kept after the last speech frame, for trailing consonants; the final decode
    /// starts once it is complete. Default 120 ms: measured on 188 Asterisk prompts through
    /// µ-law (tiny.en q8_0), pipeline WER 9.18 % against 9.09 % with 200 ms (one word in
    /// 1166), and the decode starts 80 ms sooner.
    pub post_roll_ms: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            min_speech_ms: 120,
            silence_ms: 500,
            partial_every_ms: 500,
            no_input_ms: 5_000,
            max_turn_ms: 28_000,
            pre_roll_ms: 200,
            post_roll_ms: 120,
        }
    }
}

impl EndpointConfig {
    fn validate(&self) -> Result<(), EndpointError> {
        if self.min_speech_ms > MAX_LOOK_BACK_MS {
            return Err(EndpointError::MinSpeech(self.min_speech_ms));
        }
        if self.pre_roll_ms > MAX_LOOK_BACK_MS {
            return Err(EndpointError::PreRoll(self.pre_roll_ms));
        }
        if self.max_turn_ms <= self.min_speech_ms || self.max_turn_ms > MAX_TURN_LIMIT_MS {
            return Err(EndpointError::MaxTurn(self.max_turn_ms));
        }
        Ok(())
    }
}

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `silence_ms` of non-speech followed the last speech.
    Silence,
    /// The turn reached `max_turn_ms`.
    MaxTurn,
}

/// What the endpointer decided on a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointEvent {
    /// A turn opened: speech began at `at` and had lasted `min_speech_ms` by `decided_at`.
    /// Barge-in reacts to this.
    SpeechStarted { at: Instant, decided_at: Instant },
    /// Time for a partial decode of [`Endpointer::turn_audio`].
    Partial { at: Instant },
    /// The caller paused for `post_roll_ms`: if the turn ends at this pause, its audio is
    /// [`Endpointer::closing_audio`] as of now.
    Paused { at: Instant },
    /// The turn closed.
    SpeechEnded {
        /// Onset of the first speech frame.
        speech_start: Instant,
        /// End of the last speech frame.
        speech_end: Instant,
        /// When the end was decided (`speech_end + silence` for [`EndReason::Silence`]).
        decided_at: Instant,
        reason: EndReason,
        /// 16 kHz mono, -1.0 ..= 1.0, from `pre_roll_ms` before `speech_start` to
        /// `post_roll_ms` after `speech_end` (less where the call or the turn is shorter).
        audio: Vec<f32>,
    },
    /// No turn began within `no_input_ms` of `start`.
    NoInput { at: Instant },
}

/// Where the endpointer is. Data that only exists in one state lives in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    /// No speech.
    Idle,
    /// Speech since `onset`, `frames` long, not yet long enough to be a turn.
    MaybeSpeech { onset: Instant, frames: u32 },
    /// In a turn.
    Speaking(OpenTurn),
}

/// The timing of the turn in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTurn {
    /// Onset of the turn's first speech frame.
    pub started_at: Instant,
    /// End of the last speech frame so far.
    pub last_speech_end: Instant,
    /// The silence that ends this turn (`silence_ms`, or less after `shorten_silence`).
    pub silence: Duration,
    /// When the next `Partial` is due; `None` when partials are off.
    pub next_partial: Option<Instant>,
    /// `Paused` was reported for the current pause.
    pub pause_reported: bool,
}

/// One call's turn detector. Sans-IO: it never reads a clock; feed it every frame in order.
#[derive(Debug)]
pub struct Endpointer {
    config: EndpointConfig,
    state: EndpointState,
    /// When `NoInput` is due; armed by `start`, disarmed when a turn opens or it fires.
    no_input_at: Option<Instant>,
    /// Frames of audio kept before the onset.
    pre_roll_frames: usize,
    buffer: TurnBuffer,
}

impl Endpointer {
    pub fn new(config: EndpointConfig) -> Result<Endpointer, EndpointError> {
        config.validate()?;
        let pre_roll_frames = frames_for(config.pre_roll_ms);
        let onset_frames = frames_for(config.min_speech_ms).max(1);
        // A turn holds its pre-roll, then at most `max_turn_ms` of frames from the onset (the
        // turn is ended when it is full, so frames handed in early cannot overflow it).
        let turn_frames = pre_roll_frames + frames_for(config.max_turn_ms);
        Ok(Endpointer {
            config,
            state: EndpointState::Idle,
            no_input_at: None,
            pre_roll_frames,
            buffer: TurnBuffer::new(pre_roll_frames + onset_frames, turn_frames),
        })
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    pub fn state(&self) -> &EndpointState {
        &self.state
    }

    /// Starts listening for input at `now`: arms `NoInput` (unless a turn is already open,
    /// as when the caller barged in before the prompt ended).
    pub fn start(&mut self, now: Instant) {
        let armed =
            self.config.no_input_ms > 0 && !matches!(self.state, EndpointState::Speaking(_));
        self.no_input_at = armed.then(|| now + ms(self.config.no_input_ms));
    }

    /// Drops any turn in progress and disarms `NoInput`; the history is kept.
    pub fn reset(&mut self) {
        self.state = EndpointState::Idle;
        self.no_input_at = None;
        self.buffer.cancel();
    }

    /// Changes the silence that ends a turn, for the open turn and the ones after.
    pub fn set_silence_ms(&mut self, silence_ms: u32) {
        self.config.silence_ms = silence_ms;
        if let EndpointState::Speaking(turn) = &mut self.state {
            turn.silence = ms(silence_ms);
        }
    }

    /// Shortens the silence that ends the open turn only (e.g. a partial already matched the
    /// whole grammar). Never lengthens it; no effect outside a turn.
    pub fn shorten_silence(&mut self, silence_ms: u32) {
        if let EndpointState::Speaking(turn) = &mut self.state {
            turn.silence = turn.silence.min(ms(silence_ms));
        }
    }

    /// How long the caller has been speaking in this turn: onset to the end of the last speech
    /// frame, short pauses included. While not yet a turn, the length of the speech so far;
    /// 0 when idle. Barge-in compares it with its own minimum.
    pub fn speech_duration_ms(&self) -> u32 {
        match self.state {
            EndpointState::Idle => 0,
            EndpointState::MaybeSpeech { frames, .. } => frames * FRAME_MS,
            EndpointState::Speaking(turn) => u32::try_from(
                turn.last_speech_end
                    .duration_since(turn.started_at)
                    .as_millis(),
            )
            .unwrap_or(u32::MAX),
        }
    }

    /// The open turn's audio so far (16 kHz i16, from the pre-roll on), for a partial decode.
    pub fn turn_audio(&self) -> &[i16] {
        self.buffer.samples()
    }

    /// The audio `SpeechEnded` would carry if the open turn ended now (empty outside a turn).
    pub fn closing_audio(&self) -> Vec<f32> {
        self.buffer.closing(samples_for(self.config.post_roll_ms))
    }

    /// Takes one frame, complete at `now`, and the detector's decision on it.
    pub fn handle_frame(
        &mut self,
        now: Instant,
        frame: &Frame,
        is_speech: bool,
    ) -> Option<EndpointEvent> {
        self.buffer.push(frame);
        match self.state {
            EndpointState::Idle if is_speech => {
                let onset = now.checked_sub(FRAME).unwrap_or(now);
                self.maybe_speech(now, onset, 1)
            }
            EndpointState::MaybeSpeech { onset, frames } if is_speech => {
                self.maybe_speech(now, onset, frames + 1)
            }
            EndpointState::Idle | EndpointState::MaybeSpeech { .. } => {
                self.state = EndpointState::Idle;
                self.no_input(now)
            }
            EndpointState::Speaking(turn) => self.speaking(now, is_speech, turn),
        }
    }

    /// Speech for `frames` frames since `onset`: a turn once it has lasted `min_speech_ms`.
    fn maybe_speech(&mut self, now: Instant, onset: Instant, frames: u32) -> Option<EndpointEvent> {
        if now.duration_since(onset) < ms(self.config.min_speech_ms) {
            self.state = EndpointState::MaybeSpeech { onset, frames };
            return None;
        }
        let next_partial = (self.config.partial_every_ms > 0).then(|| {
            let every = ms(self.config.partial_every_ms);
            next_due(onset + every, every, now)
        });
        self.state = EndpointState::Speaking(OpenTurn {
            started_at: onset,
            last_speech_end: now,
            silence: ms(self.config.silence_ms),
            next_partial,
            pause_reported: false,
        });
        self.no_input_at = None;
        self.buffer.begin(self.pre_roll_frames + frames as usize);
        Some(EndpointEvent::SpeechStarted {
            at: onset,
            decided_at: now,
        })
    }

    fn speaking(
        &mut self,
        now: Instant,
        is_speech: bool,
        mut turn: OpenTurn,
    ) -> Option<EndpointEvent> {
        if is_speech {
            turn.last_speech_end = now;
            turn.pause_reported = false;
            self.buffer.mark_speech_end();
        }
        let reason = if now.duration_since(turn.started_at) >= ms(self.config.max_turn_ms)
            || self.buffer.is_full()
        {
            Some(EndReason::MaxTurn)
        } else if now.duration_since(turn.last_speech_end) >= turn.silence {
            Some(EndReason::Silence)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.state = EndpointState::Idle;
            return Some(EndpointEvent::SpeechEnded {
                speech_start: turn.started_at,
                speech_end: turn.last_speech_end,
                decided_at: now,
                reason,
                audio: self.buffer.finish(samples_for(self.config.post_roll_ms)),
            });
        }
        let mut event = None;
        let paused = now.duration_since(turn.last_speech_end);
        if !turn.pause_reported
            && !is_speech
            && paused >= ms(self.config.post_roll_ms)
            && turn.silence > paused
        {
            turn.pause_reported = true;
            event = Some(EndpointEvent::Paused { at: now });
        }
        if let Some(due) = &mut turn.next_partial
            && *due <= now
        {
            *due = next_due(*due, ms(self.config.partial_every_ms), now);
            // In a reported pause the early decode already covers all the audio.
            if !turn.pause_reported {
                event = Some(EndpointEvent::Partial { at: now });
            }
        }
        self.state = EndpointState::Speaking(turn);
        event
    }

    /// Fires `NoInput` once its deadline has come, outside a turn.
    fn no_input(&mut self, now: Instant) -> Option<EndpointEvent> {
        match self.no_input_at {
            Some(due) if due <= now => {
                self.no_input_at = None;
                Some(EndpointEvent::NoInput { at: now })
            }
            _ => None,
        }
    }
}

/// The first of `due`, `due + every`, `due + 2 × every` … that is after `now` (one step, not a
/// loop, so a long stall between frames costs nothing).
fn next_due(due: Instant, every: Duration, now: Instant) -> Instant {
    if due > now {
        return due;
    }
    let behind = now.duration_since(due).as_nanos() / every.as_nanos().max(1);
    let steps = u32::try_from(behind + 1).unwrap_or(u32::MAX);
    every
        .checked_mul(steps)
        .and_then(|step| due.checked_add(step))
        .unwrap_or(now + every)
}

fn ms(millis: u32) -> Duration {
    Duration::from_millis(u64::from(millis))
}

/// Whole frames covering `millis`.
fn frames_for(millis: u32) -> usize {
    millis.div_ceil(FRAME_MS) as usize
}

fn samples_for(millis: u32) -> usize {
    millis as usize * FRAME_SAMPLES / FRAME_MS as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tests' settings: the defaults with a 200 ms post-roll, whose round instants read
    /// easily.
    fn config() -> EndpointConfig {
        EndpointConfig {
            post_roll_ms: 200,
            ..EndpointConfig::default()
        }
    }

    /// A call in virtual time: frame `i` covers `i × 20 ms .. (i + 1) × 20 ms` after `t0` and
    /// holds the value `i` in every sample, so the turn's audio shows which frames it kept.
    struct Call {
        endpointer: Endpointer,
        t0: Instant,
        frames: u32,
        events: Vec<(u32, EndpointEvent)>,
    }

    impl Call {
        fn new(config: EndpointConfig) -> Call {
            Call {
                endpointer: Endpointer::new(config).expect("test configs are valid"),
                t0: Instant::now(),
                frames: 0,
                events: Vec::new(),
            }
        }

        fn at(&self, millis: u32) -> Instant {
            self.t0 + ms(millis)
        }

        /// Feeds frames until `until_ms`, all speech or all not.
        fn feed(&mut self, until_ms: u32, is_speech: bool) {
            while (self.frames + 1) * FRAME_MS <= until_ms {
                let frame = Frame([self.frames as i16; FRAME_SAMPLES]);
                self.frames += 1;
                let now = self.at(self.frames * FRAME_MS);
                if let Some(event) = self.endpointer.handle_frame(now, &frame, is_speech) {
                    self.events.push((self.frames * FRAME_MS, event));
                }
            }
        }

        /// Events as (kind, times in ms after t0), for exact comparisons.
        fn timeline(&self) -> Vec<(&'static str, Vec<u128>)> {
            let rel = |t: &Instant| t.duration_since(self.t0).as_millis();
            self.events
                .iter()
                .map(|(_, e)| match e {
                    EndpointEvent::SpeechStarted { at, decided_at } => {
                        ("started", vec![rel(at), rel(decided_at)])
                    }
                    EndpointEvent::Partial { at } => ("partial", vec![rel(at)]),
                    EndpointEvent::Paused { at } => ("paused", vec![rel(at)]),
                    EndpointEvent::SpeechEnded {
                        speech_start,
                        speech_end,
                        decided_at,
                        reason,
                        ..
                    } => (
                        match reason {
                            EndReason::Silence => "ended",
                            EndReason::MaxTurn => "max-turn",
                        },
                        vec![rel(speech_start), rel(speech_end), rel(decided_at)],
                    ),
                    EndpointEvent::NoInput { at } => ("no-input", vec![rel(at)]),
                })
                .collect()
        }

        fn last_audio(&self) -> &[f32] {
            self.events
                .iter()
                .rev()
                .find_map(|(_, e)| match e {
                    EndpointEvent::SpeechEnded { audio, .. } => Some(audio.as_slice()),
                    _ => None,
                })
                .expect("a turn ended")
        }
    }

    /// The frame indexes an audio clip was taken from (each frame holds its own index).
    fn frame_indexes(audio: &[f32]) -> Vec<i16> {
        audio
            .chunks(FRAME_SAMPLES)
            .map(|c| (c[0] * 32768.0).round() as i16)
            .collect()
    }

    #[test]
    fn two_seconds_of_speech_make_one_turn_with_exact_times() {
        let mut call = Call::new(config());
        call.endpointer.start(call.t0);
        call.feed(500, false);
        call.feed(2_500, true);
        call.feed(10_000, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![500, 620]),
                ("partial", vec![1_000]),
                ("partial", vec![1_500]),
                ("partial", vec![2_000]),
                ("partial", vec![2_500]),
                ("paused", vec![2_700]),
                ("ended", vec![500, 2_500, 3_000]),
            ]
        );
        // Audio from 0.3 s (pre-roll 200 ms) to 2.7 s (post-roll 200 ms): frames 15 ..= 134.
        let audio = call.last_audio();
        assert_eq!(audio.len(), 120 * FRAME_SAMPLES);
        assert_eq!(frame_indexes(audio), (15..135).collect::<Vec<i16>>());
        assert_eq!(call.endpointer.state(), &EndpointState::Idle);
        assert!(call.endpointer.turn_audio().is_empty());
    }

    #[test]
    fn clicks_shorter_than_min_speech_open_no_turn() {
        let config = EndpointConfig {
            no_input_ms: 0,
            ..config()
        };
        let mut call = Call::new(config);
        call.feed(1_000, false);
        call.feed(1_060, true); // a 60 ms click
        call.feed(2_000, false);
        call.feed(2_100, true); // 100 ms, still under 120
        call.feed(3_000, false);
        assert_eq!(call.timeline(), []);
        call.feed(3_120, true); // exactly 120 ms is enough
        call.feed(4_000, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![3_000, 3_120]),
                // The post-roll is complete at 3.32 s; no partial after that.
                ("paused", vec![3_320]),
                ("ended", vec![3_000, 3_120, 3_620]),
            ]
        );
    }

    #[test]
    fn a_pause_shorter_than_the_silence_keeps_the_turn() {
        let mut call = Call::new(EndpointConfig {
            partial_every_ms: 0,
            ..config()
        });
        call.feed(500, false);
        call.feed(1_500, true);
        call.feed(1_800, false); // 300 ms pause
        call.feed(2_500, true);
        call.feed(4_000, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![500, 620]),
                ("paused", vec![1_700]),
                ("paused", vec![2_700]),
                ("ended", vec![500, 2_500, 3_000])
            ]
        );
        // The pause is part of the turn's audio.
        assert_eq!(
            frame_indexes(call.last_audio()),
            (15..135).collect::<Vec<i16>>()
        );

        // A pause of exactly the silence ends it.
        let mut call = Call::new(EndpointConfig {
            partial_every_ms: 0,
            ..config()
        });
        call.feed(500, false);
        call.feed(1_500, true);
        call.feed(2_000, false);
        call.feed(2_500, true);
        call.feed(3_500, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![500, 620]),
                ("paused", vec![1_700]),
                ("ended", vec![500, 1_500, 2_000]),
                ("started", vec![2_000, 2_120]),
                ("paused", vec![2_700]),
                ("ended", vec![2_000, 2_500, 3_000]),
            ]
        );
    }

    #[test]
    fn no_input_fires_once_at_exactly_no_input_ms() {
        let mut call = Call::new(config());
        call.feed(1_000, false);
        call.endpointer.start(call.at(1_000));
        call.feed(20_000, false);
        assert_eq!(call.timeline(), [("no-input", vec![6_000])]);
    }

    #[test]
    fn no_input_waits_for_a_click_in_progress_to_be_rejected() {
        let mut call = Call::new(config());
        call.endpointer.start(call.t0);
        call.feed(4_960, false);
        call.feed(5_040, true); // 80 ms across the deadline
        call.feed(6_000, false);
        assert_eq!(call.timeline(), [("no-input", vec![5_060])]);
    }

    #[test]
    fn a_turn_before_the_deadline_cancels_no_input() {
        let mut call = Call::new(config());
        call.endpointer.start(call.t0);
        call.feed(4_000, false);
        call.feed(4_200, true);
        call.feed(12_000, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![4_000, 4_120]),
                ("paused", vec![4_400]),
                ("ended", vec![4_000, 4_200, 4_700]),
            ]
        );
        // Re-arming starts a new wait.
        call.endpointer.start(call.at(12_000));
        call.feed(18_000, false);
        assert_eq!(call.timeline().last(), Some(&("no-input", vec![17_000])));
    }

    #[test]
    fn max_turn_ends_endless_speech_and_a_new_turn_follows() {
        let mut call = Call::new(EndpointConfig {
            partial_every_ms: 0,
            max_turn_ms: 15_000,
            ..config()
        });
        call.feed(500, false);
        call.feed(16_000, true);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![500, 620]),
                ("max-turn", vec![500, 15_500, 15_500]),
                ("started", vec![15_500, 15_620]),
            ]
        );
        // Pre-roll 0.3 .. 0.5 s and the 15 s of the turn.
        let audio = call.last_audio();
        assert_eq!(audio.len(), (10 + 750) * FRAME_SAMPLES);
        assert_eq!(frame_indexes(audio).first(), Some(&15));
        assert_eq!(frame_indexes(audio).last(), Some(&774));
    }

    #[test]
    fn shortened_silence_after_a_partial_ends_the_turn_sooner() {
        let mut call = Call::new(config());
        call.feed(500, false);
        call.feed(2_300, true);
        call.feed(2_500, false);
        // The early decode at 2.5 s (post-roll complete) already satisfies the grammar.
        assert_eq!(call.timeline().last(), Some(&("paused", vec![2_500])));
        call.endpointer.shorten_silence(900); // never lengthens
        call.feed(2_520, false);
        assert!(matches!(
            call.endpointer.state(),
            EndpointState::Speaking(_)
        ));
        call.endpointer.shorten_silence(200);
        call.feed(2_540, false);
        assert_eq!(
            call.timeline().last(),
            Some(&("ended", vec![500, 2_300, 2_540]))
        );
        // The next turn has the configured silence again.
        call.feed(3_000, true);
        call.feed(4_000, false);
        assert_eq!(
            call.timeline().last(),
            Some(&("ended", vec![2_540, 3_000, 3_500]))
        );
    }

    #[test]
    fn set_silence_applies_to_the_open_turn_and_after() {
        let mut call = Call::new(EndpointConfig {
            partial_every_ms: 0,
            ..config()
        });
        call.feed(1_000, true);
        call.endpointer.set_silence_ms(800);
        call.feed(3_000, false);
        call.feed(3_200, true);
        call.feed(5_000, false);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![0, 120]),
                ("paused", vec![1_200]),
                ("ended", vec![0, 1_000, 1_800]),
                ("started", vec![3_000, 3_120]),
                ("paused", vec![3_400]),
                ("ended", vec![3_000, 3_200, 4_000]),
            ]
        );
    }

    #[test]
    fn speech_duration_counts_from_onset_to_the_last_speech() {
        let mut call = Call::new(config());
        assert_eq!(call.endpointer.speech_duration_ms(), 0);
        call.feed(500, false);
        call.feed(560, true);
        assert_eq!(call.endpointer.speech_duration_ms(), 60);
        call.feed(1_000, true);
        assert_eq!(call.endpointer.speech_duration_ms(), 500);
        call.feed(1_200, false);
        call.feed(1_300, true);
        assert_eq!(call.endpointer.speech_duration_ms(), 800);
        call.feed(1_600, false);
        assert_eq!(call.endpointer.speech_duration_ms(), 800);
        call.feed(2_000, false);
        assert_eq!(call.endpointer.speech_duration_ms(), 0);
    }

    #[test]
    fn partials_due_before_the_start_skip_ahead() {
        let mut call = Call::new(EndpointConfig {
            min_speech_ms: 300,
            partial_every_ms: 100,
            ..config()
        });
        call.feed(700, true);
        assert_eq!(
            call.timeline(),
            [
                ("started", vec![0, 300]),
                ("partial", vec![400]),
                ("partial", vec![500]),
                ("partial", vec![600]),
                ("partial", vec![700]),
            ]
        );
    }

    #[test]
    fn a_stall_between_frames_fires_one_partial_and_keeps_the_grid() {
        let mut call = Call::new(EndpointConfig {
            partial_every_ms: 100,
            ..config()
        });
        call.feed(200, true);
        assert_eq!(
            call.timeline(),
            [("started", vec![0, 120]), ("partial", vec![200])]
        );
        let mut partial_at = |millis: u32| {
            let now = call.at(millis);
            match call.endpointer.handle_frame(now, &Frame::SILENCE, true) {
                Some(EndpointEvent::Partial { at }) => Some(at.duration_since(call.t0).as_millis()),
                None => None,
                Some(other) => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(partial_at(1_010), Some(1_010));
        assert_eq!(partial_at(1_030), None);
        assert_eq!(partial_at(1_090), None);
        assert_eq!(partial_at(1_100), Some(1_100));
    }

    #[test]
    fn turn_audio_grows_during_the_turn() {
        let mut call = Call::new(config());
        call.feed(100, false);
        call.feed(220, true);
        // 100 ms of history (all there is) and 120 ms of speech.
        assert_eq!(call.endpointer.turn_audio().len(), 11 * FRAME_SAMPLES);
        call.feed(240, true);
        assert_eq!(call.endpointer.turn_audio().len(), 12 * FRAME_SAMPLES);
        call.endpointer.reset();
        assert!(call.endpointer.turn_audio().is_empty());
        assert_eq!(call.endpointer.state(), &EndpointState::Idle);
    }

    #[test]
    fn invalid_configs_are_refused() {
        let base = config();
        let cases = [
            (
                EndpointConfig {
                    min_speech_ms: 2_001,
                    ..base
                },
                EndpointError::MinSpeech(2_001),
            ),
            (
                EndpointConfig {
                    pre_roll_ms: 5_000,
                    ..base
                },
                EndpointError::PreRoll(5_000),
            ),
            (
                EndpointConfig {
                    max_turn_ms: 100,
                    ..base
                },
                EndpointError::MaxTurn(100),
            ),
            (
                EndpointConfig {
                    max_turn_ms: 120_001,
                    ..base
                },
                EndpointError::MaxTurn(120_001),
            ),
        ];
        for (config, error) in cases {
            assert_eq!(Endpointer::new(config).err(), Some(error));
        }
    }

    /// Real speech through the detector and the endpointer: one turn around the sentence.
    #[test]
    fn flite_sentence_is_one_turn() {
        use crate::speech::vad::test_audio::{flite, frames};
        use crate::speech::vad::{VadConfig, VoiceDetector};
        let Some(speech) = flite("where is my order") else {
            return;
        };
        let mut samples = vec![0i16; 50 * FRAME_SAMPLES];
        samples.extend_from_slice(&speech);
        samples.extend(std::iter::repeat_n(0, 100 * FRAME_SAMPLES));
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        let mut call = Call::new(config());
        let t0 = call.t0;
        let mut events = Vec::new();
        for (i, frame) in frames(&samples).iter().enumerate() {
            let now = t0 + FRAME * (i as u32 + 1);
            let decision = vad.process(frame);
            events.extend(call.endpointer.handle_frame(now, frame, decision.is_speech));
        }
        let speech_ms = (speech.len() / 16) as u128;
        let ended: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                EndpointEvent::SpeechEnded {
                    speech_start,
                    speech_end,
                    audio,
                    ..
                } => Some((
                    speech_start.duration_since(t0).as_millis(),
                    speech_end.duration_since(t0).as_millis(),
                    audio.len(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(ended.len(), 1, "events: {events:?}");
        let (start, end, len) = ended[0];
        // The sentence runs 1000 .. 1000 + speech_ms; flite leaves a little silence at both ends.
        assert!((1_000..1_300).contains(&start), "start {start} ms");
        assert!(
            end > 1_000 + speech_ms / 2 && end <= 1_000 + speech_ms + 100,
            "end {end} ms"
        );
        assert!(len >= (end - start) as usize * 16, "audio of {len} samples");
    }

    proptest! {
        /// Any decision sequence: turns open and close in order, times are ordered, audio is
        /// bounded by pre-roll + max turn, a turn that ends at a reported pause ends with the
        /// audio reported then, and nothing panics.
        #[test]
        fn events_are_well_formed(decisions in proptest::collection::vec(any::<bool>(), 0..2_000)) {
            let config = EndpointConfig { max_turn_ms: 3_000, ..config() };
            let mut endpointer = Endpointer::new(config).expect("valid");
            let t0 = Instant::now();
            endpointer.start(t0);
            let mut open = false;
            let mut no_inputs = 0;
            let mut paused: Option<Vec<f32>> = None;
            for (i, &is_speech) in decisions.iter().enumerate() {
                let now = t0 + FRAME * (i as u32 + 1);
                if is_speech {
                    paused = None;
                }
                let frame = Frame([i as i16; FRAME_SAMPLES]);
                match endpointer.handle_frame(now, &frame, is_speech) {
                    Some(EndpointEvent::SpeechStarted { at, decided_at }) => {
                        prop_assert!(!open);
                        prop_assert!(at < decided_at && decided_at == now);
                        open = true;
                    }
                    Some(EndpointEvent::Partial { at }) => {
                        prop_assert!(open && at == now);
                    }
                    Some(EndpointEvent::Paused { at }) => {
                        prop_assert!(open && at == now && !is_speech && paused.is_none());
                        paused = Some(endpointer.closing_audio());
                    }
                    Some(EndpointEvent::SpeechEnded { speech_start, speech_end, decided_at, audio, reason }) => {
                        prop_assert!(open);
                        if let Some(p) = paused.take() && reason == EndReason::Silence {
                            prop_assert_eq!(p, audio.clone());
                        }
                        prop_assert!(speech_start < speech_end && speech_end <= decided_at);
                        prop_assert!(decided_at.duration_since(speech_start) <= ms(3_000));
                        prop_assert!(audio.len() <= (200 + 3_000) * 16);
                        open = false;
                    }
                    Some(EndpointEvent::NoInput { .. }) => {
                        prop_assert!(!open);
                        no_inputs += 1;
                    }
                    None => {}
                }
            }
            prop_assert!(no_inputs <= 1);
        }
    }
}
