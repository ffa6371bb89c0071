//! Per-frame cost of the media path, against its budget of one 20 ms frame per call leg:
//! decode one payload and encode one frame in each codec, one jitter-buffer push and pop, and
//! the in-band DTMF detector. The audio is the demo hotline's menu prompt (real speech), so
//! the codecs and the detector do the work they do in a call.
//!
//! `cargo bench --bench media_frame`. Each figure is per 20 ms frame; the throughput line
//! (elem/s) divided by 50 is how many legs one core could run that stage for.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kefu::media::codec::{CodecKind, Decoder, Encoder, MAX_DECODED_SAMPLES, MAX_ENCODED_BYTES};
use kefu::media::frame::Frame;
use kefu::media::prompt::Prompt;
use kefu::media::tone::DtmfDetector;
use kefu::rtp::jitter::{JitterBuffer, JitterConfig, JitterOutput};

/// 4.8 s of synthesised speech at 16 kHz, as kefu plays it.
fn speech() -> Vec<Frame> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("voices/prompts/en/main-menu.flac");
    let prompt = Prompt::from_path(&path).expect("the demo prompts are in the repository");
    prompt.frames().to_vec()
}

/// One call's work per frame in each direction: decode what the caller sent, encode what kefu
/// says. The payloads were encoded beforehand by another encoder, as a caller's phone would.
fn codecs(c: &mut Criterion) {
    let frames = speech();
    let mut group = c.benchmark_group("codec: decode + encode one 20 ms frame");
    group.throughput(Throughput::Elements(1));
    for kind in [
        CodecKind::Pcmu,
        CodecKind::Pcma,
        CodecKind::G722,
        CodecKind::Opus,
    ] {
        let mut phone = Encoder::new(kind).expect("encoder");
        let payloads: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| {
                let mut p = Vec::with_capacity(MAX_ENCODED_BYTES);
                phone.encode(f, &mut p).expect("speech encodes");
                p
            })
            .collect();
        let mut decoder = Decoder::new(kind).expect("decoder");
        let mut encoder = Encoder::new(kind).expect("encoder");
        let mut pcm = Vec::with_capacity(MAX_DECODED_SAMPLES);
        let mut out = Vec::with_capacity(MAX_ENCODED_BYTES);
        let mut i = 0;
        group.bench_function(kind.sdp_name(), |b| {
            b.iter(|| {
                pcm.clear();
                decoder
                    .decode(black_box(&payloads[i]), &mut pcm)
                    .expect("decodes");
                encoder
                    .encode(black_box(&frames[i]), &mut out)
                    .expect("encodes");
                i = (i + 1) % frames.len();
                black_box((&pcm, &out));
            })
        });
    }
    group.finish();
}

/// One packet in and one frame's worth out, as each 20 ms of a call does, in steady state
/// (the buffer holds its target of two packets).
fn jitter(c: &mut Criterion) {
    let mut group = c.benchmark_group("jitter buffer");
    group.throughput(Throughput::Elements(1));
    let payload = [0x55u8; 160];
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let start = Instant::now();
    let mut seq: u16 = 0;
    let mut frame: u64 = 0;
    group.bench_function("push + pop one 20 ms packet", |b| {
        b.iter(|| {
            let now = start + Duration::from_millis(20 * frame);
            buffer.push(now, seq, (frame * 160) as u32, false, black_box(&payload));
            let out = buffer.pop(now);
            black_box(matches!(out, JitterOutput::Packet { .. }));
            seq = seq.wrapping_add(1);
            frame += 1;
        })
    });
    group.finish();
    let counters = buffer.counters();
    assert_eq!(
        counters.lost, 0,
        "the bench measured a steady stream, not a lossy one: {counters:?}"
    );
}

/// The detector on speech, its costly case: voiced windows pass the energy gate, so the
/// Goertzel filters run (on silence it stops at the gate).
fn dtmf(c: &mut Criterion) {
    let frames = speech();
    let mut once = DtmfDetector::new();
    let false_digits = frames.iter().filter(|f| once.process(f).is_some()).count();
    if false_digits > 0 {
        eprintln!(
            "note: the detector took the menu prompt's speech for {false_digits} key presses"
        );
    }
    let mut group = c.benchmark_group("in-band DTMF detector");
    group.throughput(Throughput::Elements(1));
    let mut detector = DtmfDetector::new();
    let mut i = 0;
    group.bench_function("one 20 ms frame of speech", |b| {
        b.iter(|| {
            black_box(detector.process(black_box(&frames[i])));
            i = (i + 1) % frames.len();
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = media;
    config = config();
    targets = codecs, jitter, dtmf
}
criterion_main!(media);
