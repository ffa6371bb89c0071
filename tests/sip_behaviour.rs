//! SIP behaviour against SIPp: keys by INFO, hold and resume, unknown dialogs, the call limit,
//! and draining on SIGTERM.

mod support;

use std::time::{Duration, Instant};

use support::{Kefu, RtpPeer, background_call, newest_call, sipp};

fn path_of(record: &serde_json::Value) -> Vec<String> {
    record["flow_path"]
        .as_array()
        .expect("flow_path is an array")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_key_sent_by_sip_info_chooses_the_branch() {
    let kefu = Kefu::start();
    let peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let (ok, out) = sipp(&kefu, "uac_info_dtmf.xml", &[("rtp_port", &port)], &[]);
    assert!(ok, "{out}\n{}", kefu.log_text());
    let record = newest_call(&kefu);
    assert_eq!(record["digits"], "2", "{record:#}");
    assert!(
        path_of(&record).contains(&"returns".to_owned()),
        "{record:#}"
    );
}

#[test]
fn hold_and_resume_are_answered_per_rfc3264() {
    let kefu = Kefu::start();
    let peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let (ok, out) = sipp(&kefu, "uac_hold.xml", &[("rtp_port", &port)], &[]);
    assert!(ok, "{out}\n{}", kefu.log_text());
    assert_eq!(newest_call(&kefu)["end_cause"], "caller.hangup");
}

#[test]
fn bye_for_an_unknown_dialog_gets_481() {
    let kefu = Kefu::start();
    let (ok, out) = sipp(&kefu, "bye_unknown.xml", &[], &[]);
    assert!(ok, "{out}\n{}", kefu.log_text());
}

fn wait_live_calls(kefu: &Kefu, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = kefu.http_get("/healthz").unwrap_or_default();
        if body.contains(&format!("live_calls {n}")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} live calls: {body}\n{}",
            kefu.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn calls_beyond_the_limit_get_503() {
    let kefu = Kefu::start_with(&["--max-calls", "1"]);
    let peer = RtpPeer::bind();
    let first = background_call(&kefu, peer.port(), 4000);
    wait_live_calls(&kefu, 1);
    let (ok, out) = sipp(&kefu, "uac_reject.xml", &[], &[]);
    assert!(!ok, "the second call must not get 488 but 503: {out}");
    assert!(out.contains("503"), "{out}");
    let (ok, out) = first.join().expect("sipp thread");
    assert!(ok, "the first call is unaffected: {out}");
    let list = kefu.cli(&["calls", "list", "--json"]);
    let calls: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    let causes: Vec<&str> = calls
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["end_cause"].as_str())
        .collect();
    assert!(causes.contains(&"sip.503.call_limit"), "{causes:?}");
}

#[test]
fn sigterm_drains_then_hangs_up() {
    let mut kefu = Kefu::start_with(&["--shutdown-grace", "2"]);
    let peer = RtpPeer::bind();
    // SIPp would hang up after 30 s; kefu must end the call first, 2 s after SIGTERM.
    let call = background_call(&kefu, peer.port(), 30_000);
    wait_live_calls(&kefu, 1);
    let pid = kefu.child.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(term.success());
    // While draining, new calls get 503 and /healthz says so.
    std::thread::sleep(Duration::from_millis(300));
    let (code, _) = kefu
        .http_get("/healthz")
        .expect("still serving while draining");
    assert_eq!(code, 503);
    let (ok, out) = sipp(&kefu, "uac_reject.xml", &[], &[]);
    assert!(
        !ok && out.contains("503"),
        "a new call while draining: {out}"
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = kefu.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "kefu did not stop\n{}",
            kefu.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "kefu exits cleanly: {status}\n{}",
        kefu.log_text()
    );
    // SIPp's scenario expected to send the BYE itself; kefu's BYE makes it fail with an
    // unexpected BYE, which is what we want to see.
    let (_, out) = call.join().expect("sipp thread");
    assert!(out.contains("BYE"), "kefu sent BYE: {out}");
    let record = only_call_after_exit(&kefu);
    assert_eq!(record, "server.shutdown");
}

fn only_call_after_exit(kefu: &Kefu) -> String {
    let list = kefu.cli(&["calls", "list", "--json"]);
    let calls: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    calls
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["codec"] == "PCMU")
        .and_then(|c| c["end_cause"].as_str())
        .unwrap_or_default()
        .to_owned()
}
