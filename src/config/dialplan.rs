//! The dialplan: which flow answers a dialled number (`sip-config/dialplan.toml`).
//!
//! ```toml
//! [routes]
//! "4008001234" = "hotline"   # exactly this number
//! "600*" = "voicemail"       # any number starting with 600
//! "*" = "hotline"            # anything else
//! ```
//!
//! The number is the user part of the request URI, compared as written. An exact number wins
//! over a prefix and a longer prefix over a shorter one, whatever the order in the file; `"*"`
//! is the empty prefix. Only routing lives here: agents and queues are in the main config.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::flow::line_of;

/// The dialplan shipped with kefu: every number reaches the demo hotline.
pub const EMBEDDED_DIALPLAN: &str = include_str!("../../sip-config/dialplan.toml");

/// A dialplan file that cannot be used. Displayed as `path:line: reason`; `line` is 1-based, or
/// 0 when the file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanError {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for DialplanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
        }
    }
}

impl std::error::Error for DialplanError {}

/// Checked routes from dialled numbers to flow names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialplan {
    exact: BTreeMap<String, String>,
    /// `(prefix, flow)`, longest prefix first.
    prefixes: Vec<(String, String)>,
}

impl Dialplan {
    /// The flow that answers `number`, or `None` when no route matches (no `"*"` route).
    pub fn route(&self, number: &str) -> Option<&str> {
        if let Some(flow) = self.exact.get(number) {
            return Some(flow);
        }
        self.prefixes
            .iter()
            .find(|(prefix, _)| number.starts_with(prefix.as_str()))
            .map(|(_, flow)| flow.as_str())
    }

