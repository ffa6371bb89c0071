//! What a caller can ask of one decode, and the encoder-window policy.
//!
//! whisper encodes a fixed 30 s window (`audio_ctx` 1500 positions, 50 per second) however
//! short the clip. A smaller window is several times faster, but whisper was trained on full
//! windows: a window cut to the clip's own length makes it loop on short clips (WER 4.7 % ->
//! 150 % on the Asterisk prompts). The measured compromise ([`Window::default`]) pads the clip
//! with silence inside the window, keeps whisper's timestamp tokens (it then ends the segment
//! instead of looping), caps the tokens by the clip length, and re-decodes with a larger
//! window ([`RETRY_WINDOW`]) when the output still looks degenerate (see `guard.rs`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::grammar::Grammar;

/// whisper's sample rate.
pub const SAMPLE_RATE: usize = 16_000;
/// Encoder positions per second of audio (100 mel frames, stride-2 convolution).
const POSITIONS_PER_SECOND: usize = 50;

/// How large an encoder window to use for a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// whisper's full 30 s window: slowest, the reference accuracy.
    Full,
    /// A window of `max(floor, clip + margin)` positions (50 per second), rounded up to a
    /// multiple of 64; if the result looks degenerate (repeated phrases, too many tokens for
    /// the audio) and `retry` is set, the clip is decoded again with [`RETRY_WINDOW`].
    Fit {
        /// Smallest window, in positions (1500 = 30 s).
        floor: u32,
        /// Positions added after the clip's own length.
        margin: u32,
        /// Re-decode with [`RETRY_WINDOW`] when the guard trips.
        retry: bool,
    },
}

impl Default for Window {
    /// The clip plus 2.6 s of padding. Measured on 188 Asterisk prompts through µ-law in the
    /// call pipeline (tiny.en q8_0, 1 thread): WER 9.52 %; 5.1 s of padding 8.75 % but 40 ms
    /// more per short turn (a 1.4 s turn: 190 against 148 ms), which the voice-to-voice target
    /// cannot spare; the full window 9.69 % at 1.3 s per turn. Short windows loop without
    /// timestamps, so single-segment decodes keep them (see `ffi.rs`).
    fn default() -> Window {
        Window::Fit {
            floor: 0,
            margin: 128,
            retry: true,
        }
    }
}

/// The window a degenerate small-window decode is tried again with: at least 768 positions
/// (15 s). Measured on 188 Asterisk prompts in the call pipeline: WER 9.43 % against 9.52 %
/// with the full window, and a third of its cost. In the capacity bench (`cargo bench --bench
/// asr_speed -- capacity`), whose turns are cut mid-word and trip the guard more often than a
/// caller's turn, 16 callers on 2 cores waited p95 321 ms after the endpoint instead of 1185 ms.
pub const RETRY_WINDOW: Window = Window::Fit {
    floor: 768,
    margin: 128,
    retry: false,
};

/// Options of one decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Language code (`en`, `zh`…) or `auto` (multilingual models detect it). English-only
    /// models accept only `en` / `auto`.
    pub language: String,
    /// Text the decoder sees as preceding context: vocabulary hints such as product names.
    pub initial_prompt: Option<String>,
    /// Constrain the output to a grammar (digits, yes/no, menu choices).
    pub grammar: Option<Grammar>,
    /// How strongly tokens outside the grammar are pushed down (whisper.cpp default 100).
    pub grammar_penalty: f32,
    /// The encoder-window policy.
    pub window: Window,
    /// Temperature step for whisper's fallback re-decodes (0 = none: one greedy pass).
    pub temperature_inc: f32,
    /// Beam search with this many beams; 0 or 1 decodes greedily (calls: 3–5x faster, for
    /// little gain on short turns). Files transcribed offline may afford it.
    pub beam_size: u32,
    /// Set to `true` from another thread to cancel (e.g. the caller hung up).
    pub abort: Option<Arc<AtomicBool>>,
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            language: "en".to_string(),
            initial_prompt: None,
            grammar: None,
            grammar_penalty: 100.0,
            window: Window::default(),
            temperature_inc: 0.0,
            beam_size: 0,
            abort: None,
        }
    }
}

