//! espeak-ng (Debian `espeak-ng`), run as a process per chunk and never linked: it is GPL-3.
//! It speaks Mandarin (`cmn`) and a hundred other languages, robotically; a chunk takes a few
//! tens of milliseconds, process start included. Text goes in on stdin, a WAV comes out on stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::speech::tts::TtsError;
use crate::speech::tts::engine::{Audio, Engine};

/// espeak-ng's normal speed, words per minute.
const NORMAL_WPM: f32 = 175.0;

pub struct Espeak {
    program: PathBuf,
}

impl Espeak {
    pub fn new(program: impl Into<PathBuf>) -> Espeak {
        Espeak {
            program: program.into(),
        }
    }
}

impl Engine for Espeak {
    fn speak(&self, voice: &str, words: &str, rate: f32) -> Result<Audio, TtsError> {
        let words: String = words.chars().filter(|c| !c.is_control()).collect();
        if words.trim().is_empty() {
            return Ok(Audio {
                samples: Vec::new(),
                rate: 22_050,
            });
        }
        if voice.starts_with('-') || voice.contains(char::is_whitespace) {
            return Err(unknown(voice));
        }
        let wpm = (NORMAL_WPM * rate.clamp(0.5, 2.0)).round() as u32;
        let mut child = Command::new(&self.program)
            .args(["-v", voice, "-s", &wpm.to_string(), "--stdout", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                engine_error(format!(
                    "cannot start {} ({e}); install it with `apt-get install espeak-ng`",
                    self.program.display()
                ))
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // The text is small (one chunk); espeak reads it all before writing much.
        let written = stdin.write_all(words.as_bytes());
        drop(stdin);
        let mut wav = Vec::new();
        let mut err = String::new();
        let read = child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_end(&mut wav);
        let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut err));
        let status = child.wait().map_err(|e| engine_error(e.to_string()))?;
        if err.contains("voice does not exist") {
            return Err(unknown(voice));
        }
        if !status.success() {
            return Err(engine_error(format!(
                "espeak-ng failed ({status}): {}",
                err.trim()
            )));
        }
        written
            .and(read)
            .map_err(|e| engine_error(format!("espeak-ng: {e}")))?;
        parse_stream_wav(&wav).ok_or_else(|| engine_error("espeak-ng wrote no WAV".into()))
    }

    fn check(&self, voice: &str) -> Result<(), TtsError> {
        self.speak(voice, "a", 1.0).map(|_| ())
    }
}

/// Reads a 16-bit mono WAV written to a pipe: its sizes are placeholders, so the data runs to
/// the end of the bytes.
fn parse_stream_wav(bytes: &[u8]) -> Option<Audio> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut rate = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if id == b"data" {
            let data = &bytes[body..];
            let samples = data
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            return Some(Audio {
                samples,
                rate: rate?,
            });
        }
        if id == b"fmt " && body + 16 <= bytes.len() {
            let channels = u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]);
            let bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
            if channels != 1 || bits != 16 {
                return None;
            }
            rate = Some(u32::from_le_bytes(
                bytes[body + 4..body + 8].try_into().ok()?,
            ));
        }
        at = body.checked_add(size)?;
    }
    None
}

fn unknown(voice: &str) -> TtsError {
    TtsError::UnknownEngineVoice {
        engine: "espeak-ng",
        voice: voice.to_owned(),
        known: "the names `espeak-ng --voices` lists (cmn, en-us, …)".into(),
    }
}

fn engine_error(reason: String) -> TtsError {
    TtsError::Engine {
        engine: "espeak-ng",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed() -> bool {
        let ok = Command::new("espeak-ng").arg("--version").output().is_ok();
        if !ok {
            eprintln!("skipped: espeak-ng is not installed");
        }
        ok
    }

    #[test]
    fn speaks_mandarin() {
        if !installed() {
            return;
        }
        let audio = Espeak::new("espeak-ng")
            .speak("cmn", "您的订单已经发货了。", 1.0)
            .expect("cmn");
        assert_eq!(audio.rate, 22_050);
        let seconds = audio.samples.len() as f32 / 22_050.0;
        assert!((0.8..5.0).contains(&seconds), "{seconds} s");
    }

    #[test]
    fn an_unknown_voice_and_a_missing_program_are_clear_errors() {
        if installed() {
            let err = Espeak::new("espeak-ng")
                .speak("nosuch", "hi", 1.0)
                .expect_err("voice");
            assert!(matches!(err, TtsError::UnknownEngineVoice { .. }), "{err}");
        }
        let err = Espeak::new("/nonexistent/espeak-ng")
            .speak("cmn", "hi", 1.0)
            .expect_err("program");
        assert!(
            err.to_string().contains("apt-get install espeak-ng"),
            "{err}"
        );
    }

    #[test]
    fn a_streamed_wav_is_read_to_its_end() {
        let mut wav = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\0\0\0\x01\0\x01\0\x22\x56\0\0\x44\xac\0\0\x02\0\x10\0data\xff\xff\xff\x7f".to_vec();
        wav.extend_from_slice(&[1, 0, 2, 0, 0xff, 0xff]);
        let audio = parse_stream_wav(&wav).expect("wav");
        assert_eq!(
            audio,
            Audio {
                samples: vec![1, 2, -1],
                rate: 22_050
            }
        );
        assert_eq!(parse_stream_wav(b"RIFF...."), None);
        assert_eq!(parse_stream_wav(&wav[..20]), None);
    }
}
