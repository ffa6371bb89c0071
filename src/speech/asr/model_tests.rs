//! Tests against a real model and real synthesised speech. They need
//! `KEFU_TEST_MODEL=/path/to/ggml-tiny.en.bin` and the `flite` binary; without them each test
//! prints why it is skipped and passes.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use super::*;
use crate::speech::models::ModelError;

fn model_path() -> Option<PathBuf> {
    match std::env::var_os("KEFU_TEST_MODEL") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped: set KEFU_TEST_MODEL=path/to/ggml-tiny.en.bin to run");
            None
        }
    }
}

fn whisper() -> Option<&'static Whisper> {
    static MODEL: OnceLock<Option<Whisper>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            model_path().map(|p| Whisper::load(&p).expect("KEFU_TEST_MODEL must be a valid model"))
        })
        .as_ref()
}

/// `text` spoken by flite's slt voice, as 16 kHz mono.
fn flite(text: &str) -> Option<Vec<f32>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("say.wav");
    let status = std::process::Command::new("flite")
        .args(["-voice", "slt", "-t", text, "-o"])
        .arg(&wav)
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("skipped: flite is not installed");
        return None;
    }
    let mut reader = hound::WavReader::open(&wav).expect("flite writes a WAV");
    let rate = reader.spec().sample_rate as usize;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("16-bit samples")) / 32768.0)
        .collect();
    Some(resample_linear(&samples, rate, SAMPLE_RATE))
}

