//! Recorded prompts: audio files decoded once into shared 16 kHz frames.
//!
//! Anything symphonia reads works (WAV with PCM, µ-law or A-law, FLAC, Ogg Vorbis, MP3) at
//! any rate and channel count; it is mixed down and resampled on load. Loading does file
//! I/O and heavy decoding, so call it at start-up or on a blocking task; playing a
//! [`Prompt`] afterwards is only copying frames out of an `Arc`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::media::error::MediaError;
use crate::media::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE};
use crate::media::resample::resample_to_16k;

/// The library key of prompt `name` in `language` (`en/greeting`): one library serves every
/// flow, whatever its language.
pub fn language_key(language: &str, name: &str) -> String {
    format!("{language}/{name}")
}

/// Extensions looked for, in order, when a prompt is loaded by name.
pub const PROMPT_EXTENSIONS: [&str; 4] = ["wav", "flac", "ogg", "mp3"];

/// Longest prompt accepted, so a wrong file cannot eat the memory (10 minutes).
pub const MAX_PROMPT_SECONDS: u32 = 600;

/// A decoded prompt: 16 kHz mono frames (the last one padded with silence), cheap to clone.
#[derive(Clone)]
pub struct Prompt {
    frames: Arc<[Frame]>,
    /// Length of the audio before padding.
    duration: Duration,
}

impl Prompt {
    /// Wraps 16 kHz mono samples (for example synthesised speech or a generated tone).
    pub fn from_samples(samples: &[i16]) -> Prompt {
        let frames: Arc<[Frame]> = samples
            .chunks(FRAME_SAMPLES)
            .map(|chunk| {
                let mut frame = Frame::SILENCE;
                frame.0[..chunk.len()].copy_from_slice(chunk);
                frame
            })
            .collect();
        let micros = samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE);
        Prompt {
            frames,
            duration: Duration::from_micros(micros),
        }
    }

    /// Decodes an audio file; the extension is only a hint, the content decides.
    pub fn from_path(path: &Path) -> Result<Prompt, MediaError> {
        let file = std::fs::File::open(path).map_err(|source| MediaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let samples = decode_to_16k(Box::new(file), &hint, &path.display().to_string())?;
        Ok(Prompt::from_samples(&samples))
    }

    /// Decodes audio held in memory (e.g. `include_bytes!`), with the file extension it
    /// would have on disk as a hint (`"wav"`, `"mp3"` …).
    pub fn from_bytes(bytes: &[u8], extension: &str) -> Result<Prompt, MediaError> {
        let mut hint = Hint::new();
        hint.with_extension(extension);
        let label = format!("in-memory .{extension} audio");
        let samples = decode_to_16k(Box::new(Cursor::new(bytes)), &hint, &label)?;
        Ok(Prompt::from_samples(&samples))
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Length of the audio (without the padding of the last frame).
    pub fn duration(&self) -> Duration {
        self.duration
    }

    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("duration", &self.duration)
            .field("frames", &self.frames.len())
            .finish()
    }
}

/// Decodes the default audio track of `source` to 16 kHz mono. `label` names the source in
/// errors.
fn decode_to_16k(
    source: Box<dyn MediaSource + '_>,
    hint: &Hint,
    label: &str,
) -> Result<Vec<i16>, MediaError> {
    let fail = |reason: String| MediaError::Decode {
        file: label.to_string(),
        reason,
    };
    let stream = MediaSourceStream::new(source, Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| fail(e.to_string()))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| fail("no audio track".to_string()))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| fail("no audio codec parameters".to_string()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| fail(e.to_string()))?;

    let mut interleaved: Vec<f32> = Vec::new();
    let mut packet_samples: Vec<f32> = Vec::new();
    let mut layout: Option<(u32, usize)> = None;
    let mut skipped: Option<&'static str> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            // End of stream; a chained Ogg stream (reset) ends a prompt too.
            Ok(None) | Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            // One damaged packet is skipped, as players do; a file of nothing but damaged
            // packets is reported below.
            Err(SymphoniaError::DecodeError(reason)) => {
                skipped = Some(reason);
                continue;
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        let rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count();
        match layout {
            None => layout = Some((rate, channels)),
            Some(seen) if seen != (rate, channels) => {
                return Err(fail(format!(
                    "format changes mid-stream from {} Hz × {} to {rate} Hz × {channels}",
                    seen.0, seen.1
                )));
            }
            Some(_) => {}
        }
        buffer.copy_to_vec_interleaved(&mut packet_samples);
        interleaved.extend_from_slice(&packet_samples);
        let seconds = interleaved.len() as f64 / channels.max(1) as f64 / f64::from(rate.max(1));
        if seconds > f64::from(MAX_PROMPT_SECONDS) {
            return Err(MediaError::PromptTooLong {
                file: label.to_string(),
                seconds,
                limit: MAX_PROMPT_SECONDS,
            });
        }
    }
    let Some((rate, channels)) = layout else {
        let reason = skipped.map_or("no audio samples".to_string(), |r| {
            format!("no packet decoded ({r})")
        });
        return Err(fail(reason));
    };
    resample_to_16k(&interleaved, channels, rate)
}

