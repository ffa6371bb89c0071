//! Frame-by-frame playback of queued prompts (the bot's voice on the media path).
//!
//! The call's media loop asks for one frame every 20 ms; barge-in calls [`Playback::stop`]
//! and the next frame is already silence. Frames are copied out of the prompts' shared
//! buffers, so playing allocates nothing.

use std::collections::VecDeque;
use std::time::Duration;

use crate::media::frame::{FRAME_MS, Frame};
use crate::media::prompt::Prompt;

/// A queue of prompts played back to back without gaps.
#[derive(Debug, Default)]
pub struct Playback {
    /// Prompts still to play; the front one is playing. Never holds an exhausted prompt.
    queue: VecDeque<Prompt>,
    /// Next frame of the front prompt.
    next: usize,
    /// Frames handed out since the playback was created or last stopped.
    played: u64,
}

impl Playback {
    pub fn new() -> Playback {
        Playback::default()
    }

    /// Appends a prompt to the queue (empty prompts are skipped).
    pub fn enqueue(&mut self, prompt: Prompt) {
        if !prompt.is_empty() {
            self.queue.push_back(prompt);
        }
    }

    /// The next 20 ms, or `None` once everything queued has played.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let prompt = self.queue.front()?;
        let frame = *prompt
            .frames()
            .get(self.next)
            .expect("the front prompt is never exhausted: it is popped on its last frame");
        self.next += 1;
        self.played += 1;
        if self.next == prompt.frame_count() {
            self.queue.pop_front();
            self.next = 0;
        }
        Some(frame)
    }

    /// Drops everything queued (barge-in, hang-up).
    pub fn stop(&mut self) {
        self.queue.clear();
        self.next = 0;
        self.played = 0;
    }

    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Prompts not yet finished, counting the one playing.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How far into the current prompt playback is.
    pub fn position(&self) -> Duration {
        frames_to_duration(self.next as u64)
    }

    /// Audio handed out since creation or the last [`Playback::stop`].
    pub fn played(&self) -> Duration {
        frames_to_duration(self.played)
    }

    /// Audio still queued, including the rest of the current prompt.
    pub fn remaining(&self) -> Duration {
        let frames: usize = self.queue.iter().map(Prompt::frame_count).sum();
        frames_to_duration((frames - self.next) as u64)
    }
}

fn frames_to_duration(frames: u64) -> Duration {
    Duration::from_millis(frames * u64::from(FRAME_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::frame::FRAME_SAMPLES;

    /// A prompt whose frame `i` is filled with the value `base + i`.
    fn numbered(base: i16, frames: usize) -> Prompt {
        let samples: Vec<i16> = (0..frames)
            .flat_map(|i| std::iter::repeat_n(base + i as i16, FRAME_SAMPLES))
            .collect();
        Prompt::from_samples(&samples)
    }

    fn first_sample(f: Frame) -> i16 {
        f.samples()[0]
    }

    #[test]
    fn plays_queued_prompts_back_to_back() {
        let mut p = Playback::new();
        assert!(!p.is_playing());
        assert_eq!(p.next_frame(), None);
        p.enqueue(numbered(100, 3));
        p.enqueue(Prompt::from_samples(&[]));
        p.enqueue(numbered(200, 2));
        assert_eq!(p.queued(), 2);
        assert_eq!(p.remaining(), Duration::from_millis(100));
        let got: Vec<i16> = std::iter::from_fn(|| p.next_frame())
            .map(first_sample)
            .collect();
        assert_eq!(got, vec![100, 101, 102, 200, 201]);
        assert!(!p.is_playing());
        assert_eq!(p.played(), Duration::from_millis(100));
    }

    #[test]
    fn position_tracks_the_current_prompt() {
        let mut p = Playback::new();
        p.enqueue(numbered(0, 4));
        p.enqueue(numbered(0, 4));
        for _ in 0..3 {
            p.next_frame();
        }
        assert_eq!(p.position(), Duration::from_millis(60));
        assert_eq!(p.remaining(), Duration::from_millis(100));
        p.next_frame();
        assert_eq!(p.position(), Duration::ZERO, "second prompt starts");
        assert_eq!(p.queued(), 1);
    }

    #[test]
    fn stop_silences_at_once() {
        let mut p = Playback::new();
        p.enqueue(numbered(1, 50));
        p.next_frame();
        p.stop();
        assert!(!p.is_playing());
        assert_eq!(p.next_frame(), None);
        assert_eq!(p.played(), Duration::ZERO);
        p.enqueue(numbered(7, 1));
        assert_eq!(p.next_frame().map(first_sample), Some(7));
    }

    #[test]
    fn the_same_prompt_can_play_in_several_calls() {
        let prompt = numbered(5, 2);
        let (mut a, mut b) = (Playback::new(), Playback::new());
        a.enqueue(prompt.clone());
        b.enqueue(prompt);
        assert_eq!(a.next_frame(), b.next_frame());
    }
}
