//! Scripted calls to the demo hotline (`sip-config/flows/hotline.toml`) with exact instants.
//!
//! Most are the hotline as it runs without a speech model: the assistant hands over to the
//! keys menu at once. The assistant's own turns are tested in `converse.rs`; the last test
//! here is the hotline with it.

use crate::config::flow::{PromptRef, TransferTarget};
use crate::dialogue::FlowAction::{StartRecording, StopListening, StopPlayback};
use crate::dialogue::testkit::{Sim, entered, hangup, listen, play, speech_failed_note};
use crate::dialogue::{FlowAction, FlowEvent, TransferOutcome, VAR_SPEECH};

const HOTLINE: &str = include_str!("../../sip-config/flows/hotline.toml");

/// The menu's `Listen`.
fn listen_menu() -> FlowAction {
    listen(Some("hotline_menu"), 500)
}

/// The order number's `Listen`.
fn listen_order() -> FlowAction {
    listen(Some("order_number"), 1000)
}

/// The hotline on a server without a speech model.
fn keys_hotline() -> Sim {
    Sim::with_vars(
        HOTLINE,
        [(VAR_SPEECH.to_string(), "off".to_string())].into(),
    )
}

/// After the greeting: the assistant, which cannot hear this caller, then the menu.
fn to_the_menu() -> Vec<FlowAction> {
    vec![
        entered("assistant"),
        FlowAction::Note {
            kind: "assistant_unavailable",
            detail: "no speech recognition (no model installed)".into(),
        },
        entered("menu"),
        listen_menu(),
        play(&["main-menu"], true),
    ]
}

/// Answered at t=0; the greeting ends at 2.5 s and the menu prompt starts, listening.
fn at_the_menu() -> Sim {
    let mut sim = keys_hotline();
    assert_eq!(
        sim.start(),
        [entered("greeting"), play(&["greeting"], true)]
    );
    assert_eq!(sim.played(2500), to_the_menu());
    sim
}

fn path(sim: &Sim) -> Vec<&str> {
    sim.run.path().iter().map(|n| n.as_str()).collect()
}

fn transfer() -> FlowAction {
    FlowAction::Transfer {
        target: TransferTarget::Queue("agents".to_string()),
        timeout_ms: 30_000,
        announce: vec![PromptRef::new("connecting").expect("valid")],
        // Keys only: no summary, nothing said to the agent.
        brief: None,
        refer: false,
    }
}

#[test]
fn order_number_is_collected_read_back_and_back_to_the_menu() {
    let mut sim = at_the_menu();
    assert_eq!(
        sim.digit(4200, '1'),
        [
            StopPlayback,
            StopListening,
            entered("order"),
            listen_order(),
            play(&["order-ask"], true)
        ]
    );
    sim.played(7000);
    assert_eq!(sim.timeout_ms(), Some(13_000), "6 s for the first digit");
    assert_eq!(sim.type_keys(8000, 500, "12345"), []);
    assert_eq!(sim.timeout_ms(), Some(14_000), "4 s after the last digit");
    assert_eq!(
        sim.digit(10_500, '#'),
        [
            StopListening,
            entered("order-readback"),
            play(
                &[
                    "you-entered",
                    "digit-1",
                    "digit-2",
                    "digit-3",
                    "digit-4",
                    "digit-5",
                    "order-noted"
                ],
                true
            )
        ]
    );
    assert_eq!(sim.run.vars()["order_number"], "12345");
    assert_eq!(
        sim.played(16_000),
        [entered("order-next"), play(&["order-next"], true)]
    );
    assert_eq!(
        sim.digit(17_000, '*'),
        [
            StopPlayback,
            entered("menu"),
            listen_menu(),
            play(&["main-menu"], true)
        ]
    );
    assert_eq!(
        path(&sim),
        [
            "greeting",
            "assistant",
            "menu",
            "order",
            "order-readback",
            "order-next",
            "menu"
        ]
    );
    assert_eq!(sim.run.digits(), "112345#*");
}

#[test]
fn order_number_too_short_twice_then_silence_goes_back_to_the_menu() {
    let mut sim = at_the_menu();
    sim.digit(3000, '1');
    sim.played(6000);
    assert_eq!(
        sim.type_keys(7000, 500, "12#"),
        [play(&["order-invalid", "order-ask"], true)]
    );
    assert_eq!(sim.type_keys(9000, 500, "123"), [StopPlayback]);
    assert_eq!(
        sim.run_until(14_000),
        [(14_000, play(&["order-invalid", "order-ask"], true))]
    );
    sim.played(20_000);
    assert_eq!(
        sim.run_until(26_000),
        [
            (26_000, StopListening),
            (26_000, entered("menu")),
            (26_000, listen_menu()),
            (26_000, play(&["main-menu"], true))
        ]
    );
}

