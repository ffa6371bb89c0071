use std::net::SocketAddr;

use super::*;
use crate::call::leg::LegMedia;
use crate::config::flow::parse_flow;
use crate::media::codec::CodecKind;
use crate::media::prompt::Prompt;
use crate::rtp::rtcp::NtpTimestamp;

const FLOW: &str = r#"
start = "greeting"
[nodes.greeting]
kind = "play"
prompt = "greeting"
barge_in = true
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "bye", "0" = "agent" }
timeout_ms = 60000
retries = 1
on_failure = "bye"
[nodes.agent]
kind = "transfer"
target = "queue:agents"
timeout_ms = 5000
announce = "menu"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

const PEER: &str = "127.0.0.1:40000";

/// A call answered at `t0` on PCMU with telephone-event 101; prompts are 1 s of a loud tone.
fn call(t0: Instant) -> Call {
    call_with(t0, FLOW, false)
}

/// [`call`] with another flow, and speech recognition on or off.
fn call_with(t0: Instant, flow: &str, speech: bool) -> Call {
    let flow = Arc::new(parse_flow("t", flow, std::path::Path::new("t.toml")).expect("valid flow"));
    let tone: Vec<i16> = (0..16_000)
        .map(|i| if (i / 8) % 2 == 0 { 8000 } else { -8000 })
        .collect();
    let mut prompts = PromptLibrary::new();
    prompts.insert("en/greeting", Prompt::from_samples(&tone));
    prompts.insert("en/menu", Prompt::from_samples(&tone));
    prompts.insert("en/long", Prompt::from_samples(&tone.repeat(10)));
    let media = LegMedia {
        codec: CodecKind::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote: PEER.parse().expect("addr"),
        rtcp_mux: false,
    };
    let leg = Leg::new(
        media,
        t0,
        NtpTimestamp::from_unix(Duration::from_secs(1)),
        2,
        7,
    )
    .expect("PCMU leg");
    let run = FlowRun::new(flow, Default::default());
    Call::new(
        t0,
        leg,
        run,
        Arc::new(prompts),
        CallSettings {
            language: "en".into(),
            record: true,
            media_timeout: Duration::from_secs(30),
            speech,
            barge_in_min_speech: crate::call::barge_in::DEFAULT_MIN_SPEECH,
            complete_silence: Duration::from_millis(250),
        },
    )
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn drain(call: &mut Call) -> Vec<CallOutput> {
    std::iter::from_fn(|| call.poll_output()).collect()
}

fn hangup_cause(outputs: &[CallOutput]) -> Option<&str> {
    outputs.iter().find_map(|o| match o {
        CallOutput::Hangup { cause } => Some(cause.as_str()),
        _ => None,
    })
}

#[test]
fn the_greeting_leaves_on_the_first_tick() {
    let t0 = Instant::now();
    let mut c = call(t0);
    c.handle_tick(t0);
    let out = drain(&mut c);
    let packet = out
        .iter()
        .find_map(|o| match o {
            CallOutput::Transmit {
                leg: LegId::Caller,
                rtcp: false,
                bytes,
                to,
            } => Some((bytes, *to)),
            _ => None,
        })
        .expect("an RTP packet on the first tick");
    assert_eq!(packet.1, PEER.parse::<SocketAddr>().expect("addr"));
    assert_eq!(packet.0.len(), 12 + 160);
    // Not µ-law silence (0xFF/0x7F): the prompt's tone is loud.
    assert!(
        packet.0[12..]
            .iter()
            .filter(|&&b| b != 0xff && b != 0x7f)
            .count()
            > 100
    );
    assert!(
        out.iter().any(|o| matches!(o, CallOutput::Record { .. })),
        "recording tap fed"
    );
}

#[test]
fn no_rtp_for_the_media_timeout_hangs_up_at_that_tick() {
    let t0 = Instant::now();
    let mut c = call(t0);
    let tick = Duration::from_millis(20);
    let mut now = t0;
    // 30 s without a single packet from the caller: the tick at 30.00 s ends the call.
    while now < t0 + Duration::from_secs(30) {
        c.handle_tick(now);
        assert_eq!(
            hangup_cause(&drain(&mut c)),
            None,
            "too early at {:?}",
            now - t0
        );
        now += tick;
    }
    c.handle_tick(now);
    assert_eq!(hangup_cause(&drain(&mut c)), Some("media.timeout"));
    assert!(c.is_ended());
}

#[test]
fn rtp_keeps_the_call_alive() {
    let t0 = Instant::now();
    let mut c = call(t0);
    let from: SocketAddr = PEER.parse().expect("addr");
    let mut now = t0;
    for i in 0..2000u16 {
        c.handle_rtp(
            now,
            LegId::Caller,
            from,
            &rtp(0, i == 0, i, u32::from(i) * 160, &[0xff; 160]),
        );
        c.handle_tick(now);
        assert_eq!(hangup_cause(&drain(&mut c)), None);
        now += Duration::from_millis(20);
    }
}

#[test]
fn an_rfc4733_key_during_the_menu_takes_its_branch() {
    let t0 = Instant::now();
    let mut c = call(t0);
    let from: SocketAddr = PEER.parse().expect("addr");
    let mut now = t0;
    let mut nodes = Vec::new();
    // Greeting (1 s), then the menu prompt; key 1 at 1.5 s as start + 3 end packets.
    for i in 0..100u16 {
        let ts = 8000 + u32::from(i) * 160;
        c.handle_rtp(
            now,
            LegId::Caller,
            from,
            &rtp(0, i == 0, i, ts, &[0xff; 160]),
        );
        if i == 75 {
            c.handle_rtp(
                now,
                LegId::Caller,
                from,
                &rtp(101, true, 1000, 20_000, &[1, 10, 0, 160]),
            );
            for _ in 0..3 {
                c.handle_rtp(
                    now,
                    LegId::Caller,
                    from,
                    &rtp(101, false, 1001, 20_000, &[1, 0x80 | 10, 3, 32]),
                );
            }
        }
        c.handle_tick(now);
        for o in drain(&mut c) {
            match o {
                CallOutput::Event {
                    kind: "node",
                    detail,
                } => nodes.push(detail),
                CallOutput::Hangup { cause } => {
                    assert_eq!(cause, "flow.hangup");
                    assert_eq!(nodes, ["greeting", "menu", "bye"]);
                    assert_eq!(c.flow().digits(), "1");
                    return;
                }
                _ => {}
            }
        }
        now += Duration::from_millis(20);
    }
    panic!("no hangup after key 1; nodes {nodes:?}");
}

/// Ticks the call from `from` to `to` (exclusive) with caller silence, collecting outputs.
fn run(
    c: &mut Call,
    t0: Instant,
    from_ms: u64,
    to_ms: u64,
    key_at: Option<(u64, u8)>,
) -> Vec<(u64, CallOutput)> {
    feed(c, t0, from_ms, to_ms, key_at, |_| [0xff; 160])
}

/// Ticks the call from `from` to `to` (exclusive), the caller sending `payload(ms)` (µ-law)
/// each 20 ms and the key `key_at`, collecting outputs.
fn feed(
    c: &mut Call,
    t0: Instant,
    from_ms: u64,
    to_ms: u64,
    key_at: Option<(u64, u8)>,
    payload: impl Fn(u64) -> [u8; 160],
) -> Vec<(u64, CallOutput)> {
    let peer: SocketAddr = PEER.parse().expect("addr");
    let mut out = Vec::new();
    for ms in (from_ms..to_ms).step_by(20) {
        let now = t0 + Duration::from_millis(ms);
        let i = (ms / 20) as u16;
        c.handle_rtp(
            now,
            LegId::Caller,
            peer,
            &rtp(0, i == 0, i, u32::from(i) * 160, &payload(ms)),
        );
        if let Some((at, event)) = key_at
            && at == ms
        {
            c.handle_rtp(
                now,
                LegId::Caller,
                peer,
                &rtp(101, true, 5000, 90_000, &[event, 10, 0, 160]),
            );
            for _ in 0..3 {
                c.handle_rtp(
                    now,
                    LegId::Caller,
                    peer,
                    &rtp(101, false, 5001, 90_000, &[event, 0x8a, 3, 32]),
                );
            }
        }
        c.handle_tick(now);
        out.extend(drain(c).into_iter().map(|o| (ms, o)));
    }
    out
}

const LISTEN_FLOW: &str = r#"
start = "ask"
[nodes.ask]
kind = "listen"
prompt = "menu"
speech = { end_silence_ms = 500, denoise = false }
var = "said"
timeout_ms = 5000
retries = 0
next = "bye"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

/// A call whose flow listens after a 1 s prompt, with speech recognition on.
fn listening_call(t0: Instant) -> Call {
    call_with(t0, LISTEN_FLOW, true)
}

/// Feeds caller audio from `from_ms` to `to_ms`: a loud 200 Hz buzz with harmonics (speech
/// to the VAD) inside `voiced`, silence elsewhere. Returns the outputs with their times.
fn talk(
    c: &mut Call,
    t0: Instant,
    from_ms: u64,
    to_ms: u64,
    voiced: &[(u64, u64)],
) -> Vec<(u64, CallOutput)> {
    feed(c, t0, from_ms, to_ms, None, |ms| {
        let loud = voiced.iter().any(|&(a, b)| (a..b).contains(&ms));
        std::array::from_fn(|n| {
            let t = (ms * 8 + n as u64) as f32 / 8000.0;
            let v: f32 = (1..8)
                .map(|h| (2.0 * std::f32::consts::PI * 200.0 * h as f32 * t).sin() / h as f32)
                .sum();
            let sample = if loud { (v * 6000.0) as i16 } else { 0 };
            crate::media::codec::g711::linear_to_ulaw(sample)
        })
    })
}

fn recognitions(out: &[(u64, CallOutput)]) -> Vec<(u64, TurnId, usize)> {
    out.iter()
        .filter_map(|(ms, o)| match o {
            CallOutput::Recognise {
                turn,
                partial: false,
                audio,
                ..
            } => Some((*ms, *turn, audio.len())),
            _ => None,
        })
        .collect()
}

fn heard(text: &str) -> Result<Recognition, String> {
    Ok(Recognition {
        text: text.into(),
        interpretation: None,
        confidence: 0.9,
    })
}

#[test]
fn the_final_decode_starts_at_the_pause_and_is_ready_at_the_endpoint() {
    let t0 = Instant::now();
    let mut c = listening_call(t0);
    // The caller speaks 1.5 .. 2.5 s; the 500 ms endpoint falls at about 3 s.
    let out = talk(&mut c, t0, 0, 2800, &[(1500, 2500)]);
    let early = recognitions(&out);
    let [(at, turn, samples)] = early[..] else {
        panic!("one early decode by 2.8 s: {early:?}");
    };
    // Once the post-roll (120 ms) after the speech is complete; the VAD lags a frame or two.
    assert!((2620..=2700).contains(&at), "early decode at {at} ms");
    // Its result comes back before the endpoint.
    c.recognised(
        t0 + Duration::from_millis(2800),
        turn,
        false,
        heard("hello"),
    );
    let out = talk(&mut c, t0, 2800, 4000, &[]);
    assert!(recognitions(&out).is_empty(), "no second decode");
    let (speech_at, detail) = out
        .iter()
        .find_map(|(ms, o)| match o {
            CallOutput::Event {
                kind: "speech",
                detail,
            } => Some((*ms, detail.clone())),
            _ => None,
        })
        .expect("the turn's result reaches the flow");
    let detail: serde_json::Value = serde_json::from_str(&detail).expect("JSON");
    assert_eq!(detail["text"], "hello");
    // Delivered at the endpoint itself: no decode after it.
    assert_eq!(detail["final_ms"], detail["endpoint_ms"]);
    assert_eq!(detail["endpoint_ms"], speech_at);
    assert!(samples > 16 * 1000, "the turn's audio: {samples} samples");
    assert_eq!(
        hangup_cause(&out.into_iter().map(|(_, o)| o).collect::<Vec<_>>()),
        Some("flow.hangup")
    );
}

/// The caller speaks 1.5 .. 2.5 s; the early decode hears `text` at 2.8 s. Returns when the
/// turn's result reached the flow.
fn endpoint_after_hearing(text: &str) -> u64 {
    let t0 = Instant::now();
    let mut c = listening_call(t0);
    let out = talk(&mut c, t0, 0, 2800, &[(1500, 2500)]);
    let [(_, turn, _)] = recognitions(&out)[..] else {
        panic!("one early decode by 2.8 s");
    };
    c.recognised(t0 + Duration::from_millis(2800), turn, false, heard(text));
    let out = talk(&mut c, t0, 2800, 4000, &[]);
    out.iter()
        .find_map(|(ms, o)| matches!(o, CallOutput::Event { kind: "speech", .. }).then_some(*ms))
        .expect("the turn's result reaches the flow")
}

#[test]
fn a_finished_sentence_ends_the_turn_on_the_short_silence() {
    // The short silence (250 ms) has passed when the decode comes back: the next frame ends it.
    let short = endpoint_after_hearing("Where is my order?");
    assert!((2800..=2820).contains(&short), "endpoint at {short} ms");
    // Words that trail off keep the full 500 ms.
    let full = endpoint_after_hearing("My order number is.");
    assert!((2980..=3060).contains(&full), "endpoint at {full} ms");
    assert!(endpoint_after_hearing("hello") >= 2980);
}

#[test]
fn speech_after_the_pause_makes_the_early_decode_stale() {
    let t0 = Instant::now();
    let mut c = listening_call(t0);
    // 1.5 .. 2.5 s, a 300 ms pause, then 2.8 .. 3.5 s.
    let out = talk(&mut c, t0, 0, 5000, &[(1500, 2500), (2800, 3500)]);
    let decodes = recognitions(&out);
    assert_eq!(decodes.len(), 2, "{decodes:?}");
    let (first, second) = (decodes[0], decodes[1]);
    assert_eq!(first.1, second.1, "one turn");
    assert!(
        second.2 > first.2 + 16 * 900,
        "the second covers the resumed speech"
    );
    // The second was asked at its own pause, before the endpoint; its result is final.
    c.recognised(
        t0 + Duration::from_millis(5000),
        second.1,
        false,
        heard("two parts"),
    );
    let out = drain(&mut c);
    let detail = out
        .iter()
        .find_map(|o| match o {
            CallOutput::Event {
                kind: "speech",
                detail,
            } => Some(detail.clone()),
            _ => None,
        })
        .expect("the result reaches the flow");
    assert!(detail.contains("two parts"), "{detail}");
}

#[test]
fn a_finished_prompt_moves_the_flow_on_without_a_key() {
    let t0 = Instant::now();
    let mut c = call(t0);
    let out = run(&mut c, t0, 0, 1500, None);
    let menu_at = out
        .iter()
        .find_map(|(ms, o)| {
            matches!(o, CallOutput::Event { kind: "node", detail } if detail == "menu")
                .then_some(*ms)
        })
        .expect("the menu follows the 1 s greeting");
    // The greeting's 50 frames go out at 0..=980 ms; the menu starts on the next tick.
    assert_eq!(menu_at, 1000);
}

#[test]
fn a_transfer_rings_only_after_its_announcement() {
    let t0 = Instant::now();
    let mut c = call(t0);
    // Key 0 at 1.2 s (during the menu prompt): announce (1 s), then ring.
    let out = run(&mut c, t0, 0, 3000, Some((1200, 0)));
    let entered = out
        .iter()
        .find_map(|(ms, o)| {
            matches!(o, CallOutput::Event { kind: "node", detail } if detail == "agent")
                .then_some(*ms)
        })
        .expect("the agent node is entered");
    let rang = out
        .iter()
        .find_map(|(ms, o)| matches!(o, CallOutput::Transfer { .. }).then_some(*ms))
        .expect("the agent is rung");
    assert_eq!(entered, 1200);
    assert_eq!(rang, 2200, "rung when the 1 s announcement has played");
}

const BRIEF_FLOW: &str = r#"
start = "why"
[nodes.why]
kind = "set"
vars = { handoff_summary = "Caller wants to return order 10023." }
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "0" = "agent" }
timeout_ms = 60000
[nodes.agent]
kind = "transfer"
target = "queue:agents"
brief = "{handoff_summary}"
"#;

