//! Text-to-speech figures per voice: time to first audio and intelligibility over a phone line.
//!
//! `cargo bench --bench tts [-- [--beam N] VOICE…]` (default: the English voices slt, awb, kal16, rms and
//! slt-hts, and cmn for time only). For each voice, 30 typical shop replies (order numbers,
//! dates, amounts, phone numbers, addresses) are rendered by kefu's own TTS (no cache):
//! - **first audio**: from the request to the first rendered sentence (the engine's process
//!   already running, as in `kefu serve`), p50/p95/max, and the whole reply's render time;
//! - **WER**: each reply through an 8 kHz µ-law round trip (sox), transcribed by `kefu eval asr
//!   --plain` (whisper, full window; greedy as in calls, or `-- --beam 5` as whisper-cli
//!   decodes), against the reply's text with kefu's WER normalisation.
//!
//! The model is `KEFU_BENCH_MODEL`, else `target/test-models/models/ggml-tiny.en-q8_0.bin`, else
//! one fetched by the asr benches into `target/bench-data/asr/store`; without one only the
//! timings are printed. Files go to `target/bench-data/tts/`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::{have, load, mulaw, pct, run};

use kefu::config::voices::VoiceBook;
use kefu::speech::tts::Tts;

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What a shop's bot says: the kinds of text a voice must get right on the phone.
const REPLIES: [&str; 30] = [
    "Your order 10023 shipped on November 21.",
    "Order 48291 is out for delivery today.",
    "The refund of $42.50 was sent to your card on Monday.",
    "Your parcel should arrive by Friday, November 27.",
    "I found an order from Tuesday for a blue kettle. Is that the one?",
    "Your order number is 7730142.",
    "The total was $129.99, including shipping.",
    "You can return it within 30 days of delivery.",
    "Our phone number is 555-123-4567.",
    "We will ship it to 42 Baker Street, Springfield.",
    "Your tracking number is 1Z999AA10123456784.",
    "The kettle costs $34.95 and is in stock.",
    "Your return for order 55120 has been approved.",
    "The refund usually takes 5 to 7 business days.",
    "Your order was cancelled, and you will not be charged.",
    "Delivery is free on orders over $50.",
    "I have changed the address to 18 Elm Road, Riverside.",
    "Order 20417 was delivered on October 3 at 2:15 PM.",
    "Your new delivery date is December 1.",
    "The promotion gives you 15% off until Sunday.",
    "Please hold while I connect you to an agent.",
    "Sorry, I did not catch that. Could you say the order number again?",
    "Your order has 3 items: a kettle, a teapot and 2 mugs.",
    "We received your return on November 12.",
    "Your store credit balance is $18.20.",
    "The warranty lasts 2 years from the date of purchase.",
    "Order 99310 is waiting for payment.",
    "Your digital collectible 8841 is registered to you since March 5, 2026.",
    "Thank you for calling the demo shop. Goodbye.",
    "You can also reach us at help@example.com.",
];

/// Mandarin replies, for time to first audio only (no Mandarin model is reachable here).
const REPLIES_ZH: [&str; 5] = [
    "您的订单10023已于11月21日发货。",
    "退款42.50元已经退回您的银行卡。",
    "您的包裹预计星期五送达。",
    "请稍等，我为您转接人工客服。",
    "感谢您的来电，再见。",
];

