//! Linking: loads the files a grammar references (SRGS 2.2.2), gives every rule of every file
//! one index, turns `<ruleref uri>` into indices, and rejects what no matcher can run: missing
//! rules and files, private rules used from outside, mode mismatches, left recursion (a rule
//! that reaches itself before any token), recursion with no way out, and unbounded repeats of
//! items that can match nothing.

use std::collections::HashMap;

use super::ast::{Expansion, GrammarFile, Mode, RefTarget, Scope, Special};
use super::error::GrammarError;
use super::parse::parse_file;

/// Most files one grammar may pull in.
pub const MAX_FILES: usize = 64;
/// Most rules over all those files.
pub const MAX_RULES: usize = 5_000;

/// Supplies grammar files by path (e.g. `en/digits.grxml`), so references can be followed
/// without the disk in tests. Any `Fn(&str) -> Option<String>` is a loader.
pub trait GrammarLoader {
    /// The text of the file at `path`, or `None` if there is none.
    fn load(&self, path: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> GrammarLoader for F {
    fn load(&self, path: &str) -> Option<String> {
        self(path)
    }
}

/// Index of a rule among all linked rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub usize);

/// A rule after linking.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedRule {
    /// The file that defines it.
    pub file: String,
    /// Its id, which tags read it by (`rules.id`).
    pub id: String,
    pub line: u32,
    pub body: Expansion<RuleId>,
}

/// A grammar with all its files linked.
#[derive(Debug, Clone, PartialEq)]
pub struct Linked {
    pub lang: String,
    pub mode: Mode,
    pub root: RuleId,
    pub rules: Vec<LinkedRule>,
}

/// Loads `path` and everything it references, and links it.
pub fn link(path: &str, loader: &dyn GrammarLoader) -> Result<Linked, GrammarError> {
    let text = loader.load(path).ok_or_else(|| GrammarError::Io {
        path: path.to_string(),
        reason: "grammar file not found".into(),
    })?;
    let mut files = vec![parse_file(path, &text)?];
    let mut next = 0;
    while next < files.len() {
        let mut wanted: Vec<(String, u32, String)> = Vec::new();
        for rule in &files[next].rules {
            rule.body.for_each_ref(&mut |target: &RefTarget, line| {
                if let Some(file) = &target.file {
                    wanted.push((file.clone(), line, target.uri.clone()));
                }
            });
        }
        for (file, line, uri) in wanted {
            if files.iter().any(|f| f.path == file) {
                continue;
            }
            let referrer = &files[next];
            if files.len() >= MAX_FILES {
                let reason = format!("more than {MAX_FILES} grammar files");
                return Err(GrammarError::TooLarge {
                    file: referrer.path.clone(),
                    reason,
                });
            }
            let missing = || GrammarError::MissingFile {
                file: referrer.path.clone(),
                line,
                uri: uri.clone(),
                path: file.clone(),
            };
            let loaded = parse_file(&file, &loader.load(&file).ok_or_else(missing)?)?;
            if loaded.mode != referrer.mode {
                return Err(GrammarError::ModeMismatch {
                    file: referrer.path.clone(),
                    line,
                    uri,
                    expected: referrer.mode,
                    found: loaded.mode,
                });
            }
            files.push(loaded);
        }
        next += 1;
    }
    let linked = link_files(&files)?;
    check(&linked)?;
    Ok(linked)
}

fn link_files(files: &[GrammarFile]) -> Result<Linked, GrammarError> {
    let mut ids: HashMap<(usize, &str), RuleId> = HashMap::new();
    for (f, file) in files.iter().enumerate() {
        for rule in &file.rules {
            let id = RuleId(ids.len());
            ids.insert((f, rule.id.as_str()), id);
        }
    }
    if ids.len() > MAX_RULES {
        let reason = format!("more than {MAX_RULES} rules");
        return Err(GrammarError::TooLarge {
            file: files[0].path.clone(),
            reason,
        });
    }
    let file_index: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let mut rules = Vec::with_capacity(ids.len());
    for (f, file) in files.iter().enumerate() {
        for rule in &file.rules {
            let body = rule.body.map_refs(&mut |target: &RefTarget, line| {
                let undefined = || GrammarError::UndefinedRule {
                    file: file.path.clone(),
                    line,
                    uri: target.uri.clone(),
                };
                let to = match &target.file {
                    // Loaded above, so present; a miss can only mean a broken invariant, but
                    // an error is kinder than a panic.
                    Some(path) => *file_index.get(path.as_str()).ok_or_else(undefined)?,
                    None => f,
                };
                let to_file = &files[to];
                let name = match &target.rule {
                    Some(name) => name.as_str(),
                    None => to_file
                        .root
                        .as_deref()
                        .ok_or_else(|| GrammarError::MissingRoot {
                            file: to_file.path.clone(),
                            line: to_file.line,
                        })?,
                };
                let def = to_file.rule(name).ok_or_else(undefined)?;
                if to != f && target.rule.is_some() && def.scope == Scope::Private {
                    return Err(GrammarError::PrivateRule {
                        file: file.path.clone(),
                        line,
                        uri: target.uri.clone(),
                    });
                }
                ids.get(&(to, name)).copied().ok_or_else(undefined)
            })?;
            rules.push(LinkedRule {
                file: file.path.clone(),
                id: rule.id.clone(),
                line: rule.line,
                body,
            });
        }
    }
    let top = &files[0];
    let root_name = top
        .root
        .as_deref()
        .ok_or_else(|| GrammarError::MissingRoot {
            file: top.path.clone(),
            line: top.line,
        })?;
    let root = ids
        .get(&(0, root_name))
        .copied()
        .ok_or_else(|| GrammarError::UndefinedRoot {
            file: top.path.clone(),
            line: top.line,
            rule: root_name.into(),
        })?;
    Ok(Linked {
        lang: top.lang.clone(),
        mode: top.mode,
        root,
        rules,
    })
}

/// Whether each rule can match without consuming anything (least fixpoint).
pub fn nullable_rules(rules: &[LinkedRule]) -> Vec<bool> {
    fixpoint(rules, nullable)
}

/// Whether `e` can match the empty input, given which rules can.
pub fn nullable(e: &Expansion<RuleId>, rules: &[bool]) -> bool {
    match e {
        Expansion::Sequence(items) => items.iter().all(|i| nullable(i, rules)),
        Expansion::OneOf(alternatives) => alternatives.iter().any(|a| nullable(&a.body, rules)),
        Expansion::Repeat { body, min, .. } => *min == 0 || nullable(body, rules),
        Expansion::Token(_) => false,
        Expansion::Ref { target, .. } => rules.get(target.0).copied().unwrap_or(false),
        Expansion::Special(special) => matches!(special, Special::Null | Special::Garbage),
        Expansion::Tag(_) => true,
    }
}

/// Whether `e` can finish a match at all, counting VOID as finishing (a rule that is VOID on
/// purpose is not an error; one that only recurses is).
fn finishes(e: &Expansion<RuleId>, rules: &[bool]) -> bool {
    match e {
        Expansion::Sequence(items) => items.iter().all(|i| finishes(i, rules)),
        Expansion::OneOf(alternatives) => alternatives.iter().any(|a| finishes(&a.body, rules)),
        Expansion::Repeat { body, min, .. } => *min == 0 || finishes(body, rules),
        Expansion::Ref { target, .. } => rules.get(target.0).copied().unwrap_or(false),
        Expansion::Token(_) | Expansion::Special(_) | Expansion::Tag(_) => true,
    }
}

fn fixpoint(
    rules: &[LinkedRule],
    holds: impl Fn(&Expansion<RuleId>, &[bool]) -> bool,
) -> Vec<bool> {
    let mut known = vec![false; rules.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, rule) in rules.iter().enumerate() {
            if !known[i] && holds(&rule.body, &known) {
                known[i] = true;
                changed = true;
            }
        }
    }
    known
}

