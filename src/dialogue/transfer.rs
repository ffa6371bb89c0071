//! `transfer`: connect the caller to an agent, a queue of agents or a SIP URI.

use std::time::Instant;

use crate::config::flow::TransferNode;
use crate::dialogue::action::{EndCause, FlowAction, FlowEvent, TransferOutcome};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct TransferStep {
    node: TransferNode,
}

impl TransferStep {
    pub(crate) fn new(node: TransferNode) -> Self {
        TransferStep { node }
    }
}

impl NodeStep for TransferStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        let announce = self
            .node
            .announce
            .iter()
            .flat_map(|item| cx.expand(item))
            .collect();
        cx.push(FlowAction::Transfer {
            target: self.node.target.clone(),
            // At most an hour (checked at load), so it fits.
            timeout_ms: u32::try_from(self.node.timeout.as_millis()).unwrap_or(u32::MAX),
            announce,
            brief: self
                .node
                .brief
                .as_ref()
                .map(|t| t.render(&cx.vars))
                .filter(|b| !b.trim().is_empty()),
            refer: self.node.refer,
        });
        Step::Stay
    }

    fn handle(&mut self, _now: Instant, event: &FlowEvent, _cx: &mut Cx) -> Step {
        // Keys pressed while ringing or talking to the agent are only kept in `digits()`.
        match event {
            FlowEvent::TransferEnded(TransferOutcome::Completed) => {
                Step::goto_or(&self.node.next, EndCause::TRANSFER_ENDED)
            }
            FlowEvent::TransferEnded(_) => {
                Step::goto_or(&self.node.on_failure, EndCause::TRANSFER_FAILED)
            }
            _ => Step::Stay,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::flow::{PromptRef, TransferTarget};
    use crate::dialogue::testkit::{Sim, entered, hangup};
    use crate::dialogue::{FlowAction, FlowEvent, TransferOutcome, Vars};

    const FLOW: &str = r#"
start = "agent"
[nodes.agent]
kind = "transfer"
target = "queue:agents"
timeout_ms = 20000
announce = ["hold", { digits = "ticket" }]
on_failure = "busy"
next = "after"
[nodes.busy]
kind = "hangup"
cause = "flow.busy"
[nodes.after]
kind = "hangup"
cause = "flow.after"
"#;

    fn ended(sim: &mut Sim, outcome: TransferOutcome) -> Vec<FlowAction> {
        sim.event(9000, FlowEvent::TransferEnded(outcome))
    }

    #[test]
    fn asks_for_the_transfer_with_the_announcement() {
        let vars = Vars::from([("ticket".to_string(), "42".to_string())]);
        let mut sim = Sim::with_vars(FLOW, vars);
        let prompt = |p: &str| PromptRef::new(p).expect("valid");
        assert_eq!(
            sim.start(),
            [
                entered("agent"),
                FlowAction::Transfer {
                    target: TransferTarget::Queue("agents".to_string()),
                    timeout_ms: 20_000,
                    announce: vec![prompt("hold"), prompt("digit-4"), prompt("digit-2")],
                    brief: None,
                    refer: false,
                }
            ]
        );
        assert_eq!(sim.timeout_ms(), None);
        assert_eq!(sim.digit(3000, '5'), []);
        assert_eq!(sim.run.digits(), "5");
    }

    #[test]
    fn answered_goes_to_next_and_failures_to_on_failure() {
        let mut sim = Sim::new(FLOW);
        sim.start();
        assert_eq!(
            ended(&mut sim, TransferOutcome::Completed),
            [entered("after"), hangup("flow.after")]
        );
        for outcome in [
            TransferOutcome::Busy,
            TransferOutcome::NoAnswer,
            TransferOutcome::Failed("503".to_string()),
        ] {
            let mut sim = Sim::new(FLOW);
            sim.start();
            assert_eq!(
                ended(&mut sim, outcome),
                [entered("busy"), hangup("flow.busy")]
            );
        }
    }

    #[test]
    fn without_next_or_on_failure_the_call_ends() {
        let text = FLOW
            .replace("on_failure = \"busy\"\n", "")
            .replace("next = \"after\"\n", "");
        let mut sim = Sim::new(&text);
        sim.start();
        assert_eq!(
            ended(&mut sim, TransferOutcome::Completed),
            [hangup("flow.transfer_ended")]
        );
        let mut sim = Sim::new(&text);
        sim.start();
        assert_eq!(
            ended(&mut sim, TransferOutcome::Busy),
            [hangup("flow.transfer_failed")]
        );
    }
}
