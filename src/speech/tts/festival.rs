//! Festival (Debian `festival`, voice `festvox-us-slt-hts`): the most natural English voice here, run
//! as long-lived `festival -i` processes fed Scheme commands on stdin, never one process per
//! sentence (start-up and voice loading cost ~0.2 s; a short sentence then takes ~50 ms).
//!
//! Each request writes a WAV into a private file and prints a numbered marker; stdout and stderr
//! share one pipe, so an error (`SIOD ERROR …`) is always read before its marker. A process
//! that stops answering within [`ANSWER_TIMEOUT`] is killed and restarted on the next request.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::speech::tts::TtsError;
use crate::speech::tts::engine::{Audio, Engine, ascii_words};

/// Longest wait for festival to answer one command (a 300-character chunk takes ~1 s).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// A pool of festival processes, started on first use (or by [`Festival::warm`]).
pub struct Festival {
    program: PathBuf,
    sessions: Vec<Mutex<Option<Session>>>,
    next: AtomicUsize,
}

/// One running festival, its voice selected.
struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    voice: String,
    /// The rate last set (HTS voices take it as the engine's `-r`).
    rate: f32,
    wav: PathBuf,
    requests: u64,
}

impl Festival {
    /// `processes` festivals at most run at once (one per core is plenty: a process answers
    /// a sentence in tens of milliseconds).
    pub fn new(program: impl Into<PathBuf>, processes: usize) -> Festival {
        Festival {
            program: program.into(),
            sessions: (0..processes.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Starts every process with `voice` now, so the first call does not wait for start-up.
    pub fn warm(&self, voice: &str) -> Result<(), TtsError> {
        for (index, slot) in self.sessions.iter().enumerate() {
            let mut slot = lock(slot);
            if slot.is_none() {
                *slot = Some(Session::start(&self.program, voice, index)?);
            }
        }
        Ok(())
    }

    /// A free session if there is one, else the next in turn (waiting for it).
    fn session(&self) -> (usize, MutexGuard<'_, Option<Session>>) {
        for (index, slot) in self.sessions.iter().enumerate() {
            if let Ok(guard) = slot.try_lock() {
                return (index, guard);
            }
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        (index, lock(&self.sessions[index]))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine for Festival {
    fn speak(&self, voice: &str, words: &str, rate: f32) -> Result<Audio, TtsError> {
        let words = ascii_words(words);
        if words.is_empty() {
            return Ok(Audio {
                samples: Vec::new(),
                rate: 16_000,
            });
        }
        let (index, mut slot) = self.session();
        if slot.as_ref().is_some_and(|s| s.voice != voice) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(Session::start(&self.program, voice, index)?);
        }
        let session = slot.as_mut().expect("started above");
        let result = session.speak(&words, rate.clamp(0.5, 2.0));
        if result.is_err() {
            // A process that failed or timed out is not trusted with the next sentence.
            *slot = None;
        }
        result
    }

    fn check(&self, voice: &str) -> Result<(), TtsError> {
        let (index, mut slot) = self.session();
        if slot.as_ref().is_some_and(|s| s.voice == voice) {
            return Ok(());
        }
        *slot = Some(Session::start(&self.program, voice, index)?);
        Ok(())
    }
}

impl Session {
    fn start(program: &PathBuf, voice: &str, index: usize) -> Result<Session, TtsError> {
        if !voice.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(TtsError::UnknownEngineVoice {
                engine: "festival",
                voice: voice.to_owned(),
                known: "festival voice names such as cmu_us_slt_arctic_hts".into(),
            });
        }
        let (reader, writer) = std::io::pipe().map_err(|e| engine_error(e.to_string()))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| engine_error(e.to_string()))?;
        let mut child = Command::new(program)
            .arg("-i")
            .stdin(Stdio::piped())
            .stdout(writer)
            .stderr(writer2)
            .spawn()
            .map_err(|e| {
                engine_error(format!(
                    "cannot start {} ({e}); install it with `apt-get install festival festvox-us-slt-hts`",
                    program.display()
                ))
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let (tx, lines) = channel();
        std::thread::Builder::new()
            .name("festival-out".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| engine_error(e.to_string()))?;
        let wav =
            std::env::temp_dir().join(format!("kefu-festival-{}-{index}.wav", std::process::id()));
        let mut session = Session {
            child,
            stdin,
            lines,
            voice: voice.to_owned(),
            rate: 1.0,
            wav,
            requests: 0,
        };
        session
            .run(&format!("(voice_{voice})"))
            .map_err(|e| match e {
                TtsError::Engine { reason, .. } if reason.contains("unbound variable") => {
                    TtsError::UnknownEngineVoice {
                        engine: "festival",
                        voice: voice.to_owned(),
                        known: "the voices festival has installed (festvox-* packages)".into(),
                    }
                }
                e => e,
            })?;
        Ok(session)
    }

    fn speak(&mut self, words: &str, rate: f32) -> Result<Audio, TtsError> {
        if rate != self.rate {
            self.run(&rate_command(&self.voice, rate))?;
            self.rate = rate;
        }
        let _ = std::fs::remove_file(&self.wav);
        let path = self.wav.display().to_string();
        self.run(&format!(
            "(utt.save.wave (SynthText \"{}\") \"{}\" 'riff)",
            scheme_string(words),
            scheme_string(&path)
        ))?;
        let reader = hound::WavReader::open(&self.wav)
            .map_err(|e| engine_error(format!("festival wrote no readable audio: {e}")))?;
        let spec = reader.spec();
        let samples: Vec<i16> = reader
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .map_err(|e| engine_error(format!("festival's audio is broken: {e}")))?;
        let _ = std::fs::remove_file(&self.wav);
        let channels = usize::from(spec.channels.max(1));
        let samples = samples
            .chunks_exact(channels)
            .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
            .collect();
        Ok(Audio {
            samples,
            rate: spec.sample_rate,
        })
    }

    /// Sends one command and waits for its marker; an error printed before it fails the call.
    fn run(&mut self, command: &str) -> Result<(), TtsError> {
        self.requests += 1;
        let marker = format!("kefu-done-{}", self.requests);
        writeln!(self.stdin, "{command}\n(print \"{marker}\")")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| engine_error(format!("festival stopped: {e}")))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut error = None;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(wait) {
                Ok(line) if line.contains(&marker) => break,
                Ok(line) if line.contains("SIOD ERROR") || line.contains("unbound variable") => {
                    error.get_or_insert(line.trim().trim_start_matches("festival> ").to_owned());
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(engine_error(format!(
                        "festival did not answer within {} s",
                        ANSWER_TIMEOUT.as_secs()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(engine_error("festival exited".into()));
                }
            }
        }
        match error {
            Some(reason) => Err(engine_error(reason)),
            None => Ok(()),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.wav);
    }
}

/// HTS voices take the speed as their engine's `-r`; the others stretch durations.
fn rate_command(voice: &str, rate: f32) -> String {
    if voice.ends_with("_hts") {
        format!(
            "(set! hts_engine_params (append {voice}::hts_engine_params (list (list \"-r\" {rate:.3}))))"
        )
    } else {
        format!("(Parameter.set 'Duration_Stretch {:.3})", 1.0 / rate)
    }
}

fn scheme_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn engine_error(reason: String) -> TtsError {
    TtsError::Engine {
        engine: "festival",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLT: &str = "cmu_us_slt_arctic_hts";

    fn installed() -> bool {
        let ok =
            std::path::Path::new("/usr/share/festival/voices/us/cmu_us_slt_arctic_hts").is_dir();
        if !ok {
            eprintln!("skipped: festival with festvox-us-slt-hts is not installed");
        }
        ok
    }

    #[test]
    fn one_process_speaks_many_sentences() {
        if !installed() {
            return;
        }
        let festival = Festival::new("festival", 1);
        for text in [
            "Hello.",
            "Your \"order\" shipped on Tuesday.",
            "Back\\slash.",
        ] {
            let audio = festival.speak(SLT, text, 1.0).expect(text);
            assert_eq!(audio.rate, 32_000);
            assert!(
                audio.samples.len() > 16_000,
                "{text}: {} samples",
                audio.samples.len()
            );
        }
        let pid = lock(&festival.sessions[0]).as_ref().map(|s| s.child.id());
        festival.speak(SLT, "Again.", 1.0).expect("again");
        assert_eq!(
            pid,
            lock(&festival.sessions[0]).as_ref().map(|s| s.child.id()),
            "same process"
        );
    }

    #[test]
    fn rate_speeds_the_hts_voice_up() {
        if !installed() {
            return;
        }
        let festival = Festival::new("festival", 1);
        let text = "Thank you for calling the demo shop.";
        let normal = festival
            .speak(SLT, text, 1.0)
            .expect("normal")
            .samples
            .len();
        let fast = festival.speak(SLT, text, 1.5).expect("fast").samples.len();
        let ratio = fast as f32 / normal as f32;
        assert!(
            (0.55..0.8).contains(&ratio),
            "1.5x rate gave {ratio} of the length"
        );
    }

    #[test]
    fn an_unknown_voice_is_a_clear_error_and_the_pool_recovers() {
        if !installed() {
            return;
        }
        let festival = Festival::new("festival", 1);
        let err = festival
            .speak("no_such_voice", "hi", 1.0)
            .expect_err("unknown");
        assert!(matches!(err, TtsError::UnknownEngineVoice { .. }), "{err}");
        assert!(festival.speak(SLT, "Fine again.", 1.0).is_ok());
    }

    #[test]
    fn a_missing_program_says_how_to_install_it() {
        let err = Festival::new("/nonexistent/festival", 1)
            .speak(SLT, "hi", 1.0)
            .expect_err("missing");
        assert!(
            err.to_string().contains("apt-get install festival"),
            "{err}"
        );
    }
}
