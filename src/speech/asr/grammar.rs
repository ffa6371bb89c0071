//! A compiled whisper.cpp grammar (the GBNF element form of `grammar-parser.cpp`) and the
//! checks that make it safe to hand to C: whisper.cpp follows rule references and walks to
//! END markers without bounds checks, and recurses on left-recursive rules until the stack
//! overflows. A grammar comes from configuration, so a bad one must be an error, not a crash.

use whisper_rs::whisper_rs_sys as sys;

/// Element kinds, with whisper.cpp's numbering (`enum whisper_gretype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ElementKind {
    /// End of a rule.
    End = 0,
    /// Start of another alternative of the same rule.
    Alt = 1,
    /// Reference to rule `value`.
    RuleRef = 2,
    /// A character (Unicode code point `value`).
    Char = 3,
    /// Any character except `value` (and the following alternatives/ranges).
    CharNot = 4,
    /// Turns the preceding `Char`/`CharNot` into the range up to `value`.
    CharRngUpper = 5,
    /// Adds `value` as another character of the preceding `Char`/`CharNot` set.
    CharAlt = 6,
}

/// One grammar element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Element {
    /// What the element is.
    pub kind: ElementKind,
    /// Code point or rule index, depending on `kind`.
    pub value: u32,
}

impl Element {
    /// Shorthand constructor.
    pub fn new(kind: ElementKind, value: u32) -> Element {
        Element { kind, value }
    }
}

/// A grammar: rules (each a sequence of alternatives ending in one `End`) and a start rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grammar {
    /// The rules, indexed by `RuleRef` values.
    pub rules: Vec<Vec<Element>>,
    /// The rule decoding must match.
    pub start: usize,
}

/// Why a grammar was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarProblem(pub String);

impl std::fmt::Display for GrammarProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Grammar {
    /// Builds a grammar from `(kind, value)` pairs per rule (kinds numbered as whisper.cpp).
    pub fn from_raw(rules: &[Vec<(u32, u32)>], start: usize) -> Result<Grammar, GrammarProblem> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(r, rule)| {
                rule.iter()
                    .map(|&(kind, value)| {
                        let kind = match kind {
                            0 => ElementKind::End,
                            1 => ElementKind::Alt,
                            2 => ElementKind::RuleRef,
                            3 => ElementKind::Char,
                            4 => ElementKind::CharNot,
                            5 => ElementKind::CharRngUpper,
                            6 => ElementKind::CharAlt,
                            k => return Err(GrammarProblem(format!("rule {r}: element kind {k}"))),
                        };
                        Ok(Element { kind, value })
                    })
                    .collect()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let grammar = Grammar { rules, start };
        grammar.validate()?;
        Ok(grammar)
    }

    /// The decoding form of an SRGS grammar compiled by `speech::grammar`, checked.
    pub fn from_whisper_grammar(
        g: &crate::speech::grammar::WhisperGrammar,
    ) -> Result<Grammar, GrammarProblem> {
        let rules: Vec<Vec<(u32, u32)>> = g
            .rules
            .iter()
            .map(|rule| rule.iter().map(|e| (e.kind.code(), e.value)).collect())
            .collect();
        Grammar::from_raw(&rules, g.start_rule)
    }

    /// Checks everything whisper.cpp assumes: a start rule in range, every rule ending in its
    /// only `End`, references in range, character modifiers after a character, no empty
    /// character sets, and no left recursion.
    pub fn validate(&self) -> Result<(), GrammarProblem> {
        let problem = |s: String| Err(GrammarProblem(s));
        if self.start >= self.rules.len() {
            return problem(format!(
                "start rule {} of {} rules",
                self.start,
                self.rules.len()
            ));
        }
        for (r, rule) in self.rules.iter().enumerate() {
            let Some((last, body)) = rule.split_last() else {
                return problem(format!("rule {r} is empty (needs at least END)"));
            };
            if last.kind != ElementKind::End {
                return problem(format!("rule {r} does not end with END"));
            }
            let mut prev = ElementKind::End;
            for (i, e) in body.iter().enumerate() {
                match e.kind {
                    ElementKind::End => {
                        return problem(format!("rule {r}: END at {i} before the end"));
                    }
                    ElementKind::RuleRef if e.value as usize >= self.rules.len() => {
                        return problem(format!("rule {r}: reference to missing rule {}", e.value));
                    }
                    ElementKind::CharRngUpper | ElementKind::CharAlt
                        if !matches!(
                            prev,
                            ElementKind::Char
                                | ElementKind::CharNot
                                | ElementKind::CharRngUpper
                                | ElementKind::CharAlt
                        ) =>
                    {
                        return problem(format!(
                            "rule {r}: {:?} at {i} without a character",
                            e.kind
                        ));
                    }
                    ElementKind::Char | ElementKind::CharAlt | ElementKind::CharRngUpper
                        if char::from_u32(e.value).is_none() =>
                    {
                        return problem(format!("rule {r}: {:#x} is not a character", e.value));
                    }
                    _ => {}
                }
                prev = e.kind;
            }
        }
        self.check_left_recursion()
    }

    /// Alternatives of rule `r` as element slices (without `Alt`/`End`).
    fn alternatives(&self, r: usize) -> impl Iterator<Item = &[Element]> {
        let rule = &self.rules[r];
        rule[..rule.len() - 1].split(|e| e.kind == ElementKind::Alt)
    }

