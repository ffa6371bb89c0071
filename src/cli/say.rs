//! `kefu say TEXT -o OUT.wav` renders speech the way a call would hear it; `kefu voices` lists
//! the voices of voices.toml and whether this machine can speak with them.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::cli::print_line;
use crate::config::local_voices;
use crate::media::frame::SAMPLE_RATE;
use crate::speech::tts::Tts;

#[derive(clap::Args, Debug)]
pub struct SayArgs {
    /// What to say: plain text or `<speak>` SSML.
    pub text: String,
    /// Where to write the speech (WAV, 16 kHz mono, as kefu sends it to callers).
    #[arg(short, long)]
    pub output: PathBuf,
    /// A voice from voices/voices.toml (default: the language's default voice).
    #[arg(long)]
    pub voice: Option<String>,
    /// Speaking rate, 0.5–2.0 (1.0 = the voice's normal speed).
    #[arg(long, default_value_t = 1.0, value_parser = parse_rate)]
    pub rate: f32,
    /// The language of the text when no voice is named (en, zh).
    #[arg(long, default_value = "en")]
    pub lang: String,
}

fn parse_rate(s: &str) -> Result<f32, String> {
    let rate: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.5..=2.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("rate {rate} is outside 0.5–2.0"))
    }
}

pub fn say(args: SayArgs, data_dir: &Path) -> anyhow::Result<()> {
    let tts = Tts::new(Arc::new(local_voices()?), Some(data_dir.join("tts-cache")));
    let voice = tts.voice(args.voice.as_deref(), &args.lang)?.clone();
    let started = Instant::now();
    let mut first = None;
    let mut samples = Vec::new();
    let spoken = tts.speak(&voice, &args.text, args.rate, |piece| {
        first.get_or_insert_with(|| started.elapsed());
        samples.extend_from_slice(&piece);
        ControlFlow::Continue(())
    })?;
    let total = started.elapsed();
    write_wav(&args.output, &samples)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print_line(format_args!(
        "{}: {:.2} s of speech, voice {} ({} {}), {} piece(s), {} from cache, first audio {} ms, all {} ms{}",
        args.output.display(),
        spoken.duration().as_secs_f32(),
        voice.name,
        voice.engine,
        voice.voice,
        spoken.chunks,
        spoken.cached,
        first.unwrap_or_default().as_millis(),
        total.as_millis(),
        if spoken.truncated {
            " (text cut at the length cap)"
        } else {
            ""
        },
    ));
    Ok(())
}

fn write_wav(path: &Path, samples: &[i16]) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        writer.write_sample(s)?;
    }
    writer.finalize()?;
    Ok(())
}

pub fn voices(json: bool) -> anyhow::Result<()> {
    let book = Arc::new(local_voices()?);
    let tts = Tts::new(book.clone(), None);
    for spec in book.voices() {
        let status = tts.check(spec);
        let default = book.is_default(&spec.name);
        if json {
            let line = serde_json::json!({
                "name": spec.name,
                "engine": spec.engine.to_string(),
                "voice": spec.voice,
                "language": spec.language,
                "rate": spec.rate,
                "default": default,
                "fallback": spec.fallback,
                "available": status.is_ok(),
                "problem": status.as_ref().err().map(|e| e.to_string()),
            });
            print_line(line);
        } else {
            print_line(format_args!(
                "{:<14} {:<9} {:<22} {:<3} rate {:.2}{}  {}",
                spec.name,
                spec.engine.to_string(),
                spec.voice,
                spec.language,
                spec.rate,
                if default { "  default" } else { "" },
                match &status {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("unavailable: {e}"),
                }
            ));
        }
    }
    Ok(())
}
