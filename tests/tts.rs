//! Speaking to callers, against real peers and real speech: a `say` node's reply reaches a SIPp
//! caller as RTP, and kefu's recogniser (whisper) reads what the caller received back; `kefu say`
//! and `kefu voices` work from the command line and fail with one-line reasons.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{Kefu, RtpPeer, background_call, edited_config, newest_call, speech_model};

const SILENCE: [u8; 160] = [0xff; 160];

/// A flow that answers, says one reply, then waits in a menu (the caller hangs up).
const FLOW: &str = r#"
start = "reply"
language = "en"
[nodes.reply]
kind = "say"
text = "Your order 10023 shipped on Tuesday. It should arrive by Friday."
next = "wait"
[nodes.wait]
kind = "menu"
prompt = "goodbye"
options = { "1" = "bye" }
timeout_ms = 60000
[nodes.bye]
kind = "hangup"
"#;

fn kefu_cli(args: &[&str], data: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .env("KEFU_DATA_DIR", data)
        .output()
        .expect("run kefu")
}

/// 8 kHz mono WAV of µ-law bytes, decoded independently of kefu's codec.
fn write_ulaw_wav(path: &Path, ulaw: &[u8]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("wav");
    for &u in ulaw {
        w.write_sample(support::ulaw_to_linear(u)).expect("sample");
    }
    w.finalize().expect("wav written");
}

#[test]
fn a_say_node_speaks_to_the_caller() {
    let model = speech_model();
    let config = edited_config(|text| text.to_owned());
    std::fs::write(config.path().join("sip-config/flows/hotline.toml"), FLOW).expect("flow");
    let kefu = Kefu::start_with(&[
        "--config",
        &config
            .path()
            .join("sip-config/kefu.toml")
            .display()
            .to_string(),
        "--model",
        &model.display().to_string(),
    ]);
    let mut peer = RtpPeer::bind();
    let sipp = background_call(&kefu, peer.port(), 9_000);
    assert!(
        peer.wait_first_packet(Duration::from_secs(10)),
        "no RTP from kefu\n{}",
        kefu.log_text()
    );
    // The reply (~4 s), then the menu prompt; SIPp hangs up at 9 s.
    peer.talk(Duration::from_millis(8500), 0, &SILENCE, 160);
    let (ok, out) = sipp.join().expect("sipp thread");
    assert!(ok, "sipp failed:\n{out}\n{}", kefu.log_text());

    let record = newest_call(&kefu);
    assert_eq!(record["end_cause"], "caller.hangup", "{record:#}");
    let spoke: Vec<serde_json::Value> = record["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "spoke")
        .map(|e| serde_json::from_str(e["detail"].as_str().expect("detail")).expect("json"))
        .collect();
    let [said, ..] = &spoke[..] else {
        panic!("the reply is on the record: {record:#}");
    };
    assert_eq!(
        said["what"],
        "Your order 10023 shipped on Tuesday. It should arrive by Friday."
    );
    assert_eq!(said["ended"], "finished", "{said}");
    assert!(said["played_ms"].as_u64().expect("played") > 2500, "{said}");
    assert!(said["first_audio_ms"].as_u64().is_some(), "{said}");

    // What the caller received, decoded here, read back by whisper.
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("heard.wav");
    let ulaw: Vec<u8> = peer
        .received
        .iter()
        .filter(|p| p.payload_type == 0)
        .flat_map(|p| p.payload.iter().copied())
        .collect();
    write_ulaw_wav(&wav, &ulaw);
    let out = kefu_cli(
        &[
            "transcribe",
            "--model",
            &model.display().to_string(),
            "--json",
            &wav.display().to_string(),
        ],
        kefu.data.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heard: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = heard["text"].as_str().expect("text").to_lowercase();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(
        text.contains("order") && text.contains("friday") && digits.contains("10023"),
        "the caller heard {text:?}"
    );
}

#[test]
fn kefu_say_writes_speech_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_wav = dir.path().join("reply.wav");
    let out = kefu_cli(
        &[
            "say",
            "Your refund of $42.50 was sent on 2026-11-21.",
            "-o",
            &out_wav.display().to_string(),
            "--voice",
            "slt",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = hound::WavReader::open(&out_wav).expect("a WAV");
    assert_eq!(reader.spec().sample_rate, 16_000);
    let seconds = reader.duration() as f64 / 16_000.0;
    assert!((2.0..10.0).contains(&seconds), "{seconds} s");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("voice slt"), "{summary}");

    for (args, reason) in [
        (
            vec!["say", "hello", "-o", "x.wav", "--voice", "nobody"],
            "no voice named \"nobody\"",
        ),
        (vec!["say", "   ", "-o", "x.wav", "--voice", "slt"], "empty"),
        (
            vec!["say", "hi", "-o", "x.wav", "--rate", "5"],
            "rate 5 is outside",
        ),
        (
            vec!["say", "hi", "-o", "x.wav", "--lang", "fr"],
            "no voice for language \"fr\"",
        ),
    ] {
        let out = kefu_cli(&args, dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            err.to_lowercase().contains(&reason.to_lowercase()),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn kefu_voices_lists_the_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = kefu_cli(&["voices", "--json"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let voices: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let slt = voices
        .iter()
        .find(|v| v["name"] == "slt")
        .expect("slt listed");
    assert_eq!(slt["engine"], "flite");
    assert_eq!(slt["available"], true, "flite is linked in: {slt}");
    let defaults: Vec<&str> = voices
        .iter()
        .filter(|v| v["default"] == true)
        .filter_map(|v| v["language"].as_str())
        .collect();
    assert!(
        defaults.contains(&"en") && defaults.contains(&"zh"),
        "{defaults:?}"
    );
}
