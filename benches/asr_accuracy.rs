//! Accuracy figures of kefu's speech recognition, measured through the `kefu` binary
//! (`kefu eval asr --json`, `kefu transcribe --json`) on real and synthetic telephone speech.
//!
//! `cargo bench --bench asr_accuracy [-- SECTION… --stride N --noise-stride M]`, SECTION one of `prompts`,
//! `noise`, `digits` (default: all three). Data is fetched or generated into
//! `target/bench-data/asr/` and reused on the next run:
//!
//! - **prompts**: the Asterisk English IVR prompts (Debian `asterisk-core-sounds-en-wav` and
//!   `asterisk-core-sounds-en` for the transcripts, `apt-get download`), every `--stride`-th one
//!   (default 3) in transcript order, through an 8 kHz µ-law round trip (sox). WER of kefu's call
//!   pipeline (denoise → VAD → endpointing → small-window decode) against one plain full-window
//!   decode of the clip, same model.
//! - **noise**: the same clips mixed with white noise and with noisy HF-radio speech (Debian
//!   `codec2-examples`, `wav/ve9qrp.wav`) at 10 and 5 dB SNR (the clip's whole-file RMS over
//!   the noise's), then µ-law, on every `--noise-stride`-th prompt (default 3 × stride): the pipeline with RNNoise against the same pipeline `--no-denoise`.
//! - **digits**: 100 order numbers (5–8 digits, fixed seed) read digit by digit by flite voices
//!   slt and awb (and festival's cmu_us_slt_arctic_hts when `text2wave` is installed), 8 kHz
//!   µ-law: exact-match rate of the `order_number` grammar's interpretation, against the digits
//!   found in the text of an unconstrained decode.
//!
//! Needs sox, flite, zcat, apt-get and dpkg-deb (`.ci/install-deps`); a section whose data cannot
//! be had is skipped with a message. The model is `KEFU_BENCH_MODEL`, else
//! `target/test-models/models/ggml-tiny.en-q8_0.bin`, else `kefu models fetch` into
//! `target/bench-data/asr/store`. One decode thread (`KEFU_BENCH_THREADS` to change).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{have, load, mulaw, run};
use std::time::Instant;

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["prompts", "noise", "digits"].contains(a))
        .collect();
    if sections.is_empty() {
        sections = vec!["prompts", "noise", "digits"];
    }
    let stride: usize = args
        .iter()
        .position(|a| a == "--stride")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let noise_stride: usize = args
        .iter()
        .position(|a| a == "--noise-stride")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3 * stride);
    let data = Path::new(ROOT).join("target/bench-data/asr");
    std::fs::create_dir_all(&data).expect("create target/bench-data/asr");
    for tool in ["sox", "flite"] {
        if !have(tool) {
            println!("asr_accuracy: SKIPPED: `{tool}` is not installed (run .ci/install-deps)");
            return;
        }
    }
    let model = match model(&data) {
        Ok(m) => m,
        Err(e) => {
            println!("asr_accuracy: SKIPPED: no whisper model: {e}");
            return;
        }
    };
    println!("model {}; kefu {KEFU}; {}", model.display(), load());
    let started = Instant::now();
    if sections.contains(&"prompts") || sections.contains(&"noise") {
        match prompts(&data, stride) {
            Err(e) => println!("prompts/noise: SKIPPED: {e}"),
            Ok(clips) => {
                if sections.contains(&"prompts") {
                    report_prompts(&data, &model, &clips);
                }
                if sections.contains(&"noise") {
                    // A subset of the prompts subset: four noises x two conditions is 8 runs.
                    let step = (noise_stride / stride).max(1);
                    let noisy: Vec<&Clip> = clips.iter().step_by(step).collect();
                    println!(
                        "noise: every {}th prompt ({} clips; --noise-stride N to change)",
                        step * stride,
                        noisy.len()
                    );
                    report_noise(&data, &model, &noisy);
                }
            }
        }
    }
    if sections.contains(&"digits") {
        report_digits(&data, &model);
    }
    println!(
        "asr_accuracy done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Environment.

fn threads() -> String {
    std::env::var("KEFU_BENCH_THREADS").unwrap_or_else(|_| "1".into())
}

fn model(data: &Path) -> Res<PathBuf> {
    if let Ok(m) = std::env::var("KEFU_BENCH_MODEL") {
        return Ok(PathBuf::from(m));
    }
    let local = Path::new(ROOT).join("target/test-models/models/ggml-tiny.en-q8_0.bin");
    if local.is_file() {
        return Ok(local);
    }
    let store = data.join("store");
    let find = |store: &Path| -> Option<PathBuf> {
        std::fs::read_dir(store.join("models"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "bin"))
    };
    if let Some(p) = find(&store) {
        return Ok(p);
    }
    run(Command::new(KEFU)
        .args(["models", "fetch", "--data-dir"])
        .arg(&store))?;
    find(&store).ok_or_else(|| "kefu models fetch installed no model".into())
}

/// `apt-get download` a Debian package and unpack it under `data/<dir>`, once.
fn debian(data: &Path, package: &str, dir: &str) -> Res<PathBuf> {
    let target = data.join(dir);
    let done = target.join(format!(".{package}"));
    if done.exists() {
        return Ok(target);
    }
    let debs = data.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    run(Command::new("apt-get")
        .args(["download", package])
        .current_dir(&debs))
    .map_err(|e| format!("apt-get download {package}: {e}"))?;
    let deb = std::fs::read_dir(&debs)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| format!("{package}: no .deb after apt-get download"))?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&target))?;
    std::fs::write(&done, b"").map_err(|e| e.to_string())?;
    Ok(target)
}

