//! SDP parsing and offer/answer against real-world offers, hold cases, errors and properties.
use super::*;
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn pcmu() -> AudioCodecSpec {
    AudioCodecSpec::new("PCMU", 8000, 1)
}
fn pcma() -> AudioCodecSpec {
    AudioCodecSpec::new("PCMA", 8000, 1)
}
fn g722() -> AudioCodecSpec {
    AudioCodecSpec::new("G722", 8000, 1)
}
fn opus() -> AudioCodecSpec {
    AudioCodecSpec::new("opus", 48000, 2)
}

fn local() -> LocalMedia {
    LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        port: 20_000,
        session_id: 4242,
        session_version: 1,
    }
}

fn answer(offer: &str, supported: &[AudioCodecSpec]) -> Result<Answer, SdpError> {
    negotiate_answer(&SessionDescription::parse(offer)?, supported, &local())
}

fn line_of(err: SdpError) -> (usize, String) {
    match err {
        SdpError::Malformed { line, reason } => (line, reason),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// SIPp 3.6 `uac` scenario, LF line endings.
const SIPP: &str = "v=0\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\n\
s=-\n\
c=IN IP4 127.0.0.1\n\
t=0 0\n\
m=audio 6000 RTP/AVP 0\n\
a=rtpmap:0 PCMU/8000\n";

/// SIPp with `play_dtmf`: telephone-event on PT 96.
const SIPP_DTMF: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6002 RTP/AVP 0 96\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\n";

const BARESIP: &str = "v=0\r\n\
o=- 2890844526 2890844527 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 10004 RTP/AVP 96 9 0 8 101\r\n\
b=AS:128\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=rtcp-rsize\r\n\
a=ssrc:3477815634 cname:5d1d4b2a-7f4c-4c63-9a1c-0b7f0c0e9b7a\r\n\
a=ptime:20\r\n";

const CHROME: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0 1\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Wq3B\r\n\
a=ice-pwd:l5hv6YSgPW3vU4Hbsm9nVJ6F\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A:3D:D6:A3:E2:9C:17:4C:E7:46:3B:1B:CE:84:98:DD:8E:AF:7B\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=sendrecv\r\n\
a=msid:- 0f6d3b3e-6b0e-4a5c-9a55-3b1b1e3c9f0e\r\n\
a=rtcp-mux\r\n\
a=rtcp-rsize\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\n\
a=fmtp:63 111/111\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:13 CN/8000\r\n\
a=rtpmap:110 telephone-event/48000\r\n\
a=rtpmap:126 telephone-event/8000\r\n\
a=ssrc:2923380493 cname:Yd3D1vE0xq9ZSqGv\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n\
c=IN IP4 0.0.0.0\r\n\
a=mid:1\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\n\
a=rtpmap:97 rtx/90000\r\n\
a=fmtp:97 apt=96\r\n\
a=recvonly\r\n";

const LINPHONE: &str = "v=0\r\n\
o=alice 2196 1396 IN IP4 192.168.0.5\r\n\
s=Talk\r\n\
c=IN IP4 192.168.0.5\r\n\
t=0 0\r\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
a=record:off\r\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=fmtp:97 vbr=on\r\n\
a=rtpmap:98 speex/8000\r\n\
a=fmtp:98 vbr=on\r\n\
a=fmtp:18 annexb=yes\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:99 telephone-event/16000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n\
m=video 9078 RTP/AVP 96 97\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtpmap:97 H264/90000\r\n\
a=fmtp:97 profile-level-id=42801F\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n";

#[test]
fn sipp_offer() {
    let a = answer(SIPP, &[pcma(), pcmu()]).unwrap();
    let n = &a.negotiated;
    assert_eq!(n.codec.payload_type, 0);
    assert_eq!(n.codec.name, "PCMU");
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.remote_rtp, "127.0.0.1:6000".parse().unwrap());
    assert_eq!(n.direction, Direction::SendRecv);
    assert!(!n.rtcp_mux);
    let text = a.description.to_string();
    assert_eq!(
        text,
        "v=0\r\no=kefu 4242 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
         m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    assert_eq!(SessionDescription::parse(&text).unwrap(), a.description);
}

#[test]
fn sipp_dtmf_offer_uses_pt_96() {
    let a = answer(SIPP_DTMF, &[pcmu()]).unwrap();
    assert_eq!(a.negotiated.telephone_event, Some(96));
    let m = &a.description.media[0];
    assert_eq!(m.formats, ["0", "96"]);
    assert_eq!(m.fmtp(96), Some("0-15"));
}

#[test]
fn baresip_offer_in_offer_order() {
    let offer = SessionDescription::parse(BARESIP).unwrap();
    let m = &offer.media[0];
    assert_eq!(m.formats, ["96", "9", "0", "8", "101"]);
    assert_eq!(m.ptime, Some(20));
    assert_eq!(m.direction, Some(Direction::SendRecv));
    assert_eq!(
        m.other_lines,
        [SdpLine {
            kind: 'b',
            value: "AS:128".into()
        }]
    );
    assert_eq!(m.rtpmap(96).unwrap().channels, Some(2));

    // Our preference puts PCMA first, but the offer's order decides (RFC 3264 §6.1).
    let a = answer(BARESIP, &[pcma(), pcmu()]).unwrap();
    assert_eq!(a.negotiated.codec.payload_type, 0);
    let a = answer(BARESIP, &[pcma(), pcmu(), g722()]).unwrap();
    assert_eq!(a.negotiated.codec.name, "G722");
    assert_eq!(a.negotiated.codec.clock_rate, 8000);
    assert_eq!(a.negotiated.telephone_event, Some(101));

    let a = answer(BARESIP, &[opus(), pcmu()]).unwrap();
    let codec = &a.negotiated.codec;
    assert_eq!(
        (codec.payload_type, codec.clock_rate, codec.channels),
        (96, 48000, 2)
    );
    assert_eq!(codec.fmtp.as_deref(), Some("stereo=1;sprop-stereo=1"));
    // telephone-event is always the 8000 Hz one.
    assert_eq!(a.negotiated.telephone_event, Some(101));
    let text = a.description.to_string();
    assert!(text.contains("m=audio 20000 RTP/AVP 96 101\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"));
    assert!(text.contains("a=fmtp:96 stereo=1;sprop-stereo=1\r\n"));
    assert!(text.contains("a=fmtp:101 0-15\r\n"));
}

#[test]
fn chrome_offer_parses_but_is_not_plain_rtp() {
    let offer = SessionDescription::parse(CHROME).unwrap();
    assert_eq!(offer.connection, None);
    assert_eq!(offer.media.len(), 2);
    let audio = &offer.media[0];
    assert!(audio.rtcp_mux);
    assert_eq!(audio.rtpmap(126).unwrap().clock_rate, 8000);
    assert_eq!(audio.fmtp(111), Some("minptime=10;useinbandfec=1"));
    assert_eq!(offer.media[1].direction, Some(Direction::RecvOnly));
    assert!(
        offer
            .attributes
            .iter()
            .any(|a| a.name == "group" && a.value.as_deref() == Some("BUNDLE 0 1"))
    );
    assert_eq!(
        negotiate_answer(&offer, &[opus(), pcmu()], &local()),
        Err(SdpError::NoAudio)
    );

    // The same streams as a gateway forwards them over plain RTP.
    let plain = CHROME
        .replace("UDP/TLS/RTP/SAVPF", "RTP/AVPF")
        .replace("c=IN IP4 0.0.0.0", "c=IN IP4 198.51.100.7");
    let a = answer(&plain, &[pcmu(), opus()]).unwrap();
    assert_eq!(a.negotiated.codec.payload_type, 111);
    assert_eq!(a.negotiated.telephone_event, Some(126));
    assert!(a.negotiated.rtcp_mux);
    assert_eq!(a.negotiated.remote_rtp, "198.51.100.7:9".parse().unwrap());
    let video = &a.description.media[1];
    assert_eq!((video.port, video.proto.as_str()), (0, "RTP/AVPF"));
    assert_eq!(video.formats, ["96", "97"]);
    let text = a.description.to_string();
    assert!(
        text.contains("m=audio 20000 RTP/AVPF 111 126\r\n"),
        "{text}"
    );
    assert!(text.contains("a=rtcp-mux\r\n"));
    assert!(text.ends_with("m=video 0 RTP/AVPF 96 97\r\n"));
}

#[test]
fn linphone_offer_answers_audio_and_rejects_video() {
    let offer = SessionDescription::parse(LINPHONE).unwrap();
    assert_eq!(offer.session_name, "Talk");
    assert_eq!(offer.attributes.len(), 2);
    let a = negotiate_answer(&offer, &[pcma(), pcmu()], &local()).unwrap();
    assert_eq!(a.negotiated.codec.payload_type, 0);
    assert_eq!(a.negotiated.telephone_event, Some(100));
    assert_eq!(a.negotiated.media_index, 0);
    assert_eq!(a.description.media.len(), 2);
    assert_eq!(a.description.media[1].port, 0);
    assert_eq!(a.description.media[1].media, "video");
    // G.729 is static: it resolves without an rtpmap, with its fmtp.
    let g729 = answer(LINPHONE, &[AudioCodecSpec::new("G729", 8000, 1)]).unwrap();
    assert_eq!(g729.negotiated.codec.payload_type, 18);
    assert_eq!(g729.negotiated.codec.fmtp.as_deref(), Some("annexb=yes"));
    assert_eq!(g729.description.media[0].rtpmaps[0].encoding, "G729");
}

#[test]
fn static_payload_types_without_rtpmap_and_names_in_any_case() {
    let offer =
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 8 0 9\n";
    let a = answer(offer, &[pcmu(), pcma()]).unwrap();
    assert_eq!(a.negotiated.codec.name, "PCMA");
    let a = answer(offer, &[g722()]).unwrap();
    assert_eq!(a.negotiated.codec.payload_type, 9);
    let lower = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
                 m=audio 4000 RTP/AVP 97\na=rtpmap:97 pcmu/8000\n";
    let a = answer(lower, &[pcmu()]).unwrap();
    assert_eq!(a.negotiated.codec.payload_type, 97);
}

fn hold_offer(extra_session: &str, connection: &str, media_attr: &str) -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 {connection}\r\nt=0 0\r\n{extra_session}\
         m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{media_attr}"
    )
}