/// Rules `e` may enter before consuming any token.
fn leading_refs(e: &Expansion<RuleId>, nullable_rules: &[bool], out: &mut Vec<RuleId>) {
    match e {
        Expansion::Sequence(items) => {
            for item in items {
                leading_refs(item, nullable_rules, out);
                if !nullable(item, nullable_rules) {
                    break;
                }
            }
        }
        Expansion::OneOf(alternatives) => alternatives
            .iter()
            .for_each(|a| leading_refs(&a.body, nullable_rules, out)),
        Expansion::Repeat { body, max, .. } => {
            if *max != Some(0) {
                leading_refs(body, nullable_rules, out);
            }
        }
        Expansion::Ref { target, .. } => out.push(*target),
        Expansion::Token(_) | Expansion::Special(_) | Expansion::Tag(_) => {}
    }
}

/// An unbounded repeat whose body can match nothing would loop forever in a recogniser.
fn endless_repeat(e: &Expansion<RuleId>, nullable_rules: &[bool]) -> Option<(u32, u32)> {
    match e {
        Expansion::Sequence(items) => items.iter().find_map(|i| endless_repeat(i, nullable_rules)),
        Expansion::OneOf(alternatives) => alternatives
            .iter()
            .find_map(|a| endless_repeat(&a.body, nullable_rules)),
        Expansion::Repeat {
            body,
            min,
            max,
            line,
        } => {
            if max.is_none() && nullable(body, nullable_rules) {
                Some((*line, *min))
            } else {
                endless_repeat(body, nullable_rules)
            }
        }
        Expansion::Ref { .. } | Expansion::Token(_) | Expansion::Special(_) | Expansion::Tag(_) => {
            None
        }
    }
}

