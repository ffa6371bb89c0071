//! Real-peer tests: SIPp does the signalling, the test's own RTP peer (written independently of
//! kefu's RTP code) sends keypad digits and keeps what kefu sends back.

mod support;

use std::time::Duration;

use support::{Kefu, RtpPeer, newest_call, sipp, ulaw_rms, ulaw_to_linear};

/// µ-law silence (0xFF is the code for 0).
const ULAW_SILENCE: [u8; 160] = [0xff; 160];
/// A-law silence (0xD5 is the code for 0).
const ALAW_SILENCE: [u8; 160] = [0xd5; 160];

struct Offer {
    pt: u8,
    rtpmap: &'static str,
    silence: Vec<u8>,
    ts_step: u32,
    /// SIPp's transport: `u1` (UDP) or `t1` (TCP).
    transport: &'static str,
}

/// Runs a call through the order branch: greeting, `1`, order number 10023, `#`, read-back.
/// Returns the peer (what kefu sent) and the call record.
fn order_call(offer: &Offer) -> (RtpPeer, serde_json::Value, Kefu) {
    let kefu = Kefu::start();
    let mut peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let pt = offer.pt.to_string();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let keys = [
                ("rtp_port", port.as_str()),
                ("codec_pt", pt.as_str()),
                ("codec_name", offer.rtpmap),
                ("te_pt", "101"),
            ];
            let hold = ["-d", "16000", "-t", offer.transport];
            done_tx
                .send(sipp(&kefu, "uac_call.xml", &keys, &hold))
                .expect("main thread waits");
        });
        assert!(
            peer.wait_first_packet(Duration::from_secs(10)),
            "no RTP from kefu\n{}",
            kefu.log_text()
        );
        // Greeting and the start of the menu: keep silence flowing so kefu latches to us.
        peer.talk(
            Duration::from_millis(2500),
            offer.pt,
            &offer.silence,
            offer.ts_step,
        );
        peer.press('1', 101, offer.pt, &offer.silence, offer.ts_step);
        // "Please enter your order number" plays; digits typed during it count.
        peer.talk(
            Duration::from_millis(1000),
            offer.pt,
            &offer.silence,
            offer.ts_step,
        );
        for d in "10023#".chars() {
            peer.press(d, 101, offer.pt, &offer.silence, offer.ts_step);
        }
        // The read-back plays until SIPp hangs up; keep listening till then, so the RTCP check
        // below sees the whole call (the second report can come 11.25 s after the first packet).
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        let (ok, out) = loop {
            peer.talk(
                Duration::from_millis(500),
                offer.pt,
                &offer.silence,
                offer.ts_step,
            );
            if let Ok(done) = done_rx.try_recv() {
                break done;
            }
            assert!(std::time::Instant::now() < deadline, "sipp finishes");
        };
        assert!(ok, "sipp failed:\n{out}\n{}", kefu.log_text());
    });
    let record = newest_call(&kefu);
    (peer, record, kefu)
}

fn assert_order_record(record: &serde_json::Value, codec: &str) {
    assert_eq!(record["direction"], "inbound");
    assert_eq!(record["codec"], codec, "{record:#}");
    assert_eq!(record["end_cause"], "caller.hangup", "{record:#}");
    assert_eq!(record["digits"], "110023#", "{record:#}");
    let path: Vec<&str> = record["flow_path"]
        .as_array()
        .expect("flow_path is an array")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for node in ["greeting", "menu", "order", "order-readback"] {
        assert!(path.contains(&node), "flow path {path:?} lacks {node}");
    }
    assert!(record["answered_at"].is_string());
    let recording = record["recording"].as_str().expect("recorded by default");
    let meta = std::fs::metadata(recording).expect("recording exists");
    // 16 kHz stereo 16-bit: 64 000 bytes a second; the call lasts ~16 s.
    assert!(
        meta.len() > 10 * 64_000,
        "recording is only {} bytes",
        meta.len()
    );
}

#[test]
fn pcmu_call_greets_and_follows_the_order_branch() {
    let offer = Offer {
        pt: 0,
        rtpmap: "PCMU/8000",
        silence: ULAW_SILENCE.to_vec(),
        ts_step: 160,
        transport: "u1",
    };
    let (peer, record, _kefu) = order_call(&offer);
    let audio = peer.audio(0);
    // The peer listens for ~9 s of the call: 20 ms packets throughout.
    assert!(audio.len() > 400, "only {} audio packets", audio.len());
    assert!(
        audio.iter().all(|p| p.payload.len() == 160),
        "every packet carries 20 ms"
    );
    // The greeting is speech: the first two seconds are loud, not silence.
    let greeting: Vec<_> = audio.iter().take(100).copied().collect();
    let rms = ulaw_rms(&greeting);
    assert!(rms > 500.0, "greeting RMS {rms:.0} is too quiet");
    // Sequence numbers from kefu never skip.
    for w in audio.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "sequence gap");
        assert_eq!(
            w[1].timestamp,
            w[0].timestamp.wrapping_add(160),
            "timestamp step"
        );
    }
    assert_eq!(ulaw_to_linear(0xff), 0);
    assert_order_record(&record, "PCMU");
    // RTCP (RFC 3550 §6.4.1): sender reports from the SSRC of kefu's audio, counting what it sent.
    let ssrc = audio[0].ssrc;
    let reports: Vec<(u32, u32)> = peer
        .rtcp_received
        .iter()
        .filter(|p| p.len() >= 28 && p[1] == 200)
        .map(|p| {
            let word = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
            (word(4), word(20))
        })
        .collect();
    assert!(
        reports.len() >= 2,
        "sender reports: {reports:?} of {} RTCP packets",
        peer.rtcp_received.len()
    );
    for w in reports.windows(2) {
        assert_eq!(w[0].0, ssrc, "report SSRC");
        assert!(w[1].1 > w[0].1, "packet count grows: {reports:?}");
    }
    let last = reports.last().expect("reports").1 as usize;
    assert!(
        last <= audio.len() + 5,
        "reported {last} packets sent, {} seen",
        audio.len()
    );
}

