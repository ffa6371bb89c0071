//! The decode engine: one loaded model ([`Whisper`]) shared by many [`Decoder`]s, one per
//! worker thread. Decoding is greedy (temperature 0, one candidate): for short telephone
//! utterances beam search costs 3–5x the time for little gain, and the temperature fallback is
//! off by default because it multiplies the worst-case latency; the window guard covers the
//! loops it would catch. Each decode is independent (`no_context`): nothing from one caller's
//! audio leaks into the next decode on the same state.

use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::AsrError;
use super::ffi::{self, CallParams, Context, RawSegment, State};
use super::guard;
use super::options::{DecodeOptions, Pass, RETRY_WINDOW, SAMPLE_RATE, Window, plan};
use crate::speech::models::ggml::{self, GgmlInfo};

/// A loaded model.
pub struct Whisper {
    ctx: Arc<Context>,
    info: GgmlInfo,
}

impl Whisper {
    /// Validates `path` (a truncated or foreign file is an error, not a crash) and loads it.
    pub fn load(path: &Path) -> Result<Whisper, AsrError> {
        let info = ggml::inspect(path)?;
        whisper_rs::install_logging_hooks();
        let ctx = Context::load(path).ok_or_else(|| AsrError::Load {
            path: path.to_path_buf(),
        })?;
        tracing::info!(
            model = %info.name,
            weights = info.weights,
            path = %path.display(),
            "whisper model loaded"
        );
        Ok(Whisper {
            ctx: Arc::new(ctx),
            info,
        })
    }

    /// What the model file holds (name, hyper-parameters, weight type).
    pub fn info(&self) -> &GgmlInfo {
        &self.info
    }

    /// A decoder with its own whisper state (KV caches, ~tens of MB for tiny), using
    /// `threads` CPU threads per decode.
    pub fn new_decoder(&self, threads: usize) -> Result<Decoder, AsrError> {
        let state = State::new(Arc::clone(&self.ctx)).ok_or(AsrError::State)?;
        Ok(Decoder {
            state,
            threads: threads.clamp(1, 64) as i32,
            n_audio_ctx: self.info.hparams.n_audio_ctx.max(1) as u32,
            english_only: self.info.hparams.is_english_only(),
            audio: Vec::new(),
            prompt: None,
        })
    }
}

/// One decoded stretch of audio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Segment {
    /// The text, trimmed.
    pub text: String,
    /// Start, milliseconds from the start of the clip.
    pub t0_ms: u32,
    /// End, milliseconds from the start of the clip.
    pub t1_ms: u32,
    /// Geometric-mean probability of the segment's text tokens (0..1).
    pub confidence: f32,
    /// whisper's probability that the segment holds no speech.
    pub no_speech_prob: f32,
}

/// The result of one decode.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transcript {
    /// All segments' text joined by spaces.
    pub text: String,
    /// Geometric-mean probability of all text tokens, `exp(mean log p)` (0 when empty). A
    /// token-count-weighted version of the per-segment figure.
    pub confidence: f32,
    /// The language decoded (`en` for English-only models).
    pub language: String,
    /// The segments (one for clips that fit a window).
    pub segments: Vec<Segment>,
    /// Wall time spent in whisper, milliseconds (both passes if the guard re-decoded).
    pub decode_ms: u32,
    /// The encoder window of the pass kept, positions (1500 = full).
    pub audio_ctx: u32,
    /// Whether the small-window result was discarded and re-decoded with [`RETRY_WINDOW`].
    pub retried: bool,
}

/// A worker's decoding state. Not shareable; move it to the worker thread.
pub struct Decoder {
    state: State,
    threads: i32,
    n_audio_ctx: u32,
    english_only: bool,
    /// Reused buffer for the sanitised audio.
    audio: Vec<f32>,
    /// The last initial prompt and its tokens (callers repeat the same hints).
    prompt: Option<(String, Vec<i32>)>,
}

