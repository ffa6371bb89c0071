//! What kefu keeps about a call. Stored in the `calls` table, printed by `kefu calls`, served by
//! the `kefu.v1.Calls` API.

use serde::Serialize;

/// Which way a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A caller dialled kefu.
    Inbound,
    /// kefu dialled out (campaigns, transfers to a SIP URI).
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// One call, live or ended. Times are RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// kefu's own call id (not the SIP Call-ID, which is `sip_call_id`).
    pub id: String,
    pub sip_call_id: String,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    /// When the INVITE arrived (or was sent).
    pub started_at: String,
    pub answered_at: Option<String>,
    /// `None` while the call is live.
    pub ended_at: Option<String>,
    /// Stable code such as `caller.hangup`, `media.timeout`, `flow.hangup`, `sip.488`.
    pub end_cause: Option<String>,
    /// Negotiated codec, e.g. `PCMU`.
    pub codec: Option<String>,
    /// Every key the caller pressed, in order.
    pub digits: String,
    /// Flow name and the nodes visited, e.g. `["hotline", "greeting", "menu", "order"]`.
    pub flow_path: Vec<String>,
    /// Path of the stereo WAV, if recorded.
    pub recording: Option<String>,
    /// The kefu node that handled the call.
    pub node: String,
    /// Timeline of the call, oldest first.
    pub events: Vec<CallEvent>,
    /// What the caller said, turn by turn, from the `speech` events: text, the grammar's
    /// interpretation, confidence, and the turn's times in ms since the answer.
    pub transcript: Vec<serde_json::Value>,
    /// The intent of each turn the caller had with the shop assistant, in order.
    pub intents: Vec<String>,
}

/// One timestamped entry in a call's timeline (`answered`, `digit`, `node`, `transfer`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvent {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

/// Stable `kind` codes of timeline entries. The store accepts others; these are the ones
/// kefu writes and `kefu calls show` knows.
pub mod event_kind {
    /// The call was set up (from `started_at`; synthesized by [`super::CallRecord::timeline`]).
    pub const STARTED: &str = "started";
    /// The call was answered; detail is the codec (from `answered_at`, synthesized).
    pub const ANSWERED: &str = "answered";
    /// The caller pressed a key; detail is the key.
    pub const DIGIT: &str = "digit";
    /// The flow entered a node; detail is the node name.
    pub const NODE: &str = "node";
    /// The call was transferred; detail is the target.
    pub const TRANSFER: &str = "transfer";
    /// Recording started; detail is the file.
    pub const RECORDING: &str = "recording";
    /// The call was put on hold.
    pub const HOLD: &str = "hold";
    /// The call was taken off hold.
    pub const RESUME: &str = "resume";
    /// The caller's turn was recognised; detail is JSON (text, interpretation, confidence,
    /// speech_start_ms, speech_end_ms, endpoint_ms, final_ms).
    pub const SPEECH: &str = "speech";
    /// A turn could not be decoded; detail is why. The flow re-prompted.
    pub const SPEECH_FAILED: &str = "speech_failed";
    /// A turn with the shop assistant; detail is JSON (said, intent, confidence, slots,
    /// sentiment, reply).
    pub const TURN: &str = "turn";
    /// The assistant handed the call to a person; detail is `skill: summary`.
    pub const HANDOFF: &str = "handoff";
    /// The call ended; detail is the end cause (from `ended_at`, synthesized).
    pub const ENDED: &str = "ended";
}

/// The `speech` events of a timeline as JSON objects (a detail that is not JSON is skipped).
pub fn transcript_of(events: &[CallEvent]) -> Vec<serde_json::Value> {
    events
        .iter()
        .filter(|e| e.kind == event_kind::SPEECH)
        .filter_map(|e| serde_json::from_str(&e.detail).ok())
        .collect()
}

/// The intents of a timeline's `turn` entries.
pub fn intents_of(events: &[CallEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == event_kind::TURN)
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .filter_map(|turn| turn["intent"].as_str().map(str::to_owned))
        .collect()
}

