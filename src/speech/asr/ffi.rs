//! The only unsafe code of the speech engine: a thin owner of whisper.cpp's context and state
//! pointers, and one call to `whisper_full_with_state`.
//!
//! Why not whisper-rs's safe `FullParams`: in 0.16 its `set_grammar` hands whisper.cpp a
//! pointer to the element array where whisper.cpp expects an array of per-rule pointers
//! (whisper-rs issue #146), so any grammar crashes; and `set_initial_prompt` /
//! `set_abort_callback_safe` leak an allocation per call. Here every pointer handed to C points
//! into buffers owned by [`CallParams`], which outlives the call.
//!
//! Threading model (whisper.cpp's): a context is immutable after loading and may be shared by
//! threads; a state is used by one thread at a time.

use std::ffi::{CStr, CString, c_void};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use whisper_rs::whisper_rs_sys as sys;

/// An owned `whisper_context`.
pub(crate) struct Context(NonNull<sys::whisper_context>);

// SAFETY: whisper.cpp never mutates a context after `whisper_init_*` returns; all decoding
// state lives in `whisper_state`, which `State` keeps to one thread at a time.
unsafe impl Send for Context {}
// SAFETY: as above: shared use is read-only.
unsafe impl Sync for Context {}

impl Context {
    /// Loads a ggml model (already validated by `models::ggml::inspect`). `None` if
    /// whisper.cpp refuses it.
    pub(crate) fn load(path: &Path) -> Option<Context> {
        let c_path = CString::new(path.to_string_lossy().as_bytes()).ok()?;
        // SAFETY: plain value returned by whisper.cpp.
        let mut params = unsafe { sys::whisper_context_default_params() };
        params.use_gpu = false;
        // On the CPU, ggml's flash attention is slower than the plain product for the
        // windows calls use (a 5 s window: 167 against 127 ms on one core with tinyBLAS).
        params.flash_attn = false;
        // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
        let ptr =
            unsafe { sys::whisper_init_from_file_with_params_no_state(c_path.as_ptr(), params) };
        NonNull::new(ptr).map(Context)
    }

    fn raw(&self) -> *mut sys::whisper_context {
        self.0.as_ptr()
    }

    /// The end-of-text token id; ids at or above it are special (timestamps, task tokens).
    pub(crate) fn token_eot(&self) -> i32 {
        // SAFETY: valid context pointer.
        unsafe { sys::whisper_token_eot(self.raw()) }
    }

    /// Tokenises `text` with the model's BPE vocabulary.
    pub(crate) fn tokenize(&self, text: &CStr) -> Vec<i32> {
        let mut tokens = vec![0i32; text.to_bytes().len() + 8];
        // SAFETY: `tokens` has room for `tokens.len()` ids; a negative result means "need
        // more", and we retry once with exactly that much room.
        let mut n = unsafe {
            sys::whisper_tokenize(
                self.raw(),
                text.as_ptr(),
                tokens.as_mut_ptr(),
                tokens.len() as i32,
            )
        };
        if n < 0 {
            tokens.resize(n.unsigned_abs() as usize, 0);
            // SAFETY: as above, with the size whisper.cpp asked for.
            n = unsafe {
                sys::whisper_tokenize(
                    self.raw(),
                    text.as_ptr(),
                    tokens.as_mut_ptr(),
                    tokens.len() as i32,
                )
            };
        }
        tokens.truncate(n.max(0) as usize);
        tokens
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: we own the pointer; every `State` holds an `Arc<Context>`, so none is alive.
        unsafe { sys::whisper_free(self.raw()) }
    }
}

/// The id of a language name (`en`, `zh`, `english`…), or `None` if whisper does not know it.
pub(crate) fn lang_id(language: &str) -> Option<i32> {
    let c = CString::new(language).ok()?;
    // SAFETY: valid NUL-terminated string; whisper_lang_id only reads it.
    let id = unsafe { sys::whisper_lang_id(c.as_ptr()) };
    (id >= 0).then_some(id)
}