#[test]
fn pcma_call_over_tcp_is_answered_in_pcma() {
    let offer = Offer {
        pt: 8,
        rtpmap: "PCMA/8000",
        silence: ALAW_SILENCE.to_vec(),
        ts_step: 160,
        transport: "t1",
    };
    let (peer, record, _kefu) = order_call(&offer);
    assert!(peer.audio(8).len() > 400);
    assert!(
        peer.audio(0).is_empty(),
        "nothing in PCMU when PCMA was offered"
    );
    assert_order_record(&record, "PCMA");
}

#[test]
fn g722_call_is_answered_in_g722() {
    // G.722 silence: any valid 64 kbit/s payload; kefu decodes it, the test only needs it valid.
    let offer = Offer {
        pt: 9,
        rtpmap: "G722/8000",
        silence: vec![0xfa; 160],
        ts_step: 160,
        transport: "u1",
    };
    let (peer, record, _kefu) = order_call(&offer);
    let audio = peer.audio(9);
    assert!(audio.len() > 400);
    assert!(
        audio.iter().all(|p| p.payload.len() == 160),
        "G.722 at 64 kbit/s: 160 bytes per 20 ms"
    );
    assert_order_record(&record, "G722");
}

#[test]
fn unsupported_codec_gets_488_and_a_record() {
    let kefu = Kefu::start();
    let (ok, out) = sipp(&kefu, "uac_reject.xml", &[], &[]);
    assert!(ok, "sipp did not see 488:\n{out}\n{}", kefu.log_text());
    assert_eq!(newest_call(&kefu)["end_cause"], "sip.488");
}

#[test]
fn options_gets_200_and_malformed_invite_gets_400() {
    let kefu = Kefu::start();
    let (ok, out) = sipp(&kefu, "options.xml", &[], &[]);
    assert!(ok, "OPTIONS:\n{out}");
    let (ok, out) = sipp(&kefu, "malformed_invite.xml", &[], &[]);
    assert!(ok, "malformed INVITE:\n{out}\n{}", kefu.log_text());
    let (_, metrics) = kefu.http_get("/metrics").expect("metrics served");
    assert!(metrics.contains("kefu_sip_malformed_total"), "{metrics}");
    // Still answering after the bad message.
    let (ok, _) = sipp(&kefu, "options.xml", &[], &[]);
    assert!(ok);
}

#[test]
fn inband_keys_work_without_telephone_event() {
    let kefu = Kefu::start();
    let mut peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let keys = [("rtp_port", port.as_str())];
            let out = sipp(&kefu, "uac_call_inband.xml", &keys, &["-d", "12000"]);
            done_tx.send(out).expect("main thread waits");
        });
        assert!(
            peer.wait_first_packet(Duration::from_secs(10)),
            "no RTP\n{}",
            kefu.log_text()
        );
        peer.talk(Duration::from_millis(2500), 0, &ULAW_SILENCE, 160);
        peer.press_inband('1');
        peer.talk(Duration::from_millis(1000), 0, &ULAW_SILENCE, 160);
        for key in "4567#".chars() {
            peer.press_inband(key);
        }
        peer.talk(Duration::from_millis(2000), 0, &ULAW_SILENCE, 160);
        let (ok, out) = done_rx
            .recv_timeout(Duration::from_secs(40))
            .expect("sipp finishes");
        assert!(ok, "sipp failed:\n{out}\n{}", kefu.log_text());
    });
    let record = newest_call(&kefu);
    assert_eq!(record["digits"], "14567#", "{record:#}");
}

#[test]
fn the_binary_answers_with_its_embedded_demo_outside_the_repo() {
    let kefu = Kefu::start_embedded();
    assert!(
        kefu.log_text().contains("embedded defaults"),
        "{}",
        kefu.log_text()
    );
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
            done_tx
                .send(sipp(&kefu, "uac_call.xml", &keys, &["-d", "3000"]))
                .expect("main thread waits");
        });
        assert!(
            peer.wait_first_packet(Duration::from_secs(10)),
            "no RTP\n{}",
            kefu.log_text()
        );
        peer.talk(Duration::from_millis(2000), 0, &ULAW_SILENCE, 160);
        let (ok, out) = done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("sipp finishes");
        assert!(ok, "{out}");
    });
    let greeting: Vec<_> = peer.audio(0).into_iter().take(80).collect();
    assert!(
        ulaw_rms(&greeting) > 500.0,
        "the embedded greeting is not playing"
    );
}