#[test]
fn the_agent_hears_the_brief_alone_before_the_caller_is_put_through() {
    let t0 = Instant::now();
    let mut c = call_with(t0, BRIEF_FLOW, false);
    let out = run(&mut c, t0, 0, 400, Some((200, 0)));
    assert!(
        out.iter()
            .any(|(_, o)| matches!(o, CallOutput::Transfer { .. })),
        "rung at once (no announcement)"
    );
    let agent_media = LegMedia {
        codec: CodecKind::Pcmu,
        payload_type: 0,
        telephone_event: None,
        remote: "127.0.0.1:41000".parse().expect("addr"),
        rtcp_mux: false,
    };
    let ntp = NtpTimestamp::from_unix(Duration::from_secs(1));
    let agent = Leg::new(agent_media, t0, ntp, 3, 9).expect("agent leg");
    let answered = t0 + Duration::from_millis(400);
    c.agent_connected(answered, agent);
    let out = drain(&mut c);
    let (speech, text) = out
        .iter()
        .find_map(|o| match o {
            CallOutput::Speak { speech, text, .. } => Some((*speech, text.clone())),
            _ => None,
        })
        .expect("the brief is synthesised");
    assert_eq!(text, "Caller wants to return order 10023.");
    // 0.4 s of speech for the agent.
    let loud: Vec<i16> = (0..6400)
        .map(|i| if (i / 8) % 2 == 0 { 8000 } else { -8000 })
        .collect();
    c.speech_audio(answered, speech, &loud);
    c.speech_done(speech, Ok(()));
    let out = run(&mut c, t0, 400, 1000, None);
    let agent_packets = out
        .iter()
        .filter(|(_, o)| {
            matches!(
                o,
                CallOutput::Transmit {
                    leg: LegId::Agent,
                    rtcp: false,
                    ..
                }
            )
        })
        .count();
    assert!(
        agent_packets >= 20,
        "the agent hears the brief: {agent_packets} packets"
    );
    let to_caller: Vec<&Frame> = out
        .iter()
        .filter_map(|(ms, o)| match o {
            CallOutput::Record { other, .. } if *ms < 800 => Some(other),
            _ => None,
        })
        .collect();
    assert!(
        to_caller.iter().all(|f| f.rms() == 0.0),
        "the caller hears silence meanwhile"
    );
    let connected = out
        .iter()
        .find_map(|(ms, o)| {
            matches!(o, CallOutput::Event { kind: "transfer", detail } if detail == "connected")
                .then_some(*ms)
        })
        .expect("bridged after the brief");
    assert!(
        (800..=860).contains(&connected),
        "connected at {connected} ms"
    );
}

