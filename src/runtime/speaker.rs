//! Speech synthesis off the call task. A reply is rendered sentence by sentence on a blocking
//! thread; each piece reaches the call task as soon as it is ready, so the first sentence plays
//! while the rest is rendered. Dropping the [`Speaking`] (barge-in, hang-up) stops synthesis
//! after the sentence in hand.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::call::SpeechId;
use crate::speech::tts::Tts;

/// What a synthesis reports, in order: pieces, then one `Done`.
pub enum Piece {
    /// 16 kHz samples.
    Audio(Vec<i16>),
    /// Over; the error is for the call timeline.
    Done(Result<(), String>),
}

/// A reply being synthesised.
pub struct Speaking {
    pub id: SpeechId,
    pieces: mpsc::UnboundedReceiver<Piece>,
    stop: Arc<AtomicBool>,
}

impl Speaking {
    /// The next piece; `Done` (with an error) if the synthesis thread vanished.
    pub async fn next(&mut self) -> Piece {
        self.pieces
            .recv()
            .await
            .unwrap_or_else(|| Piece::Done(Err("tts.worker_gone".into())))
    }
}

impl Drop for Speaking {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts speaking `text` for call-side reply `id`.
pub fn start(
    tts: Arc<Tts>,
    id: SpeechId,
    text: String,
    voice: Option<String>,
    language: String,
) -> Speaking {
    let (tx, pieces) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut first = true;
        let result = tts
            .voice(voice.as_deref(), &language)
            .cloned()
            .and_then(|voice| {
                tts.speak(&voice, &text, 1.0, |samples| {
                    if first {
                        first = false;
                        metrics::histogram!("kefu_tts_first_audio_seconds")
                            .record(started.elapsed().as_secs_f64());
                    }
                    if stopped.load(Ordering::Relaxed) || tx.send(Piece::Audio(samples)).is_err() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
            });
        let result = match result {
            Ok(spoken) if spoken.truncated => {
                Err("tts.truncated: the reply was cut at the length cap".to_owned())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(format!("tts: {e}")),
        };
        let _ = tx.send(Piece::Done(result));
    });
    Speaking { id, pieces, stop }
}
