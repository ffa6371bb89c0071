//! Text with variables, for `say` nodes: `"Order {order_number} is {status}."`. `{{` and `}}`
//! are literal braces. Checked when the flow loads; rendered with the call's variables, where a
//! variable not set yet reads as nothing.

use std::collections::BTreeMap;
use std::fmt;

use super::VarName;

/// A parsed text template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(VarName),
}

impl Template {
    /// Parses `text`; the error names the byte offset of the problem.
    pub fn parse(text: &str) -> Result<Template, (usize, String)> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err((at, "\"{\" is never closed (write {{ for a brace)".into()));
                    };
                    let name = VarName::new(rest[..end].trim()).map_err(|e| (at, e))?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(name));
                    for _ in 0..rest[..=end].chars().count() {
                        chars.next();
                    }
                }
                '}' => return Err((at, "\"}\" without \"{\" (write }} for a brace)".into())),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The text with each variable's value from `vars` (nothing for one not set).
    pub fn render(&self, vars: &BTreeMap<String, String>) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Var(v) => vars.get(v.as_str()).map_or("", String::as_str),
            })
            .collect()
    }

    /// Whether the text is the same on every call (it can be rendered once, ahead).
    pub fn is_fixed(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => f.write_str(&t.replace('{', "{{").replace('}', "}}"))?,
                Part::Var(v) => write!(f, "{{{v}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_variables_and_literal_braces() {
        let t = Template::parse("Order {order_number} is {{really}} {status}.").expect("valid");
        assert!(!t.is_fixed());
        let v = vars(&[("order_number", "10023"), ("status", "shipped")]);
        assert_eq!(t.render(&v), "Order 10023 is {really} shipped.");
        assert_eq!(t.render(&vars(&[])), "Order  is {really} .");
        assert_eq!(
            t.to_string(),
            "Order {order_number} is {{really}} {status}."
        );
        assert!(Template::parse("Hello, 你好.").expect("fixed").is_fixed());
    }

    #[test]
    fn errors_name_the_offset() {
        assert_eq!(Template::parse("a {b").map_err(|e| e.0), Err(2));
        assert_eq!(Template::parse("ab }").map_err(|e| e.0), Err(3));
        let (at, reason) = Template::parse("x {9z}").expect_err("bad name");
        assert_eq!(at, 2);
        assert!(reason.contains("9z"), "{reason}");
    }
}
