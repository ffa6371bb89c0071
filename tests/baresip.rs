//! Real-softphone tests: baresip (Debian baresip-core 1.0.0, headless) calls kefu, registers as
//! an agent, presses keys and talks; what each phone heard is checked from the WAVs its sndfile
//! module wrote. Fixtures (speech, tones) are made with flite and sox at test time.
//!
//! Run one at a time (`-- --test-threads=1`): each test starts kefu and one or two phones.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::Kefu;
use support::baresip::{Baresip, Event, Options, silence_wav, speech_wav, tone_wav};

/// What silence sounds like after decoding (PCMU's smallest codes, Opus' noise floor) is far
/// below this; flite speech and kefu's prompts are far above it (RMS in sample units).
const LOUD: f64 = 800.0;

/// How long the caller waits after the answer before pressing a key: the greeting is 1.95 s, so
/// the key lands in the main menu.
const BEFORE_KEY: Duration = Duration::from_millis(2500);

fn hotline(kefu: &Kefu) -> String {
    format!("sip:100@127.0.0.1:{}", kefu.sip.port())
}

/// A caller account offering only `codec` (baresip's `audio_codecs` names), never registering.
fn caller_account(codec: &str) -> String {
    format!("<sip:caller@127.0.0.1>;regint=0;audio_codecs={codec}")
}

fn agent_account(kefu: &Kefu, name: &str, password: &str, answermode: &str) -> String {
    format!(
        "<sip:{name}@127.0.0.1:{}>;auth_pass={password};regint=60;answermode={answermode}",
        kefu.sip.port()
    )
}

fn phone(name: &str, source: &Path, accounts: &[String], kefu: &Kefu) -> Baresip {
    let mut b = Baresip::start(Options {
        name,
        audio_source: source,
        accounts,
    });
    b.also_show(&kefu.log);
    b
}

/// The codec baresip settled on, from its own output ("audio: Set audio encoder: PCMU 8000Hz").
fn negotiated_codec(phone: &Baresip) -> String {
    let out = phone.output();
    match out
        .lines()
        .find_map(|l| l.strip_prefix("audio: Set audio encoder: "))
        .and_then(|rest| rest.split_whitespace().next())
    {
        Some(c) => c.to_owned(),
        None => phone.fail("never set an audio encoder"),
    }
}

