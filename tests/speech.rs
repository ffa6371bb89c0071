//! Hearing callers, against real speech: flite-rendered phrases over an 8 kHz µ-law line, the
//! tiny.en model `kefu models fetch` installs, a SIPp call and `kefu transcribe`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{
    HttpStub, Kefu, RtpPeer, newest_call, say_ulaw, sipp, speech_model, start_configured,
};

/// µ-law silence (0xFF is the code for 0).
const SILENCE: [u8; 160] = [0xff; 160];

fn kefu_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .output()
        .expect("run kefu")
}

/// An 8 kHz µ-law WAV of `text`, as a phone line would deliver it.
fn phone_wav(dir: &Path, name: &str, text: &str) -> String {
    let wav = dir.join(format!("{name}.wav"));
    let raw = dir.join(format!("{name}-16k.wav"));
    let ok = Command::new("flite")
        .args(["-voice", "slt", "-t", text, "-o"])
        .arg(&raw)
        .status()
        .expect("flite")
        .success();
    assert!(ok, "flite failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-e", "u-law"])
        .arg(&wav)
        .status()
        .expect("sox")
        .success();
    assert!(ok, "sox failed");
    wav.display().to_string()
}

/// kefu with the repository's configuration, `extra` appended to its kefu.toml, and the test
/// speech model. Keep the folder alive as long as kefu runs.
fn kefu_with(extra: &str) -> (Kefu, tempfile::TempDir) {
    start_configured(|t| format!("{t}\n{extra}"), |_| {})
}

/// Calls the hotline from SIPp's +15551230000 and says `question` (flite's slt voice, 8 kHz
/// µ-law) over the assistant's greeting, then listens. Returns the call's record, its
/// assistant turns, and what the caller heard, read back by whisper.
fn ask_by_voice(
    kefu: &Kefu,
    question: &str,
) -> (serde_json::Value, Vec<serde_json::Value>, String) {
    let fixtures = tempfile::tempdir().expect("temp dir");
    let question = say_ulaw(fixtures.path(), "slt", question);
    let mut peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let keys = [
                ("rtp_port", port.as_str()),
                ("codec_pt", "0"),
                ("codec_name", "PCMU/8000"),
                ("te_pt", "101"),
            ];
            let hold = ["-d", "36000"];
            done_tx
                .send(sipp(kefu, "uac_call.xml", &keys, &hold))
                .expect("main thread waits");
        });
        assert!(
            peer.wait_first_packet(Duration::from_secs(10)),
            "no RTP from kefu\n{}",
            kefu.log_text()
        );
        // The greeting (2 s), then the question over the assistant's own greeting.
        peer.talk(Duration::from_millis(3500), 0, &SILENCE, 160);
        peer.speak(&question);
        // The decode (a second or more on a busy 2-core machine), then a ~10 s answer.
        peer.talk(Duration::from_millis(26_000), 0, &SILENCE, 160);
        let (ok, out) = done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("sipp finishes");
        assert!(ok, "sipp failed:\n{out}\n{}", kefu.log_text());
    });
    let record = newest_call(kefu);
    let turns: Vec<serde_json::Value> = record["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "turn")
        .map(|e| serde_json::from_str(e["detail"].as_str().expect("detail")).expect("json"))
        .collect();

    (record, turns, peer.heard_text())
}