    /// Every flow some route leads to.
    pub fn flows(&self) -> BTreeSet<&str> {
        self.exact
            .values()
            .chain(self.prefixes.iter().map(|(_, flow)| flow))
            .map(String::as_str)
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialplanSpec {
    routes: Spanned<BTreeMap<Spanned<String>, Spanned<String>>>,
}

/// Reads a dialplan file; every route must lead to one of `flow_names`.
pub fn load_dialplan<S: AsRef<str>>(
    path: &Path,
    flow_names: impl IntoIterator<Item = S>,
) -> Result<Dialplan, DialplanError> {
    let text = std::fs::read_to_string(path).map_err(|e| DialplanError {
        file: path.to_path_buf(),
        line: 0,
        reason: format!("cannot read: {e}"),
    })?;
    parse_dialplan(&text, path, flow_names)
}

/// Parses and checks a dialplan. `pretend_path` only names the file in errors.
pub fn parse_dialplan<S: AsRef<str>>(
    text: &str,
    pretend_path: &Path,
    flow_names: impl IntoIterator<Item = S>,
) -> Result<Dialplan, DialplanError> {
    let fail = |offset: usize, reason: String| DialplanError {
        file: pretend_path.to_path_buf(),
        line: line_of(text, offset),
        reason,
    };
    let known: BTreeSet<String> = flow_names
        .into_iter()
        .map(|name| name.as_ref().to_string())
        .collect();
    let spec: DialplanSpec = toml::from_str(text).map_err(|e| {
        fail(
            e.span().map_or(0, |span| span.start),
            e.message().to_string(),
        )
    })?;
    if spec.routes.get_ref().is_empty() {
        return Err(fail(spec.routes.span().start, "no routes".to_string()));
    }
    let mut exact = BTreeMap::new();
    let mut prefixes = Vec::new();
    for (pattern, flow) in spec.routes.into_inner() {
        let body = pattern.get_ref().strip_suffix('*');
        let digits = body.unwrap_or(pattern.get_ref());
        let usable = digits
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+#*._-".contains(c));
        if !usable || (body.is_none() && digits.is_empty()) {
            return Err(fail(
                pattern.span().start,
                format!(
                    "route \"{}\" must be a number, a prefix ending in *, or \"*\"",
                    pattern.get_ref()
                ),
            ));
        }
        if !known.contains(flow.get_ref()) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(fail(
                flow.span().start,
                format!(
                    "route \"{}\" goes to unknown flow \"{}\" (flows: {})",
                    pattern.get_ref(),
                    flow.get_ref(),
                    list.join(", ")
                ),
            ));
        }
        match body {
            Some(prefix) => prefixes.push((prefix.to_string(), flow.into_inner())),
            None => {
                exact.insert(digits.to_string(), flow.into_inner());
            }
        }
    }
    prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    Ok(Dialplan { exact, prefixes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::flow::{PromptRef, load_flows};
    use proptest::prelude::*;

    const FLOWS: [&str; 2] = ["hotline", "voicemail"];

    fn parse(text: &str) -> Result<Dialplan, DialplanError> {
        parse_dialplan(text, Path::new("sip-config/dialplan.toml"), FLOWS)
    }

    fn message(text: &str) -> String {
        parse(text)
            .expect_err("the text is a broken dialplan")
            .to_string()
    }

    #[test]
    fn exact_beats_prefix_and_longest_prefix_wins() {
        let plan = parse(
            "[routes]\n\"*\" = \"hotline\"\n\"60*\" = \"hotline\"\n\"600*\" = \"voicemail\"\n\"6001\" = \"hotline\"\n",
        )
        .expect("valid dialplan");
        assert_eq!(plan.route("6001"), Some("hotline"));
        assert_eq!(plan.route("6002"), Some("voicemail"));
        assert_eq!(plan.route("600"), Some("voicemail"));
        assert_eq!(plan.route("6099"), Some("hotline"));
        assert_eq!(plan.route("anything"), Some("hotline"));
        assert_eq!(plan.route(""), Some("hotline"));
    }

    #[test]
    fn without_a_default_unknown_numbers_have_no_route() {
        let plan = parse("[routes]\n100 = \"hotline\"\n").expect("valid dialplan");
        assert_eq!(plan.route("100"), Some("hotline"));
        assert_eq!(plan.route("1000"), None);
        assert_eq!(plan.route("10"), None);
    }

    #[test]
    fn a_star_inside_a_number_is_a_key() {
        let plan = parse("[routes]\n\"*97\" = \"voicemail\"\n\"**\" = \"hotline\"\n")
            .expect("valid dialplan");
        assert_eq!(plan.route("*97"), Some("voicemail"));
        assert_eq!(plan.route("*98"), Some("hotline"));
        assert_eq!(plan.route("98"), None);
    }

    #[test]
    fn unknown_flow_is_reported_with_its_line() {
        assert_eq!(
            message("# routes\n[routes]\n\"*\" = \"hotline\"\n\"600*\" = \"voicemial\"\n"),
            "sip-config/dialplan.toml:4: route \"600*\" goes to unknown flow \"voicemial\" (flows: hotline, voicemail)"
        );
    }

    #[test]
    fn bad_patterns_are_reported_with_their_line() {
        assert_eq!(
            message("[routes]\n\"\" = \"hotline\"\n"),
            "sip-config/dialplan.toml:2: route \"\" must be a number, a prefix ending in *, or \"*\""
        );
        assert_eq!(
            message("[routes]\n\"*\" = \"hotline\"\n\"40 0\" = \"hotline\"\n"),
            "sip-config/dialplan.toml:3: route \"40 0\" must be a number, a prefix ending in *, or \"*\""
        );
    }

    #[test]
    fn syntax_and_shape_errors_have_lines() {
        assert_eq!(
            message("[routes]\n\"*\" = hotline\n"),
            "sip-config/dialplan.toml:2: string values must be quoted, expected literal string"
        );
        assert_eq!(
            message("[routes]\n\"*\" = \"hotline\"\n\"*\" = \"voicemail\"\n"),
            "sip-config/dialplan.toml:3: duplicate key"
        );
        assert_eq!(
            message("[routes]\n\"*\" = \"hotline\"\n[queues]\nagents = []\n"),
            "sip-config/dialplan.toml:3: unknown field `queues`, expected `routes`"
        );
        assert_eq!(
            message("# nothing\n"),
            "sip-config/dialplan.toml:1: missing field `routes`"
        );
        assert_eq!(
            message("\n[routes]\n"),
            "sip-config/dialplan.toml:2: no routes"
        );
    }

    #[test]
    fn unreadable_file_has_no_line() {
        let err = load_dialplan(Path::new("/nonexistent/dialplan.toml"), FLOWS)
            .expect_err("the file does not exist");
        assert_eq!(err.line, 0);
        assert!(
            err.to_string()
                .starts_with("/nonexistent/dialplan.toml: cannot read:")
        );
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_without_panic(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn routes_match_their_own_numbers(number in "[0-9+]{1,12}", prefix in "[0-9]{0,4}") {
            let text = format!("[routes]\n\"{number}\" = \"voicemail\"\n\"{prefix}*\" = \"hotline\"\n");
            let plan = parse(&text).expect("generated dialplan is valid");
            prop_assert_eq!(plan.route(&number), Some("voicemail"));
            let longer = format!("{prefix}x");
            prop_assert_eq!(plan.route(&longer), Some("hotline"));
        }
    }

    /// The repository's own configuration: the shipped flows and dialplan load, every number
    /// reaches a flow, and every prompt the flows play exists as a file.
    const SIP_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sip-config");
    const PROMPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/voices/prompts");

    #[test]
    fn shipped_config_loads_and_every_prompt_exists() {
        let flows = load_flows(&Path::new(SIP_CONFIG).join("flows")).expect("shipped flows load");
        assert!(flows.contains_key("hotline"), "flows: {:?}", flows.keys());
        let plan = load_dialplan(&Path::new(SIP_CONFIG).join("dialplan.toml"), flows.keys())
            .expect("shipped dialplan loads");
        assert_eq!(plan.route("4000000000"), Some("hotline"));
        assert_eq!(plan.route("anything-at-all"), Some("hotline"));
        for routed in plan.flows() {
            assert!(flows.contains_key(routed));
        }
        let mut missing = Vec::new();
        for flow in flows.values() {
            let dir = Path::new(PROMPTS).join(&flow.language);
            for prompt in flow.prompt_names() {
                let file = dir.join(format!("{prompt}.flac"));
                if !file.is_file() {
                    missing.push(format!("{}: {}", flow.name, file.display()));
                }
            }
        }
        assert!(missing.is_empty(), "missing prompts: {missing:#?}");
        // Digit read-back is used by the hotline, so all key prompts must be there.
        let hotline = &flows["hotline"];
        for key in PromptRef::key_prompts() {
            assert!(hotline.prompt_names().contains(&key));
        }
    }

    #[test]
    fn embedded_config_matches_the_files_and_loads() {
        let flows = crate::config::flow::embedded_flows().expect("embedded flows load");
        let on_disk = load_flows(&Path::new(SIP_CONFIG).join("flows")).expect("flows load");
        assert_eq!(
            flows.keys().collect::<Vec<_>>(),
            on_disk.keys().collect::<Vec<_>>(),
            "EMBEDDED_FLOWS must list every file in sip-config/flows/"
        );
        let plan = parse_dialplan(EMBEDDED_DIALPLAN, Path::new("dialplan.toml"), flows.keys())
            .expect("embedded dialplan loads");
        assert_eq!(plan.route("123"), Some("hotline"));
    }
}