fn path_of(record: &serde_json::Value) -> Vec<String> {
    record["flow_path"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn timeline(record: &serde_json::Value, kind: &str) -> Vec<String> {
    record["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["kind"] == kind)
                .filter_map(|e| e["detail"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `kefu calls show <sip call-id> --json` while the call may still be live.
fn live_record(kefu: &Kefu, sip_call_id: &str) -> Option<serde_json::Value> {
    let out = kefu.cli(&["calls", "show", sip_call_id, "--json"]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Seconds from `a` to `b`.
fn secs(a: &Event, b: &Event) -> f64 {
    b.at.saturating_duration_since(a.at).as_secs_f64()
}

/// Dials the hotline and waits until the call is up; returns the CALL_ESTABLISHED event.
fn dial(caller: &mut Baresip, kefu: &Kefu) -> Event {
    caller.dial(&hotline(kefu));
    let e = caller.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(e.json["id"].is_string(), "{}", caller.report("no call id"));
    e
}

/// Fails unless the call stays up for `d` (a CALL_CLOSED meanwhile means someone hung up).
fn stays_up(phone: &mut Baresip, d: Duration) {
    if let Some(e) = phone.try_wait_event(&["CALL_CLOSED"], d) {
        phone.fail(&format!("the call closed early: {}", e.json));
    }
}

fn hang_up(caller: &mut Baresip) {
    caller.hangup();
    caller.wait_event("CALL_CLOSED", Duration::from_secs(5));
}

/// Test 1: the greeting reaches a real phone, in the codec it offered.
fn caller_hears_the_greeting(offer: &str) {
    let kefu = Kefu::start();
    let fixtures = tempfile::tempdir().expect("temp dir");
    let source = silence_wav(fixtures.path(), "silence", 30);
    let mut caller = phone("caller", &source, &[caller_account(offer)], &kefu);
    let established = dial(&mut caller, &kefu);
    let call_id = established.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    stays_up(&mut caller, Duration::from_secs(6));
    hang_up(&mut caller);

    let heard = caller.heard();
    let first = heard.rms(0.0, 3.0);
    let report = format!(
        "heard {:.2} s at {} Hz x{}, RMS of the first 3 s {first:.0}",
        heard.seconds(),
        heard.rate,
        heard.channels
    );
    eprintln!("{offer}: {report}");
    assert!(heard.seconds() >= 4.0, "{}", caller.report(&report));
    assert!(first > LOUD, "{}", caller.report(&report));

    let list = kefu.cli(&["calls", "list", "--json"]);
    let calls: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap_or_else(|_| {
        panic!(
            "calls list --json: {}",
            String::from_utf8_lossy(&list.stderr)
        )
    });
    let listed = calls
        .as_array()
        .and_then(|a| a.iter().find(|c| c["sip_call_id"] == call_id.as_str()))
        .unwrap_or_else(|| caller.fail(&format!("call {call_id} not in {calls:#}")));
    assert_eq!(listed["direction"], "inbound");
    let record = kefu.ended_call(&call_id);
    assert_eq!(record["end_cause"], "caller.hangup", "{record:#}");
    let codec = negotiated_codec(&caller);
    assert!(
        record["codec"]
            .as_str()
            .is_some_and(|c| c.eq_ignore_ascii_case(&codec)),
        "baresip negotiated {codec}, kefu recorded {}",
        record["codec"]
    );
    assert!(path_of(&record).contains(&"greeting".to_owned()));
}

#[test]
fn baresip_caller_hears_the_greeting() {
    caller_hears_the_greeting("PCMU/8000/1");
}

#[test]
fn baresip_caller_hears_the_greeting_in_opus() {
    caller_hears_the_greeting("opus/48000/2");
}

/// After the greeting kefu plays the main menu ("For an order, press 1 ...", 4.8 s) without
/// waiting for a key.
#[test]
fn baresip_caller_hears_the_menu_after_the_greeting() {
    let kefu = Kefu::start();
    let fixtures = tempfile::tempdir().expect("temp dir");
    let source = silence_wav(fixtures.path(), "silence", 30);
    let mut caller = phone("caller", &source, &[caller_account("PCMU/8000/1")], &kefu);
    let established = dial(&mut caller, &kefu);
    let call_id = established.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    stays_up(&mut caller, Duration::from_secs(7));
    hang_up(&mut caller);
    let heard = caller.heard();
    let menu = heard.rms(2.5, 6.0);
    let record = kefu.ended_call(&call_id);
    assert!(
        path_of(&record).contains(&"menu".to_owned()),
        "{}",
        caller.report(&format!("flow path {:?}", path_of(&record)))
    );
    assert!(
        menu > LOUD,
        "{}",
        caller.report(&format!(
            "2.5-6 s after the answer RMS {menu:.0}: no menu prompt"
        ))
    );
}

/// Test 2: an agent phone registers with digest auth, the caller presses 0, kefu rings the agent
/// and bridges the two: each hears the other.
#[test]
fn registered_agent_gets_the_transferred_call() {
    let kefu = Kefu::start();
    let fixtures = tempfile::tempdir().expect("temp dir");
    let agent_voice = speech_wav(
        fixtures.path(),
        "agent",
        "This is the agent speaking. How can I help you?",
        40,
    );
    // The caller's voice is a 440 Hz tone: easy to tell from anything kefu or the agent says.
    let caller_voice = tone_wav(fixtures.path(), "caller", 440, 40);

    let mut agent = phone("agent 1001", &agent_voice, &[], &kefu);
    agent.uanew(&agent_account(&kefu, "1001", "change-me-1001", "auto"));
    let reg = agent
        .try_wait_event(&["REGISTER_OK", "REGISTER_FAIL"], Duration::from_secs(10))
        .unwrap_or_else(|| agent.fail("no REGISTER_OK within 10 s"));
    assert_eq!(
        reg.kind(),
        "REGISTER_OK",
        "{}",
        agent.report("not registered")
    );

    let mut caller = phone(
        "caller",
        &caller_voice,
        &[caller_account("PCMU/8000/1")],
        &kefu,
    );
    let established = dial(&mut caller, &kefu);
    let call_id = established.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    stays_up(&mut caller, BEFORE_KEY);
    caller.send_dtmf("0");
    let pressed = Instant::now();

    // With answermode=auto baresip 1.0.0 answers at once and reports no CALL_INCOMING.
    let offered = agent.wait_event("CALL_REMOTE_SDP", Duration::from_secs(10));
    let bridged = agent.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    // A key the caller presses now reaches the agent's phone as RFC 4733 events from kefu.
    stays_up(&mut caller, Duration::from_secs(1));
    caller.send_dtmf("5");
    let key = agent.wait_event("CALL_DTMF_START", Duration::from_secs(5));
    assert_eq!(key.json["param"], "5", "{}", agent.report("relayed key"));
    // Both sides talk for a while.
    stays_up(&mut caller, Duration::from_secs(3));
    hang_up(&mut caller);
    // kefu ends the agent's leg when the caller hangs up.
    agent.wait_event("CALL_CLOSED", Duration::from_secs(10));

    let what = format!(
        "key at {:.2} s, agent rang at {:.2} s and answered at {:.2} s after the caller's answer",
        pressed
            .saturating_duration_since(established.at)
            .as_secs_f64(),
        secs(&established, &offered),
        secs(&established, &bridged)
    );

    // The caller hears the agent's speech once bridged.
    let heard = caller.heard();
    let from = secs(&established, &bridged) + 0.5;
    let agent_speech = heard.rms(from, from + 3.0);
    assert!(
        agent_speech > LOUD,
        "{}",
        caller.report(&format!(
            "{what}; RMS of what the caller heard {from:.2}-{:.2} s: {agent_speech:.0}",
            from + 3.0
        ))
    );

    // The agent hears the caller's tone: loud, and about 880 zero crossings a second.
    let agent_heard = agent.heard();
    let tone = agent_heard.rms(0.5, 3.5);
    let crossings = agent_heard.crossings_per_second(0.5, 3.5);
    let detail = format!(
        "{what}; the agent heard {:.2} s, RMS {tone:.0}, {crossings:.0} zero crossings/s",
        agent_heard.seconds()
    );
    eprintln!("{detail}; the caller heard RMS {agent_speech:.0} from the agent");
    assert!(tone > LOUD, "{}", agent.report(&detail));
    assert!(
        (800.0..960.0).contains(&crossings),
        "{}",
        agent.report(&format!("{detail}: not the caller's 440 Hz tone"))
    );

    let record = kefu.ended_call(&call_id);
    let transfers = timeline(&record, "transfer");
    assert!(
        transfers.iter().any(|t| t == "connected"),
        "transfer events {transfers:?}\n{record:#}"
    );
    assert!(path_of(&record).contains(&"agent".to_owned()), "{record:#}");
    assert_eq!(record["digits"], "05", "{record:#}");
    assert_eq!(record["end_cause"], "caller.hangup", "{record:#}");
}

/// The transfer node's `announce` ("Please hold while we connect you to a person", 2.1 s) plays
/// to the caller before the agent is rung.
#[test]
fn caller_hears_the_announcement_before_the_agent_rings() {
    let kefu = Kefu::start();
    let fixtures = tempfile::tempdir().expect("temp dir");
    let agent_voice = speech_wav(fixtures.path(), "agent", "This is the agent speaking.", 40);
    let silence = silence_wav(fixtures.path(), "silence", 40);
    let mut agent = phone("agent 1001", &agent_voice, &[], &kefu);
    agent.uanew(&agent_account(&kefu, "1001", "change-me-1001", "manual"));
    agent.wait_event("REGISTER_OK", Duration::from_secs(10));
    let mut caller = phone("caller", &silence, &[caller_account("PCMU/8000/1")], &kefu);
    let established = dial(&mut caller, &kefu);
    stays_up(&mut caller, BEFORE_KEY);
    caller.send_dtmf("0");
    let pressed = Instant::now();
    let incoming = agent.wait_event("CALL_INCOMING", Duration::from_secs(10));
    // Let it ring for a while, then pick up.
    std::thread::sleep(Duration::from_millis(2500));
    agent.answer();
    agent.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    stays_up(&mut caller, Duration::from_secs(1));
    hang_up(&mut caller);

    let key = pressed
        .saturating_duration_since(established.at)
        .as_secs_f64();
    let heard = caller.heard();
    let announce = heard.rms(key + 0.2, key + 1.8);
    let rang_after = incoming.at.saturating_duration_since(pressed).as_secs_f64();
    assert!(
        announce > LOUD,
        "{}",
        caller.report(&format!(
            "RMS {announce:.0} in the 1.6 s after the key: no announcement"
        ))
    );
    assert!(
        rang_after > 1.5,
        "the agent rang {rang_after:.2} s after the key, before the 2.1 s announcement ended"
    );
}

/// Test 3: nobody is registered for the queue (an agent phone with a wrong password is refused),
/// so pressing 0 goes back to the flow: the `message` node.
#[test]
fn unregistered_queue_falls_back_to_the_message() {
    let kefu = Kefu::start();
    let fixtures = tempfile::tempdir().expect("temp dir");
    let silence = silence_wav(fixtures.path(), "silence", 40);

    // kefu refuses a wrong password: the 401 challenge is real, and 1002 stays unregistered.
    let mut intruder = phone("agent 1002 (wrong password)", &silence, &[], &kefu);
    intruder.uanew(&agent_account(&kefu, "1002", "not-the-password", "auto"));
    let reg = intruder
        .try_wait_event(&["REGISTER_OK", "REGISTER_FAIL"], Duration::from_secs(10))
        .unwrap_or_else(|| intruder.fail("no REGISTER_FAIL within 10 s"));
    assert_eq!(
        reg.kind(),
        "REGISTER_FAIL",
        "{}",
        intruder.report("a wrong password registered")
    );

    let mut caller = phone("caller", &silence, &[caller_account("PCMU/8000/1")], &kefu);
    let established = dial(&mut caller, &kefu);
    let call_id = established.json["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    stays_up(&mut caller, BEFORE_KEY);
    caller.send_dtmf("0");
    let pressed = Instant::now();

    // Wait for the flow to reach the message node.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut path = Vec::new();
    while Instant::now() < deadline {
        if let Some(r) = live_record(&kefu, &call_id) {
            path = path_of(&r);
            if path.contains(&"message".to_owned()) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        path.contains(&"message".to_owned()),
        "{}",
        caller.report(&format!("flow path {path:?} never reached `message`"))
    );
    // "All our agents are busy. Please leave a message after the tone." (3.4 s)
    stays_up(&mut caller, Duration::from_secs(3));
    hang_up(&mut caller);

    let key = pressed
        .saturating_duration_since(established.at)
        .as_secs_f64();
    let heard = caller.heard();
    let busy = heard.rms(key + 0.3, key + 2.8);
    eprintln!("key at {key:.2} s; RMS {busy:.0} after it; flow path {path:?}");
    assert!(
        busy > LOUD,
        "{}",
        caller.report(&format!(
            "RMS {busy:.0} in the 2.5 s after the key: the caller heard nothing"
        ))
    );
    let record = kefu.ended_call(&call_id);
    let path = path_of(&record);
    for node in ["agent", "message"] {
        assert!(path.contains(&node.to_owned()), "{record:#}");
    }
    let transfers = timeline(&record, "transfer");
    assert!(
        transfers.iter().any(|t| t.starts_with("failed")),
        "transfer events {transfers:?}\n{record:#}"
    );
    assert!(!transfers.iter().any(|t| t == "connected"), "{record:#}");
    assert_eq!(record["end_cause"], "caller.hangup", "{record:#}");
}