/// Linear interpolation resampler, good enough for a test fixture.
fn resample_linear(x: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to || x.is_empty() {
        return x.to_vec();
    }
    let n = x.len() * to / from;
    (0..n)
        .map(|i| {
            let pos = i as f64 * from as f64 / to as f64;
            let k = pos as usize;
            let frac = (pos - k as f64) as f32;
            let a = x[k.min(x.len() - 1)];
            let b = x[(k + 1).min(x.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn decodes_a_flite_sentence_with_a_small_window() {
    let (Some(w), Some(audio)) = (whisper(), flite("where is my order")) else {
        return;
    };
    let mut d = w.new_decoder(2).expect("decoder");
    let t = d.decode(&audio, &DecodeOptions::default()).expect("decode");
    assert_eq!(words(&t.text), ["where", "is", "my", "order"], "{t:?}");
    assert_eq!(t.language, "en");
    assert!(
        t.audio_ctx < 1500,
        "default policy uses a smaller window: {}",
        t.audio_ctx
    );
    assert!(
        t.confidence > 0.3 && t.confidence <= 1.0,
        "{}",
        t.confidence
    );
    assert_eq!(t.segments.len(), 1);
    assert_eq!(
        t.segments[0].t1_ms as usize,
        audio.len() * 1000 / SAMPLE_RATE
    );

    let full = DecodeOptions {
        window: Window::Full,
        ..DecodeOptions::default()
    };
    let t_full = d.decode(&audio, &full).expect("decode");
    assert_eq!(words(&t_full.text), words(&t.text));
    assert_eq!(t_full.audio_ctx, 1500);
}

#[test]
fn grammar_restricts_the_output_to_digits() {
    let (Some(w), Some(audio)) = (whisper(), flite("one two three four five")) else {
        return;
    };
    use ElementKind::*;
    let digit = |rest: &[Element]| {
        let mut v = vec![
            Element::new(Char, '0' as u32),
            Element::new(CharRngUpper, '9' as u32),
        ];
        v.extend_from_slice(rest);
        v
    };
    // root ::= " " digits | digits ; digits ::= [0-9] digits | [0-9] " " digits | [0-9]
    let root = vec![
        Element::new(Char, ' ' as u32),
        Element::new(RuleRef, 1),
        Element::new(Alt, 0),
        Element::new(RuleRef, 1),
        Element::new(End, 0),
    ];
    let mut digits = digit(&[Element::new(RuleRef, 1), Element::new(Alt, 0)]);
    digits.extend(digit(&[
        Element::new(Char, ' ' as u32),
        Element::new(RuleRef, 1),
        Element::new(Alt, 0),
    ]));
    digits.extend(digit(&[Element::new(End, 0)]));
    let grammar = Grammar {
        rules: vec![root, digits],
        start: 0,
    };
    let opts = DecodeOptions {
        grammar: Some(grammar),
        ..DecodeOptions::default()
    };
    let mut d = w.new_decoder(2).expect("decoder");
    let t = d.decode(&audio, &opts).expect("decode");
    let digits_only: String = t.text.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(digits_only, "12345", "{t:?}");
}

#[test]
fn invalid_grammar_is_an_error_not_a_crash() {
    let Some(w) = whisper() else { return };
    let bad = Grammar {
        rules: vec![vec![Element::new(ElementKind::RuleRef, 7)]],
        start: 0,
    };
    let opts = DecodeOptions {
        grammar: Some(bad),
        ..DecodeOptions::default()
    };
    let mut d = w.new_decoder(1).expect("decoder");
    let err = d
        .decode(&vec![0.0; SAMPLE_RATE], &opts)
        .expect_err("invalid grammar");
    assert!(matches!(err, AsrError::Grammar(_)), "{err}");
}

#[test]
fn abort_flag_cancels_the_decode() {
    let (Some(w), Some(audio)) = (whisper(), flite("please cancel this one")) else {
        return;
    };
    let opts = DecodeOptions {
        abort: Some(Arc::new(AtomicBool::new(true))),
        ..DecodeOptions::default()
    };
    let mut d = w.new_decoder(1).expect("decoder");
    assert!(matches!(d.decode(&audio, &opts), Err(AsrError::Aborted)));
    // The decoder stays usable afterwards.
    let t = d
        .decode(&audio, &DecodeOptions::default())
        .expect("decode after abort");
    assert!(words(&t.text).contains(&"cancel".to_string()), "{t:?}");
}

#[test]
fn language_is_checked_against_the_model() {
    let Some(w) = whisper() else { return };
    if !w.info().hparams.is_english_only() {
        eprintln!("skipped: the English-only check needs an .en model");
        return;
    }
    let mut d = w.new_decoder(1).expect("decoder");
    let zh = DecodeOptions {
        language: "zh".into(),
        ..DecodeOptions::default()
    };
    let err = d
        .decode(&vec![0.0; SAMPLE_RATE], &zh)
        .expect_err("English-only model");
    assert!(err.to_string().contains("English-only"), "{err}");
    let auto = DecodeOptions {
        language: "auto".into(),
        ..DecodeOptions::default()
    };
    assert_eq!(
        d.decode(&vec![0.0; SAMPLE_RATE], &auto)
            .expect("auto is fine")
            .language,
        "en"
    );
}

#[test]
fn empty_and_non_finite_audio_are_handled() {
    let Some(w) = whisper() else { return };
    let mut d = w.new_decoder(1).expect("decoder");
    let t = d.decode(&[], &DecodeOptions::default()).expect("empty");
    assert_eq!(t.text, "");
    let mut junk = vec![f32::NAN; SAMPLE_RATE];
    junk[10] = f32::INFINITY;
    d.decode(&junk, &DecodeOptions::default())
        .expect("non-finite samples are zeroed");
}

#[test]
fn initial_prompt_is_accepted_and_cached() {
    let (Some(w), Some(audio)) = (whisper(), flite("where is my order")) else {
        return;
    };
    let opts = DecodeOptions {
        initial_prompt: Some("Order status, shipping, returns.\0".into()),
        ..DecodeOptions::default()
    };
    let mut d = w.new_decoder(2).expect("decoder");
    for _ in 0..2 {
        let t = d.decode(&audio, &opts).expect("decode with prompt");
        assert!(
            words(&t.text).ends_with(&["my".to_string(), "order".to_string()]),
            "{t:?}"
        );
    }
}

#[test]
fn decoders_on_two_threads_share_one_model() {
    let Some(w) = whisper() else { return };
    let (Some(a), Some(b)) = (
        flite("where is my order"),
        flite("I would like to speak to an agent"),
    ) else {
        return;
    };
    std::thread::scope(|s| {
        let ha = s.spawn(|| {
            w.new_decoder(1)
                .expect("decoder")
                .decode(&a, &DecodeOptions::default())
        });
        let hb = s.spawn(|| {
            w.new_decoder(1)
                .expect("decoder")
                .decode(&b, &DecodeOptions::default())
        });
        let ta = ha.join().expect("thread a").expect("decode a");
        let tb = hb.join().expect("thread b").expect("decode b");
        assert_eq!(words(&ta.text), ["where", "is", "my", "order"]);
        assert!(words(&tb.text).contains(&"agent".to_string()), "{tb:?}");
    });
}

#[test]
fn truncated_model_is_a_load_error() {
    let Some(path) = model_path() else { return };
    let bytes = std::fs::read(&path).expect("read model");
    let dir = tempfile::tempdir().expect("temp dir");
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write truncated copy");
    match Whisper::load(&cut) {
        Err(AsrError::Model(ModelError::Truncated { .. })) => {}
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a truncated model must not load"),
    }
}