const SAY_FLOW: &str = r#"
start = "reply"
[nodes.reply]
kind = "say"
text = "Your parcel left today. It arrives on Friday."
next = "menu"
[nodes.menu]
kind = "menu"
prompt = "menu"
options = { "1" = "bye" }
timeout_ms = 60000
[nodes.bye]
kind = "hangup"
"#;

fn spoke(out: &[(u64, CallOutput)]) -> Vec<(u64, serde_json::Value)> {
    out.iter()
        .filter_map(|(ms, o)| match o {
            CallOutput::Event {
                kind: "spoke",
                detail,
            } => Some((*ms, serde_json::from_str(detail).expect("json"))),
            _ => None,
        })
        .collect()
}

/// A spoken reply plays each piece as it arrives, waits in silence for the next one, and
/// ends (the flow moves on) only once synthesis is done and the last piece has played.
#[test]
fn a_spoken_reply_plays_its_pieces_as_they_arrive() {
    let t0 = Instant::now();
    let mut c = call_with(t0, SAY_FLOW, false);
    let speech = drain(&mut c)
        .into_iter()
        .find_map(|o| match o {
            CallOutput::Speak {
                speech,
                text,
                voice,
                language,
            } => {
                assert_eq!(text, "Your parcel left today. It arrives on Friday.");
                assert_eq!((voice, language.as_str()), (None, "en"));
                Some(speech)
            }
            _ => None,
        })
        .expect("the say node asks for speech");
    // The first sentence (0.5 s) is ready at 40 ms; the second comes at 1000 ms.
    run(&mut c, t0, 0, 40, None);
    c.speech_audio(t0 + Duration::from_millis(40), speech, &[1000; 8000]);
    let out = run(&mut c, t0, 40, 1000, None);
    assert!(
        spoke(&out).is_empty(),
        "the gap is not the end: {:?}",
        spoke(&out)
    );
    c.speech_audio(t0 + Duration::from_millis(1000), speech, &[1000; 8000]);
    c.speech_done(speech, Ok(()));
    let out = run(&mut c, t0, 1000, 2000, None);
    let [(ended_at, record)] = &spoke(&out)[..] else {
        panic!("one utterance: {:?}", spoke(&out));
    };
    assert_eq!(
        *ended_at, 1500,
        "25 frames of the second piece from 1000 ms"
    );
    assert_eq!(record["ended"], "finished");
    assert_eq!(record["played_ms"], 1000);
    assert_eq!(record["first_audio_ms"], 40);
    assert!(out.iter().any(|(ms, o)| *ms == 1500
        && matches!(o, CallOutput::Event { kind: "node", detail } if detail == "menu")));
}

