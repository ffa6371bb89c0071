//! Voice-to-voice latency of one caller turn, stage by stage: the caller stops speaking, the
//! endpoint is decided, the final transcript is ready, the flow decides its reply, the reply's
//! first audio is ready, and its first packet leaves. Recorded in the call timeline (`latency`)
//! and as Prometheus histograms, one per stage and one for the whole.

use std::time::{Duration, Instant};

/// The stages of the turn now being answered.
#[derive(Debug, Clone)]
pub(crate) struct TurnLatency {
    speech_end: Instant,
    endpoint: Instant,
    final_ready: Instant,
    reply: Option<Instant>,
    first_audio: Option<Instant>,
}

impl TurnLatency {
    /// The caller's turn is recognised (its final result handed to the flow at `final_ready`).
    pub(crate) fn heard(speech_end: Instant, endpoint: Instant, final_ready: Instant) -> Self {
        TurnLatency {
            speech_end,
            endpoint,
            final_ready,
            reply: None,
            first_audio: None,
        }
    }

    /// The flow asked to play or say something in answer (only the first request counts).
    pub(crate) fn replied(&mut self, now: Instant) {
        self.reply.get_or_insert(now);
    }

    /// The reply's first audio is ready to send (a recorded prompt at once, speech when its
    /// first sentence is rendered).
    pub(crate) fn audio_ready(&mut self, now: Instant) {
        if self.reply.is_some() {
            self.first_audio.get_or_insert(now);
        }
    }

    /// Whether the reply has audio waiting for its first packet.
    pub(crate) fn awaits_packet(&self) -> bool {
        self.first_audio.is_some()
    }

    /// The first packet of the reply left at `now`: records the histograms and returns the
    /// timeline entry (milliseconds since `answered`).
    pub(crate) fn sent(self, now: Instant, answered: Instant) -> String {
        let reply = self.reply.unwrap_or(now);
        let first_audio = self.first_audio.unwrap_or(now);
        let stages = [
            ("endpoint", self.speech_end, self.endpoint),
            ("final", self.endpoint, self.final_ready),
            ("reply", self.final_ready, reply),
            ("first_audio", reply, first_audio),
            ("first_packet", first_audio, now),
            ("voice_to_voice", self.speech_end, now),
        ];
        for (stage, from, to) in stages {
            metrics::histogram!("kefu_turn_latency_seconds", "stage" => stage)
                .record(since(from, to).as_secs_f64());
        }
        let ms = |t: Instant| since(answered, t).as_millis() as u64;
        serde_json::json!({
            "speech_end_ms": ms(self.speech_end),
            "endpoint_ms": ms(self.endpoint),
            "final_ms": ms(self.final_ready),
            "reply_ms": ms(reply),
            "first_audio_ms": ms(first_audio),
            "first_packet_ms": ms(now),
            "voice_to_voice_ms": since(self.speech_end, now).as_millis() as u64,
        })
        .to_string()
    }
}

fn since(from: Instant, to: Instant) -> Duration {
    to.saturating_duration_since(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_is_on_the_record() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut l = TurnLatency::heard(at(1000), at(1500), at(1510));
        l.audio_ready(at(1511));
        assert!(
            !l.awaits_packet(),
            "no audio counts before the reply is decided"
        );
        l.replied(at(1512));
        l.replied(at(1600));
        l.audio_ready(at(1530));
        l.audio_ready(at(1700));
        assert!(l.awaits_packet());
        let record: serde_json::Value = serde_json::from_str(&l.sent(at(1540), t0)).expect("json");
        assert_eq!(record["reply_ms"], 1512);
        assert_eq!(record["first_audio_ms"], 1530);
        assert_eq!(record["first_packet_ms"], 1540);
        assert_eq!(record["voice_to_voice_ms"], 540);
    }
}