#[test]
fn hold_and_direction_answers() {
    let cases = [
        ("", "10.0.0.1", "a=sendonly\r\n", Direction::RecvOnly),
        ("", "10.0.0.1", "a=recvonly\r\n", Direction::SendOnly),
        ("", "10.0.0.1", "a=inactive\r\n", Direction::Inactive),
        ("", "10.0.0.1", "", Direction::SendRecv),
        // Old-style hold: c=0.0.0.0.
        ("", "0.0.0.0", "", Direction::RecvOnly),
        ("", "0.0.0.0", "a=recvonly\r\n", Direction::Inactive),
        // Session-level attribute, overridden at media level.
        ("a=sendonly\r\n", "10.0.0.1", "", Direction::RecvOnly),
        (
            "a=sendonly\r\n",
            "10.0.0.1",
            "a=sendrecv\r\n",
            Direction::SendRecv,
        ),
    ];
    for (session, connection, media, expected) in cases {
        let offer = hold_offer(session, connection, media);
        let a = answer(&offer, &[pcmu()]).unwrap();
        assert_eq!(a.negotiated.direction, expected, "{offer}");
        assert_eq!(a.description.media[0].direction, Some(expected));
        assert!(
            a.description
                .to_string()
                .contains(&format!("a={}\r\n", expected.as_str()))
        );
    }
    let held = answer(&hold_offer("", "0.0.0.0", ""), &[pcmu()]).unwrap();
    assert_eq!(held.negotiated.remote_rtp, "0.0.0.0:4000".parse().unwrap());
}

