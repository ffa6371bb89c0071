//! `set`: fixed values into variables, then the next node.

use std::time::Instant;

use crate::config::flow::SetNode;
use crate::dialogue::action::FlowEvent;
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct SetStep {
    node: SetNode,
}

impl SetStep {
    pub(crate) fn new(node: SetNode) -> Self {
        SetStep { node }
    }
}

impl NodeStep for SetStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        for (var, value) in &self.node.vars {
            cx.vars.insert(var.to_string(), value.clone());
        }
        Step::Goto(self.node.next.clone())
    }

    fn handle(&mut self, _now: Instant, _event: &FlowEvent, _cx: &mut Cx) -> Step {
        // Never current: it moves on as it is entered.
        Step::Stay
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::Vars;
    use crate::dialogue::testkit::{Sim, entered, hangup};

    #[test]
    fn sets_every_variable_and_goes_on() {
        let text = r#"
start = "s"
[nodes.s]
kind = "set"
vars = { topic = "returns", lang = "en" }
next = "end"
[nodes.end]
kind = "hangup"
"#;
        let vars = Vars::from([("topic".to_string(), "orders".to_string())]);
        let mut sim = Sim::with_vars(text, vars);
        assert_eq!(
            sim.start(),
            [entered("s"), entered("end"), hangup("flow.hangup")]
        );
        assert_eq!(sim.run.vars()["topic"], "returns");
        assert_eq!(sim.run.vars()["lang"], "en");
    }
}