/// The short name of language `id`.
pub(crate) fn lang_str(id: i32) -> String {
    // SAFETY: returns a static string, or null for an unknown id.
    let ptr = unsafe { sys::whisper_lang_str(id) };
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-null static NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// Everything one `whisper_full` call reads through pointers, owned for the call's duration.
pub(crate) struct CallParams {
    pub threads: i32,
    pub audio_ctx: i32,
    pub max_tokens: i32,
    pub single_segment: bool,
    pub temperature_inc: f32,
    /// Beams of a beam search; 1 or less decodes greedily.
    pub beam_size: i32,
    /// `None` lets whisper.cpp detect the language (multilingual models).
    pub language: Option<CString>,
    pub prompt_tokens: Vec<i32>,
    /// Rules, each ending in an END element (checked by `Grammar::validate`).
    pub grammar: Vec<Vec<sys::whisper_grammar_element>>,
    pub start_rule: usize,
    pub grammar_penalty: f32,
    pub abort: Option<Arc<AtomicBool>>,
}

/// whisper.cpp's abort callback: `user_data` is the `AtomicBool` owned by `CallParams`.
unsafe extern "C" fn abort_requested(user_data: *mut c_void) -> bool {
    // SAFETY: set below to a pointer into an `Arc<AtomicBool>` that outlives the call.
    unsafe { &*(user_data as *const AtomicBool) }.load(Ordering::Relaxed)
}

/// One decoded token.
pub(crate) struct RawToken {
    pub id: i32,
    pub logprob: f32,
}

/// One decoded segment.
pub(crate) struct RawSegment {
    pub text: String,
    /// Centiseconds, as whisper.cpp counts.
    pub t0: i64,
    pub t1: i64,
    pub no_speech_prob: f32,
    pub tokens: Vec<RawToken>,
}

/// An owned `whisper_state` bound to its context.
pub(crate) struct State {
    ptr: NonNull<sys::whisper_state>,
    ctx: Arc<Context>,
}

// SAFETY: a state may move between threads; `&mut self` on `full` keeps it to one at a time.
unsafe impl Send for State {}

impl State {
    /// A fresh decoding state (KV caches, mel buffer) for `ctx`.
    pub(crate) fn new(ctx: Arc<Context>) -> Option<State> {
        // SAFETY: valid context pointer; the state keeps the context alive via the Arc.
        let ptr = unsafe { sys::whisper_init_state(ctx.raw()) };
        NonNull::new(ptr).map(|ptr| State { ptr, ctx })
    }

    /// The context this state decodes with.
    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    /// Runs `whisper_full_with_state`; returns whisper.cpp's status (0 = success).
    pub(crate) fn full(&mut self, p: &CallParams, audio: &[f32]) -> i32 {
        let strategy = if p.beam_size > 1 {
            sys::whisper_sampling_strategy_WHISPER_SAMPLING_BEAM_SEARCH
        } else {
            sys::whisper_sampling_strategy_WHISPER_SAMPLING_GREEDY
        };
        // SAFETY: plain value returned by whisper.cpp.
        let mut fp = unsafe { sys::whisper_full_default_params(strategy) };
        fp.n_threads = p.threads;
        fp.no_context = true;
        // Timestamps stay on even for one segment: with a window cut to the clip, predicting
        // the end timestamp is what makes whisper stop (a 1.4 s "Yes, that's right." in a
        // 192-position window: 3 words with them, a 17-word loop without).
        fp.no_timestamps = false;
        fp.single_segment = p.single_segment;
        fp.print_special = false;
        fp.print_progress = false;
        fp.print_realtime = false;
        fp.print_timestamps = false;
        fp.max_tokens = p.max_tokens;
        fp.audio_ctx = p.audio_ctx;
        fp.suppress_blank = true;
        fp.suppress_nst = true;
        fp.temperature = 0.0;
        fp.temperature_inc = p.temperature_inc;
        fp.greedy.best_of = 1;
        fp.beam_search.beam_size = p.beam_size.max(1);
        fp.language = p.language.as_ref().map_or(std::ptr::null(), |l| l.as_ptr());
        fp.detect_language = false;
        if !p.prompt_tokens.is_empty() {
            fp.prompt_tokens = p.prompt_tokens.as_ptr();
            fp.prompt_n_tokens = p.prompt_tokens.len() as i32;
        }
        let rule_ptrs: Vec<*const sys::whisper_grammar_element> =
            p.grammar.iter().map(|r| r.as_ptr()).collect();
        if !rule_ptrs.is_empty() {
            // whisper.cpp only reads through this pointer; the field is `*mut` by bindgen.
            fp.grammar_rules = rule_ptrs.as_ptr().cast_mut();
            fp.n_grammar_rules = rule_ptrs.len();
            fp.i_start_rule = p.start_rule;
            fp.grammar_penalty = p.grammar_penalty;
        }
        if let Some(flag) = &p.abort {
            fp.abort_callback = Some(abort_requested);
            fp.abort_callback_user_data = Arc::as_ptr(flag).cast_mut().cast();
        }
        // SAFETY: context and state are valid and this state is used by this thread only;
        // every pointer in `fp` points into `p`, `rule_ptrs` or `audio`, all alive until the
        // call returns; the grammar was validated (END-terminated rules, in-range references).
        unsafe {
            sys::whisper_full_with_state(
                self.ctx.raw(),
                self.ptr.as_ptr(),
                fp,
                audio.as_ptr(),
                audio.len() as i32,
            )
        }
    }

    /// The language whisper decoded in (detected or given).
    pub(crate) fn lang_id(&self) -> i32 {
        // SAFETY: valid state pointer.
        unsafe { sys::whisper_full_lang_id_from_state(self.ptr.as_ptr()) }
    }

    /// The segments of the last `full` call.
    pub(crate) fn segments(&self) -> Vec<RawSegment> {
        let state = self.ptr.as_ptr();
        // SAFETY: valid state; indices stay below the counts whisper.cpp reports.
        unsafe {
            let n = sys::whisper_full_n_segments_from_state(state);
            (0..n)
                .map(|i| {
                    let text_ptr = sys::whisper_full_get_segment_text_from_state(state, i);
                    let text = if text_ptr.is_null() {
                        String::new()
                    } else {
                        CStr::from_ptr(text_ptr).to_string_lossy().into_owned()
                    };
                    let n_tokens = sys::whisper_full_n_tokens_from_state(state, i);
                    let tokens = (0..n_tokens)
                        .map(|j| {
                            let data = sys::whisper_full_get_token_data_from_state(state, i, j);
                            RawToken {
                                id: data.id,
                                logprob: data.plog,
                            }
                        })
                        .collect();
                    RawSegment {
                        text,
                        t0: sys::whisper_full_get_segment_t0_from_state(state, i),
                        t1: sys::whisper_full_get_segment_t1_from_state(state, i),
                        no_speech_prob: sys::whisper_full_get_segment_no_speech_prob_from_state(
                            state, i,
                        ),
                        tokens,
                    }
                })
                .collect()
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: we own the state pointer; the context outlives it (held by `self.ctx`).
        unsafe { sys::whisper_free_state(self.ptr.as_ptr()) }
    }
}
