//! SIP behaviour against SIPp and raw sockets: keys by INFO, hold and resume, unknown dialogs,
//! CANCEL while ringing, malformed messages over TCP, the call limit, and draining on SIGTERM.

mod support;

use std::time::{Duration, Instant};

use support::{Kefu, RtpPeer, background_call, edited_config, newest_call, sipp};

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

#[test]
fn a_caller_who_hangs_up_while_ringing_ends_as_caller_cancel() {
    let config = edited_config(|t| t.replace("answer_delay_ms = 0", "answer_delay_ms = 3000"));
    let config = config.path().join("sip-config/kefu.toml");
    let kefu = Kefu::start_with(&["--config", &config.display().to_string()]);
    let (ok, out) = sipp(&kefu, "uac_cancel.xml", &[], &[]);
    assert!(ok, "{out}\n{}", kefu.log_text());
    let record = newest_call(&kefu);
    assert_eq!(record["end_cause"], "caller.cancel", "{record:#}");
    assert!(
        record["answered_at"].is_null(),
        "never answered: {record:#}"
    );
}

/// Writes `request` on `stream` and reads one response (head and Content-Length body).
fn exchange(stream: &mut std::net::TcpStream, request: &str) -> String {
    use std::io::{Read, Write};
    stream.write_all(request.as_bytes()).expect("send");
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn tcp_request(method: &str, cseq: &str, content_length: Option<usize>) -> String {
    let length = content_length.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
    format!(
        "{method} sip:kefu@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-{cseq}\r\n\
         From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:kefu@127.0.0.1>\r\nCall-ID: tcp-probe\r\n\
         CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{length}\r\n"
    )
}

#[test]
fn malformed_requests_over_tcp_get_400_and_the_connection_survives_what_it_can() {
    let kefu = Kefu::start();
    let mut tcp = std::net::TcpStream::connect(kefu.sip).expect("SIP over TCP");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let ok = exchange(&mut tcp, &tcp_request("OPTIONS", "1", Some(0)));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    // A bad CSeq in a well-framed message: answered, and the stream goes on.
    let bad = tcp_request("OPTIONS", "x", Some(0));
    let answer = exchange(&mut tcp, &bad);
    assert!(
        answer.starts_with("SIP/2.0 400 Bad Request - bad CSeq"),
        "{answer}"
    );
    let ok = exchange(&mut tcp, &tcp_request("OPTIONS", "3", Some(0)));
    assert!(ok.starts_with("SIP/2.0 200"), "after a bad message: {ok}");
    // No Content-Length: the stream cannot be framed any more (RFC 3261 §18.3): 400, then closed.
    let answer = exchange(&mut tcp, &tcp_request("OPTIONS", "4", None));
    assert!(
        answer.starts_with("SIP/2.0 400 Bad Request - missing Content-Length"),
        "{answer}"
    );
    let mut rest = Vec::new();
    let read = std::io::Read::read_to_end(&mut tcp, &mut rest);
    assert!(
        read.is_ok() && rest.is_empty(),
        "closed after: {read:?} {rest:?}"
    );
    let (_, metrics) = kefu.http_get("/metrics").expect("metrics");
    assert!(
        metrics.contains(r#"kefu_sip_malformed_total{fault="cseq",action="answered"} 1"#)
            && metrics.contains(
                r#"kefu_sip_malformed_total{fault="missing_header",action="answered"} 1"#
            ),
        "{metrics}"
    );
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
