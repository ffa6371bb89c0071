//! The audio of one caller turn, for the recogniser: a short history of recent frames (so the
//! turn can begin a little before the detector noticed speech) and the samples of the open turn.
//!
//! The history is allocated once. The turn's samples are allocated when a turn opens, sized
//! for the longest turn allowed, and handed over as exact-size `f32` at its end; between turns
//! nothing but the history is held, so a quiet call costs a few KiB.

use crate::media::frame::{FRAME_SAMPLES, Frame};

/// Recent frames and the open turn's samples. [`Endpointer`](super::endpoint::Endpointer)
/// drives it; it is public for a caller that wants the same buffering with its own rules.
#[derive(Debug)]
pub struct TurnBuffer {
    /// Ring of the last frames, oldest overwritten first.
    history: Box<[Frame]>,
    /// Slot of `history` the next frame goes to.
    next: usize,
    /// Frames in `history` so far (it is not full at the start of a call).
    filled: usize,
    /// Samples of the open turn; `None` between turns.
    turn: Option<Vec<i16>>,
    /// Most samples a turn may hold; frames past it are dropped, never reallocated.
    capacity: usize,
    /// Length of `turn` at the end of its last speech frame.
    speech_end: usize,
}

impl TurnBuffer {
    /// `history_frames` of look-back (at least one is kept) and turns of at most `turn_frames`.
    pub fn new(history_frames: usize, turn_frames: usize) -> TurnBuffer {
        TurnBuffer {
            history: vec![Frame::SILENCE; history_frames.max(1)].into_boxed_slice(),
            next: 0,
            filled: 0,
            turn: None,
            capacity: turn_frames * FRAME_SAMPLES,
            speech_end: 0,
        }
    }

    /// Records one frame: into the history, and into the turn if one is open.
    pub fn push(&mut self, frame: &Frame) {
        self.history[self.next] = *frame;
        self.next = (self.next + 1) % self.history.len();
        self.filled = (self.filled + 1).min(self.history.len());
        if let Some(turn) = &mut self.turn
            && turn.len() + FRAME_SAMPLES <= self.capacity
        {
            turn.extend_from_slice(frame.samples());
        }
    }

    /// Opens a turn that starts `frames_back` frames ago (the last pushed frame included), or
    /// as far back as the history reaches. Any open turn is discarded.
    pub fn begin(&mut self, frames_back: usize) {
        let mut turn = Vec::with_capacity(self.capacity);
        let back = frames_back
            .min(self.filled)
            .min(self.capacity / FRAME_SAMPLES);
        let len = self.history.len();
        for age in (1..=back).rev() {
            let slot = (self.next + len - age) % len;
            turn.extend_from_slice(self.history[slot].samples());
        }
        self.speech_end = turn.len();
        self.turn = Some(turn);
    }

    /// Marks the end of the last pushed frame as the end of speech so far.
    pub fn mark_speech_end(&mut self) {
        if let Some(turn) = &self.turn {
            self.speech_end = turn.len();
        }
    }

    pub fn is_open(&self) -> bool {
        self.turn.is_some()
    }

    /// True when the open turn cannot take another frame.
    pub fn is_full(&self) -> bool {
        self.turn
            .as_ref()
            .is_some_and(|turn| turn.len() + FRAME_SAMPLES > self.capacity)
    }

    /// The open turn's samples so far (empty between turns), e.g. for a partial decode.
    pub fn samples(&self) -> &[i16] {
        self.turn.as_deref().unwrap_or(&[])
    }

    /// Closes the turn and returns its audio up to `post_roll_samples` past the end of speech,
    /// as `f32` in -1.0 ..= 1.0 (what whisper takes). Empty if no turn was open.
    pub fn finish(&mut self, post_roll_samples: usize) -> Vec<f32> {
        let audio = self.closing(post_roll_samples);
        self.turn = None;
        audio
    }

    /// The audio [`TurnBuffer::finish`] would return now, leaving the turn open.
    pub fn closing(&self, post_roll_samples: usize) -> Vec<f32> {
        let turn = self.samples();
        let keep = turn
            .len()
            .min(self.speech_end.saturating_add(post_roll_samples));
        turn[..keep]
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect()
    }

    /// Drops the open turn, if any.
    pub fn cancel(&mut self) {
        self.turn = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(value: i16) -> Frame {
        Frame([value; FRAME_SAMPLES])
    }

    /// The distinct frame values of some audio, in order (each frame is constant).
    fn values(audio: &[f32]) -> Vec<i16> {
        audio
            .chunks(FRAME_SAMPLES)
            .map(|c| (c[0] * 32768.0) as i16)
            .collect()
    }

    #[test]
    fn turn_starts_with_the_requested_history() {
        let mut buffer = TurnBuffer::new(4, 100);
        for v in 1..=6 {
            buffer.push(&frame(v));
        }
        buffer.begin(3);
        buffer.push(&frame(7));
        buffer.mark_speech_end();
        assert_eq!(values(&buffer.finish(0)), [4, 5, 6, 7]);
    }

    #[test]
    fn history_shorter_than_asked_at_call_start() {
        let mut buffer = TurnBuffer::new(10, 100);
        buffer.push(&frame(1));
        buffer.push(&frame(2));
        buffer.begin(8);
        buffer.mark_speech_end();
        assert_eq!(values(&buffer.finish(0)), [1, 2]);
    }

    #[test]
    fn finish_keeps_post_roll_after_speech_end_only() {
        let mut buffer = TurnBuffer::new(2, 100);
        buffer.push(&frame(1));
        buffer.begin(1);
        buffer.push(&frame(2));
        buffer.mark_speech_end();
        for v in 3..8 {
            buffer.push(&frame(v)); // trailing silence
        }
        let audio = buffer.finish(2 * FRAME_SAMPLES + 10);
        assert_eq!(audio.len(), 4 * FRAME_SAMPLES + 10);
        assert_eq!(values(&audio), [1, 2, 3, 4, 5]);
        assert!(!buffer.is_open());
        assert!(buffer.finish(0).is_empty());
    }

    #[test]
    fn full_turn_drops_frames_without_growing() {
        let mut buffer = TurnBuffer::new(1, 3);
        buffer.push(&frame(1));
        buffer.begin(1);
        buffer.push(&frame(2));
        assert!(!buffer.is_full());
        buffer.push(&frame(3));
        assert!(buffer.is_full());
        buffer.push(&frame(4));
        buffer.mark_speech_end();
        assert_eq!(buffer.samples().len(), 3 * FRAME_SAMPLES);
        assert_eq!(values(&buffer.finish(0)), [1, 2, 3]);
    }

    #[test]
    fn full_scale_maps_into_unit_range() {
        let mut buffer = TurnBuffer::new(1, 4);
        buffer.push(&frame(i16::MIN));
        buffer.begin(1);
        buffer.push(&frame(i16::MAX));
        buffer.mark_speech_end();
        let audio = buffer.finish(0);
        assert_eq!(audio[0], -1.0);
        assert!(audio.iter().all(|s| (-1.0..=1.0).contains(s)));
    }
}
