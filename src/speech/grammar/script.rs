//! The SISR 1.0 subset that `<tag>` may hold (W3C Semantic Interpretation for Speech
//! Recognition, section 6). Statements are separated by `;`:
//!
//! - `out = VALUE;` and `out += VALUE;` (string concatenation; numbers add),
//! - `out.slot = VALUE;` / `out.a.b = VALUE;` / `out["slot"] = VALUE;` and `+=` on them,
//!
//! where VALUE is a string (`"…"` or `'…'`), a number, `true`, `false`, `null`,
//! `rules.name` (that rule's latest value in this rule), `rules.latest()`, or either followed by
//! `.field`. With `tag-format="semantics/1.0-literals"` the whole tag text is the value.
//!
//! Deviations from ECMAScript, on purpose: `out` starts undefined rather than `{}`, so
//! `out += "1"` on a fresh rule gives `"1"`; assigning a slot turns a non-object `out` into an
//! object; assigning an undefined value (a rule that did not match) leaves the target as it was.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ast::TagFormat;

/// A parsed tag.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `semantics/1.0-literals`: the rule's value.
    Literal(String),
    /// `semantics/1.0`: statements run in order.
    Statements(Vec<Statement>),
}

/// `out[.path] (=|+=) value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Slots below `out`; empty for `out` itself.
    pub path: Vec<String>,
    pub append: bool,
    pub value: Expr,
}

/// The right-hand side of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    /// `rules.name.field…` (`name: None` is `rules.latest()`).
    Rule {
        name: Option<String>,
        path: Vec<String>,
    },
}

/// What a tag can read: the values of the rules matched so far in the current rule.
pub struct RuleValues<'a> {
    pub by_name: &'a HashMap<&'a str, Value>,
    pub latest: Option<&'a Value>,
}

impl Script {
    /// Parses a tag's text in the given format.
    pub fn parse(text: &str, format: TagFormat) -> Result<Script, String> {
        match format {
            TagFormat::Literals => Ok(Script::Literal(text.trim().to_string())),
            TagFormat::Script => Parser {
                chars: text.chars().collect(),
                pos: 0,
            }
            .statements(),
        }
    }

    /// Runs the tag against the rule's `out`.
    pub fn run(&self, out: &mut Option<Value>, rules: &RuleValues<'_>) {
        match self {
            Script::Literal(text) => *out = Some(Value::String(text.clone())),
            Script::Statements(statements) => {
                for statement in statements {
                    statement.run(out, rules);
                }
            }
        }
    }
}

impl Statement {
    fn run(&self, out: &mut Option<Value>, rules: &RuleValues<'_>) {
        let Some(value) = self.value.eval(rules) else {
            return;
        };
        let Some((last, parents)) = self.path.split_last() else {
            let new = if self.append {
                append(out.take(), value)
            } else {
                value
            };
            *out = Some(new);
            return;
        };
        let mut object = match out.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let mut slot = &mut object;
        for name in parents {
            let entry = slot
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(inner) = entry else {
                unreachable!("made an object just above")
            };
            slot = inner;
        }
        let old = slot.remove(last);
        let new = if self.append {
            append(old, value)
        } else {
            value
        };
        slot.insert(last.clone(), new);
        *out = Some(Value::Object(object));
    }
}

impl Expr {
    fn eval(&self, rules: &RuleValues<'_>) -> Option<Value> {
        match self {
            Expr::Literal(value) => Some(value.clone()),
            Expr::Rule { name, path } => {
                let mut value = match name {
                    Some(name) => rules.by_name.get(name.as_str())?,
                    None => rules.latest?,
                };
                for field in path {
                    value = value.get(field)?;
                }
                Some(value.clone())
            }
        }
    }
}