#[test]
fn a_key_stops_the_reply_and_its_synthesis() {
    let t0 = Instant::now();
    let mut c = call_with(t0, SAY_FLOW, false);
    drain(&mut c);
    c.speech_audio(t0, 1, &[1000; 16_000]);
    let out = run(&mut c, t0, 0, 600, Some((300, 1)));
    assert!(
        out.iter()
            .any(|(_, o)| matches!(o, CallOutput::StopSpeaking { speech: 1 })),
        "synthesis is stopped"
    );
    let [(_, record)] = &spoke(&out)[..] else {
        panic!("one utterance: {:?}", spoke(&out));
    };
    assert_eq!(record["ended"], "interrupted");
    // Frames at 0..=280 ms went out before the key at 300 ms stopped the reply.
    assert_eq!(record["played_ms"], 300);
    // A late piece of the stopped reply is dropped.
    c.speech_audio(t0 + Duration::from_millis(600), 1, &[1000; 16_000]);
    c.speech_done(1, Ok(()));
    assert!(spoke(&run(&mut c, t0, 600, 700, None)).is_empty());
}

#[test]
fn a_reply_that_cannot_be_spoken_is_on_the_record_and_the_flow_goes_on() {
    let t0 = Instant::now();
    let mut c = call_with(t0, SAY_FLOW, false);
    drain(&mut c);
    c.speech_done(1, Err("tts: festival: festival exited".into()));
    let out = run(&mut c, t0, 0, 100, None);
    assert!(out.iter().any(|(_, o)| matches!(o,
        CallOutput::Event { kind: "tts_failed", detail } if detail.contains("festival exited"))));
    assert_eq!(spoke(&out)[0].1["ended"], "finished");
    assert!(out.iter().any(|(_, o)| matches!(o,
        CallOutput::Event { kind: "node", detail } if detail == "menu")));
}