fn main() {
    let (mut args, mut beam) = (Vec::new(), None);
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        if arg == "--beam" {
            beam = given.next();
        } else if !arg.starts_with('-') {
            args.push(arg);
        }
    }
    let voices: Vec<String> = if args.is_empty() {
        ["slt", "awb", "kal16", "rms", "slt-hts", "cmn"]
            .map(String::from)
            .to_vec()
    } else {
        args
    };
    let dir = Path::new(ROOT).join("target/bench-data/tts");
    std::fs::create_dir_all(&dir).expect("create target/bench-data/tts");
    let model = model();
    let can_score = have("sox") && model.is_some();
    if !can_score {
        println!("tts: WER skipped (needs sox and a whisper model; see the file header)");
    }
    let tts = Tts::new(Arc::new(VoiceBook::embedded()), None);
    tts.warm();
    println!("{}", load());
    println!(
        "| voice | engine | replies | first audio p50 / p95 / max (ms) | whole reply p50 (ms) | audio (s) | WER % |"
    );
    println!("|---|---|---|---|---|---|---|");
    for name in &voices {
        let Some(voice) = tts.book().get(name).cloned() else {
            println!("| {name} | unknown voice |");
            continue;
        };
        if let Err(e) = tts.check(&voice) {
            println!("| {name} | unavailable: {e} |");
            continue;
        }
        let replies: Vec<&str> = if voice.language == "zh" {
            REPLIES_ZH.to_vec()
        } else {
            REPLIES.to_vec()
        };
        // One reply first so lazily started engines are running, as in a live server.
        let _ = tts.render(&voice, "Hello.", 1.0);
        let (mut first, mut whole, mut audio) = (Vec::new(), Vec::new(), 0.0);
        let mut manifest = String::new();
        for (i, text) in replies.iter().enumerate() {
            let started = Instant::now();
            let mut first_at = None;
            let mut samples = Vec::new();
            let result = tts.speak(&voice, text, 1.0, |piece| {
                first_at.get_or_insert_with(|| started.elapsed());
                samples.extend_from_slice(&piece);
                ControlFlow::Continue(())
            });
            whole.push(started.elapsed().as_secs_f64() * 1000.0);
            if let Err(e) = result {
                println!("| {name} | reply {i} failed: {e} |");
                continue;
            }
            first.push(first_at.unwrap_or_default().as_secs_f64() * 1000.0);
            audio += samples.len() as f64 / 16_000.0;
            if can_score && voice.language == "en" {
                match phone_line(&dir, name, i, &samples) {
                    Ok(wav) => {
                        manifest.push_str(&format!("{name}-{i}\t{}\t{text}\n", wav.display()))
                    }
                    Err(e) => println!("| {name} | reply {i}: {e} |"),
                }
            }
        }
        first.sort_by(f64::total_cmp);
        whole.sort_by(f64::total_cmp);
        let wer = match (&model, manifest.is_empty()) {
            (Some(model), false) => score(&dir, name, &manifest, model, beam.as_deref())
                .map_or_else(|e| format!("failed: {e}"), |w| format!("{w:.1}")),
            _ => "-".into(),
        };
        println!(
            "| {name} | {} {} | {} | {:.0} / {:.0} / {:.0} | {:.0} | {audio:.0} | {wer} |",
            voice.engine,
            voice.voice,
            first.len(),
            pct(&first, 50.0),
            pct(&first, 95.0),
            first.last().copied().unwrap_or(f64::NAN),
            pct(&whole, 50.0),
        );
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

/// The reply as a G.711 call delivers it: 16 kHz WAV → 8 kHz µ-law → 8 kHz 16-bit WAV.
fn phone_line(dir: &Path, voice: &str, i: usize, samples: &[i16]) -> Result<PathBuf, String> {
    let wide = dir.join(format!("{voice}-{i}-16k.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wide, spec).map_err(|e| e.to_string())?;
    for &s in samples {
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())?;
    let phone = dir.join(format!("{voice}-{i}-phone.wav"));
    mulaw(&wide, &phone)?;
    Ok(phone)
}

/// WER (%) of a manifest, from `kefu eval asr --plain --json`'s total line.
fn score(
    dir: &Path,
    voice: &str,
    manifest: &str,
    model: &Path,
    beam: Option<&str>,
) -> Result<f64, String> {
    let path = dir.join(format!("{voice}.tsv"));
    std::fs::write(&path, manifest).map_err(|e| e.to_string())?;
    let mut eval = Command::new(KEFU);
    eval.args(["eval", "asr"])
        .arg(&path)
        .arg("--model")
        .arg(model)
        .args(["--plain", "--json", "--threads", "2"]);
    if let Some(beam) = beam {
        eval.args(["--beam", beam]);
    }
    let out = run(&mut eval)?;
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["total"]["wer"].as_f64())
        .map(|w| 100.0 * w)
        .ok_or_else(|| "no total line from kefu eval asr".into())
}