impl Decoder {
    /// Transcribes 16 kHz mono samples in [-1, 1].
    pub fn decode(&mut self, audio: &[f32], opts: &DecodeOptions) -> Result<Transcript, AsrError> {
        let started = Instant::now();
        let language = self.language(&opts.language)?;
        let grammar = match &opts.grammar {
            Some(g) => {
                g.validate().map_err(|p| AsrError::Grammar(p.0))?;
                g.to_c()
            }
            None => Vec::new(),
        };
        let prompt_tokens = self.prompt_tokens(opts.initial_prompt.as_deref());
        // whisper.cpp would reuse the previous call's spectrogram for empty input.
        if audio.len() < SAMPLE_RATE / 10 {
            return Ok(Transcript {
                text: String::new(),
                confidence: 0.0,
                language: language.map_or_else(String::new, |l| l.to_string_lossy().into_owned()),
                segments: Vec::new(),
                decode_ms: 0,
                audio_ctx: 0,
                retried: false,
            });
        }
        self.audio.clear();
        self.audio.extend(audio.iter().map(|&s| {
            if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        }));
        let mut params = CallParams {
            threads: self.threads,
            audio_ctx: 0,
            max_tokens: 0,
            single_segment: true,
            temperature_inc: opts.temperature_inc.clamp(0.0, 1.0),
            beam_size: opts.beam_size.min(16) as i32,
            language,
            prompt_tokens,
            grammar,
            start_rule: opts.grammar.as_ref().map_or(0, |g| g.start),
            grammar_penalty: opts.grammar_penalty,
            abort: opts.abort.clone(),
        };
        let first = plan(opts.window, audio.len(), self.n_audio_ctx);
        let mut segments = self.run(&mut params, first)?;
        let mut kept = first;
        let mut retried = false;
        let mut cut = None;
        let retry = matches!(opts.window, Window::Fit { retry: true, .. }) && first.audio_ctx != 0;
        if retry {
            let (text, n_tokens) = text_and_tokens(&segments, self.state.context().token_eot());
            let degenerate = guard::looks_degenerate(&text, n_tokens, first.max_tokens);
            // With a grammar the words are already confined to what the grammar allows: a loop
            // is the answer said over and over, so keep it once instead of paying for a
            // larger-window decode (most of a second on a busy server, for a one-word answer).
            if degenerate && opts.grammar.is_some() {
                cut = guard::cut_repetition(&text);
            }
            if degenerate && cut.is_none() {
                let mut larger = plan(RETRY_WINDOW, audio.len(), self.n_audio_ctx);
                if larger == first {
                    // A long clip's window is past the floor already: only the full one is larger.
                    larger = plan(Window::Full, audio.len(), self.n_audio_ctx);
                }
                tracing::debug!(audio_ctx = first.audio_ctx, %text, "degenerate decode, retrying with a larger window");
                segments = self.run(&mut params, larger)?;
                kept = larger;
                retried = true;
            }
        }
        let mut transcript = self.transcript(&segments, audio.len(), kept, retried, started);
        if opts.grammar.is_some() && cut.is_none() {
            cut = guard::cut_number_restart(&transcript.text);
        }
        if let Some(text) = cut {
            transcript.text = text.trim().to_owned();
            if let [segment] = transcript.segments.as_mut_slice() {
                segment.text = transcript.text.clone();
            }
        }
        Ok(transcript)
    }

    /// One whisper.cpp pass.
    fn run(&mut self, params: &mut CallParams, pass: Pass) -> Result<Vec<RawSegment>, AsrError> {
        params.audio_ctx = pass.audio_ctx as i32;
        params.max_tokens = pass.max_tokens as i32;
        params.single_segment = pass.single_segment;
        let aborted = || {
            params
                .abort
                .as_ref()
                .is_some_and(|a| a.load(Ordering::Relaxed))
        };
        if aborted() {
            return Err(AsrError::Aborted);
        }
        let status = self.state.full(params, &self.audio);
        if aborted() {
            return Err(AsrError::Aborted);
        }
        if status != 0 {
            return Err(AsrError::Decode { status });
        }
        Ok(self.state.segments())
    }

