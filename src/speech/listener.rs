//! The caller's turns: denoise, voice activity, endpointing, chained. Sans-IO and per frame:
//! the call machine feeds it while a flow listens, `kefu transcribe` feeds it a file; each
//! finished turn's audio is then decoded.

use std::time::{Duration, Instant};

use crate::media::frame::Frame;
use crate::speech::denoise::{ASR_DENOISED_SHARE, Denoiser};
use crate::speech::endpoint::{EndpointConfig, EndpointError, EndpointEvent, Endpointer};
use crate::speech::vad::{VadConfig, VoiceDetector};

/// Identifies one turn of the caller within a call, so that a late result of a turn the flow no
/// longer waits for is recognised and dropped.
pub type TurnId = u64;

/// What happened to the caller's speech on one frame.
#[derive(Debug)]
pub enum TurnEvent {
    Started {
        turn: TurnId,
    },
    /// The turn so far, for a partial decode.
    Partial {
        turn: TurnId,
        audio: Vec<f32>,
    },
    /// The caller paused long enough that the turn's audio is complete if the pause ends it:
    /// decode `audio` now, and the result is ready when [`TurnEvent::Ended`] comes with the
    /// same audio (a resumed turn ends with more).
    Paused {
        turn: TurnId,
        audio: Vec<f32>,
    },
    /// The turn is over; its audio runs from just before `speech_start` to just after `speech_end`.
    Ended {
        turn: TurnId,
        audio: Vec<f32>,
        speech_start: Instant,
        speech_end: Instant,
        decided_at: Instant,
    },
}

/// How to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenSettings {
    /// Silence that ends a turn.
    pub end_silence: Duration,
    /// Silence that ends a turn already heard to be complete (a grammar's whole answer, a
    /// finished sentence): the caller has said all they meant to, so kefu answers sooner.
    pub complete_silence: Duration,
    /// Run RNNoise first (its voice estimate also helps the VAD).
    pub denoise: bool,
    /// Decode the turn so far this often while the caller talks; zero for never.
    pub partial_every: Duration,
}

pub struct Listener {
    /// Only when the flow asked for it: RNNoise's state is the biggest part of a listener.
    denoiser: Option<Box<Denoiser>>,
    vad: VoiceDetector,
    endpointer: Endpointer,
    complete_silence_ms: u32,
    turn: TurnId,
}

impl Listener {
    /// Starts listening at `now`; turns are numbered from `first_turn`.
    pub fn new(
        now: Instant,
        settings: ListenSettings,
        first_turn: TurnId,
    ) -> Result<Listener, EndpointError> {
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        let config = EndpointConfig {
            silence_ms: ms(settings.end_silence),
            partial_every_ms: ms(settings.partial_every),
            // Whoever listens keeps its own no-input timer (a flow's runs from the prompt's end).
            no_input_ms: 0,
            ..EndpointConfig::default()
        };
        let mut endpointer = Endpointer::new(config)?;
        endpointer.start(now);
        Ok(Listener {
            denoiser: settings.denoise.then(|| Box::new(Denoiser::new())),
            vad: VoiceDetector::new(VadConfig::default())
                .expect("the default VAD settings are valid"),
            endpointer,
            complete_silence_ms: ms(settings.complete_silence),
            turn: first_turn,
        })
    }

    /// The turn now open or last ended.
    pub fn turn(&self) -> TurnId {
        self.turn
    }

    /// One caller frame, complete at `now`.
    pub fn handle_frame(&mut self, now: Instant, frame: &Frame) -> Option<TurnEvent> {
        let (frame, decision) = match &mut self.denoiser {
            Some(denoiser) => {
                let (clean, voice) = denoiser.process(frame);
                let decision = self.vad.process_with_rnnoise(&clean, voice);
                // VAD judges the denoised frame; whisper hears a blend (see ASR_DENOISED_SHARE).
                (denoiser.blend(&clean, ASR_DENOISED_SHARE), decision)
            }
            None => (*frame, self.vad.process(frame)),
        };
        match self
            .endpointer
            .handle_frame(now, &frame, decision.is_speech)?
        {
            EndpointEvent::SpeechStarted { .. } => {
                self.turn += 1;
                Some(TurnEvent::Started { turn: self.turn })
            }
            EndpointEvent::Partial { .. } => Some(TurnEvent::Partial {
                turn: self.turn,
                audio: self
                    .endpointer
                    .turn_audio()
                    .iter()
                    .map(|&s| f32::from(s) / 32768.0)
                    .collect(),
            }),
            EndpointEvent::Paused { .. } => Some(TurnEvent::Paused {
                turn: self.turn,
                audio: self.endpointer.closing_audio(),
            }),
            EndpointEvent::SpeechEnded {
                speech_start,
                speech_end,
                decided_at,
                audio,
                ..
            } => Some(TurnEvent::Ended {
                turn: self.turn,
                audio,
                speech_start,
                speech_end,
                decided_at,
            }),
            EndpointEvent::NoInput { .. } => None,
        }
    }

