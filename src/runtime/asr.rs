//! The whisper worker pool: a few threads, each with its own decoding state, take callers'
//! turns from one bounded queue. A call task never waits on a decode: it holds a
//! [`Decoding`] and polls it like any other event; dropping it (the caller hung up) aborts the
//! decode inside whisper.cpp.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::call::Recognition;
use crate::config::server::SpeechSection;
use crate::speech::asr::{self, AsrError, DecodeOptions, Transcript, Whisper};
use crate::speech::grammar::{Grammar, GrammarSet};

/// Turns queued per worker before new final decodes are refused (the caller is re-prompted).
const QUEUE_PER_WORKER: usize = 16;

/// A turn to decode.
pub struct Turn {
    pub audio: Vec<f32>,
    pub language: String,
    pub grammar: Option<String>,
    pub hints: Option<String>,
    /// A partial decode: only taken when a worker is idle, never queued behind final ones.
    pub partial: bool,
}

struct Job {
    audio: Vec<f32>,
    options: DecodeOptions,
    matcher: Option<Arc<Grammar>>,
    queued_at: Instant,
    reply: oneshot::Sender<Result<Recognition, String>>,
}

pub struct AsrPool {
    jobs: mpsc::SyncSender<Job>,
    /// Decodes queued or running, to keep partial decodes from delaying final ones.
    in_flight: Arc<AtomicUsize>,
    workers: usize,
    /// Each grammar once, shared by every decode: (language, name) to matcher and whisper form.
    grammars: BTreeMap<(String, String), (Arc<Grammar>, Option<asr::Grammar>)>,
    /// The model's name, for logs.
    pub model: String,
}

/// A decode under way. Dropping it before the result arrives cancels the decode.
pub struct Decoding {
    reply: oneshot::Receiver<Result<Recognition, String>>,
    abort: Arc<AtomicBool>,
}

impl Decoding {
    /// The result: the recognition, or why there is none.
    pub async fn result(&mut self) -> Result<Recognition, String> {
        (&mut self.reply)
            .await
            .unwrap_or_else(|_| Err("asr.worker_gone".to_owned()))
    }
}

impl Drop for Decoding {
    fn drop(&mut self) {
        self.abort.store(true, Ordering::Relaxed);
    }
}

impl AsrPool {
    /// Loads the model once and starts the workers. Threads per worker and workers follow
    /// `settings` (0 = automatic: one thread per decode and one worker per core; ggml's threads
    /// spin waiting for each other, so a decode whose second thread loses its core to a call
    /// task stalls: measured 4-7x slower than one thread).
    pub fn start(
        model: &Path,
        settings: &SpeechSection,
        grammars: &GrammarSet,
    ) -> Result<AsrPool, AsrError> {
        let whisper = Whisper::load(model)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = settings.threads_per_worker.max(1);
        let workers = match settings.workers {
            0 => (cores / threads).max(1),
            n => n,
        };
        let (jobs, queue) = mpsc::sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let queue = Arc::new(Mutex::new(queue));
        let in_flight = Arc::new(AtomicUsize::new(0));
        for n in 0..workers {
            let decoder = whisper.new_decoder(threads)?;
            let queue = queue.clone();
            let in_flight = in_flight.clone();
            std::thread::Builder::new()
                .name(format!("asr-{n}"))
                .spawn(move || work(decoder, &queue, &in_flight))
                .map_err(|_| AsrError::State)?;
        }
        let mut compiled = BTreeMap::new();
        for (lang, name, grammar) in grammars.iter() {
            let whisper_form = grammar.whisper_grammar().and_then(|g| {
                asr::Grammar::from_whisper_grammar(g)
                    .map_err(|p| tracing::error!(lang, name, problem = %p, "grammar not usable by whisper; matching only"))
                    .ok()
            });
            compiled.insert(
                (lang.to_owned(), name.to_owned()),
                (Arc::new(grammar.clone()), whisper_form),
            );
        }
        tracing::info!(
            model = %whisper.info().name,
            workers,
            threads_per_worker = threads,
            "speech recognition ready"
        );
        Ok(AsrPool {
            jobs,
            in_flight,
            workers,
            grammars: compiled,
            model: whisper.info().name.clone(),
        })
    }

