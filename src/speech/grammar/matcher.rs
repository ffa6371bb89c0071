//! Matching a transcript (or DTMF keys) against a linked grammar, with SISR interpretation.
//!
//! The matcher is a chart parser over normalised units (see `normalise`): for each rule and
//! start position it keeps, per end position, the best-scoring way to match, so ambiguous
//! grammars stay polynomial. Left recursion is rejected when linking, so every recursive step
//! consumes input and the search ends.
//!
//! # Scoring
//!
//! Each imperfection has a penalty `p`, and confidence is the product of `(1 - p)` over all of
//! them (summed as `-ln(1 - p)` internally): an exact match of every token is 1.0.
//!
//! | imperfection (voice only except GARBAGE) | p |
//! |---|---|
//! | a hesitation or politeness word skipped ("um", "please", 嗯, 吧), or a repeated word | 0.05 |
//! | a digit homophone ("to" for 2, "for" for 4, "won" for 1) | 0.10 |
//! | a near miss: one edit in a word of 4-7 letters, two in a longer word | 0.20 |
//! | each word swallowed by `<ruleref special="GARBAGE"/>` (each CJK character: 0.03) | 0.05 |
//!
//! So "I'd like to check my order status" against `GARBAGE (order status)` scores
//! 0.95^5 = 0.77, and "order statis" scores 0.8. Between matches of equal confidence, the
//! higher `<item weight>` wins. DTMF matches allow no fuzziness.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use serde_json::Value;

use super::ast::{Expansion, Special, Token};
use super::normalise::{Likeness, Unit, compare, is_cjk, is_filler};
use super::resolve::{LinkedRule, RuleId};
use super::script::{RuleValues, Script};

const SKIP: f64 = 0.05;
const HOMOPHONE: f64 = 0.10;
const NEAR_MISS: f64 = 0.20;
const GARBAGE_WORD: f64 = 0.05;
/// A CJK character is about half a word.
const GARBAGE_CJK: f64 = 0.03;

/// Longest input (in units) the matcher looks at; grammar answers are short.
pub const MAX_UNITS: usize = 200;
/// Work budget (token comparisons) per input, a guard against pathological grammars.
const MAX_STEPS: usize = 2_000_000;
/// Most fillers skipped in a row before a token ("um, uh, well, yes"); bounds the work.
const MAX_SKIP_RUN: usize = 4;
/// Deepest rule nesting followed.
const MAX_NESTING: usize = 400;

/// A grammar match.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Match {
    /// What the caller said or keyed, as given (trimmed).
    pub utterance: String,
    /// The root rule's SISR `out`, or the matched grammar words if its tags never set it.
    pub interpretation: Value,
    /// 1.0 for an exact match, lower for each skipped, fuzzy or garbage word (see module doc).
    pub confidence: f32,
}

/// `-ln(1 - p)` summed, then the weight tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Cost {
    penalty: f64,
    tiebreak: f64,
}

impl Cost {
    fn of(p: f64) -> Cost {
        Cost {
            penalty: -(1.0 - p).ln(),
            tiebreak: 0.0,
        }
    }

    fn plus(self, other: Cost) -> Cost {
        Cost {
            penalty: self.penalty + other.penalty,
            tiebreak: self.tiebreak + other.tiebreak,
        }
    }

    fn better_than(self, other: Cost) -> bool {
        (self.penalty, self.tiebreak) < (other.penalty, other.tiebreak)
    }
}

/// What a rule's match passed through, newest first (a shared list, cheap to extend).
#[derive(Clone)]
enum Event<'g> {
    Text(&'g str),
    Tag(&'g Script),
    Rule { name: &'g str, hit: Rc<RuleHit> },
}

struct EventNode<'g> {
    event: Event<'g>,
    prev: Events<'g>,
}

type Events<'g> = Option<Rc<EventNode<'g>>>;

#[derive(Clone)]
struct Path<'g> {
    cost: Cost,
    events: Events<'g>,
}

impl<'g> Path<'g> {
    fn with(&self, event: Event<'g>, cost: Cost) -> Path<'g> {
        Path {
            cost: self.cost.plus(cost),
            events: Some(Rc::new(EventNode {
                event,
                prev: self.events.clone(),
            })),
        }
    }
}

/// Best path per end position.
type Frontier<'g> = BTreeMap<usize, Path<'g>>;

fn offer<'g>(frontier: &mut Frontier<'g>, end: usize, path: Path<'g>) {
    match frontier.get(&end) {
        Some(old) if !path.cost.better_than(old.cost) => {}
        _ => {
            frontier.insert(end, path);
        }
    }
}

/// A finished rule: its value and its text.
struct RuleHit {
    value: Value,
    text: String,
}

