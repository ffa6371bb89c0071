//! Test support: whisper.cpp's grammar walk (`whisper_grammar_advance_stack`,
//! `whisper_grammar_accept`, `whisper_grammar_match_char` in whisper.cpp/src/whisper.cpp),
//! ported line for line, so tests can check what the compiled element arrays accept; and a
//! reader for [`WhisperGrammar::to_gbnf_text`] output, to check the text says the same thing.

use super::gbnf::{GbnfElement, GbnfKind, WhisperGrammar};

/// A pushdown stack of (rule, element index) positions.
type Stack = Vec<(usize, usize)>;

/// Deepest expansion allowed before the test calls the grammar runaway.
const MAX_EXPANSION: usize = 10_000;

fn is_end(rules: &[Vec<GbnfElement>], (rule, pos): (usize, usize)) -> bool {
    matches!(rules[rule][pos].kind, GbnfKind::End | GbnfKind::Alt)
}

fn advance(rules: &[Vec<GbnfElement>], stack: Stack, out: &mut Vec<Stack>, depth: usize) {
    assert!(
        depth < MAX_EXPANSION,
        "grammar expansion runs away (left recursion?)"
    );
    let Some(&(rule, pos)) = stack.last() else {
        out.push(stack);
        return;
    };
    let element = rules[rule][pos];
    match element.kind {
        GbnfKind::RuleRef => {
            let sub = element.value as usize;
            let mut sub_pos = 0;
            loop {
                let mut new_stack: Stack = stack[..stack.len() - 1].to_vec();
                if !is_end(rules, (rule, pos + 1)) {
                    new_stack.push((rule, pos + 1));
                }
                if !is_end(rules, (sub, sub_pos)) {
                    new_stack.push((sub, sub_pos));
                }
                advance(rules, new_stack, out, depth + 1);
                while !is_end(rules, (sub, sub_pos)) {
                    sub_pos += 1;
                }
                if rules[sub][sub_pos].kind == GbnfKind::Alt {
                    sub_pos += 1;
                } else {
                    break;
                }
            }
        }
        GbnfKind::Char | GbnfKind::CharNot => out.push(stack),
        other => panic!("stack left on {other:?}"),
    }
}

/// Returns whether `c` matches the class at `pos`, and the position after the class.
fn match_char(rule: &[GbnfElement], mut pos: usize, c: u32) -> (bool, usize) {
    let positive = rule[pos].kind == GbnfKind::Char;
    assert!(positive || rule[pos].kind == GbnfKind::CharNot);
    let mut found = false;
    loop {
        if rule[pos + 1].kind == GbnfKind::CharRngUpper {
            found = found || (rule[pos].value <= c && c <= rule[pos + 1].value);
            pos += 2;
        } else {
            found = found || rule[pos].value == c;
            pos += 1;
        }
        if rule[pos].kind != GbnfKind::CharAlt {
            break;
        }
    }
    (found == positive, pos)
}

fn initial_stacks(g: &WhisperGrammar) -> Vec<Stack> {
    let rules = &g.rules;
    let start = g.start_rule;
    let mut stacks = Vec::new();
    let mut pos = 0;
    loop {
        let stack = if is_end(rules, (start, pos)) {
            vec![]
        } else {
            vec![(start, pos)]
        };
        advance(rules, stack, &mut stacks, 0);
        while !is_end(rules, (start, pos)) {
            pos += 1;
        }
        if rules[start][pos].kind == GbnfKind::Alt {
            pos += 1;
        } else {
            break;
        }
    }
    stacks
}

fn accept(g: &WhisperGrammar, stacks: &[Stack], c: char) -> Vec<Stack> {
    let mut out = Vec::new();
    for stack in stacks {
        let Some(&(rule, pos)) = stack.last() else {
            continue;
        };
        let (matched, next) = match_char(&g.rules[rule], pos, u32::from(c));
        if matched {
            let mut new_stack: Stack = stack[..stack.len() - 1].to_vec();
            if !is_end(&g.rules, (rule, next)) {
                new_stack.push((rule, next));
            }
            advance(&g.rules, new_stack, &mut out, 0);
        }
    }
    out
}

/// What whisper.cpp's walk makes of `text`.
#[derive(Debug, PartialEq)]
pub struct Walk {
    /// The whole text is a sentence of the grammar.
    pub complete: bool,
    /// Every character was allowed (the text is at least a prefix of a sentence).
    pub prefix: bool,
    /// Most parallel stacks at any point (whisper's work per token grows with it).
    pub max_stacks: usize,
}