#[test]
fn errors_name_the_line_and_problem() {
    let cases = [
        ("", 1, "missing v="),
        ("o=- 1 1 IN IP4 1.2.3.4\n", 1, "missing v="),
        ("v=1\n", 1, "unsupported SDP version"),
        ("v=0\ns=-\n", 0, "missing o="),
        ("v=0\no=- 1 1 IN IP4\n", 2, "o= needs 6 fields"),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 example.com\n",
            3,
            "not an IP address",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP6 1.2.3.4\n",
            3,
            "not of type IP6",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nt=now later\n",
            3,
            "must be numbers",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP\n",
            4,
            "bad m= line",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\n",
            4,
            "bad port '70000'",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0 x\n",
            4,
            "bad payload type 'x'",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=rtpmap:97 opus/48000/2\n",
            5,
            "payload type 97 not in the m= line",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 97\na=rtpmap:97 opus\n",
            5,
            "bad clock rate",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=ptime:fast\n",
            5,
            "bad ptime",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n",
            3,
            "no c= line",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\ns=again\n",
            5,
            "inside a media description",
        ),
        (
            "v=0\no=- 1 1 IN IP4 1.2.3.4\nnonsense\n",
            3,
            "expected <type>=<value>",
        ),
    ];
    for (text, line, needle) in cases {
        let (got_line, reason) = line_of(SessionDescription::parse(text).unwrap_err());
        let needle = needle.replace("bad m= line", "m= needs media");
        let expected_line = if line == 0 { 2 } else { line };
        assert_eq!(got_line, expected_line, "{text:?}: {reason}");
        assert!(reason.contains(&needle), "{text:?}: {reason}");
    }
}