/// One rule's matches from one start: (end, cost, hit).
type Hits = Rc<Vec<(usize, Cost, Rc<RuleHit>)>>;

/// Matches `input` against the grammar whose rules are `rules`, from `root`.
pub fn run(
    rules: &[LinkedRule],
    root: RuleId,
    input: &[Unit],
    fuzzy: bool,
    utterance: &str,
) -> Option<Match> {
    if input.len() > MAX_UNITS {
        return None;
    }
    let mut matcher = Matcher {
        rules,
        input,
        fuzzy,
        memo: HashMap::new(),
        active: HashSet::new(),
        steps: 0,
    };
    let hits = matcher.rule(root, 0);
    if matcher.steps > MAX_STEPS {
        return None;
    }
    let mut best: Option<(Cost, &Rc<RuleHit>)> = None;
    for (end, cost, hit) in hits.iter() {
        if !(*end..input.len()).all(|i| matcher.skippable(i)) {
            continue;
        }
        let cost = cost.plus(Cost {
            penalty: Cost::of(SKIP).penalty * (input.len() - end) as f64,
            tiebreak: 0.0,
        });
        if best.is_none_or(|(b, _)| cost.better_than(b)) {
            best = Some((cost, hit));
        }
    }
    let (cost, hit) = best?;
    Some(Match {
        utterance: utterance.trim().to_string(),
        interpretation: hit.value.clone(),
        confidence: (-cost.penalty).exp() as f32,
    })
}

struct Matcher<'g> {
    rules: &'g [LinkedRule],
    input: &'g [Unit],
    fuzzy: bool,
    memo: HashMap<(RuleId, usize), Hits>,
    /// Rules being expanded at a position (a guard; linking already rejects left recursion).
    active: HashSet<(RuleId, usize)>,
    steps: usize,
}

impl<'g> Matcher<'g> {
    fn rule(&mut self, id: RuleId, start: usize) -> Hits {
        if let Some(hits) = self.memo.get(&(id, start)) {
            return hits.clone();
        }
        let Some(rule) = self.rules.get(id.0) else {
            return Hits::default();
        };
        if self.active.len() > MAX_NESTING
            || self.steps > MAX_STEPS
            || !self.active.insert((id, start))
        {
            return Hits::default();
        }
        let mut frontier = Frontier::new();
        frontier.insert(
            start,
            Path {
                cost: Cost::default(),
                events: None,
            },
        );
        let ends = self.extend(&rule.body, frontier);
        self.active.remove(&(id, start));
        let hits: Vec<_> = ends
            .into_iter()
            .map(|(end, path)| (end, path.cost, Rc::new(evaluate(path.events))))
            .collect();
        let hits = Rc::new(hits);
        self.memo.insert((id, start), hits.clone());
        hits
    }

