//! What the shop assistant did on each call: every turn (`call_turns`), how the conversation
//! ended (`call_outcomes`), and the figures `kefu report` prints from them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::database::Store;
use super::error::StoreError;
use super::timestamp::format_timestamp;

/// One turn of a caller with the assistant, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnRow {
    pub said: String,
    pub intent: String,
    pub confidence: f32,
    /// Slot name to value.
    pub slots: BTreeMap<String, String>,
    pub sentiment: f32,
    pub reply: String,
}

/// How a call's conversation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeRow {
    /// `resolved`, `handed_over` or `abandoned`.
    pub outcome: String,
    pub skill: String,
    pub summary: String,
    pub sentiment: f32,
}

/// The assistant's figures over calls started since a moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<String>,
    /// Every call in the period, with or without a conversation.
    pub calls: u64,
    /// Calls in which the caller talked with the assistant.
    pub conversations: u64,
    pub resolved: u64,
    pub handed_over: u64,
    pub abandoned: u64,
    /// Share of conversations resolved by the bot (0..1), and handed to a person.
    pub resolution_rate: f64,
    pub handoff_rate: f64,
    /// Mean of the conversations' average sentiment, -1 .. 1.
    pub average_sentiment: f64,
    /// Intents of the callers' turns, most frequent first.
    pub top_intents: Vec<(String, u64)>,
    /// Handoffs per queue.
    pub handoffs_by_skill: Vec<(String, u64)>,
}

impl Store {
    /// Appends a turn to the call's conversation.
    pub async fn add_turn(
        &self,
        call: &str,
        at: Timestamp,
        turn: &TurnRow,
    ) -> Result<(), StoreError> {
        let slots = serde_json::to_string(&turn.slots).unwrap_or_else(|_| "{}".into());
        sqlx::query(
            "INSERT INTO call_turns (call_id, seq, at, said, intent, confidence, slots, sentiment, reply) \
             SELECT id, COALESCE((SELECT MAX(seq) FROM call_turns WHERE call_id = $1), 0) + 1, \
                    $2, $3, $4, $5, $6, $7, $8 \
             FROM calls WHERE id = $1",
        )
        .bind(call)
        .bind(format_timestamp(at))
        .bind(&turn.said)
        .bind(&turn.intent)
        .bind(turn.confidence)
        .bind(slots)
        .bind(turn.sentiment)
        .bind(&turn.reply)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("add_turn"))?;
        Ok(())
    }

    /// Records (or replaces) how the call's conversation ended.
    pub async fn set_outcome(&self, call: &str, outcome: &OutcomeRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO call_outcomes (call_id, outcome, skill, summary, sentiment) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (call_id) DO UPDATE SET outcome = $2, skill = $3, summary = $4, \
             sentiment = $5",
        )
        .bind(call)
        .bind(&outcome.outcome)
        .bind(&outcome.skill)
        .bind(&outcome.summary)
        .bind(outcome.sentiment)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("set_outcome"))?;
        Ok(())
    }

    /// The call's turns, oldest first.
    pub async fn turns_of(&self, call: &str) -> Result<Vec<TurnRow>, StoreError> {
        let rows: Vec<(String, String, f32, String, f32, String)> = sqlx::query_as(
            "SELECT said, intent, confidence, slots, sentiment, reply FROM call_turns \
             WHERE call_id = $1 ORDER BY seq",
        )
        .bind(call)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("turns_of"))?;
        Ok(rows
            .into_iter()
            .map(
                |(said, intent, confidence, slots, sentiment, reply)| TurnRow {
                    said,
                    intent,
                    confidence,
                    slots: serde_json::from_str(&slots).unwrap_or_default(),
                    sentiment,
                    reply,
                },
            )
            .collect())
    }

    pub async fn outcome_of(&self, call: &str) -> Result<Option<OutcomeRow>, StoreError> {
        let row: Option<(String, String, String, f32)> = sqlx::query_as(
            "SELECT outcome, skill, summary, sentiment FROM call_outcomes WHERE call_id = $1",
        )
        .bind(call)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("outcome_of"))?;
        Ok(row.map(|(outcome, skill, summary, sentiment)| OutcomeRow {
            outcome,
            skill,
            summary,
            sentiment,
        }))
    }

    /// The figures over calls started at or after `since` (all calls without it).
    pub async fn report(&self, since: Option<Timestamp>) -> Result<Report, StoreError> {
        let op = "report";
        let since_text = since.map(format_timestamp);
        // Before every stored call when no start is given.
        let from = since_text.clone().unwrap_or_default();
        let calls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE started_at >= $1")
            .bind(&from)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        let outcomes: Vec<(String, String, f32)> = sqlx::query_as(
            "SELECT o.outcome, o.skill, o.sentiment FROM call_outcomes o \
             JOIN calls c ON c.id = o.call_id WHERE c.started_at >= $1",
        )
        .bind(&from)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        let intents: Vec<(String, i64)> = sqlx::query_as(
            "SELECT t.intent, COUNT(*) FROM call_turns t JOIN calls c ON c.id = t.call_id \
             WHERE c.started_at >= $1 GROUP BY t.intent",
        )
        .bind(&from)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;

        let count = |word: &str| outcomes.iter().filter(|(o, _, _)| o == word).count() as u64;
        let conversations = outcomes.len() as u64;
        let rate = |n: u64| {
            if conversations == 0 {
                0.0
            } else {
                n as f64 / conversations as f64
            }
        };
        let mut skills: BTreeMap<String, u64> = BTreeMap::new();
        for (_, skill, _) in outcomes.iter().filter(|(o, _, _)| o == "handed_over") {
            *skills.entry(skill.clone()).or_default() += 1;
        }
        let average_sentiment = if conversations == 0 {
            0.0
        } else {
            outcomes.iter().map(|(_, _, s)| f64::from(*s)).sum::<f64>() / conversations as f64
        };
        let (resolved, handed_over) = (count("resolved"), count("handed_over"));
        Ok(Report {
            since: since_text,
            calls: calls.max(0) as u64,
            conversations,
            resolved,
            handed_over,
            abandoned: count("abandoned"),
            resolution_rate: rate(resolved),
            handoff_rate: rate(handed_over),
            average_sentiment,
            top_intents: most_first(intents.into_iter().map(|(i, n)| (i, n.max(0) as u64))),
            handoffs_by_skill: most_first(skills),
        })
    }
}