#[test]
fn no_audio_and_no_common_codec() {
    let video_only = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n";
    assert_eq!(answer(video_only, &[pcmu()]), Err(SdpError::NoAudio));
    let port_zero = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n";
    assert_eq!(answer(port_zero, &[pcmu()]), Err(SdpError::NoAudio));
    let g729_only = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18 101\na=rtpmap:101 telephone-event/8000\n";
    assert_eq!(
        answer(g729_only, &[pcmu(), pcma()]),
        Err(SdpError::NoCommonCodec)
    );
    // A second audio stream with a common codec is used, the first rejected.
    let two = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18\nm=audio 4002 RTP/AVP 8\n";
    let a = answer(two, &[pcma()]).unwrap();
    assert_eq!(a.negotiated.media_index, 1);
    assert_eq!(a.negotiated.remote_rtp.port(), 4002);
    assert_eq!(
        (a.description.media[0].port, a.description.media[1].port),
        (0, 20_000)
    );
}

#[test]
fn offer_then_answer_round_trip() {
    let supported = [opus(), pcmu(), pcma(), g722()];
    let offer = build_offer(&supported, &local(), 101);
    let text = offer.to_string();
    assert!(
        text.contains("m=audio 20000 RTP/AVP 96 0 8 9 101\r\n"),
        "{text}"
    );
    assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"));
    assert!(text.contains("a=rtpmap:9 G722/8000\r\n"));
    assert!(text.contains("a=rtcp-mux\r\n"));
    assert_eq!(SessionDescription::parse(&text).unwrap(), offer);

    // A far end that only does PCMA answers with its own ports and numbers.
    let far = LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)),
        port: 30_000,
        session_id: 9,
        session_version: 9,
    };
    let their_answer =
        negotiate_answer(&SessionDescription::parse(&text).unwrap(), &[pcma()], &far).unwrap();
    let got = accept_answer(&offer, &their_answer.description.to_string()).unwrap();
    assert_eq!(got.codec.payload_type, 8);
    assert_eq!(got.codec.name, "PCMA");
    assert_eq!(got.telephone_event, Some(101));
    assert_eq!(got.remote_rtp, "203.0.113.5:30000".parse().unwrap());
    assert_eq!(got.direction, Direction::SendRecv);
    assert!(got.rtcp_mux);
}