    /// Queues a turn. `None` for a partial decode when no worker is free; an error for a final
    /// one when the queue is full or the grammar unknown (the flow re-prompts).
    pub fn submit(&self, turn: Turn) -> Result<Option<Decoding>, String> {
        if turn.partial && self.in_flight.load(Ordering::Relaxed) >= self.workers {
            return Ok(None);
        }
        let (matcher, whisper_grammar) = match &turn.grammar {
            None => (None, None),
            Some(name) => {
                let lang = turn.language.split(['-', '_']).next().unwrap_or_default();
                let found = self
                    .grammars
                    .get(&(turn.language.clone(), name.clone()))
                    .or_else(|| self.grammars.get(&(lang.to_owned(), name.clone())));
                match found {
                    Some((m, g)) => (Some(m.clone()), g.clone()),
                    None => return Err(format!("asr.grammar: no grammar {name}")),
                }
            }
        };
        let abort = Arc::new(AtomicBool::new(false));
        let options = DecodeOptions {
            language: turn.language,
            initial_prompt: turn.hints,
            grammar: whisper_grammar,
            abort: Some(abort.clone()),
            ..DecodeOptions::default()
        };
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            audio: turn.audio,
            options,
            matcher,
            queued_at: Instant::now(),
            reply,
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(job) {
            Ok(()) => Ok(Some(Decoding {
                reply: receiver,
                abort,
            })),
            Err(_) => {
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                metrics::counter!("kefu_asr_refused_total").increment(1);
                if turn.partial {
                    Ok(None)
                } else {
                    Err("asr.busy".to_owned())
                }
            }
        }
    }
}

fn work(mut decoder: asr::Decoder, queue: &Mutex<mpsc::Receiver<Job>>, in_flight: &AtomicUsize) {
    loop {
        let job = {
            let queue = queue
                .lock()
                .expect("no worker panics while holding the queue");
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return, // the pool is gone
            }
        };
        let started = Instant::now();
        metrics::histogram!("kefu_asr_queue_seconds")
            .record(started.duration_since(job.queued_at).as_secs_f64());
        let aborted = job
            .options
            .abort
            .as_ref()
            .is_some_and(|a| a.load(Ordering::Relaxed));
        let result = if aborted {
            Err("asr.aborted".to_owned())
        } else {
            decoder
                .decode(&job.audio, &job.options)
                .inspect(|t| {
                    tracing::debug!(
                        audio_ms = job.audio.len() / 16,
                        decode_ms = t.decode_ms,
                        audio_ctx = t.audio_ctx,
                        retried = t.retried,
                        text = %t.text,
                        "decoded"
                    );
                })
                .map(|t| recognition(t, job.matcher.as_deref()))
                .map_err(|e| match e {
                    AsrError::Aborted => "asr.aborted".to_owned(),
                    e => format!("asr.failed: {e}"),
                })
        };
        metrics::histogram!("kefu_asr_decode_seconds").record(started.elapsed().as_secs_f64());
        in_flight.fetch_sub(1, Ordering::Relaxed);
        let _ = job.reply.send(result);
    }
}

/// A transcript read through the grammar, if any: its interpretation, and a confidence that is
/// whisper's scaled by how well the words matched.
pub fn recognition(transcript: Transcript, matcher: Option<&Grammar>) -> Recognition {
    let text = transcript.text.trim().to_owned();
    let Some(grammar) = matcher else {
        return Recognition {
            text,
            interpretation: None,
            confidence: transcript.confidence,
        };
    };
    match grammar.interpret(&text) {
        Some(m) => Recognition {
            interpretation: Some(match m.interpretation {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            confidence: transcript.confidence * m.confidence,
            text,
        },
        None => Recognition {
            text,
            interpretation: None,
            confidence: transcript.confidence,
        },
    }
}