#[test]
fn returns_policy_then_the_menu_again() {
    let mut sim = at_the_menu();
    sim.played(9000);
    assert_eq!(sim.timeout_ms(), Some(14_000));
    assert_eq!(
        sim.digit(10_000, '2'),
        [
            StopListening,
            entered("returns"),
            play(&["returns-policy"], true)
        ]
    );
    assert_eq!(
        sim.timeout_ms(),
        Some(3_600_000),
        "only the hour limit is left"
    );
    assert_eq!(
        sim.played(22_000),
        [entered("menu"), listen_menu(), play(&["main-menu"], true)]
    );
}

#[test]
fn a_key_during_the_greeting_goes_straight_to_its_option() {
    let mut sim = keys_hotline();
    sim.start();
    assert_eq!(
        sim.digit(1000, '2'),
        [
            StopPlayback,
            entered("assistant"),
            entered("returns"),
            play(&["returns-policy"], true)
        ]
    );
}

#[test]
fn busy_agents_lead_to_a_message_and_goodbye() {
    let mut sim = at_the_menu();
    assert_eq!(
        sim.digit(3000, '0'),
        [StopPlayback, StopListening, entered("agent"), transfer()]
    );
    assert_eq!(
        sim.event(33_000, FlowEvent::TransferEnded(TransferOutcome::NoAnswer)),
        [entered("message"), play(&["agents-busy"], true)]
    );
    assert_eq!(
        sim.played(37_000),
        [StartRecording {
            max_seconds: 120,
            silence_seconds: Some(5),
            beep: true
        }]
    );
    assert_eq!(
        sim.event(
            60_000,
            FlowEvent::RecordingFinished {
                path: "data/recordings/c1-message.wav".to_string(),
                seconds: 18.5
            }
        ),
        [entered("message-saved"), play(&["message-saved"], false)]
    );
    assert_eq!(
        sim.played(62_000),
        [entered("goodbye"), play(&["goodbye"], false)]
    );
    assert_eq!(sim.played(65_000), [hangup("flow.hangup")]);
    assert_eq!(sim.run.vars()["message"], "data/recordings/c1-message.wav");
    assert_eq!(
        path(&sim),
        [
            "greeting",
            "assistant",
            "menu",
            "agent",
            "message",
            "message-saved",
            "goodbye"
        ]
    );
}

#[test]
fn an_answered_transfer_ends_the_call_when_the_agent_hangs_up() {
    let mut sim = at_the_menu();
    sim.digit(3000, '0');
    assert_eq!(
        sim.event(
            600_000,
            FlowEvent::TransferEnded(TransferOutcome::Completed)
        ),
        [hangup("flow.transfer_ended")]
    );
}

#[test]
fn a_silent_caller_hears_the_menu_three_times_then_goodbye() {
    let mut sim = at_the_menu();
    sim.played(9000);
    assert_eq!(
        sim.run_until(14_000),
        [(14_000, play(&["no-input", "main-menu"], true))]
    );
    sim.played(21_000);
    assert_eq!(
        sim.run_until(26_000),
        [(26_000, play(&["no-input", "main-menu"], true))]
    );
    sim.played(33_000);
    assert_eq!(
        sim.run_until(38_000),
        [
            (38_000, StopListening),
            (38_000, entered("goodbye")),
            (38_000, play(&["goodbye"], false))
        ]
    );
    assert_eq!(sim.played(41_000), [hangup("flow.hangup")]);
    assert_eq!(sim.run.digits(), "");
}

#[test]
fn the_hotline_never_outlives_its_maximum_duration() {
    let mut sim = at_the_menu();
    sim.digit(3000, '0');
    assert_eq!(sim.timeout_ms(), Some(3_600_000));
    assert_eq!(
        sim.run_until(3_600_000),
        [(3_600_000, hangup("flow.max_duration"))]
    );
}

#[test]
fn a_caller_says_order_during_the_menu_then_says_the_number() {
    let mut sim = at_the_menu();
    // The menu prompt stops at the instant the caller starts talking.
    assert_eq!(sim.speech_started(3400), [StopPlayback]);
    assert_eq!(
        sim.timeout_ms(),
        Some(3_600_000),
        "no menu timeout while talking"
    );
    assert_eq!(
        sim.heard(4600, "where is my order", Some("order"), 0.86),
        [
            StopListening,
            entered("order"),
            listen_order(),
            play(&["order-ask"], true)
        ]
    );
    sim.played(6500);
    assert_eq!(sim.timeout_ms(), Some(12_500));
    assert_eq!(sim.speech_started(7000), []);
    assert_eq!(
        sim.heard(10_200, "one zero zero two three", Some("10023"), 0.91),
        [
            StopListening,
            entered("order-readback"),
            play(
                &[
                    "you-entered",
                    "digit-1",
                    "digit-0",
                    "digit-0",
                    "digit-2",
                    "digit-3",
                    "order-noted"
                ],
                true
            )
        ]
    );
    assert_eq!(sim.run.vars()["order_number"], "10023");
    assert_eq!(sim.run.digits(), "");
    assert_eq!(
        sim.heard_log(),
        [
            ("menu".to_string(), "order".to_string(), true),
            ("order".to_string(), "10023".to_string(), true)
        ]
    );
}

