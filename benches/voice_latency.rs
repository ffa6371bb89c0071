//! Voice-to-voice latency on the wire: a caller asks questions, kefu answers with speech.
//!
//! `cargo bench --bench voice_latency [-- --turns N]` (default 30). An optimised `kefu serve`
//! runs a flow that greets (`say`), listens (no grammar, 500 ms endpoint) and answers every turn
//! with a `say` reply that repeats what it heard. SIPp places one PCMU call whose media go to
//! the bench's own RTP peer (tests/support, written independently of kefu's RTP code), which
//! speaks flite-rendered questions (8 kHz µ-law, trimmed to the voiced part) and records when
//! every packet from kefu arrives. Per turn: from the end of the caller's speech (the last
//! voiced packet leaving) to the first packet of kefu's reply that carries speech, as received
//! on loopback. Also: answer → greeting speech (from kefu's first RTP packet, sent on the first
//! tick after the answer) and kefu's own per-stage record (`latency` in the call timeline).
//! Needs sip-tester, flite, sox and a whisper model (`kefu models fetch`, as the tests do).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{
    Kefu, RtpPeer, SPEECH_RMS, background_call, payload_rms, say_ulaw, start_with_flow, trim_ulaw,
};

const SILENCE: [u8; 160] = [0xff; 160];

const FLOW: &str = r#"
start = "hello"
language = "en"
record_calls = false
[nodes.hello]
kind = "say"
text = "Hello. Ask me about your order."
next = "ask"
[nodes.ask]
kind = "listen"
speech = { end_silence_ms = 500 }
var = "said"
timeout_ms = 30000
retries = 1000
next = "answer"
on_failure = "ask"
[nodes.answer]
kind = "say"
text = "You asked: {said}. Your order shipped on Tuesday."
next = "ask"
"#;

const QUESTIONS: [&str; 6] = [
    "Where is my order?",
    "When will my parcel arrive?",
    "Can I return the kettle?",
    "I would like a refund please.",
    "Is the blue teapot in stock?",
    "What is your returns policy?",
];

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

/// The first received packet after `since` that carries speech.
fn first_speech(peer: &RtpPeer, since: Instant) -> Option<Instant> {
    peer.received
        .iter()
        .filter(|p| p.at > since && p.payload_type == 0)
        .find(|p| payload_rms(&p.payload) > SPEECH_RMS)
        .map(|p| p.at)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let turns: usize = args
        .iter()
        .position(|a| a == "--turns")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    // `--threads N`: whisper threads per decode (kefu.toml `threads_per_worker`).
    let threads: usize = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for tool in ["sipp", "flite", "sox"] {
        if std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            println!("voice_latency: SKIPPED: `{tool}` is not installed (run .ci/install-deps)");
            return;
        }
    }
    let (kefu, _config) = start_with_flow(FLOW, |text| {
        text.replace(
            "threads_per_worker = 1",
            &format!("threads_per_worker = {threads}"),
        )
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let questions: Vec<Vec<u8>> = QUESTIONS
        .iter()
        .map(|q| trim_ulaw(&say_ulaw(dir.path(), "slt", q)))
        .collect();

    let mut peer = RtpPeer::bind();
    let hold_ms = (turns as u32 + 2) * 7_000;
    let _sipp = background_call(&kefu, peer.port(), hold_ms);
    assert!(
        peer.wait_first_packet(Duration::from_secs(10)),
        "no RTP from kefu\n{}",
        kefu.log_text()
    );
    let first_packet = peer.received[0].at;
    peer.talk(Duration::from_millis(3000), 0, &SILENCE, 160);
    let greeting = first_speech(&peer, first_packet - Duration::from_millis(1))
        .map(|t| t.duration_since(first_packet).as_secs_f64() * 1000.0);

    let mut latencies = Vec::new();
    let mut missed = 0;
    for turn in 0..turns {
        // Wait until kefu has been silent for 600 ms (the previous reply is over).
        let mut quiet_since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            peer.talk(Duration::from_millis(20), 0, &SILENCE, 160);
            if peer
                .received
                .last()
                .is_some_and(|p| payload_rms(&p.payload) > SPEECH_RMS)
            {
                quiet_since = Instant::now();
            }
            if quiet_since.elapsed() >= Duration::from_millis(600) {
                break;
            }
        }
        peer.speak(&questions[turn % questions.len()]);
        // `speak` returns when the next packet is due: the last voiced one has left.
        let speech_end = Instant::now() - Duration::from_millis(20);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut reply = None;
        while reply.is_none() && Instant::now() < deadline {
            peer.talk(Duration::from_millis(20), 0, &SILENCE, 160);
            reply = first_speech(&peer, speech_end);
        }
        match reply {
            Some(at) => latencies.push(at.duration_since(speech_end).as_secs_f64() * 1000.0),
            None => missed += 1,
        }
    }
    // The call is still up (SIPp's own timeout ends it later): read its record live.
    let record = live_call(&kefu);
    let stages: Vec<serde_json::Value> = record["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|e| e["kind"] == "latency")
                .filter_map(|e| serde_json::from_str(e["detail"].as_str()?).ok())
                .collect()
        })
        .unwrap_or_default();
    let mean = |f: &dyn Fn(&serde_json::Value) -> Option<f64>| {
        let v: Vec<f64> = stages.iter().filter_map(f).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let gap = |a: &'static str, b: &'static str| {
        move |s: &serde_json::Value| Some(s[b].as_f64()? - s[a].as_f64()?)
    };

    latencies.sort_by(f64::total_cmp);
    println!("{}; {threads} whisper thread(s) per decode", load());
    println!(
        "voice-to-voice on the wire, {} turns ({missed} without a reply in 10 s): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        latencies.len(),
        pct(&latencies, 50.0),
        pct(&latencies, 95.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let mut endpoints: Vec<f64> = stages
        .iter()
        .filter_map(gap("speech_end_ms", "endpoint_ms"))
        .collect();
    endpoints.sort_by(f64::total_cmp);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("each turn on the wire, sorted (ms): {}", list(&latencies));
    println!(
        "each turn's speech end → endpoint in kefu's record, sorted (ms): {}",
        list(&endpoints)
    );
    println!(
        "greeting: first RTP packet → first speech packet {} ms",
        greeting.map_or("-".into(), |g| format!("{g:.0}"))
    );
    println!(
        "kefu's record, mean of {} turns (ms): speech end → endpoint {:.0}, → transcript {:.0}, → reply decided {:.0}, → first audio {:.0}, → first packet {:.0}; voice-to-voice {:.0}",
        stages.len(),
        mean(&gap("speech_end_ms", "endpoint_ms")),
        mean(&gap("endpoint_ms", "final_ms")),
        mean(&gap("final_ms", "reply_ms")),
        mean(&gap("reply_ms", "first_audio_ms")),
        mean(&gap("first_audio_ms", "first_packet_ms")),
        mean(&|s| s["voice_to_voice_ms"].as_f64()),
    );
}

/// The newest call's record while it is live.
fn live_call(kefu: &Kefu) -> serde_json::Value {
    let list = kefu.cli(&["calls", "list", "--json"]);
    let calls: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap_or_default();
    let id = calls[0]["id"].as_str().unwrap_or_default().to_owned();
    let show = kefu.cli(&["calls", "show", &id, "--json"]);
    serde_json::from_slice(&show.stdout).unwrap_or_default()
}

fn load() -> String {
    let up = std::process::Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!(
        "load average {}",
        up.split("load average:").nth(1).unwrap_or("?").trim()
    )
}