/// Every stage of a turn's voice-to-voice time is on the record: the caller stops at
/// 2.5 s, the endpoint falls 500 ms later with the early decode ready, the say node asks
/// for speech at once, its first sentence is ready 40 ms later and leaves on the next tick.
#[test]
fn a_turn_answered_by_speech_records_its_latency() {
    let t0 = Instant::now();
    let flow = LISTEN_FLOW.replace("next = \"bye\"", "next = \"answer\"")
        + "[nodes.answer]\nkind = \"say\"\ntext = \"You said {said}.\"\nnext = \"bye\"\n";
    let mut c = call_with(t0, &flow, true);
    let out = talk(&mut c, t0, 0, 2800, &[(1500, 2500)]);
    let [(_, turn, _)] = recognitions(&out)[..] else {
        panic!("one early decode");
    };
    c.recognised(
        t0 + Duration::from_millis(2800),
        turn,
        false,
        heard("hello"),
    );
    let out = talk(&mut c, t0, 2800, 3100, &[]);
    let (asked_at, speech) = out
        .iter()
        .find_map(|(ms, o)| match o {
            CallOutput::Speak { speech, text, .. } if text == "You said hello." => {
                Some((*ms, *speech))
            }
            _ => None,
        })
        .expect("the answer is spoken");
    c.speech_audio(
        t0 + Duration::from_millis(asked_at + 40),
        speech,
        &[1000; 8000],
    );
    let out = talk(&mut c, t0, 3100, 3400, &[]);
    let (sent_at, latency) = out
        .iter()
        .find_map(|(ms, o)| match o {
            CallOutput::Event {
                kind: "latency",
                detail,
            } => Some((
                *ms,
                serde_json::from_str::<serde_json::Value>(detail).expect("json"),
            )),
            _ => None,
        })
        .expect("a latency record");
    assert_eq!(latency["final_ms"], latency["endpoint_ms"], "{latency}");
    assert_eq!(latency["reply_ms"], latency["final_ms"], "{latency}");
    assert_eq!(latency["first_audio_ms"], asked_at + 40, "{latency}");
    assert_eq!(latency["first_packet_ms"], sent_at, "{latency}");
    assert_eq!(sent_at, 3100, "the first tick after the audio arrived");
    let end = latency["speech_end_ms"].as_u64().expect("speech end");
    assert_eq!(latency["voice_to_voice_ms"], sent_at - end, "{latency}");
}

