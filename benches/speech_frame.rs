//! Per-frame cost of the front of the inbound speech path, against its budget: denoise + VAD
//! should stay under 1 % of a core per call, i.e. 200 µs per 20 ms frame.
//!
//! The audio is a flite-rendered customer sentence with white noise 15 dB below it, so every
//! frame carries signal (RNNoise skips its network on near-silent frames and would look
//! cheaper than it is on a call). Without flite the noise alone is used, with a notice.
//!
//! `cargo bench --bench speech_frame`. Each figure is per 20 ms frame; the throughput line
//! (elem/s) divided by 50 is how many calls one core could run that stage for.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kefu::media::frame::{FRAME_SAMPLES, Frame};
use kefu::speech::denoise::Denoiser;
use kefu::speech::endpoint::{EndpointConfig, Endpointer};
use kefu::speech::vad::{VadConfig, VoiceDetector};

const SENTENCE: &str = "Hello, I would like to know where my order is. \
                        The order number is four five one two three nine.";

/// About 5 s of noisy speech as 20 ms frames.
fn noisy_speech() -> Vec<Frame> {
    let mut samples = flite(SENTENCE).unwrap_or_else(|| {
        eprintln!("flite not found: benchmarking on noise alone");
        vec![0; 250 * FRAME_SAMPLES]
    });
    let power = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64;
    // Uniform noise in ±a has power a²/3; 15 dB below the speech, and never below -60 dBFS.
    let amplitude = (3.0 * power / 10f64.powf(1.5)).sqrt().max(60.0);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for s in &mut samples {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
        let noise = (unit * 2.0 - 1.0) * amplitude;
        *s = (f64::from(*s) + noise).clamp(-32768.0, 32767.0) as i16;
    }
    samples
        .chunks_exact(FRAME_SAMPLES)
        .map(|c| Frame(c.try_into().expect("chunks_exact gives whole frames")))
        .collect()
}

fn flite(text: &str) -> Option<Vec<i16>> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("sentence.wav");
    let status = std::process::Command::new("flite")
        .args(["-voice", "slt", "-t", text, "-o"])
        .arg(&path)
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let mut reader = hound::WavReader::open(&path).ok()?;
    reader.samples::<i16>().collect::<Result<_, _>>().ok()
}

fn speech_front(c: &mut Criterion) {
    let frames = noisy_speech();
    let decisions: Vec<bool> = {
        let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
        frames.iter().map(|f| vad.process(f).is_speech).collect()
    };
    let mut group = c.benchmark_group("speech front: one 20 ms frame");
    group.throughput(Throughput::Elements(1));

    let mut denoiser = Denoiser::new();
    let mut i = 0;
    group.bench_function("denoise (RNNoise + 16/48 kHz FIR)", |b| {
        b.iter(|| {
            black_box(denoiser.process(black_box(&frames[i])));
            i = (i + 1) % frames.len();
        })
    });

    let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
    group.bench_function("vad (earshot)", |b| {
        b.iter(|| {
            black_box(vad.process(black_box(&frames[i])));
            i = (i + 1) % frames.len();
        })
    });

    // Virtual time: the endpointer only compares instants, so a counter is as good as a clock.
    let t0 = Instant::now();
    let mut endpointer = Endpointer::new(EndpointConfig::default()).expect("defaults are valid");
    let mut n: u32 = 0;
    group.bench_function("endpointer", |b| {
        b.iter(|| {
            n += 1;
            let now = t0 + Duration::from_millis(20) * n;
            black_box(endpointer.handle_frame(now, black_box(&frames[i]), decisions[i]));
            i = (i + 1) % frames.len();
        })
    });

    let mut denoiser = Denoiser::new();
    let mut vad = VoiceDetector::new(VadConfig::default()).expect("defaults are valid");
    let mut endpointer = Endpointer::new(EndpointConfig::default()).expect("defaults are valid");
    let mut n: u32 = 0;
    group.bench_function("denoise + vad + endpointer", |b| {
        b.iter(|| {
            n += 1;
            let now = t0 + Duration::from_millis(20) * n;
            let (clean, voice) = denoiser.process(black_box(&frames[i]));
            let decision = vad.process_with_rnnoise(&clean, voice);
            black_box(endpointer.handle_frame(now, &clean, decision.is_speech));
            i = (i + 1) % frames.len();
        })
    });
    group.finish();
}

criterion_group!(benches, speech_front);
criterion_main!(benches);