/// Named prompts of one language, decoded once at load.
///
/// Files live in `voices/prompts/<lang>/NAME.{wav,flac,ogg,mp3}`; for each name the first
/// extension found in that order wins.
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    prompts: BTreeMap<String, Prompt>,
    /// The words of prompts rendered from text, for the call timeline.
    texts: BTreeMap<String, String>,
}

impl PromptLibrary {
    pub fn new() -> PromptLibrary {
        PromptLibrary::default()
    }

    /// The directory holding one language's prompts under a voices directory.
    pub fn language_dir(voices_dir: &Path, lang: &str) -> PathBuf {
        voices_dir.join("prompts").join(lang)
    }

    /// Loads every name in `names` from `dir`. Fails on the first prompt that is missing or
    /// does not decode.
    pub fn load(dir: &Path, names: &[&str]) -> Result<PromptLibrary, MediaError> {
        let mut library = PromptLibrary::new();
        for &name in names {
            library.insert(name, Self::load_one(dir, name)?);
        }
        Ok(library)
    }

    /// Loads every file with a supported extension in `dir`, named by its file stem.
    pub fn load_dir(dir: &Path) -> Result<PromptLibrary, MediaError> {
        let read_err = |source| MediaError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let supported = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| PROMPT_EXTENSIONS.contains(&e));
            if let (true, Some(stem)) = (supported, path.file_stem().and_then(|s| s.to_str())) {
                names.push(stem.to_string());
            }
        }
        names.sort();
        names.dedup();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Self::load(dir, &names)
    }

    /// Finds `dir/NAME.<ext>` for the first extension that exists and decodes it.
    pub fn load_one(dir: &Path, name: &str) -> Result<Prompt, MediaError> {
        let tried: Vec<PathBuf> = PROMPT_EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .collect();
        match tried.iter().find(|p| p.is_file()) {
            Some(path) => Prompt::from_path(path),
            None => Err(MediaError::PromptNotFound {
                name: name.to_string(),
                tried,
            }),
        }
    }

    /// Adds or replaces a prompt (e.g. an embedded default, or one overridden by a file).
    pub fn insert(&mut self, name: &str, prompt: Prompt) {
        self.prompts.insert(name.to_string(), prompt);
    }

    /// Adds a prompt rendered from `text`.
    pub fn insert_text(&mut self, name: &str, prompt: Prompt, text: &str) {
        self.insert(name, prompt);
        self.texts.insert(name.to_string(), text.to_string());
    }

    pub fn get(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    /// The words a prompt says, if it was rendered from text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts.get(name).map(String::as_str)
    }

    /// Prompt names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.prompts.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Runs a fixture tool (sox, flite), which the test environment provides.
    fn run(tool: &str, args: &[&str]) {
        let status = Command::new(tool)
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("{tool} is needed to make test fixtures: {e}"));
        assert!(status.success(), "{tool} {args:?} failed");
    }

    fn sine_file(dir: &Path, name: &str, rate: u32, channels: u32, seconds: f64) -> PathBuf {
        let path = dir.join(name);
        let (rate, channels, seconds) =
            (rate.to_string(), channels.to_string(), seconds.to_string());
        let mut args = vec!["-n", "-r", &rate, "-c", &channels];
        if name.contains("ulaw") {
            args.extend(["-e", "u-law"]);
        } else if name.contains("alaw") {
            args.extend(["-e", "a-law"]);
        }
        let out = path.to_str().unwrap();
        args.extend([out, "synth", &seconds, "sine", "440", "vol", "0.5"]);
        run("sox", &args);
        path
    }

    fn samples(prompt: &Prompt) -> Vec<i16> {
        prompt.frames().iter().flat_map(|f| f.0).collect()
    }

    /// Share of the signal's power at `freq` (1.0 for a pure tone).
    fn purity(x: &[i16], freq: f64) -> f64 {
        let (mut re, mut im, mut energy) = (0.0, 0.0, 0.0);
        for (n, &s) in x.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / 16000.0;
            let s = f64::from(s);
            re += s * phase.cos();
            im += s * phase.sin();
            energy += s * s;
        }
        2.0 * (re * re + im * im) / (x.len() as f64 * energy)
    }

    #[test]
    fn from_samples_pads_the_last_frame() {
        let prompt = Prompt::from_samples(&[5; 330]);
        assert_eq!(prompt.frame_count(), 2);
        assert_eq!(prompt.duration(), Duration::from_micros(20_625));
        let s = samples(&prompt);
        assert!(s[..330].iter().all(|&x| x == 5));
        assert!(s[330..].iter().all(|&x| x == 0));
        assert!(Prompt::from_samples(&[]).is_empty());
    }

    #[test]
    fn every_supported_format_decodes_to_16k_mono() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("pcm8k.wav", 8000, 1),
            ("pcm11k_stereo.wav", 11025, 2),
            ("ulaw.wav", 8000, 1),
            ("alaw.wav", 8000, 1),
            ("tone.flac", 48000, 1),
            ("tone.ogg", 22050, 1),
            ("tone.mp3", 44100, 2),
        ];
        for (name, rate, channels) in cases {
            let path = sine_file(dir.path(), name, rate, channels, 0.5);
            let prompt = Prompt::from_path(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let ms = prompt.duration().as_millis();
            // MP3 adds encoder padding when the decoder cannot trim it.
            assert!((495..=560).contains(&ms), "{name}: {ms} ms");
            let s = samples(&prompt);
            let middle = &s[1600..6400];
            assert!(purity(middle, 440.0) > 0.9, "{name}: 440 Hz lost");
            let peak = middle.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!((14000..=18500).contains(&peak), "{name}: peak {peak}");
        }
    }

    #[test]
    fn synthesised_speech_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("welcome.wav");
        run(
            "flite",
            &[
                "-t",
                "Welcome to the shop hotline.",
                "-o",
                path.to_str().unwrap(),
            ],
        );
        let prompt = Prompt::from_path(&path).unwrap();
        assert!(prompt.duration() > Duration::from_millis(800), "{prompt:?}");
        let loud = prompt.frames().iter().filter(|f| f.rms() > 300.0).count();
        assert!(loud > 20, "speech frames: {loud}");
    }

    #[test]
    fn bytes_decode_like_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = sine_file(dir.path(), "tone.flac", 16000, 1, 0.3);
        let from_file = Prompt::from_path(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let from_bytes = Prompt::from_bytes(&bytes, "flac").unwrap();
        assert_eq!(from_file.frames(), from_bytes.frames());
        assert_eq!(from_file.duration(), Duration::from_millis(300));
    }

    #[test]
    fn broken_files_name_the_file_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [
            ("text.mp3", &b"this is not audio at all, just some text"[..]),
            ("empty.wav", &b""[..]),
            ("cut.wav", &b"RIFF\x24\x00\x00\x00WAVEfmt "[..]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let err = Prompt::from_path(&path).unwrap_err();
            match &err {
                MediaError::Decode { file, reason } => {
                    assert!(file.ends_with(name), "{err}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        let err = Prompt::from_bytes(b"garbage", "ogg").unwrap_err();
        assert!(err.to_string().contains("in-memory .ogg audio"), "{err}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = Prompt::from_path(Path::new("/nonexistent/x.wav")).unwrap_err();
        assert!(matches!(err, MediaError::Read { .. }), "{err}");
    }

    #[test]
    fn library_loads_by_name_in_extension_order() {
        let voices = tempfile::tempdir().unwrap();
        let dir = PromptLibrary::language_dir(voices.path(), "en");
        std::fs::create_dir_all(&dir).unwrap();
        sine_file(&dir, "welcome.wav", 8000, 1, 0.2);
        sine_file(&dir, "welcome.mp3", 8000, 1, 0.6);
        sine_file(&dir, "goodbye.ogg", 8000, 1, 0.4);
        std::fs::write(dir.join("notes.txt"), "not a prompt").unwrap();

        let lib = PromptLibrary::load(&dir, &["welcome", "goodbye"]).unwrap();
        assert_eq!(lib.len(), 2);
        assert_eq!(
            lib.get("welcome").unwrap().duration(),
            Duration::from_millis(200)
        );
        assert_eq!(
            lib.get("goodbye").unwrap().duration(),
            Duration::from_millis(400)
        );
        assert!(lib.get("menu").is_none());

        let all = PromptLibrary::load_dir(&dir).unwrap();
        assert_eq!(all.names().collect::<Vec<_>>(), ["goodbye", "welcome"]);
        assert_eq!(
            all.get("welcome").unwrap().duration(),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn a_missing_prompt_names_the_paths_tried() {
        let dir = tempfile::tempdir().unwrap();
        let err = PromptLibrary::load(dir.path(), &["menu"]).unwrap_err();
        let MediaError::PromptNotFound { name, tried } = &err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(name, "menu");
        assert_eq!(tried.len(), 4);
        let text = err.to_string();
        for ext in PROMPT_EXTENSIONS {
            assert!(text.contains(&format!("menu.{ext}")), "{text}");
        }
    }

    #[test]
    fn a_broken_prompt_fails_the_library_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("menu.wav"), b"RIFF nonsense").unwrap();
        let err = PromptLibrary::load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("menu.wav"), "{err}");
    }

    #[test]
    fn embedded_prompts_can_be_inserted() {
        let mut lib = PromptLibrary::new();
        assert!(lib.is_empty());
        lib.insert("beep", Prompt::from_samples(&[1; 640]));
        assert_eq!(lib.get("beep").unwrap().frame_count(), 2);
    }
}