impl CallRecord {
    /// The whole timeline for display: start, answer, the stored events and the end, in time
    /// order (ties keep that order). Answer and end are columns of the call, not stored events.
    pub fn timeline(&self) -> Vec<CallEvent> {
        let mut all = Vec::with_capacity(self.events.len() + 3);
        all.push(CallEvent {
            at: self.started_at.clone(),
            kind: event_kind::STARTED.to_owned(),
            detail: String::new(),
        });
        if let Some(at) = &self.answered_at {
            all.push(CallEvent {
                at: at.clone(),
                kind: event_kind::ANSWERED.to_owned(),
                detail: self.codec.clone().unwrap_or_default(),
            });
        }
        all.extend(self.events.iter().cloned());
        if let Some(at) = &self.ended_at {
            all.push(CallEvent {
                at: at.clone(),
                kind: event_kind::ENDED.to_owned(),
                detail: self.end_cause.clone().unwrap_or_default(),
            });
        }
        // Stored times are fixed-width RFC 3339 UTC, so text order is time order.
        all.sort_by(|a, b| a.at.cmp(&b.at));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        CallRecord {
            id: "c1".into(),
            sip_call_id: "sip1".into(),
            direction: Direction::Inbound,
            from: "sip:alice@example.com".into(),
            to: "sip:100@kefu".into(),
            started_at: "2026-11-21T09:00:00.000Z".into(),
            answered_at: Some("2026-11-21T09:00:00.500Z".into()),
            ended_at: Some("2026-11-21T09:00:09.000Z".into()),
            end_cause: Some("caller.hangup".into()),
            codec: Some("PCMU".into()),
            digits: "1".into(),
            flow_path: vec!["hotline".into(), "menu".into()],
            recording: None,
            node: "local".into(),
            events: vec![
                CallEvent {
                    at: "2026-11-21T09:00:00.500Z".into(),
                    kind: "node".into(),
                    detail: "menu".into(),
                },
                CallEvent {
                    at: "2026-11-21T09:00:04.000Z".into(),
                    kind: "digit".into(),
                    detail: "1".into(),
                },
            ],
            transcript: vec![],
            intents: vec![],
        }
    }

    #[test]
    fn timeline_merges_columns_and_events_in_time_order() {
        let kinds: Vec<(String, String)> = record()
            .timeline()
            .into_iter()
            .map(|e| (e.kind, e.detail))
            .collect();
        let expected = [
            ("started", ""),
            ("answered", "PCMU"),
            ("node", "menu"),
            ("digit", "1"),
            ("ended", "caller.hangup"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, d)| (k.to_string(), d.to_string()))
            .collect();
        assert_eq!(kinds, expected);
    }

    #[test]
    fn live_unanswered_call_has_only_its_start() {
        let mut live = record();
        live.answered_at = None;
        live.ended_at = None;
        live.end_cause = None;
        live.events.clear();
        let timeline = live.timeline();
        assert_eq!(timeline.len(), 1);
        assert_eq!(timeline[0].kind, event_kind::STARTED);
    }

    #[test]
    fn intents_come_from_the_turns_in_order() {
        let event = |kind: &str, detail: &str| CallEvent {
            at: "2026-11-21T09:00:01.000Z".into(),
            kind: kind.into(),
            detail: detail.into(),
        };
        let events = [
            event(
                "turn",
                r#"{"said":"where is it","intent":"shipping_status"}"#,
            ),
            event("node", "assistant"),
            event("turn", "not json"),
            event("turn", r#"{"said":"a person","intent":"human_agent"}"#),
        ];
        assert_eq!(intents_of(&events), ["shipping_status", "human_agent"]);
    }

    #[test]
    fn direction_round_trips() {
        for d in [Direction::Inbound, Direction::Outbound] {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
        assert_eq!(Direction::parse("sideways"), None);
    }
}
