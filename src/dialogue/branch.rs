//! `branch`: the next node chosen by a variable's value.

use std::time::Instant;

use crate::config::flow::{BranchNode, NodeName};
use crate::dialogue::action::{FlowEvent, Vars};
use crate::dialogue::step::{Cx, NodeStep, Step};

pub(crate) struct BranchStep {
    node: BranchNode,
}

impl BranchStep {
    pub(crate) fn new(node: BranchNode) -> Self {
        BranchStep { node }
    }

    /// `empty` (unset or ""), then the cases, then `nonempty`, then `default`.
    fn choose(&self, vars: &Vars) -> &NodeName {
        let value = vars.get(self.node.var.as_str()).map_or("", String::as_str);
        if value.is_empty()
            && let Some(node) = &self.node.empty
        {
            return node;
        }
        if let Some(node) = self.node.cases.get(value) {
            return node;
        }
        match &self.node.nonempty {
            Some(node) if !value.is_empty() => node,
            _ => &self.node.default,
        }
    }
}

impl NodeStep for BranchStep {
    fn enter(&mut self, _now: Instant, cx: &mut Cx) -> Step {
        Step::Goto(self.choose(&cx.vars).clone())
    }

    fn handle(&mut self, _now: Instant, _event: &FlowEvent, _cx: &mut Cx) -> Step {
        // Never current: it moves on as it is entered.
        Step::Stay
    }
}

#[cfg(test)]
mod tests {
    use crate::dialogue::Vars;
    use crate::dialogue::testkit::Sim;

    const FLOW: &str = r#"
start = "b"
[nodes.b]
kind = "branch"
var = "tier"
cases = { gold = "gold", "" = "blank" }
empty = "empty"
nonempty = "other"
default = "default"
[nodes.gold]
kind = "hangup"
[nodes.blank]
kind = "hangup"
[nodes.empty]
kind = "hangup"
[nodes.other]
kind = "hangup"
[nodes.default]
kind = "hangup"
"#;

    fn chosen(text: &str, tier: Option<&str>) -> String {
        let mut vars = Vars::new();
        if let Some(tier) = tier {
            vars.insert("tier".to_string(), tier.to_string());
        }
        let mut sim = Sim::with_vars(text, vars);
        sim.start();
        sim.run.path()[1].to_string()
    }

    #[test]
    fn tests_empty_then_cases_then_nonempty_then_default() {
        assert_eq!(chosen(FLOW, None), "empty");
        assert_eq!(chosen(FLOW, Some("")), "empty");
        assert_eq!(chosen(FLOW, Some("gold")), "gold");
        assert_eq!(chosen(FLOW, Some("silver")), "other");
        let without_tests = FLOW
            .replace("empty = \"empty\"\n", "")
            .replace("nonempty = \"other\"\n", "");
        assert_eq!(chosen(&without_tests, None), "blank");
        assert_eq!(chosen(&without_tests, Some("silver")), "default");
    }
}