    /// Rejects a rule that can reach itself without consuming a character (whisper.cpp's
    /// `advance_stack` would recurse forever). Nullable rules are followed through, as in
    /// llama.cpp's `detect_left_recursion`.
    fn check_left_recursion(&self) -> Result<(), GrammarProblem> {
        let n = self.rules.len();
        // Nullable rules: fixed point of "some alternative is all nullable references".
        let mut nullable = vec![false; n];
        loop {
            let mut changed = false;
            for r in 0..n {
                if nullable[r] {
                    continue;
                }
                let empty = self.alternatives(r).any(|alt| {
                    alt.iter()
                        .all(|e| e.kind == ElementKind::RuleRef && nullable[e.value as usize])
                });
                if empty {
                    nullable[r] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // Edges r -> rules reachable at the left edge of r.
        let left: Vec<Vec<usize>> = (0..n)
            .map(|r| {
                let mut out = Vec::new();
                for alt in self.alternatives(r) {
                    for e in alt {
                        if e.kind != ElementKind::RuleRef {
                            break;
                        }
                        out.push(e.value as usize);
                        if !nullable[e.value as usize] {
                            break;
                        }
                    }
                }
                out
            })
            .collect();
        // Iterative DFS colouring: 0 unvisited, 1 on stack, 2 done.
        let mut colour = vec![0u8; n];
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            colour[root] = 1;
            while let Some((r, next)) = stack.pop() {
                if let Some(&to) = left[r].get(next) {
                    stack.push((r, next + 1));
                    match colour[to] {
                        0 => {
                            colour[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => return Err(GrammarProblem(format!("rule {to} is left-recursive"))),
                        _ => {}
                    }
                } else {
                    colour[r] = 2;
                }
            }
        }
        Ok(())
    }

    /// The rules as whisper.cpp structs (call after [`Grammar::validate`]).
    pub(crate) fn to_c(&self) -> Vec<Vec<sys::whisper_grammar_element>> {
        self.rules
            .iter()
            .map(|rule| {
                rule.iter()
                    .map(|e| sys::whisper_grammar_element {
                        type_: e.kind as sys::whisper_gretype,
                        value: e.value,
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ElementKind::*;
    use proptest::prelude::*;

    fn e(kind: ElementKind, value: u32) -> Element {
        Element::new(kind, value)
    }

    /// root ::= "yes" | "no"
    fn yes_no() -> Grammar {
        let chars = |s: &str| s.chars().map(|c| e(Char, c as u32)).collect::<Vec<_>>();
        let mut root = chars("yes");
        root.push(e(Alt, 0));
        root.extend(chars("no"));
        root.push(e(End, 0));
        Grammar {
            rules: vec![root],
            start: 0,
        }
    }

    #[test]
    fn accepts_a_plain_grammar_and_raw_form() {
        assert_eq!(yes_no().validate(), Ok(()));
        let raw = vec![
            vec![(2, 1), (0, 0)],
            vec![(3, 'a' as u32), (5, 'z' as u32), (0, 0)],
        ];
        let g = Grammar::from_raw(&raw, 0).expect("valid");
        assert_eq!(g.rules[1][1], e(CharRngUpper, 'z' as u32));
        assert_eq!(g.to_c()[1][1].type_, 5);
    }

    #[test]
    fn rejects_what_would_crash_whisper_cpp() {
        let bad = |rules: Vec<Vec<Element>>, start: usize| {
            Grammar { rules, start }
                .validate()
                .expect_err("must fail")
                .0
        };
        assert!(bad(vec![], 0).contains("start rule 0 of 0"));
        assert!(bad(vec![vec![e(Char, 97)]], 0).contains("does not end with END"));
        assert!(bad(vec![vec![e(RuleRef, 5), e(End, 0)]], 0).contains("missing rule 5"));
        assert!(bad(vec![vec![e(End, 0), e(Char, 97), e(End, 0)]], 0).contains("before the end"));
        assert!(bad(vec![vec![e(CharAlt, 97), e(End, 0)]], 0).contains("without a character"));
        assert!(bad(vec![vec![e(Char, 0xD800), e(End, 0)]], 0).contains("not a character"));
        // a ::= a "x"  — direct left recursion.
        assert!(
            bad(vec![vec![e(RuleRef, 0), e(Char, 120), e(End, 0)]], 0).contains("left-recursive")
        );
        // a ::= b a "x" ; b ::= "" | "y"  — left recursion through a nullable rule.
        let rules = vec![
            vec![e(RuleRef, 1), e(RuleRef, 0), e(Char, 120), e(End, 0)],
            vec![e(Alt, 0), e(Char, 121), e(End, 0)],
        ];
        assert!(bad(rules, 0).contains("left-recursive"));
        assert!(Grammar::from_raw(&[vec![(9, 0), (0, 0)]], 0).is_err());
    }

    #[test]
    fn right_recursion_is_fine() {
        // digits ::= [0-9] digits | [0-9]
        let rules = vec![vec![
            e(Char, '0' as u32),
            e(CharRngUpper, '9' as u32),
            e(RuleRef, 0),
            e(Alt, 0),
            e(Char, '0' as u32),
            e(CharRngUpper, '9' as u32),
            e(End, 0),
        ]];
        assert_eq!(Grammar { rules, start: 0 }.validate(), Ok(()));
    }

    proptest! {
        #[test]
        fn validation_never_panics(
            rules in proptest::collection::vec(
                proptest::collection::vec((0u32..8, 0u32..6), 0..6), 0..5),
            start in 0usize..6,
        ) {
            let _ = Grammar::from_raw(&rules, start);
        }
    }
}