    /// The language to pass to whisper.cpp (`None` = detect), checked against the model.
    fn language(&self, requested: &str) -> Result<Option<CString>, AsrError> {
        let lang = requested.trim().to_ascii_lowercase();
        let auto = lang.is_empty() || lang == "auto";
        if self.english_only {
            if auto || lang == "en" || lang == "english" {
                return Ok(Some(CString::from(c"en")));
            }
            return Err(AsrError::UnsupportedLanguage {
                language: requested.to_string(),
                why: "the model is English-only".to_string(),
            });
        }
        if auto {
            return Ok(None);
        }
        match ffi::lang_id(&lang) {
            Some(id) => Ok(CString::new(ffi::lang_str(id)).ok()),
            None => Err(AsrError::UnsupportedLanguage {
                language: requested.to_string(),
                why: "whisper does not know this language".to_string(),
            }),
        }
    }

    /// Tokens of the initial prompt, cached for the common case of repeated hints.
    fn prompt_tokens(&mut self, prompt: Option<&str>) -> Vec<i32> {
        let Some(text) = prompt.map(str::trim).filter(|t| !t.is_empty()) else {
            return Vec::new();
        };
        if let Some((cached, tokens)) = &self.prompt
            && cached == text
        {
            return tokens.clone();
        }
        // A leading space makes the first word tokenise like mid-sentence text.
        let c_text =
            CString::new(format!(" {}", text.replace('\0', " "))).expect("NUL bytes were replaced");
        let tokens = self.state.context().tokenize(&c_text);
        self.prompt = Some((text.to_string(), tokens.clone()));
        tokens
    }

    fn transcript(
        &self,
        raw: &[RawSegment],
        samples: usize,
        pass: Pass,
        retried: bool,
        started: Instant,
    ) -> Transcript {
        let eot = self.state.context().token_eot();
        let duration_ms = (samples as u64 * 1000 / SAMPLE_RATE as u64) as u32;
        let mut sum_logprob = 0.0f64;
        let mut n_tokens = 0usize;
        let segments: Vec<Segment> = raw
            .iter()
            .map(|s| {
                let logprobs: Vec<f32> = s
                    .tokens
                    .iter()
                    .filter(|t| t.id < eot)
                    .map(|t| t.logprob)
                    .collect();
                let sum: f64 = logprobs.iter().map(|&l| f64::from(l)).sum();
                sum_logprob += sum;
                n_tokens += logprobs.len();
                let ms = |cs: i64| (cs.max(0) as u64 * 10).min(u64::from(duration_ms)) as u32;
                Segment {
                    text: s.text.trim().to_string(),
                    t0_ms: ms(s.t0),
                    t1_ms: if pass.single_segment {
                        duration_ms
                    } else {
                        ms(s.t1)
                    },
                    confidence: mean_probability(sum, logprobs.len()),
                    no_speech_prob: s.no_speech_prob,
                }
            })
            .filter(|s| !s.text.is_empty())
            .collect();
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let language = if self.english_only {
            "en".to_string()
        } else {
            ffi::lang_str(self.state.lang_id())
        };
        Transcript {
            text,
            confidence: mean_probability(sum_logprob, n_tokens),
            language,
            segments,
            decode_ms: started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32,
            audio_ctx: if pass.audio_ctx == 0 {
                self.n_audio_ctx
            } else {
                pass.audio_ctx
            },
            retried,
        }
    }
}

/// `exp(mean log p)`, or 0 for no tokens.
fn mean_probability(sum_logprob: f64, n: usize) -> f32 {
    if n == 0 {
        return 0.0;
    }
    (sum_logprob / n as f64).exp().clamp(0.0, 1.0) as f32
}

/// The joined text and text-token count of raw segments.
fn text_and_tokens(raw: &[RawSegment], eot: i32) -> (String, usize) {
    let text = raw
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let tokens = raw
        .iter()
        .map(|s| s.tokens.iter().filter(|t| t.id < eot).count())
        .sum();
    (text, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper_is_shared_and_decoders_move_to_workers() {
        fn shared<T: Send + Sync>() {}
        fn movable<T: Send>() {}
        shared::<Whisper>();
        movable::<Decoder>();
    }

    #[test]
    fn mean_probability_is_a_geometric_mean() {
        assert_eq!(mean_probability(0.0, 0), 0.0);
        let p = mean_probability(f64::from(0.5f32.ln() + 0.125f32.ln()), 2);
        assert!((p - 0.25).abs() < 1e-6, "{p}");
    }
}
