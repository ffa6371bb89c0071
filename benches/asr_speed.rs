//! Speed figures of kefu's speech recognition, in-process through the library.
//!
//! `cargo bench --bench asr_speed [-- decode|endpoint|capacity|window]` (default: the first three). Environment:
//! `KEFU_BENCH_MODEL` (default `target/test-models/models/ggml-tiny.en-q8_0.bin`, else the first
//! model under `target/bench-data/asr/store/models/` left by the `asr_accuracy` bench),
//! `KEFU_BENCH_REPS` (decode repetitions, default 10), `KEFU_BENCH_SECONDS` (simulated time per
//! capacity step, default 60).
//!
//! - **decode**: flite (voice slt) utterances of about 1, 2, 3, 5 and 10 s, 16 kHz → 8 kHz µ-law
//!   → 16 kHz (sox), decoded on one thread with `Window::default()` and with `Window::Full`:
//!   mean / p50 / max milliseconds and real-time factor.
//! - **endpoint**: the call's listener over each clip in virtual time; the final decode starts
//!   at the caller's pause, so the result comes `decode − (endpoint − pause)` after the
//!   endpoint (0 when the decode is done first); 1 and 2 threads.
//! - **capacity**: N simulated callers, each talking 40 % of the time (turns of 2–4 s, silences
//!   1–2× the turn, fixed seed), submit each turn to an `AsrPool` with default settings
//!   (one worker per core, one thread each) in real time when the caller pauses, 300 ms before
//!   a 500 ms endpoint; latency after the endpoint p50/p95 per N, N = 1, 2, 4, 6, 8, … until
//!   p95 exceeds 300 ms. Only ASR runs: the callers' own media, denoise and VAD work is not
//!   simulated, so the figure is an upper bound for a server.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{have, load, pct};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu::config::server::SpeechSection;
use kefu::runtime::asr::{AsrPool, Turn};
use kefu::speech::asr::{DecodeOptions, Whisper, Window};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