/// `old += new`: numbers add, anything else concatenates as text.
fn append(old: Option<Value>, new: Value) -> Value {
    match (old, new) {
        (None, new) => new,
        (Some(Value::Number(a)), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => {
                serde_json::Number::from_f64(a + b).map_or(Value::Null, Value::Number)
            }
            _ => Value::Null,
        },
        (Some(old), new) => Value::String(format!("{}{}", text_of(&old), text_of(&new))),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

const SUPPORTED: &str = "supported: out = V; out += V; out.slot = V; with V a string, number, \
                         true/false/null, rules.name or rules.latest()";

impl Parser {
    fn statements(&mut self) -> Result<Script, String> {
        let mut statements = Vec::new();
        loop {
            self.skip_space();
            if self.eat(';') {
                continue;
            }
            if self.pos >= self.chars.len() {
                return Ok(Script::Statements(statements));
            }
            statements.push(self.statement()?);
            self.skip_space();
            if !self.eat(';') && self.pos < self.chars.len() {
                return Err(format!(
                    "expected ';' at column {}; {SUPPORTED}",
                    self.pos + 1
                ));
            }
        }
    }

    fn statement(&mut self) -> Result<Statement, String> {
        let target = self.identifier();
        if target != "out" {
            return Err(format!("cannot assign to {target:?}; {SUPPORTED}"));
        }
        let path = self.path()?;
        self.skip_space();
        let append = self.eat('+');
        if !self.eat('=') {
            return Err(format!("expected '=' or '+=' after out; {SUPPORTED}"));
        }
        let value = self.expr()?;
        Ok(Statement {
            path,
            append,
            value,
        })
    }

    /// `.name` / `["name"]` segments.
    fn path(&mut self) -> Result<Vec<String>, String> {
        let mut path = Vec::new();
        loop {
            self.skip_space();
            if self.eat('.') {
                self.skip_space();
                let name = self.identifier();
                if name.is_empty() {
                    return Err("expected a name after '.'".to_string());
                }
                path.push(name);
            } else if self.eat('[') {
                self.skip_space();
                let name = self.string()?.ok_or("expected a quoted name in [...]")?;
                self.skip_space();
                if !self.eat(']') {
                    return Err("expected ']'".to_string());
                }
                path.push(name);
            } else {
                return Ok(path);
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.skip_space();
        if let Some(text) = self.string()? {
            return Ok(Expr::Literal(Value::String(text)));
        }
        if let Some(number) = self.number() {
            return Ok(Expr::Literal(Value::Number(number)));
        }
        let name = self.identifier();
        match name.as_str() {
            "true" => Ok(Expr::Literal(Value::Bool(true))),
            "false" => Ok(Expr::Literal(Value::Bool(false))),
            "null" => Ok(Expr::Literal(Value::Null)),
            "rules" => {
                let mut path = self.path()?;
                if path.is_empty() {
                    return Err("expected rules.name".to_string());
                }
                let first = path.remove(0);
                self.skip_space();
                if first == "latest" && self.eat('(') {
                    self.skip_space();
                    if !self.eat(')') {
                        return Err("expected rules.latest()".to_string());
                    }
                    let path = self.path()?;
                    return Ok(Expr::Rule { name: None, path });
                }
                let mut rest = self.path()?;
                path.append(&mut rest);
                Ok(Expr::Rule {
                    name: Some(first),
                    path,
                })
            }
            "" => Err(format!(
                "expected a value at column {}; {SUPPORTED}",
                self.pos + 1
            )),
            other => Err(format!("unsupported value {other:?}; {SUPPORTED}")),
        }
    }

    fn string(&mut self) -> Result<Option<String>, String> {
        let Some(&quote) = self
            .chars
            .get(self.pos)
            .filter(|c| **c == '"' || **c == '\'')
        else {
            return Ok(None);
        };
        self.pos += 1;
        let mut text = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if c == quote {
                return Ok(Some(text));
            }
            if c == '\\' {
                let Some(&escaped) = self.chars.get(self.pos) else {
                    break;
                };
                self.pos += 1;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            } else {
                text.push(c);
            }
        }
        Err("unterminated string".to_string())
    }

    fn number(&mut self) -> Option<serde_json::Number> {
        let start = self.pos;
        let mut end = start;
        if self.chars.get(end) == Some(&'-') {
            end += 1;
        }
        let digits_start = end;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_ascii_digit() || *c == '.')
        {
            end += 1;
        }
        if end == digits_start {
            return None;
        }
        let text: String = self.chars[start..end].iter().collect();
        let number = match text.parse::<i64>() {
            Ok(n) => serde_json::Number::from(n),
            Err(_) => serde_json::Number::from_f64(text.parse::<f64>().ok()?)?,
        };
        self.pos = end;
        Some(number)
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.chars.get(self.pos) == Some(&c);
        if found {
            self.pos += 1;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(script: &str, rules: &[(&str, Value)]) -> Option<Value> {
        let by_name: HashMap<&str, Value> = rules.iter().cloned().collect();
        let latest = rules.last().map(|(_, v)| v);
        let mut out = None;
        Script::parse(script, TagFormat::Script)
            .expect("test script parses")
            .run(
                &mut out,
                &RuleValues {
                    by_name: &by_name,
                    latest,
                },
            );
        out
    }

    #[test]
    fn assigns_strings_numbers_and_slots() {
        assert_eq!(run(r#"out = "yes";"#, &[]), Some(json!("yes")));
        assert_eq!(run(r"out = 'it\'s'", &[]), Some(json!("it's")));
        assert_eq!(run("out = 5", &[]), Some(json!(5)));
        assert_eq!(
            run(r#"out.intent = "agent"; out.n = 2.5;"#, &[]),
            Some(json!({"intent": "agent", "n": 2.5}))
        );
        assert_eq!(
            run(r#"out.a.b = true; out["c"] = null"#, &[]),
            Some(json!({"a": {"b": true}, "c": null}))
        );
    }

    #[test]
    fn reads_rule_values() {
        let rules = [("digit", json!("7")), ("city", json!({"name": "Shanghai"}))];
        assert_eq!(run("out = rules.digit;", &rules), Some(json!("7")));
        assert_eq!(
            run("out.where = rules.city.name", &rules),
            Some(json!({"where": "Shanghai"}))
        );
        assert_eq!(
            run("out = rules.latest().name", &rules),
            Some(json!("Shanghai"))
        );
        assert_eq!(run("out = rules.missing", &rules), None);
    }

    #[test]
    fn appends_text_and_adds_numbers() {
        let rules = [("digit", json!("7"))];
        assert_eq!(
            run(r#"out = ""; out += rules.digit; out += "1""#, &rules),
            Some(json!("71"))
        );
        assert_eq!(run("out += rules.digit", &rules), Some(json!("7")));
        assert_eq!(run("out = 2; out += 3", &rules), Some(json!(5.0)));
        assert_eq!(
            run(r#"out.n += "a"; out.n += "b""#, &rules),
            Some(json!({"n": "ab"}))
        );
    }

    #[test]
    fn literal_format_takes_the_text() {
        let script = Script::parse("  order  ", TagFormat::Literals).expect("literal");
        let mut out = None;
        let by_name = HashMap::new();
        script.run(
            &mut out,
            &RuleValues {
                by_name: &by_name,
                latest: None,
            },
        );
        assert_eq!(out, Some(json!("order")));
    }

    #[test]
    fn rejects_what_it_does_not_support() {
        for bad in [
            "var x = 1;",
            "out = foo;",
            "out = \"open",
            "out ==",
            "out = 1 out = 2",
            "out = 'it''s'",
            "out = rules;",
            "out = rules.latest(;",
            "out[1] = 2",
            "meta.current().text",
        ] {
            assert!(Script::parse(bad, TagFormat::Script).is_err(), "{bad}");
        }
        assert_eq!(
            Script::parse(" ; ", TagFormat::Script),
            Ok(Script::Statements(vec![]))
        );
    }
}