fn check(linked: &Linked) -> Result<(), GrammarError> {
    let rules = &linked.rules;
    let nullable = nullable_rules(rules);
    for rule in rules {
        if let Some((line, min)) = endless_repeat(&rule.body, &nullable) {
            return Err(GrammarError::BadRepeat {
                file: rule.file.clone(),
                line,
                value: format!("{min}-"),
                reason: "the item can match nothing, so it could repeat forever".into(),
            });
        }
    }
    let edges: Vec<Vec<RuleId>> = rules
        .iter()
        .map(|rule| {
            let mut out = Vec::new();
            leading_refs(&rule.body, &nullable, &mut out);
            out
        })
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let first = &rules[cycle[0].0];
        let names: Vec<&str> = cycle.iter().map(|r| rules[r.0].id.as_str()).collect();
        return Err(GrammarError::LeftRecursion {
            file: first.file.clone(),
            line: first.line,
            rule: first.id.clone(),
            cycle: format!("{} -> {}", names.join(" -> "), first.id),
        });
    }
    let finishing = fixpoint(rules, finishes);
    if let Some(i) = finishing.iter().position(|f| !f) {
        let rule = &rules[i];
        return Err(GrammarError::UnboundedRecursion {
            file: rule.file.clone(),
            line: rule.line,
            rule: rule.id.clone(),
        });
    }
    Ok(())
}

/// A cycle in the graph, as the rules on it in order (iterative depth-first search).
fn find_cycle(edges: &[Vec<RuleId>]) -> Option<Vec<RuleId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        New,
        OnPath,
        Done,
    }
    let mut colour = vec![Colour::New; edges.len()];
    for start in 0..edges.len() {
        if colour[start] != Colour::New {
            continue;
        }
        // (node, index of the next edge to follow)
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        colour[start] = Colour::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(&RuleId(to)) = edges[node].get(*next) else {
                colour[node] = Colour::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match colour.get(to).copied() {
                Some(Colour::New) => {
                    colour[to] = Colour::OnPath;
                    path.push((to, 0));
                }
                Some(Colour::OnPath) => {
                    let from = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    return Some(path[from..].iter().map(|(n, _)| RuleId(*n)).collect());
                }
                Some(Colour::Done) | None => {}
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