    /// A decode of `turn` so far is a complete answer: end the turn after the short silence
    /// instead of the node's full one (at once, if the caller has been silent that long).
    pub fn answer_complete(&mut self, turn: TurnId) {
        if turn == self.turn {
            self.endpointer.shorten_silence(self.complete_silence_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(denoise: bool) -> ListenSettings {
        ListenSettings {
            end_silence: Duration::from_millis(500),
            complete_silence: Duration::from_millis(250),
            denoise,
            partial_every: Duration::from_millis(500),
        }
    }

    /// A loud vowel-like signal: a 200 Hz buzz with harmonics, the VAD's idea of speech.
    fn voiced(i: usize) -> Frame {
        let mut f = Frame::SILENCE;
        for (n, s) in f.samples_mut().iter_mut().enumerate() {
            let t = (i * 320 + n) as f32 / 16_000.0;
            let v: f32 = (1..8)
                .map(|h| (2.0 * std::f32::consts::PI * 200.0 * h as f32 * t).sin() / h as f32)
                .sum();
            *s = (v * 6000.0) as i16;
        }
        f
    }

    fn run(listener: &mut Listener, t0: Instant, frames: &[Frame]) -> Vec<(usize, TurnEvent)> {
        frames
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let now = t0 + Duration::from_millis(20 * (i as u64 + 1));
                listener.handle_frame(now, f).map(|e| (i, e))
            })
            .collect()
    }

    #[test]
    fn silence_makes_no_turn_and_numbering_starts_after_first_turn() {
        let t0 = Instant::now();
        let mut l = Listener::new(t0, settings(false), 7).expect("valid");
        assert!(run(&mut l, t0, &[Frame::SILENCE; 100]).is_empty());
        assert_eq!(l.turn(), 7);
    }

    #[test]
    fn the_endpointer_is_given_the_nodes_silence() {
        let t0 = Instant::now();
        let l = Listener::new(t0, settings(true), 0).expect("valid");
        assert_eq!(l.endpointer.config().silence_ms, 500);
        assert_eq!(l.endpointer.config().no_input_ms, 0);
        assert!(l.denoiser.is_some());
        let long = ListenSettings {
            end_silence: Duration::from_millis(1200),
            ..settings(false)
        };
        let l = Listener::new(t0, long, 0).expect("valid");
        assert_eq!(l.endpointer.config().silence_ms, 1200);
        assert!(l.denoiser.is_none());
    }

    #[test]
    fn a_complete_answer_shortens_only_the_open_turn() {
        let t0 = Instant::now();
        let mut l = Listener::new(t0, settings(false), 0).expect("valid");
        let mut frames: Vec<Frame> = (0..60).map(voiced).collect();
        frames.extend([Frame::SILENCE; 60]);
        let events = run(&mut l, t0, &frames[..60]);
        let Some((_, TurnEvent::Started { turn })) = events.first() else {
            panic!("the buzz opens a turn: {events:?}");
        };
        l.answer_complete(turn + 1);
        l.answer_complete(*turn);
        let later = run(&mut l, t0 + Duration::from_millis(1200), &frames[60..]);
        let ended = later
            .iter()
            .find_map(|(i, e)| matches!(e, TurnEvent::Ended { .. }).then_some(*i))
            .expect("the turn ends");
        // 250 ms of silence is 13 frames (the VAD lags a frame or two), well short of 25.
        assert!(ended < 20, "ended after {ended} silent frames");
    }
}