/// A listen node over a 10 s prompt: barge-in tests.
const LONG_PROMPT_FLOW: &str = r#"
start = "ask"
[nodes.ask]
kind = "listen"
prompt = "long"
speech = { end_silence_ms = 500, denoise = false }
var = "said"
timeout_ms = 5000
retries = 0
next = "bye"
on_failure = "bye"
[nodes.bye]
kind = "hangup"
cause = "flow.hangup"
"#;

/// The µ-law payload kefu sent at each tick.
fn sent(out: &[(u64, CallOutput)]) -> Vec<(u64, Vec<u8>)> {
    out.iter()
        .filter_map(|(ms, o)| match o {
            CallOutput::Transmit {
                rtcp: false, bytes, ..
            } => Some((*ms, bytes[12..].to_vec())),
            _ => None,
        })
        .collect()
}

/// Silence, but for the few samples the 16 → 8 kHz filter carries over from the frame
/// before.
fn silent(payload: &[u8]) -> bool {
    payload.iter().skip(24).all(|&b| b == 0xff || b == 0x7f)
}

fn events<'a>(out: &'a [(u64, CallOutput)], kind: &str) -> Vec<(u64, &'a str)> {
    out.iter()
        .filter_map(|(ms, o)| match o {
            CallOutput::Event { kind: k, detail } if *k == kind => Some((*ms, detail.as_str())),
            _ => None,
        })
        .collect()
}