/// The details of a record's events of `kind`.
fn event_details(record: &serde_json::Value, kind: &str) -> Vec<String> {
    record["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .filter_map(|e| Some(e["detail"].as_str()?.to_owned()))
        .collect()
}

/// End to end by voice: a caller asks the hotline's assistant where their order is, with its
/// number; kefu's spoken answer (rms voice), read back by whisper, has the order's status,
/// and the call record has the turn.
#[test]
fn a_caller_asks_where_their_order_is_and_hears_its_status() {
    // The caller's number (SIPp's +15551230000) is no customer of the local shop; the
    // merchant's system knows it, and is asked before the greeting.
    let caller = r#"{"customers": [{"id": "L7", "name": "Zoe", "phone": "+15551230000",
                                   "language": "en"}]}"#;
    let api = HttpStub::start(&[("/customers?phone=%2B15551230000", caller)]);
    let (kefu, _config) = kefu_with(&format!(
        "[merchant]\ncustomer_url = \"{0}/customers?phone={{phone}}\"\norder_url = \"{0}/orders/{{order}}\"\n",
        api.url
    ));
    let (record, turns, text) = ask_by_voice(
        &kefu,
        "Where is my order? The number is one zero zero two three.",
    );
    let [turn] = &turns[..] else {
        panic!(
            "one turn with the assistant: {record:#}\n{}",
            kefu.log_text()
        );
    };
    assert_eq!(turn["intent"], "order_status", "{turn:#}");
    assert_eq!(turn["slots"]["order_number"], "10023", "{turn:#}");
    let reply = turn["reply"].as_str().expect("reply");
    assert!(reply.contains("shipped"), "{reply}");
    let path: Vec<&str> = record["flow_path"]
        .as_array()
        .expect("path")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(path, ["greeting", "assistant"], "{record:#}");
    assert_eq!(record["end_cause"], "caller.hangup");
    assert_eq!(record["intents"], serde_json::json!(["order_status"]));
    // Greeted by the name the merchant's system gave; order 10023 is the local shop's, so the
    // only lookup was the caller's.
    let spoken: Vec<String> = event_details(&record, "spoke")
        .iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|d| Some(d["what"].as_str()?.to_owned()))
        .collect();
    assert!(
        spoken.iter().any(|w| w.starts_with("Hello Zoe.")),
        "{spoken:?}"
    );
    assert_eq!(api.asked(), ["/customers?phone=%2B15551230000"]);

    // "U P S" may come back as "UPS" or "U.P.S.".
    let letters: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
    assert!(
        text.contains("shipped") && letters.contains("withups") && letters.contains("10023"),
        "the caller heard {text:?}"
    );

    // The conversation counts in the report.
    let out = kefu.cli(&["report", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["conversations"], 1, "{report:#}");
    assert_eq!(report["resolved"], 1, "{report:#}");
    assert_eq!(report["top_intents"][0][0], "order_status", "{report:#}");
}

/// With `[llm]`, the answer the caller hears is the model's rephrasing, once it passes the
/// check against the assistant's own reply; the record keeps both.
#[test]
fn a_language_model_may_rephrase_the_answer_on_a_call() {
    let phrased = "Good news: order 10023 has shipped, and UPS is bringing it to you.";
    let answer = serde_json::json!({"choices": [{"message": {"content": phrased}}]}).to_string();
    let llm = HttpStub::start(&[("/v1/chat/completions", answer.as_str())]);
    let (kefu, _config) = kefu_with(&format!("[llm]\nurl = \"{}/v1\"\n", llm.url));
    let (record, turns, text) = ask_by_voice(
        &kefu,
        "Where is my order? The number is one zero zero two three.",
    );
    let [turn] = &turns[..] else {
        panic!("one turn: {record:#}\n{}", kefu.log_text());
    };
    assert!(
        turn["reply"].as_str().expect("reply").contains("shipped"),
        "{turn:#}"
    );
    assert_eq!(event_details(&record, "phrased"), [phrased], "{record:#}");
    let requests = llm.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].1.contains("10023"), "{requests:?}");
    assert!(
        text.contains("good news") && text.contains("shipped"),
        "the caller heard {text:?}"
    );
}

#[test]
fn transcribe_reads_an_order_number_through_its_grammar() {
    let model = speech_model().display().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = phone_wav(dir.path(), "order", "one zero zero two three");
    let out = kefu_cli(&[
        "transcribe",
        "--model",
        &model,
        "--grammar",
        "order_number",
        "--json",
        &wav,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(result["interpretation"], "10023", "{result:#}");
    assert_eq!(result["file"], wav);
    assert!(result["audio_seconds"].as_f64().expect("seconds") > 1.0);
    assert!(result["decode_seconds"].as_f64().is_some());
    assert!(result["confidence"].as_f64().expect("confidence") > 0.3);
}

#[test]
fn bad_audio_and_bad_models_are_one_line_errors() {
    let model = speech_model().display().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF\x10\x00\x00\x00WAVEfmt nonsense").expect("write");
    let out = kefu_cli(&[
        "transcribe",
        "--model",
        &model,
        &broken.display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.wav"), "{err}");
    assert!(
        err.lines().count() <= 2,
        "one line per problem, and the summary: {err}"
    );

    let truncated = dir.path().join("ggml-truncated.bin");
    let bytes = std::fs::read(&model).expect("model");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    let wav = phone_wav(dir.path(), "hello", "hello");
    let out = kefu_cli(&[
        "transcribe",
        "--model",
        &truncated.display().to_string(),
        &wav,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ggml-truncated.bin") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let out = kefu_cli(&[
        "transcribe",
        "--model",
        &model,
        "--grammar",
        "no_such",
        &wav,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no grammar \"no_such\""), "{err}");
}

#[test]
fn serve_without_a_model_takes_keys_and_says_how_to_install_one() {
    let kefu = Kefu::start_with(&["--model", "no-such-model"]);
    let (ok, out) = sipp(&kefu, "options.xml", &[], &[]);
    assert!(ok, "{out}");
    let log = kefu.log_text();
    assert!(
        log.contains("callers can use keys only") && log.contains("kefu models fetch"),
        "{log}"
    );
}