pub fn walk(g: &WhisperGrammar, text: &str) -> Walk {
    let mut stacks = initial_stacks(g);
    let mut max_stacks = stacks.len();
    for c in text.chars() {
        stacks = accept(g, &stacks, c);
        max_stacks = max_stacks.max(stacks.len());
        if stacks.is_empty() {
            return Walk {
                complete: false,
                prefix: false,
                max_stacks,
            };
        }
    }
    Walk {
        complete: stacks.iter().any(Vec::is_empty),
        prefix: true,
        max_stacks,
    }
}

/// Whether the grammar accepts the whole of `text`.
pub fn accepts(g: &WhisperGrammar, text: &str) -> bool {
    walk(g, text).complete
}

/// Checks the shape whisper.cpp relies on: rules end with End, references are in range,
/// ranges and alternatives follow a character, nothing follows End.
pub fn check_shape(g: &WhisperGrammar) {
    assert!(g.start_rule < g.rules.len());
    assert_eq!(g.rules.len(), g.rule_names.len());
    for (i, rule) in g.rules.iter().enumerate() {
        assert_eq!(
            rule.last().map(|e| e.kind),
            Some(GbnfKind::End),
            "rule {i} ends with End"
        );
        assert_eq!(
            rule.iter().filter(|e| e.kind == GbnfKind::End).count(),
            1,
            "rule {i}: one End"
        );
        for (j, e) in rule.iter().enumerate() {
            match e.kind {
                GbnfKind::RuleRef => {
                    assert!((e.value as usize) < g.rules.len(), "rule {i}: ref in range")
                }
                GbnfKind::CharAlt | GbnfKind::CharRngUpper => assert!(
                    j > 0
                        && matches!(
                            rule[j - 1].kind,
                            GbnfKind::Char
                                | GbnfKind::CharNot
                                | GbnfKind::CharAlt
                                | GbnfKind::CharRngUpper
                        ),
                    "rule {i}: {:?} follows a character",
                    e.kind
                ),
                _ => {}
            }
        }
    }
}

/// Reads GBNF text as written by `to_gbnf_text` (one rule per line; names, `"literals"`,
/// `[classes]`, `[^classes]`, `|`) back into element arrays, numbering rules by line.
pub fn read_gbnf_text(text: &str) -> Vec<Vec<GbnfElement>> {
    let lines: Vec<&str> = text.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" ::=").next().expect("a name"))
        .collect();
    let element = |kind, value: char| GbnfElement {
        kind,
        value: u32::from(value),
    };
    lines
        .iter()
        .map(|line| {
            let body: Vec<char> = line.split_once(" ::=").expect("::=").1.chars().collect();
            let mut out = Vec::new();
            let mut i = 0;
            while i < body.len() {
                match body[i] {
                    ' ' => i += 1,
                    '|' => {
                        out.push(GbnfElement::ALT);
                        i += 1;
                    }
                    '"' => {
                        i += 1;
                        while body[i] != '"' {
                            let (c, next) = read_char(&body, i);
                            out.push(element(GbnfKind::Char, c));
                            i = next;
                        }
                        i += 1;
                    }
                    '[' => {
                        i += 1;
                        let mut kind = GbnfKind::Char;
                        if body[i] == '^' {
                            kind = GbnfKind::CharNot;
                            i += 1;
                        }
                        while body[i] != ']' {
                            if body[i] == '-' {
                                kind = GbnfKind::CharRngUpper;
                                i += 1;
                            }
                            let (c, next) = read_char(&body, i);
                            out.push(element(kind, c));
                            kind = GbnfKind::CharAlt;
                            i = next;
                        }
                        i += 1;
                    }
                    _ => {
                        let start = i;
                        while i < body.len() && body[i] != ' ' {
                            i += 1;
                        }
                        let name: String = body[start..i].iter().collect();
                        let index = names
                            .iter()
                            .position(|n| *n == name)
                            .expect("a defined name");
                        out.push(GbnfElement {
                            kind: GbnfKind::RuleRef,
                            value: index as u32,
                        });
                    }
                }
            }
            out.push(GbnfElement::END);
            out
        })
        .collect()
}

fn read_char(body: &[char], i: usize) -> (char, usize) {
    if body[i] != '\\' {
        return (body[i], i + 1);
    }
    let hex = |len: usize| {
        let digits: String = body[i + 2..i + 2 + len].iter().collect();
        let c = char::from_u32(u32::from_str_radix(&digits, 16).expect("hex")).expect("a char");
        (c, i + 2 + len)
    };
    match body[i + 1] {
        'x' => hex(2),
        'u' => hex(4),
        'U' => hex(8),
        'n' => ('\n', i + 2),
        't' => ('\t', i + 2),
        'r' => ('\r', i + 2),
        other => (other, i + 2),
    }
}