/// Runs the call to `to_ms`, answering every final decode with `text` 100 ms after it is
/// asked for.
fn talk_and_hear(
    c: &mut Call,
    t0: Instant,
    to_ms: u64,
    voiced: &[(u64, u64)],
    text: &str,
) -> Vec<(u64, CallOutput)> {
    let mut out = Vec::new();
    let mut due: Vec<(u64, TurnId)> = Vec::new();
    for ms in (0..to_ms).step_by(20) {
        for (at, turn) in due.extract_if(.., |(at, _)| *at == ms) {
            c.recognised(t0 + Duration::from_millis(at), turn, false, heard(text));
        }
        let step = talk(c, t0, ms, ms + 20, voiced);
        due.extend(
            recognitions(&step)
                .into_iter()
                .map(|(at, turn, _)| (at + 100, turn)),
        );
        out.extend(step);
    }
    out
}

#[test]
fn speech_over_a_prompt_stops_it_at_the_frame_the_rule_fires() {
    let t0 = Instant::now();
    let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
    let out = talk_and_hear(&mut c, t0, 8000, &[(5000, 6500)], "I want to return it");
    let barge = events(&out, "barge_in");
    let [(at, _)] = barge[..] else {
        panic!("one barge-in: {barge:?}");
    };
    // 300 ms of speech from 5.0 s; the VAD lags a frame or two.
    assert!((5280..=5340).contains(&at), "barge-in at {at} ms");
    let payloads = sent(&out);
    let before = payloads
        .iter()
        .find(|(ms, _)| *ms == at - 20)
        .expect("frame before");
    let then = payloads.iter().find(|(ms, _)| *ms == at).expect("frame at");
    assert!(!silent(&before.1), "kefu spoke until the rule fired");
    let next = payloads
        .iter()
        .find(|(ms, _)| *ms == at + 20)
        .expect("frame after");
    assert!(
        silent(&then.1),
        "and was silent on that very frame: {:?} then {:?}",
        then.1,
        next.1
    );
    // The words reach the flow, which stops the prompt for good and moves on.
    let spoke = spoke(&out);
    assert_eq!(spoke[0].1["ended"], "interrupted", "{spoke:?}");
    assert_eq!(spoke[0].1["played_ms"], at, "{spoke:?}");
    assert_eq!(
        hangup_cause(&out.into_iter().map(|(_, o)| o).collect::<Vec<_>>()),
        Some("flow.hangup")
    );
}