#[test]
fn accept_answer_checks_the_answer() {
    let offer = build_offer(&[pcmu(), pcma()], &local(), 101);
    let head = "v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\n";
    // Answer with a different payload number for PCMA and sendonly (the far end holds).
    let renumbered =
        format!("{head}m=audio 30000 RTP/AVP 110\na=rtpmap:110 PCMA/8000\na=sendonly\n");
    let got = accept_answer(&offer, &renumbered).unwrap();
    assert_eq!(got.codec.payload_type, 110);
    assert_eq!(got.telephone_event, None);
    assert_eq!(got.direction, Direction::RecvOnly);
    assert!(!got.rtcp_mux);
    let foreign = format!("{head}m=audio 30000 RTP/AVP 18\n");
    assert_eq!(
        accept_answer(&offer, &foreign),
        Err(SdpError::NoCommonCodec)
    );
    let rejected = format!("{head}m=audio 0 RTP/AVP 0\n");
    assert_eq!(accept_answer(&offer, &rejected), Err(SdpError::NoAudio));
    let extra = format!("{head}m=audio 30000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n");
    assert!(matches!(
        accept_answer(&offer, &extra),
        Err(SdpError::AnswerMismatch(_))
    ));
    assert!(matches!(
        accept_answer(&offer, "garbage"),
        Err(SdpError::Malformed { line: 1, .. })
    ));
}

#[test]
fn build_offer_skips_the_telephone_event_number_and_bad_choices() {
    let codecs = [AudioCodecSpec::new("L16", 16000, 1), opus(), pcmu()];
    let offer = build_offer(&codecs, &local(), 96);
    assert_eq!(offer.media[0].formats, ["97", "98", "0", "96"]);
    let without = build_offer(&[pcmu()], &local(), 13);
    assert_eq!(without.media[0].formats, ["0"]);
}

#[test]
fn unknown_lines_are_kept_in_rfc_order() {
    let text = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 1.2.3.4\nb=CT:64\nt=0 0\n\
                i=late info\nr=7d 1h 0 25h\nm=audio 4000 RTP/AVP 0\nb=AS:64\ni=media info\nq=what\n";
    let sdp = SessionDescription::parse(text).unwrap();
    let kinds: String = sdp.other_lines.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, "ibr");
    let media_kinds: String = sdp.media[0].other_lines.iter().map(|l| l.kind).collect();
    assert_eq!(media_kinds, "ibq");
    let written = sdp.to_string();
    assert!(written.starts_with("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\ni=late info\r\nc=IN IP4 1.2.3.4\r\nb=CT:64\r\nt=0 0\r\nr=7d 1h 0 25h\r\n"), "{written}");
    assert_eq!(SessionDescription::parse(&written).unwrap(), sdp);
}

// ---- property tests ----

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.+_-]{1,8}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,12}"
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from)
    ]
}

fn direction() -> impl Strategy<Value = Option<Direction>> {
    proptest::option::of(prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ])
}

fn attribute(reserved: &'static [&'static str]) -> impl Strategy<Value = Attribute> {
    ("[a-z][a-z0-9-]{0,8}", proptest::option::of(text()))
        .prop_filter("reserved name", move |(name, _)| {
            !reserved.contains(&name.as_str())
        })
        .prop_map(|(name, value)| Attribute { name, value })
}

const DIRECTIONS: &[&str] = &["sendrecv", "sendonly", "recvonly", "inactive"];
const MEDIA_RESERVED: &[&str] = &[
    "sendrecv", "sendonly", "recvonly", "inactive", "rtpmap", "fmtp", "ptime", "rtcp-mux",
];