    fn extend(&mut self, e: &'g Expansion<RuleId>, frontier: Frontier<'g>) -> Frontier<'g> {
        if frontier.is_empty() {
            return frontier;
        }
        match e {
            Expansion::Sequence(items) => {
                items.iter().fold(frontier, |f, item| self.extend(item, f))
            }
            Expansion::OneOf(alternatives) => {
                let heaviest = alternatives
                    .iter()
                    .map(|a| f64::from(a.weight))
                    .fold(0.0, f64::max);
                let mut out = Frontier::new();
                for alternative in alternatives {
                    let weight = f64::from(alternative.weight);
                    let tiebreak = if weight > 0.0 {
                        (heaviest / weight).ln()
                    } else {
                        1e9
                    };
                    let tie = Cost {
                        penalty: 0.0,
                        tiebreak,
                    };
                    let start = frontier.iter().map(|(end, p)| {
                        (
                            *end,
                            Path {
                                cost: p.cost.plus(tie),
                                ..p.clone()
                            },
                        )
                    });
                    for (end, path) in self.extend(&alternative.body, start.collect()) {
                        offer(&mut out, end, path);
                    }
                }
                out
            }
            Expansion::Repeat { body, min, max, .. } => {
                let limit = max
                    .unwrap_or(u32::MAX)
                    .min(min.saturating_add(self.input.len() as u32 + 1));
                let mut out = if *min == 0 {
                    frontier.clone()
                } else {
                    Frontier::new()
                };
                let mut current = frontier;
                for count in 1..=limit {
                    current = self.extend(body, current);
                    if current.is_empty() {
                        break;
                    }
                    if count >= *min {
                        for (end, path) in &current {
                            offer(&mut out, *end, path.clone());
                        }
                    }
                }
                out
            }
            Expansion::Token(token) => {
                let mut out = Frontier::new();
                for (start, path) in &frontier {
                    self.token(token, *start, path, &mut out);
                }
                out
            }
            Expansion::Ref { target, .. } => {
                let mut out = Frontier::new();
                let name = self.rules.get(target.0).map_or("", |r| r.id.as_str());
                for (start, path) in &frontier {
                    for (end, cost, hit) in self.rule(*target, *start).iter() {
                        offer(
                            &mut out,
                            *end,
                            path.with(
                                Event::Rule {
                                    name,
                                    hit: hit.clone(),
                                },
                                *cost,
                            ),
                        );
                    }
                }
                out
            }
            Expansion::Special(Special::Null) => frontier,
            Expansion::Special(Special::Void) => Frontier::new(),
            Expansion::Special(Special::Garbage) => {
                let mut out = Frontier::new();
                for (start, path) in &frontier {
                    let mut cost = path.cost;
                    offer(&mut out, *start, path.clone());
                    for end in *start + 1..=self.input.len() {
                        let p = if matches!(self.input[end - 1], Unit::Cjk(_)) {
                            GARBAGE_CJK
                        } else {
                            GARBAGE_WORD
                        };
                        cost = cost.plus(Cost::of(p));
                        offer(
                            &mut out,
                            end,
                            Path {
                                cost,
                                ..path.clone()
                            },
                        );
                    }
                }
                out
            }
            Expansion::Tag(script) => frontier
                .into_iter()
                .map(|(end, path)| (end, path.with(Event::Tag(script), Cost::default())))
                .collect(),
        }
    }

    /// Matches `token` at `start`, possibly after skipping fillers.
    fn token(&mut self, token: &'g Token, start: usize, path: &Path<'g>, out: &mut Frontier<'g>) {
        let mut at = start;
        let mut skipped = Cost::default();
        loop {
            self.steps += 1;
            if let Some(cost) = self.units_at(&token.units, at) {
                offer(
                    out,
                    at + token.units.len(),
                    path.with(Event::Text(&token.text), skipped.plus(cost)),
                );
            }
            if at < self.input.len()
                && at - start < MAX_SKIP_RUN
                && self.skippable(at)
                && self.steps <= MAX_STEPS
            {
                skipped = skipped.plus(Cost::of(SKIP));
                at += 1;
            } else {
                return;
            }
        }
    }

    fn units_at(&self, units: &[Unit], at: usize) -> Option<Cost> {
        let heard = self.input.get(at..at + units.len())?;
        let mut cost = Cost::default();
        for (want, got) in units.iter().zip(heard) {
            let likeness = compare(want, got)?;
            let p = match likeness {
                Likeness::Exact => continue,
                Likeness::Homophone => HOMOPHONE,
                Likeness::NearMiss => NEAR_MISS,
            };
            if !self.fuzzy {
                return None;
            }
            cost = cost.plus(Cost::of(p));
        }
        Some(cost)
    }

    /// A filler, or the same word (not digit) said twice ("no, no").
    fn skippable(&self, i: usize) -> bool {
        if !self.fuzzy {
            return false;
        }
        let Some(unit) = self.input.get(i) else {
            return false;
        };
        let repeated = match (i.checked_sub(1).and_then(|p| self.input.get(p)), unit) {
            (Some(Unit::Word { key: a, .. }), Unit::Word { key: b, .. }) => a == b,
            (Some(Unit::Cjk(a)), Unit::Cjk(b)) => a == b,
            _ => false,
        };
        repeated || is_filler(unit)
    }
}

/// Runs a rule's events in order: texts build its text, rule values feed `rules.x`, tags set
/// `out`. The value is `out`, or the text if no tag set it.
fn evaluate(events: Events<'_>) -> RuleHit {
    let mut list = Vec::new();
    let mut node = events;
    while let Some(n) = node {
        list.push(n.event.clone());
        node = n.prev.clone();
    }
    let mut text = String::new();
    let mut out: Option<Value> = None;
    let mut by_name: HashMap<&str, Value> = HashMap::new();
    let mut latest: Option<Value> = None;
    for event in list.into_iter().rev() {
        match event {
            Event::Text(t) => join(&mut text, t),
            Event::Rule { name, hit } => {
                join(&mut text, &hit.text);
                by_name.insert(name, hit.value.clone());
                latest = Some(hit.value.clone());
            }
            Event::Tag(script) => script.run(
                &mut out,
                &RuleValues {
                    by_name: &by_name,
                    latest: latest.as_ref(),
                },
            ),
        }
    }
    let value = out.unwrap_or_else(|| Value::String(text.clone()));
    RuleHit { value, text }
}

/// Appends `piece` with a space, except next to CJK characters.
fn join(text: &mut String, piece: &str) {
    if piece.is_empty() {
        return;
    }
    let cjk_edge =
        text.chars().next_back().is_some_and(is_cjk) || piece.chars().next().is_some_and(is_cjk);
    if !text.is_empty() && !cjk_edge {
        text.push(' ');
    }
    text.push_str(piece);
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