/// What one whisper.cpp pass is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    /// Encoder positions (0 = the model's full window).
    pub audio_ctx: u32,
    /// One segment without timestamps (clips that fit one window) or whisper's long-form mode.
    pub single_segment: bool,
    /// Token cap for the segment (0 = none).
    pub max_tokens: u32,
}

/// Tokens allowed per second of audio: fast speech is ~4 tokens/s; twice that plus a constant
/// leaves room for numbers and punctuation while cutting a loop short.
pub(crate) fn max_tokens_for(samples: usize) -> u32 {
    let seconds = samples.div_ceil(SAMPLE_RATE) as u32;
    16 + 8 * seconds
}

/// Positions needed to cover `samples` of audio.
pub(crate) fn positions_for(samples: usize) -> u32 {
    (samples * POSITIONS_PER_SECOND).div_ceil(SAMPLE_RATE) as u32
}

/// The pass to run for a clip of `samples` under `window`, on a model with `n_audio_ctx`
/// positions.
pub(crate) fn plan(window: Window, samples: usize, n_audio_ctx: u32) -> Pass {
    let needed = positions_for(samples);
    // Leave whisper.cpp's last 100 ms guard inside one window; longer clips go long-form.
    let fits_one_window = needed + 5 < n_audio_ctx;
    if !fits_one_window {
        return Pass {
            audio_ctx: 0,
            single_segment: false,
            max_tokens: 0,
        };
    }
    let audio_ctx = match window {
        Window::Full => 0,
        Window::Fit { floor, margin, .. } => {
            let want = (needed + margin).max(floor).next_multiple_of(64);
            if want >= n_audio_ctx { 0 } else { want }
        }
    };
    Pass {
        audio_ctx,
        single_segment: true,
        max_tokens: max_tokens_for(samples),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: usize = SAMPLE_RATE;

    #[test]
    fn full_window_uses_the_models_own_context() {
        let p = plan(Window::Full, 3 * SECOND, 1500);
        assert_eq!(
            p,
            Pass {
                audio_ctx: 0,
                single_segment: true,
                max_tokens: 16 + 24
            }
        );
    }

    #[test]
    fn fit_window_has_a_floor_and_grows_with_the_clip() {
        let fit = Window::Fit {
            floor: 768,
            margin: 64,
            retry: true,
        };
        assert_eq!(
            plan(fit, SECOND, 1500).audio_ctx,
            768,
            "short clip: the floor"
        );
        // 20 s = 1000 positions + 64 margin -> 1064 -> 1088 (multiple of 64).
        assert_eq!(plan(fit, 20 * SECOND, 1500).audio_ctx, 1088);
        // 29 s needs 1450 + 64 > 1500: the full window, still one segment.
        assert_eq!(
            plan(fit, 29 * SECOND, 1500),
            Pass {
                audio_ctx: 0,
                single_segment: true,
                max_tokens: 16 + 8 * 29
            }
        );
    }

    #[test]
    fn the_retry_window_is_larger_than_the_first_for_turns_up_to_11_s() {
        let first = |secs: usize| plan(Window::default(), secs * SECOND, 1500).audio_ctx;
        let retry = |secs: usize| plan(RETRY_WINDOW, secs * SECOND, 1500).audio_ctx;
        assert_eq!(first(2), 256);
        assert_eq!(retry(2), 768);
        assert!(retry(11) > first(11));
        // Past the floor the two agree: the engine then retries with the full window.
        assert_eq!(retry(20), first(20));
    }

    #[test]
    fn clips_longer_than_a_window_use_long_form_decoding() {
        let p = plan(Window::default(), 45 * SECOND, 1500);
        assert_eq!(
            p,
            Pass {
                audio_ctx: 0,
                single_segment: false,
                max_tokens: 0
            }
        );
    }

    #[test]
    fn token_cap_scales_with_duration() {
        assert_eq!(max_tokens_for(1), 24);
        assert_eq!(max_tokens_for(10 * SECOND), 96);
        assert_eq!(positions_for(SECOND / 2), 25);
    }
}