fn other_lines(kinds: &'static str, rank: fn(char) -> u8) -> impl Strategy<Value = Vec<SdpLine>> {
    let kinds: Vec<char> = kinds.chars().collect();
    proptest::collection::vec((proptest::sample::select(kinds), text()), 0..3).prop_map(
        move |lines| {
            let mut sorted = Vec::new();
            for (kind, value) in lines {
                insert_ranked(&mut sorted, SdpLine { kind, value }, rank);
            }
            sorted
        },
    )
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let rtp = (
        prop_oneof![Just("RTP/AVP"), Just("RTP/AVPF"), Just("UDP/TLS/RTP/SAVPF")],
        proptest::collection::btree_set(0u8..128, 1..5),
    )
        .prop_flat_map(|(proto, pts)| {
            let pts: Vec<u8> = pts.into_iter().collect();
            let n = pts.len();
            (
                Just(proto.to_string()),
                Just(pts),
                proptest::collection::vec(
                    (
                        token(),
                        1u32..200_000,
                        proptest::option::of(1u16..9),
                        any::<bool>(),
                    ),
                    n,
                ),
                proptest::collection::vec(proptest::option::of(text()), n),
            )
        })
        .prop_map(|(proto, pts, maps, fmtps)| {
            let formats = pts.iter().map(u8::to_string).collect();
            let rtpmaps = pts
                .iter()
                .zip(maps)
                .filter(|(_, (_, _, _, keep))| *keep)
                .map(|(&pt, (encoding, clock_rate, channels, _))| RtpMap {
                    payload_type: pt,
                    encoding,
                    clock_rate,
                    channels,
                })
                .collect();
            let fmtps = pts
                .iter()
                .zip(fmtps)
                .filter_map(|(pt, params)| {
                    params.map(|params| Fmtp {
                        format: pt.to_string(),
                        params,
                    })
                })
                .collect();
            (proto, formats, rtpmaps, fmtps)
        });
    let other = (
        Just("udp".to_string()),
        proptest::collection::vec(token(), 1..3),
    )
        .prop_map(|(proto, formats)| (proto, formats, Vec::new(), Vec::new()));
    (
        prop_oneof![Just("audio"), Just("video"), Just("application")],
        any::<u16>(),
        proptest::option::of(any::<u16>()),
        prop_oneof![3 => rtp, 1 => other],
        proptest::option::of(ip()),
        proptest::option::of(1u32..1000),
        direction(),
        any::<bool>(),
        proptest::collection::vec(attribute(MEDIA_RESERVED), 0..3),
        other_lines("ibkxy", media_rank),
    )
        .prop_map(
            |(
                media,
                port,
                port_count,
                (proto, formats, rtpmaps, fmtps),
                connection,
                ptime,
                direction,
                rtcp_mux,
                attributes,
                other_lines,
            )| {
                MediaDescription {
                    media: media.to_string(),
                    port,
                    port_count,
                    proto,
                    formats,
                    connection: connection.map(|address| Connection { address }),
                    rtpmaps,
                    fmtps,
                    ptime,
                    direction,
                    rtcp_mux,
                    attributes,
                    other_lines,
                }
            },
        )
}

fn description() -> impl Strategy<Value = SessionDescription> {
    (
        (token(), "[0-9]{1,20}", "[0-9]{1,20}", token()),
        text(),
        proptest::option::of(ip()),
        (any::<u64>(), any::<u64>()),
        direction(),
        proptest::collection::vec(attribute(DIRECTIONS), 0..3),
        other_lines("iuepbrzkx", session_rank),
        proptest::collection::vec(media(), 0..3),
    )
        .prop_map(
            |(
                (username, id, version, address),
                session_name,
                connection,
                timing,
                direction,
                attributes,
                other_lines,
                mut media,
            )| {
                let connection = connection.map(|address| Connection { address });
                for m in &mut media {
                    if connection.is_none() && m.port != 0 && m.connection.is_none() {
                        m.connection = Some(Connection {
                            address: IpAddr::from([127, 0, 0, 1]),
                        });
                    }
                }
                SessionDescription {
                    origin: Origin {
                        username,
                        session_id: id,
                        session_version: version,
                        net_type: "IN".into(),
                        address_type: "IP4".into(),
                        address,
                    },
                    session_name,
                    connection,
                    timing,
                    direction,
                    attributes,
                    other_lines,
                    media,
                }
            },
        )
}

fn re(pattern: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(pattern).expect("test regex is valid")
}