// ---------------------------------------------------------------------------------------------
// Audio.

fn read_wav(path: &Path) -> Res<(u32, Vec<f32>)> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = r.spec();
    if spec.channels != 1 || spec.bits_per_sample != 16 {
        return Err(format!("{}: not 16-bit mono", path.display()));
    }
    let s = r
        .samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok((spec.sample_rate, s))
}

fn write_wav(path: &Path, rate: u32, samples: &[f32]) -> Res<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| e.to_string())?;
    for &s in samples {
        w.write_sample((s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// xorshift64*: deterministic, no dependency on a random-number crate's stream stability.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------
// kefu.

struct Eval {
    n: usize,
    words: u64,
    wer: f64,
    audio: f64,
    rtf: f64,
    wall: f64,
}

fn eval(manifest: &Path, model: &Path, extra: &[&str]) -> Res<Eval> {
    let t = Instant::now();
    let out = run(Command::new(KEFU)
        .args(["eval", "asr"])
        .arg(manifest)
        .arg("--model")
        .arg(model)
        .args(["--json", "--threads", &threads()])
        .args(extra))?;
    let wall = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out);
    let total = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("total").cloned())
        .ok_or("no total line from kefu eval asr")?;
    let f = |k: &str| total[k].as_f64().unwrap_or(f64::NAN);
    Ok(Eval {
        n: f("utterances") as usize,
        words: f("reference_words") as u64,
        wer: 100.0 * f("wer"),
        audio: f("audio_seconds"),
        rtf: f("real_time_factor"),
        wall,
    })
}

fn eval_row(label: &str, manifest: &Path, model: &Path, extra: &[&str]) {
    match eval(manifest, model, extra) {
        Ok(e) => println!(
            "| {label} | {} | {} | {:.2} | {:.0} | {:.3} | {:.0} | {} |",
            e.n,
            e.words,
            e.wer,
            e.audio,
            e.rtf,
            e.wall,
            load()
        ),
        Err(e) => println!("| {label} | FAILED: {e} |"),
    }
}

// ---------------------------------------------------------------------------------------------
// Asterisk prompts.

struct Clip {
    id: String,
    text: String,
    /// The µ-law round-tripped clip, 8 kHz 16-bit.
    wav: PathBuf,
}

fn prompts(data: &Path, stride: usize) -> Res<Vec<Clip>> {
    let root = debian(data, "asterisk-core-sounds-en-wav", "asterisk")?;
    debian(data, "asterisk-core-sounds-en", "asterisk")?;
    let gz = root.join("usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz");
    let text = String::from_utf8_lossy(&run(Command::new("zcat").arg(&gz))?).into_owned();
    let sounds = root.join("usr/share/asterisk/sounds/en_US_f_Allison");
    let out = data.join(format!("prompts-s{stride}"));
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    let mut valid = 0usize;
    let mut clips = Vec::new();
    for line in text.lines() {
        let Some((name, said)) = line.split_once(": ") else {
            continue;
        };
        let said = said.trim();
        if line.starts_with(';') || said.is_empty() || said.starts_with('[') {
            continue;
        }
        let src = sounds.join(format!("{name}.wav"));
        if !src.is_file() || !seen.insert(name.to_owned()) {
            continue;
        }
        valid += 1;
        if !(valid - 1).is_multiple_of(stride) {
            continue;
        }
        let id = name.replace('/', "_");
        let wav = out.join(format!("{id}.wav"));
        if !wav.is_file() {
            mulaw(&src, &wav)?;
        }
        clips.push(Clip {
            id,
            text: said.to_owned(),
            wav,
        });
    }
    if clips.is_empty() {
        return Err("no prompts found in the package".into());
    }
    println!(
        "Asterisk prompts: {} of {valid} with transcripts (every {stride}th from the first), 8 kHz µ-law round trip",
        clips.len()
    );
    Ok(clips)
}

fn manifest(path: &Path, rows: impl Iterator<Item = (String, PathBuf, String)>) -> Res<()> {
    let mut s = String::new();
    for (id, wav, text) in rows {
        s.push_str(&format!(
            "{id}\t{}\t{}\n",
            wav.display(),
            text.replace('\t', " ")
        ));
    }
    std::fs::write(path, s).map_err(|e| e.to_string())
}

const HEADER: &str = "| condition | utterances | ref words | WER % | audio s | RTF (decode/audio) | wall s | machine load at end |\n|---|---|---|---|---|---|---|---|";

fn report_prompts(data: &Path, model: &Path, clips: &[Clip]) {
    let m = data.join("prompts.tsv");
    if let Err(e) = manifest(
        &m,
        clips
            .iter()
            .map(|c| (c.id.clone(), c.wav.clone(), c.text.clone())),
    ) {
        println!("prompts: SKIPPED: {e}");
        return;
    }
    println!(
        "\n### a. Asterisk prompts, 8 kHz µ-law; start: {}\n{HEADER}",
        load()
    );
    eval_row(
        "pipeline (denoise+VAD+endpointing, Window::default)",
        &m,
        model,
        &[],
    );
    eval_row(
        "plain (whole clip, full 30 s window)",
        &m,
        model,
        &["--plain"],
    );
}

fn report_noise(data: &Path, model: &Path, clips: &[&Clip]) {
    let radio = debian(data, "codec2-examples", "codec2")
        .map(|d| d.join("usr/share/codec2/wav/ve9qrp.wav"))
        .and_then(|p| read_wav(&p));
    let radio = match radio {
        Ok((8000, s)) if !s.is_empty() => Some(s),
        Ok(_) => {
            println!("noise: codec2 ve9qrp.wav is not 8 kHz; radio noise skipped");
            None
        }
        Err(e) => {
            println!("noise: radio noise SKIPPED: {e}");
            None
        }
    };
    println!(
        "\n### b. Noise, SNR = clip RMS / noise RMS, then 8 kHz µ-law; start: {}",
        load()
    );
    println!("{HEADER}");
    let mut kinds = vec!["white"];
    if radio.is_some() {
        kinds.push("radio");
    }
    for kind in kinds {
        for snr in [10i32, 5] {
            let dir = data.join(format!("noise-{kind}-{snr}db-n{}", clips.len()));
            let made = (|| -> Res<PathBuf> {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                let mut rng =
                    Rng(0x5eed_0000 + snr as u64 + if kind == "radio" { 1 << 20 } else { 0 });
                let mut rows = Vec::new();
                for c in clips {
                    let out = dir.join(format!("{}.wav", c.id));
                    if !out.is_file() {
                        let (rate, speech) = read_wav(&c.wav)?;
                        let noise: Vec<f32> = match &radio {
                            Some(r) if kind == "radio" => {
                                let len = speech.len().min(r.len());
                                let start = rng.below((r.len() - len + 1) as u64) as usize;
                                (0..speech.len()).map(|i| r[start + i % len]).collect()
                            }
                            _ => (0..speech.len()).map(|_| rng.gauss() as f32).collect(),
                        };
                        let gain = rms(&speech)
                            / 10f64.powf(f64::from(snr) / 20.0)
                            / rms(&noise).max(1e-9);
                        let mixed: Vec<f32> = speech
                            .iter()
                            .zip(&noise)
                            .map(|(&s, &n)| s + (f64::from(n) * gain) as f32)
                            .collect();
                        let tmp = out.with_extension("mix.wav");
                        write_wav(&tmp, rate, &mixed)?;
                        mulaw(&tmp, &out)?;
                        std::fs::remove_file(&tmp).map_err(|e| e.to_string())?;
                    }
                    rows.push((c.id.clone(), out, c.text.clone()));
                }
                let m = dir.join("manifest.tsv");
                manifest(&m, rows.into_iter())?;
                Ok(m)
            })();
            match made {
                Ok(m) => {
                    eval_row(
                        &format!("{kind} {snr} dB, pipeline with denoise"),
                        &m,
                        model,
                        &[],
                    );
                    eval_row(
                        &format!("{kind} {snr} dB, pipeline --no-denoise"),
                        &m,
                        model,
                        &["--no-denoise"],
                    );
                }
                Err(e) => println!("| {kind} {snr} dB | SKIPPED: {e} |"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Digits.

const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// The digits a free transcript spells: numerals, and digit words (`oh` counts as zero).
fn digits_in(text: &str) -> String {
    let mut out = String::new();
    let lower = text.to_lowercase();
    for token in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        if token.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(token);
        } else if let Some(d) = WORDS.iter().position(|w| *w == token) {
            out.push(char::from(b'0' + d as u8));
        } else if token == "oh" || token == "o" {
            out.push('0');
        }
    }
    out
}

fn report_digits(data: &Path, model: &Path) {
    let mut rng = Rng(0x0dde_0123_4567);
    let numbers: Vec<String> = (0..100)
        .map(|_| {
            let len = 5 + rng.below(4) as usize;
            (0..len)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect()
        })
        .collect();
    let mut voices: Vec<(&str, String)> =
        vec![("flite slt", "slt".into()), ("flite awb", "awb".into())];
    if have("text2wave") {
        voices.push(("festival slt-hts", "festival".into()));
    } else {
        println!("digits: festival (text2wave) not installed: its voice is skipped");
    }
    println!(
        "\n### c. Order numbers (100, 5–8 digits, read digit by digit), 8 kHz µ-law; start: {}",
        load()
    );
    println!(
        "| voice | n | grammar order_number: exact % | no grammar: digits in text exact % | machine load at end |\n|---|---|---|---|---|"
    );
    for (label, voice) in voices {
        let dir = data.join(format!("digits-{}", voice));
        let made = (|| -> Res<Vec<PathBuf>> {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let mut files = Vec::new();
            for (i, number) in numbers.iter().enumerate() {
                let out = dir.join(format!("{i:03}-{number}.wav"));
                if !out.is_file() {
                    let said: Vec<&str> =
                        number.bytes().map(|b| WORDS[(b - b'0') as usize]).collect();
                    let said = said.join(" ");
                    let raw = dir.join("tts.wav");
                    if voice == "festival" {
                        let txt = dir.join("tts.txt");
                        std::fs::write(&txt, &said).map_err(|e| e.to_string())?;
                        run(Command::new("text2wave")
                            .args(["-eval", "(voice_cmu_us_slt_arctic_hts)", "-o"])
                            .arg(&raw)
                            .arg(&txt))?;
                    } else {
                        run(Command::new("flite")
                            .args(["-voice", &voice, "-t", &said, "-o"])
                            .arg(&raw))?;
                    }
                    mulaw(&raw, &out)?;
                }
                files.push(out);
            }
            Ok(files)
        })();
        let files = match made {
            Ok(f) => f,
            Err(e) => {
                println!("| {label} | SKIPPED: {e} |");
                continue;
            }
        };
        let decode = |grammar: bool| -> Res<Vec<(Option<String>, String)>> {
            let mut cmd = Command::new(KEFU);
            cmd.arg("transcribe")
                .args(&files)
                .arg("--model")
                .arg(model)
                .args(["--json", "--threads", &threads()]);
            if grammar {
                cmd.args(["--grammar", "order_number"]);
            }
            let out = run(&mut cmd)?;
            let lines: Vec<_> = String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|v| {
                    let interp = match &v["interpretation"] {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (interp, v["text"].as_str().unwrap_or_default().to_owned())
                })
                .collect();
            if lines.len() != files.len() {
                return Err(format!("{} results for {} files", lines.len(), files.len()));
            }
            Ok(lines)
        };
        match (decode(true), decode(false)) {
            (Ok(with), Ok(without)) => {
                let hit_g = with
                    .iter()
                    .zip(&numbers)
                    .filter(|((i, _), n)| i.as_deref() == Some(n.as_str()))
                    .count();
                let hit_t = without
                    .iter()
                    .zip(&numbers)
                    .filter(|((_, t), n)| digits_in(t) == **n)
                    .count();
                for (((gi, gt), (_, t)), n) in with.iter().zip(&without).zip(&numbers) {
                    if gi.as_deref() != Some(n.as_str()) {
                        println!(
                            "  {label} miss with grammar: {n} -> {gi:?} (text {gt:?}); without: {t:?}"
                        );
                    }
                }
                println!(
                    "| {label} | {} | {:.1} | {:.1} | {} |",
                    numbers.len(),
                    100.0 * hit_g as f64 / numbers.len() as f64,
                    100.0 * hit_t as f64 / numbers.len() as f64,
                    load()
                );
            }
            (Err(e), _) | (_, Err(e)) => println!("| {label} | FAILED: {e} |"),
        }
    }
}