#[test]
fn saying_agent_rings_the_agents() {
    let mut sim = at_the_menu();
    sim.played(9000);
    assert_eq!(
        sim.say(9800, 10_900, "can I talk to a person", Some("agent"), 0.8),
        [StopListening, entered("agent"), transfer()]
    );
}

#[test]
fn misheard_twice_the_menu_takes_keys_and_the_prompt_still_plays_again() {
    let mut sim = at_the_menu();
    assert_eq!(
        sim.say(3000, 4000, "erm", None, 0.6),
        [StopPlayback, play(&["invalid-choice", "main-menu"], true)]
    );
    assert_eq!(
        sim.say(5000, 6000, "order", Some("order"), 0.3),
        [
            StopPlayback,
            StopListening,
            play(&["invalid-choice", "main-menu"], true)
        ]
    );
    assert_eq!(sim.speech_started(7000), [], "keys only now");
    assert_eq!(
        sim.digit(8000, '2'),
        [
            StopPlayback,
            entered("returns"),
            play(&["returns-policy"], true)
        ]
    );
    assert_eq!(
        sim.played(20_000),
        [entered("menu"), listen_menu(), play(&["main-menu"], true)],
        "a new visit listens again"
    );
}

#[test]
fn speech_during_the_greeting_is_not_heard() {
    let mut sim = keys_hotline();
    sim.start();
    assert_eq!(sim.speech_started(800), []);
    assert_eq!(sim.heard(1500, "returns", Some("returns"), 0.9), []);
    assert_eq!(sim.played(2500), to_the_menu());
    assert!(sim.run.heard().is_empty());
}

#[test]
fn a_failed_recognition_of_the_order_number_asks_again() {
    let mut sim = at_the_menu();
    sim.digit(3000, '1');
    sim.played(6000);
    sim.speech_started(6500);
    assert_eq!(
        sim.speech_failed(9000, "asr: model not loaded"),
        [
            speech_failed_note("asr: model not loaded"),
            play(&["order-invalid", "order-ask"], true)
        ]
    );
    assert_eq!(sim.type_keys(10_000, 300, "4321"), [StopPlayback]);
    assert_eq!(
        sim.digit(11_500, '#'),
        [
            StopListening,
            entered("order-readback"),
            play(
                &[
                    "you-entered",
                    "digit-4",
                    "digit-3",
                    "digit-2",
                    "digit-1",
                    "order-noted"
                ],
                true
            )
        ]
    );
}

#[test]
fn with_speech_the_assistant_answers_after_the_greeting_and_keys_still_work() {
    let mut sim = Sim::new(HOTLINE);
    sim.with_demo_shop();
    sim.start();
    let out = sim.played(2500);
    assert_eq!(out[..2], [entered("assistant"), listen(None, 700)]);
    assert!(
        matches!(&out[2], FlowAction::Say { text, .. } if text.contains("press 1 for an order")),
        "{out:?}"
    );
    let out = sim.say(3000, 5000, "where is my order 10023", None, 0.9);
    assert!(
        out.iter()
            .any(|a| matches!(a, FlowAction::Say { text, .. } if text.contains("shipped"))),
        "{out:?}"
    );
    sim.played(9000);

    // Asked for, a person hears the assistant's summary before the caller is put through.
    sim.say(10_000, 12_000, "this is useless, get me a human", None, 0.9);
    let out = sim.played(15_000);
    assert!(out.contains(&entered("agent")), "{out:?}");
    let brief = out.iter().find_map(|a| match a {
        FlowAction::Transfer { brief, .. } => brief.clone(),
        _ => None,
    });
    let brief = brief.unwrap_or_else(|| panic!("a brief for the agent: {out:?}"));
    assert!(brief.contains("order 10023"), "{brief}");

    // The menu's keys work while the assistant talks: 0 is a person, without a summary.
    let mut sim = Sim::new(HOTLINE);
    sim.with_demo_shop();
    sim.start();
    sim.played(2500);
    let out = sim.digit(3000, '0');
    assert_eq!(
        out[..3],
        [StopPlayback, StopListening, entered("agent")],
        "{out:?}"
    );
    assert!(out.contains(&transfer()), "{out:?}");
}