/// Text shaped like SDP (v=, o=, session lines, media sections whose rtpmaps mostly name
/// their own payload types) with a little noise, so that a good share parses and answers.
fn sdp_soup() -> impl Strategy<Value = String> {
    let session_line = prop_oneof![
        4 => re("(s=-|t=0 0|t=1 2|b=AS:64|a=tool:x|a=group:BUNDLE 0|a=sendonly:x|c=IN IP4 0.0.0.0)"),
        2 => re("a=(sendonly|recvonly|inactive|sendrecv)"),
        1 => re("[bikrzuxy]=[ -~]{0,12}"),
        1 => re("(t=x|c=IN IP4 1.2.3.4|[ -~]{0,12})"),
    ];
    let pool = prop::sample::select(vec![0u8, 0, 8, 8, 9, 18, 96, 97, 101, 111, 200]);
    let media = (
        re("m=(audio|audio|audio|video|application) (0|4000|4000|[0-9]{1,5})(/2)? (RTP/AVP|RTP/AVP|RTP/AVPF|UDP/TLS/RTP/SAVPF|udp)"),
        proptest::collection::vec(pool, 1..5),
    )
        .prop_flat_map(|(head, pts)| {
            let own = prop::sample::select(pts.clone());
            let line = prop_oneof![
                4 => (own.clone(), re("(PCMU/8000|PCMA/8000|pcma/8000/1|G722/8000|opus/48000/2|L16/16000|\
                                       telephone-event/8000|TELEPHONE-EVENT/48000|(PCMU|opus)/(8000|48000)(/[12])?)"))
                    .prop_map(|(pt, codec)| format!("a=rtpmap:{pt} {codec}")),
                2 => (own, re("[ -~]{0,10}")).prop_map(|(pt, params)| format!("a=fmtp:{pt} {params}")),
                3 => re("a=(ptime:(20|30|2.5)|sendonly|recvonly|inactive|sendrecv|rtcp-mux|mid:0|rtcp-mux:1)"),
                1 => re("c=IN (IP4 10.0.0.2|IP4 0.0.0.0|IP6 ::1|IP4 10.0.0.3/127)"),
                1 => re("[bikxy]=[ -~]{0,12}"),
                1 => re("(a=rtpmap:55 x/8000|a=ptime:x|c=IN IP4 ::1|[ -~]{0,12})"),
            ];
            let formats: Vec<String> = pts.iter().map(u8::to_string).collect();
            (Just(format!("{head} {}", formats.join(" "))), proptest::collection::vec(line, 0..6))
        });
    (
        proptest::collection::vec(session_line, 0..4),
        proptest::collection::vec(media, 0..3),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(session, media, crlf, connection)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("v=0{eol}o=- 1 1 IN IP4 10.0.0.1{eol}");
            if connection {
                text.push_str(&format!("c=IN IP4 10.0.0.1{eol}"));
            }
            for line in session {
                text.push_str(&line);
                text.push_str(eol);
            }
            for (m, lines) in media {
                text.push_str(&m);
                text.push_str(eol);
                for line in lines {
                    text.push_str(&line);
                    text.push_str(eol);
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
        let _ = SessionDescription::parse(&s);
        let _ = accept_answer(&SessionDescription::default(), &s);
    }

    #[test]
    fn sdp_like_text_never_panics_and_reparses_the_same(text in sdp_soup()) {
        if let Ok(sdp) = SessionDescription::parse(&text) {
            let written = sdp.to_string();
            prop_assert_eq!(SessionDescription::parse(&written), Ok(sdp.clone()), "{}", written);
            let supported = [pcmu(), pcma(), opus()];
            if let Ok(a) = negotiate_answer(&sdp, &supported, &local()) {
                let answer_text = a.description.to_string();
                prop_assert_eq!(SessionDescription::parse(&answer_text), Ok(a.description.clone()));
                prop_assert_eq!(a.description.media.len(), sdp.media.len());
                let _ = accept_answer(&sdp, &answer_text);
            }
        }
    }

    #[test]
    fn parse_of_to_string_round_trips(sdp in description()) {
        let written = sdp.to_string();
        prop_assert_eq!(SessionDescription::parse(&written), Ok(sdp), "{}", written);
    }
}