#[test]
fn a_short_noise_burst_does_not_stop_the_prompt() {
    let t0 = Instant::now();
    let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
    let out = talk_and_hear(&mut c, t0, 10_400, &[(5000, 5150)], "");
    assert!(events(&out, "barge_in").is_empty());
    let spoke = spoke(&out);
    assert_eq!(spoke[0].1["ended"], "finished", "{spoke:?}");
    assert_eq!(spoke[0].1["played_ms"], 10_000);
}

#[test]
fn a_backchannel_pauses_then_resumes_the_prompt() {
    let t0 = Instant::now();
    let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
    let out = talk_and_hear(&mut c, t0, 12_000, &[(5000, 5400)], "Mhm.");
    assert_eq!(events(&out, "barge_in").len(), 1);
    let resumed = events(&out, "false_interruption");
    let [(resumed_at, detail)] = resumed[..] else {
        panic!("one false interruption: {resumed:?}");
    };
    assert!(detail.contains("\"resumed\":true"), "{detail}");
    let payloads = sent(&out);
    let after = payloads
        .iter()
        .find(|(ms, _)| *ms == resumed_at + 20)
        .expect("frame after");
    assert!(!silent(&after.1), "the prompt plays on");
    let spoke = spoke(&out);
    assert_eq!(spoke[0].1["ended"], "finished", "{spoke:?}");
    assert_eq!(
        spoke[0].1["played_ms"], 10_000,
        "all of it, nothing skipped"
    );
}

#[test]
fn the_echo_of_kefus_own_voice_does_not_stop_it() {
    let t0 = Instant::now();
    let mut c = call_with(t0, LONG_PROMPT_FLOW, true);
    // The caller's side returns kefu's prompt 12 dB down (a square wave of 2000 under the
    // prompt's 8000), all through the prompt.
    let out = feed(&mut c, t0, 0, 10_400, None, |ms| {
        std::array::from_fn(|n| {
            let i = (ms * 8 + n as u64) / 4;
            let v = if i.is_multiple_of(2) { 2000 } else { -2000 };
            crate::media::codec::g711::linear_to_ulaw(v)
        })
    });
    assert!(
        events(&out, "barge_in").is_empty(),
        "{:?}",
        events(&out, "barge_in")
    );
    assert_eq!(spoke(&out)[0].1["ended"], "finished");
}
