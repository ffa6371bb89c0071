//! Speaking to callers, against real peers and real speech: a `say` node's reply reaches a SIPp
//! caller as RTP, and kefu's recogniser (whisper) reads what the caller received back; a caller
//! who talks over a long prompt silences it; `kefu say` and `kefu voices` work from the command
//! line and fail with one-line reasons.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{
    RtpPeer, SPEECH_RMS, background_call, newest_call, payload_rms, say_ulaw, start_with_flow,
    trim_ulaw,
};

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

#[test]
fn a_say_node_speaks_to_the_caller() {
    let (kefu, _config) = start_with_flow(FLOW, str::to_owned);
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
    let text = peer.heard_text();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    assert!(
        text.contains("order") && text.contains("friday") && digits.contains("10023"),
        "the caller heard {text:?}"
    );
}

/// A notice of about 13 s that a caller talks over.
const NOTICE: &str = "Thank you for calling the demo shop. Calls are recorded for training and quality. Our opening hours are nine to five, Monday to Friday. You can ask about an order, a delivery, a return or a refund. Please tell me how I can help you today.";

/// What follows the notice in both flows: what was heard, read back.
const AFTER_NOTICE: &str = r#"
speech = { end_silence_ms = 500 }
var = "said"
timeout_ms = 10000
retries = 0
next = "answer"
on_failure = "answer"
[nodes.answer]
kind = "say"
text = "You said: {said}"
next = "wait"
[nodes.wait]
kind = "menu"
prompt = "goodbye"
options = { "1" = "wait" }
timeout_ms = 60000
"#;

/// A listen node whose prompt is the notice as text (rendered at start), then a reply.
fn notice_as_prompt() -> String {
    format!(
        "start = \"ask\"\nlanguage = \"en\"\n[nodes.ask]\nkind = \"listen\"\nprompt = {{ text = \"{NOTICE}\" }}{AFTER_NOTICE}"
    )
}

/// The notice as a `say` reply, with the listening node after it.
fn notice_as_reply() -> String {
    format!(
        "start = \"notice\"\nlanguage = \"en\"\n[nodes.notice]\nkind = \"say\"\ntext = \"{NOTICE}\"\nnext = \"ask\"\n[nodes.ask]\nkind = \"listen\"{AFTER_NOTICE}"
    )
}

#[test]
fn a_caller_talking_over_a_long_prompt_silences_it() {
    caller_talks_over(&notice_as_prompt());
}

#[test]
fn a_caller_talking_over_a_reply_silences_it_and_is_heard_by_the_next_node() {
    caller_talks_over(&notice_as_reply());
}

/// Over a ~13 s notice, 3 s in, the caller says they want a person: the capture shows kefu
/// stopping, the record says where, and the words reach the listening node.
fn caller_talks_over(flow: &str) {
    let (kefu, _config) = start_with_flow(flow, str::to_owned);
    let dir = tempfile::tempdir().expect("temp dir");
    let question = trim_ulaw(&say_ulaw(dir.path(), "slt", "I want to talk to a person."));
    let mut peer = RtpPeer::bind();
    let sipp = background_call(&kefu, peer.port(), 14_000);
    assert!(
        peer.wait_first_packet(Duration::from_secs(10)),
        "no RTP from kefu\n{}",
        kefu.log_text()
    );
    let answered = peer.received[0].at;
    // kefu reads the notice (~13 s); 3 s in, the caller talks over it.
    peer.talk(Duration::from_millis(3000), 0, &SILENCE, 160);
    let spoke_at = std::time::Instant::now();
    peer.speak(&question);
    let spoke_until = std::time::Instant::now();
    peer.talk(Duration::from_millis(4000), 0, &SILENCE, 160);
    let (ok, out) = sipp.join().expect("sipp thread");
    assert!(ok, "sipp failed:\n{out}\n{}", kefu.log_text());

    // What the capture shows: kefu speaking up to the caller's words, then silent from one
    // packet on until well after they ended (the reply to them comes after the endpoint).
    let ms = |t: std::time::Instant| t.saturating_duration_since(answered).as_millis();
    let voiced: Vec<u128> = peer
        .received
        .iter()
        .filter(|p| p.payload_type == 0 && payload_rms(&p.payload) > SPEECH_RMS)
        .map(|p| ms(p.at))
        .collect();
    let before = voiced.iter().filter(|&&t| t < ms(spoke_at)).count();
    assert!(
        before > 100,
        "kefu was reading the notice: {before} voiced packets"
    );
    let last_before_stop = voiced
        .iter()
        .copied()
        .filter(|&t| t < ms(spoke_until) + 200)
        .max()
        .expect("voiced packets");
    let stop_after = last_before_stop.saturating_sub(ms(spoke_at));
    println!("kefu's voice stopped {stop_after} ms after the caller began talking over it");
    // It was talking when the caller began; 300 ms of their speech decides, and the detector
    // and the jitter buffer add a few frames. (The last voiced packet may come a little before
    // the decision: a prompt has quiet moments between words.)
    assert!(
        voiced
            .iter()
            .any(|&t| t + 500 >= ms(spoke_at) && t <= ms(spoke_at)),
        "kefu was silent before the caller spoke (voiced at {voiced:?})"
    );
    assert!(
        stop_after <= 600,
        "kefu's voice stopped {stop_after} ms after the caller began (voiced at {voiced:?})"
    );

    let record = newest_call(&kefu);
    let events = record["events"].as_array().expect("events");
    let detail = |kind: &str| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| e["kind"] == kind)
            .filter_map(|e| serde_json::from_str(e["detail"].as_str()?).ok())
            .collect()
    };
    let spoke = detail("spoke");
    let notice = spoke.first().expect("the notice is on the record");
    assert_eq!(notice["ended"], "interrupted", "{notice}");
    let played = notice["played_ms"].as_u64().expect("played_ms") as u128;
    println!(
        "the record: the notice played {played} ms; the caller began {} ms in",
        ms(spoke_at)
    );
    assert!(
        played + 100 >= ms(spoke_at) && played <= ms(spoke_at) + 700,
        "the record says it stopped at {played} ms; the caller spoke at {} ms",
        ms(spoke_at)
    );
    let heard: Vec<String> = detail("speech")
        .iter()
        .filter_map(|d| d["text"].as_str().map(str::to_lowercase))
        .collect();
    assert!(
        heard.iter().any(|t| t.contains("person")),
        "the caller's words reached the flow: {heard:?}"
    );
    assert!(
        spoke.iter().any(|s| s["what"]
            .as_str()
            .is_some_and(|w| w.to_lowercase().contains("person"))),
        "kefu answered them: {spoke:?}"
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
