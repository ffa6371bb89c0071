//! The control API on the HTTP listener: gRPC `kefu.v1.Calls` (list, get, watch, hang up),
//! gRPC-web from a browser's point of view, /metrics and /healthz.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use kefu::api::proto::calls_client::CallsClient;
use kefu::api::proto::{GetCallRequest, HangupCallRequest, ListCallsRequest, WatchCallsRequest};
use support::{Kefu, RtpPeer, background_call};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn grpc_lists_watches_and_hangs_up_a_live_call() {
    let kefu = Kefu::start();
    let mut peer = RtpPeer::bind();
    let url = format!("http://{}", kefu.http);
    runtime().block_on(async {
        let mut client = CallsClient::connect(url).await.expect("gRPC connects");
        let mut events = client
            .watch_calls(WatchCallsRequest {})
            .await
            .expect("watch")
            .into_inner();
        let call = background_call(&kefu, peer.port(), 20_000);

        // The stream tells us the call started and was answered.
        let mut kinds = Vec::new();
        let mut call_id = String::new();
        while !kinds.contains(&"answered".to_owned()) {
            let e = tokio::time::timeout(Duration::from_secs(10), events.message())
                .await
                .expect("an event within 10 s")
                .expect("stream open")
                .expect("stream not ended");
            call_id = e.call_id.clone();
            kinds.push(e.kind);
        }
        assert_eq!(kinds[0], "started");
        // "answered" is published before the call's media loop runs: wait for its first
        // packet, or a quick hang-up may beat it on a busy machine (and no RTP is counted).
        assert!(
            peer.wait_first_packet(Duration::from_secs(10)),
            "no RTP from kefu\n{}",
            kefu.log_text()
        );

        let live = client
            .list_calls(ListCallsRequest {
                limit: 10,
                live_only: true,
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(live.calls.len(), 1);
        assert_eq!(live.calls[0].id, call_id);
        assert!(live.calls[0].ended_at.is_empty(), "live");
        assert_eq!(live.calls[0].codec, "PCMU");

        let hung = client
            .hangup_call(HangupCallRequest {
                id: call_id.clone(),
            })
            .await
            .expect("hangup");
        assert!(hung.into_inner().hung_up);
        // kefu sends BYE: SIPp, which expected to hang up itself, sees an unexpected BYE.
        let (_, out) = tokio::task::spawn_blocking(move || call.join().expect("sipp thread"))
            .await
            .expect("join");
        assert!(out.contains("BYE"), "{out}");

        let mut ended = None;
        for _ in 0..50 {
            let c = client
                .get_call(GetCallRequest {
                    id: call_id.clone(),
                })
                .await
                .expect("get")
                .into_inner();
            if !c.ended_at.is_empty() {
                ended = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ended = ended.expect("the call ends after HangupCall");
        assert_eq!(ended.end_cause, "api.hangup");
        assert!(ended.flow_path.contains(&"greeting".to_owned()));
        let (_, metrics) = kefu.http_get("/metrics").expect("metrics");
        for name in [
            "kefu_active_calls",
            "kefu_calls_total{end_cause=\"api.hangup\"}",
            "kefu_rtp_packets_total",
            "kefu_rtp_lost_packets_total",
            "kefu_rtp_jitter_ms",
        ] {
            assert!(metrics.contains(name), "{name} missing:\n{metrics}");
        }

        let missing = client
            .get_call(GetCallRequest { id: "nope".into() })
            .await
            .expect_err("unknown id");
        assert_eq!(missing.code(), tonic::Code::NotFound);
        let again = client
            .hangup_call(HangupCallRequest { id: call_id })
            .await
            .expect_err("already ended");
        assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    });
}

#[test]
fn grpc_web_answers_a_browser_style_request() {
    let kefu = Kefu::start();
    // ListCalls with an empty request message: one uncompressed frame of length 0.
    let body = [0u8, 0, 0, 0, 0];
    let mut s = std::net::TcpStream::connect(kefu.http).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        s,
        "POST /kefu.v1.Calls/ListCalls HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/grpc-web+proto\r\n\
         X-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("write");
    s.write_all(&body).expect("body");
    let mut response = Vec::new();
    s.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(
        text.contains("content-type: application/grpc-web"),
        "{text}"
    );
    // The trailers travel in the body as a frame with the 0x80 flag: grpc-status 0.
    assert!(text.contains("grpc-status:0"), "{text}");
}

#[test]
fn metrics_and_healthz() {
    let kefu = Kefu::start();
    let (code, body) = kefu.http_get("/healthz").expect("healthz");
    assert_eq!(code, 200);
    assert!(body.starts_with("ok"), "{body}");
    let (ok, out) = support::sipp(&kefu, "options.xml", &[], &[]);
    assert!(ok, "{out}");
    let (code, metrics) = kefu.http_get("/metrics").expect("metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("kefu_sip_responses_total{code=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kefu_sip_requests_total{method=\"OPTIONS\"}"),
        "{metrics}"
    );
}