const SENTENCES: [(f64, &str); 5] = [
    (1.0, "Yes, that's right."),
    (2.0, "I want to check my order."),
    (3.0, "Hello, I would like to know where my order is."),
    (
        5.0,
        "Hello, I would like to know where my order is. I placed it last Monday.",
    ),
    (
        10.0,
        "Hello, I would like to know where my order is. I placed it last Monday, and the \
         website still says it has not shipped. Can you tell me when it will arrive?",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = !args
        .iter()
        .any(|a| ["decode", "capacity", "window", "endpoint"].contains(&a.as_str()));
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let reps = env("KEFU_BENCH_REPS", 10) as usize;
    let seconds = env("KEFU_BENCH_SECONDS", 60);
    for tool in ["sox", "flite"] {
        if !have(tool) {
            println!("asr_speed: SKIPPED: `{tool}` is not installed (run .ci/install-deps)");
            return;
        }
    }
    let Some(model) = model() else {
        println!(
            "asr_speed: SKIPPED: no whisper model (set KEFU_BENCH_MODEL, or run \
             `cargo bench --bench asr_accuracy` / `kefu models fetch` first)"
        );
        return;
    };
    let dir = Path::new(ROOT).join("target/bench-data/asr/speed");
    std::fs::create_dir_all(&dir).expect("create target/bench-data/asr/speed");
    let clips: Vec<(f64, Vec<f32>)> = match SENTENCES
        .iter()
        .enumerate()
        .map(|(i, (target, text))| telephone(&dir, &format!("s{i}"), text).map(|a| (*target, a)))
        .collect::<Result<_, _>>()
    {
        Ok(c) => c,
        Err(e) => {
            println!("asr_speed: SKIPPED: could not render speech: {e}");
            return;
        }
    };
    println!("model {}; {}", model.display(), load());
    if all || args.iter().any(|a| a == "decode") {
        decode(&model, &clips, reps);
    }
    if all || args.iter().any(|a| a == "endpoint") {
        endpoint(&model, &clips, reps);
    }
    if args.iter().any(|a| a == "window") {
        window(&model, &clips, reps);
    }
    if all || args.iter().any(|a| a == "capacity") {
        capacity(&model, &clips, seconds);
    }
}

fn model() -> Option<PathBuf> {
    if let Ok(m) = std::env::var("KEFU_BENCH_MODEL") {
        return Some(PathBuf::from(m));
    }
    let local = Path::new(ROOT).join("target/test-models/models/ggml-tiny.en-q8_0.bin");
    if local.is_file() {
        return Some(local);
    }
    std::fs::read_dir(Path::new(ROOT).join("target/bench-data/asr/store/models"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
}

fn sh(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// flite slt → 8 kHz µ-law → 16 kHz float samples.
fn telephone(dir: &Path, name: &str, text: &str) -> Result<Vec<f32>, String> {
    let out = dir.join(format!("{name}-16k.wav"));
    if !out.is_file() {
        let tts = dir.join(format!("{name}-tts.wav"));
        let ulaw = dir.join(format!("{name}-ulaw.wav"));
        sh(Command::new("flite")
            .args(["-voice", "slt", "-t", text, "-o"])
            .arg(&tts))?;
        sh(Command::new("sox")
            .arg(&tts)
            .args(["-r", "8000", "-c", "1", "-e", "u-law", "-b", "8"])
            .arg(&ulaw))?;
        sh(Command::new("sox")
            .arg(&ulaw)
            .args(["-r", "16000", "-e", "signed-integer", "-b", "16"])
            .arg(&out))?;
    }
    let mut r = hound::WavReader::open(&out).map_err(|e| e.to_string())?;
    r.samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

fn decode(model: &Path, clips: &[(f64, Vec<f32>)], reps: usize) {
    let whisper = Whisper::load(model).expect("load the model");
    let mut decoder = whisper.new_decoder(1).expect("a decoder");
    decoder
        .decode(&clips[0].1, &DecodeOptions::default())
        .expect("warm-up decode");
    println!(
        "\n### a. Decode time, 1 thread, {reps} repetitions, flite slt via 8 kHz µ-law; start: {}",
        load()
    );
    println!(
        "| utterance | audio s | window | wall mean ms | wall p50 ms | wall max ms | RTF (wall) | \
         CPU ms (decoding thread) | RTF (CPU) | text |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (target, audio) in clips {
        let secs = audio.len() as f64 / 16_000.0;
        for (label, window) in [
            ("default (clip + 2.6 s)", Window::default()),
            ("Full", Window::Full),
        ] {
            let opts = DecodeOptions {
                window,
                ..DecodeOptions::default()
            };
            let mut ms = Vec::new();
            let mut cpu = Vec::new();
            let mut text = String::new();
            for _ in 0..reps {
                let (t, c) = (Instant::now(), thread_cpu_ms());
                let tr = decoder.decode(audio, &opts).expect("decode");
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                cpu.push(thread_cpu_ms() - c);
                text = tr.text;
            }
            let mean = ms.iter().sum::<f64>() / ms.len() as f64;
            let cpu_mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
            ms.sort_by(f64::total_cmp);
            println!(
                "| ~{target:.0} s | {secs:.2} | {label} | {mean:.0} | {:.0} | {:.0} | {:.3} | {cpu_mean:.0} | {:.3} | {} |",
                pct(&ms, 50.0),
                ms[ms.len() - 1],
                mean / 1000.0 / secs,
                cpu_mean / 1000.0 / secs,
                text.trim()
            );
        }
    }
    println!("(end: {})", load());
}

/// Endpoint → final result of a turn, as a call gets it: the call's listener (RNNoise, VAD, a
/// 500 ms endpoint) runs over the clip in virtual time; the final decode starts when the
/// caller pauses (`TurnEvent::Paused`), so the result is late by what the decode takes beyond
/// the rest of the endpoint silence. Decodes are timed for real on an idle worker.
fn endpoint(model: &Path, clips: &[(f64, Vec<f32>)], reps: usize) {
    use kefu::media::frame::{FRAME_SAMPLES, Frame};
    use kefu::speech::listener::{ListenSettings, Listener, TurnEvent};
    let whisper = Whisper::load(model).expect("load the model");
    println!(
        "\n### Endpoint → final, 500 ms endpoint, early decode at the pause, {reps} repetitions; \
         start: {}",
        load()
    );
    println!(
        "| utterance | threads | head start ms (endpoint − pause) | decode p50 ms | final after endpoint p50 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|");
    for threads in [1, 2] {
        let mut decoder = whisper.new_decoder(threads).expect("a decoder");
        for (target, audio) in clips {
            let t0 = Instant::now();
            let settings = ListenSettings {
                end_silence: Duration::from_millis(500),
                complete_silence: Duration::from_millis(500),
                denoise: true,
                partial_every: Duration::ZERO,
            };
            let mut listener = Listener::new(t0, settings, 0).expect("valid settings");
            // 300 ms of silence, the clip, 1.5 s of silence.
            let mut samples = vec![0i16; 4_800];
            samples.extend(audio.iter().map(|&s| (s * 32767.0) as i16));
            samples.extend(std::iter::repeat_n(0i16, 24_000));
            let mut paused: Option<(Instant, Vec<f32>)> = None;
            let mut ended = None;
            for (i, chunk) in samples.chunks_exact(FRAME_SAMPLES).enumerate() {
                let mut frame = Frame::SILENCE;
                frame.samples_mut().copy_from_slice(chunk);
                let now = t0 + Duration::from_millis(20 * (i as u64 + 1));
                match listener.handle_frame(now, &frame) {
                    Some(TurnEvent::Paused { audio, .. }) => paused = Some((now, audio)),
                    Some(TurnEvent::Ended {
                        audio, decided_at, ..
                    }) => {
                        ended = Some((decided_at, audio));
                        break;
                    }
                    _ => {}
                }
            }
            let Some((decided_at, final_audio)) = ended else {
                println!("| ~{target:.0} s | {threads} | no turn found | | | |");
                continue;
            };
            let head = match &paused {
                Some((at, a)) if *a == final_audio => decided_at.duration_since(*at),
                _ => Duration::ZERO,
            };
            let mut decode_ms = Vec::new();
            let mut late_ms = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                decoder
                    .decode(&final_audio, &DecodeOptions::default())
                    .expect("decode");
                let d = t.elapsed();
                decode_ms.push(d.as_secs_f64() * 1000.0);
                late_ms.push(d.saturating_sub(head).as_secs_f64() * 1000.0);
            }
            decode_ms.sort_by(f64::total_cmp);
            late_ms.sort_by(f64::total_cmp);
            println!(
                "| ~{target:.0} s | {threads} | {} | {:.0} | {:.0} | {:.0} |",
                head.as_millis(),
                pct(&decode_ms, 50.0),
                pct(&late_ms, 50.0),
                late_ms[late_ms.len() - 1]
            );
        }
    }
    println!("(end: {})", load());
}

/// Decode time against the encoder window and the thread count: where the time goes.
fn window(model: &Path, clips: &[(f64, Vec<f32>)], reps: usize) {
    let whisper = Whisper::load(model).expect("load the model");
    println!(
        "\n### Window sweep, {reps} repetitions (wall p50 ms); start: {}",
        load()
    );
    println!(
        "| utterance | threads | fit (clip + 64) | 256 floor | 512 floor | 768 floor | Full |"
    );
    println!("|---|---|---|---|---|---|---|");
    for threads in [1, 2] {
        let mut decoder = whisper.new_decoder(threads).expect("a decoder");
        for (target, audio) in clips {
            let mut row = format!("| ~{target:.0} s | {threads} |");
            for floor in [0, 256, 512, 768, u32::MAX] {
                let window = if floor == u32::MAX {
                    Window::Full
                } else {
                    Window::Fit {
                        floor,
                        margin: 64,
                        retry: false,
                    }
                };
                let opts = DecodeOptions {
                    window,
                    ..DecodeOptions::default()
                };
                let mut ms = Vec::new();
                let mut text = String::new();
                for _ in 0..reps {
                    let t = Instant::now();
                    text = decoder.decode(audio, &opts).expect("decode").text;
                    ms.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                ms.sort_by(f64::total_cmp);
                let words = text.split_whitespace().count();
                row += &format!(" {:.0} ({words} w) |", pct(&ms, 50.0));
            }
            println!("{row}");
        }
    }
    println!("(end: {})", load());
}

/// CPU time of the calling thread in ms (`/proc/thread-self/schedstat`: ns on a CPU). With one
/// decode thread whisper.cpp computes on the caller, so this is the decode's own cost, which
/// the machine's other load does not inflate the way it inflates wall time.
fn thread_cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e6)
}

/// xorshift64*: a fixed, dependency-free stream.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn capacity(model: &Path, clips: &[(f64, Vec<f32>)], seconds: u64) {
    let grammars = kefu::config::local_grammars().expect("grammars");
    let settings = SpeechSection::default();
    let pool = Arc::new(AsrPool::start(model, &settings, &grammars).expect("start the pool"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Speech to cut turns from: the longest sentence, repeated.
    let speech: Vec<f32> = clips
        .iter()
        .rev()
        .take(2)
        .flat_map(|(_, a)| a.iter().copied())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Warm every worker.
    rt.block_on(async {
        let mut pending = Vec::new();
        for _ in 0..cores {
            let turn = Turn {
                audio: clips[2].1.clone(),
                language: "en".into(),
                grammar: None,
                hints: None,
                partial: false,
            };
            pending.push(pool.submit(turn).expect("submit").expect("a decoding"));
        }
        for mut d in pending {
            let _ = d.result().await;
        }
    });
    println!(
        "\n### b. Capacity: AsrPool defaults ({cores} cores → {cores} workers × 1 thread), callers \
         talking 40 % (turns 2–4 s), {seconds} s per step; start: {}",
        load()
    );
    println!(
        "| callers N | turns | refused | pause→result p50 ms | p95 ms | after endpoint p50 ms | p95 ms | max ms | machine load at end |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut best = 0usize;
    let mut n = 1usize;
    loop {
        let mut rng = Rng(0xca11_e125 + n as u64);
        // (submit time, audio) for every turn ending within the step.
        let mut events: Vec<(f64, Vec<f32>)> = Vec::new();
        for _ in 0..n {
            let mut t = rng.unit() * 5.0;
            loop {
                let turn = 2.0 + 2.0 * rng.unit();
                let end = t + turn;
                if end > seconds as f64 {
                    break;
                }
                let len = (turn * 16_000.0) as usize;
                let start = (rng.unit() * (speech.len() - len) as f64) as usize;
                events.push((end, speech[start..start + len].to_vec()));
                t = end + turn * (1.0 + rng.unit());
            }
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
        let mut refused = 0usize;
        let turns = events.len();
        rt.block_on(async {
            let start = tokio::time::Instant::now();
            let mut tasks = Vec::new();
            for (at, audio) in events {
                tokio::time::sleep_until(start + Duration::from_secs_f64(at)).await;
                let submitted = Instant::now();
                let turn = Turn {
                    audio,
                    language: "en".into(),
                    grammar: None,
                    hints: None,
                    partial: false,
                };
                match pool.submit(turn) {
                    Ok(Some(mut d)) => {
                        let lat = latencies.clone();
                        tasks.push(tokio::spawn(async move {
                            if d.result().await.is_ok() {
                                let ms = submitted.elapsed().as_secs_f64() * 1000.0;
                                lat.lock().expect("latencies").push(ms);
                            }
                        }));
                    }
                    _ => refused += 1,
                }
            }
            for t in tasks {
                let _ = t.await;
            }
        });
        let mut ms = latencies.lock().expect("latencies").clone();
        ms.sort_by(f64::total_cmp);
        // A turn is submitted when the caller pauses, 300 ms before a 500 ms endpoint.
        let late: Vec<f64> = ms.iter().map(|m| (m - 300.0).max(0.0)).collect();
        let p95 = pct(&late, 95.0);
        println!(
            "| {n} | {turns} | {refused} | {:.0} | {:.0} | {:.0} | {p95:.0} | {:.0} | {} |",
            pct(&ms, 50.0),
            pct(&ms, 95.0),
            pct(&late, 50.0),
            late.last().copied().unwrap_or(f64::NAN),
            load()
        );
        if p95 > 300.0 || refused > 0 {
            break;
        }
        best = n;
        n = if n < 2 { n + 1 } else { n + 2 };
    }
    println!(
        "capacity: largest N with p95 ≤ 300 ms = {best} callers on {cores} cores = {:.1} per core",
        best as f64 / cores as f64
    );
}