/// Counts, most frequent first, then by name.
fn most_first(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;

    fn turn(intent: &str, sentiment: f32) -> TurnRow {
        TurnRow {
            said: "where is my order 10023".into(),
            intent: intent.into(),
            confidence: 0.8,
            slots: [("order_number".to_string(), "10023".to_string())].into(),
            sentiment,
            reply: "It has shipped.".into(),
        }
    }

    fn outcome(word: &str, skill: &str, sentiment: f32) -> OutcomeRow {
        OutcomeRow {
            outcome: word.into(),
            skill: skill.into(),
            summary: if skill.is_empty() {
                String::new()
            } else {
                "Caller wants to return order 10023; frustrated.".into()
            },
            sentiment,
        }
    }

    #[tokio::test]
    async fn turns_and_outcomes_add_up_to_the_report() {
        let (_dir, store) = fixtures::temp_store().await;
        let t0 = fixtures::at(0);
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            let call = fixtures::new_call(id, i as i64 * 60_000);
            store.insert_call(&call).await.expect("call");
        }
        store
            .add_turn("a", t0, &turn("order_status", 0.0))
            .await
            .expect("turn");
        store
            .add_turn("a", t0, &turn("goodbye", 0.5))
            .await
            .expect("turn");
        store
            .add_turn("b", t0, &turn("return_request", -0.6))
            .await
            .expect("turn");
        store
            .add_turn("b", t0, &turn("human_agent", -0.4))
            .await
            .expect("turn");
        store
            .add_turn("c", t0, &turn("order_status", 0.1))
            .await
            .expect("turn");
        store
            .set_outcome("a", &outcome("resolved", "", 0.25))
            .await
            .expect("outcome");
        store
            .set_outcome("b", &outcome("handed_over", "returns", -0.5))
            .await
            .expect("outcome");
        store
            .set_outcome("c", &outcome("abandoned", "", 0.1))
            .await
            .expect("outcome");
        // A second write replaces the first: an outcome is per call.
        store
            .set_outcome("c", &outcome("resolved", "", 0.1))
            .await
            .expect("outcome");

        let turns = store.turns_of("b").await.expect("turns");
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[0].intent, "return_request");
        assert_eq!(turns[0].slots["order_number"], "10023");
        let b = store.outcome_of("b").await.expect("read").expect("stored");
        assert_eq!(b.skill, "returns");

        let all = store.report(None).await.expect("report");
        assert_eq!((all.calls, all.conversations), (4, 3));
        assert_eq!((all.resolved, all.handed_over, all.abandoned), (2, 1, 0));
        assert!((all.resolution_rate - 2.0 / 3.0).abs() < 1e-9, "{all:?}");
        assert!((all.handoff_rate - 1.0 / 3.0).abs() < 1e-9, "{all:?}");
        assert!((all.average_sentiment - (0.25 - 0.5 + 0.1) / 3.0).abs() < 1e-6);
        assert_eq!(all.top_intents[0], ("order_status".to_string(), 2));
        assert_eq!(all.handoffs_by_skill, [("returns".to_string(), 1)]);

        // Only calls b, c and d started in the last three minutes of the four.
        let since = fixtures::at(60_000);
        let recent = store.report(Some(since)).await.expect("report");
        assert_eq!((recent.calls, recent.conversations), (3, 2));
        assert_eq!(recent.resolved, 1);
    }

    #[tokio::test]
    async fn a_turn_of_an_unknown_call_is_not_stored() {
        let (_dir, store) = fixtures::temp_store().await;
        store
            .add_turn("nope", Timestamp::now(), &turn("order_status", 0.0))
            .await
            .expect("no error, nothing written");
        assert!(store.turns_of("nope").await.expect("read").is_empty());
    }
}
