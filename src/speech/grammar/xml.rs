//! A small element tree built with quick-xml, keeping the line of every element and text run,
//! so later errors can name them. Entity and character references are resolved; comments,
//! processing instructions and the DOCTYPE are dropped.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use super::error::GrammarError;

/// Deepest element nesting accepted; real grammars use fewer than ten levels.
pub const MAX_DEPTH: usize = 64;

/// An element with its attributes and content.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The local name (any namespace prefix removed).
    pub name: String,
    /// Attributes as written (`xml:lang` keeps its prefix), values unescaped.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub line: u32,
}

/// Content of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    /// A run of character data (adjacent text, references and CDATA merged).
    Text {
        text: String,
        line: u32,
    },
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Byte offset to 1-based line number.
struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        Lines {
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        }
    }

    fn line(&self, offset: u64) -> u32 {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let before = self.newlines.partition_point(|&n| n < offset);
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }
}

/// Parses `xml` (the contents of `file`) into its document element.
pub fn parse_document(file: &str, xml: &str) -> Result<Element, GrammarError> {
    let lines = Lines::new(xml);
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let xml_error = |line: u32, reason: String| GrammarError::Xml {
        file: file.to_string(),
        line,
        reason,
    };
    loop {
        let line = lines.line(reader.buffer_position());
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                return Err(xml_error(
                    lines.line(reader.error_position()),
                    e.to_string(),
                ));
            }
        };
        let text = match event {
            Event::Start(start) => {
                let element = element(file, &start, line)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(GrammarError::TooDeep {
                        file: file.to_string(),
                        line,
                        element: element.name,
                        limit: MAX_DEPTH,
                    });
                }
                stack.push(element);
                continue;
            }
            Event::Empty(start) => {
                let element = element(file, &start, line)?;
                close(file, element, &mut stack, &mut root)?;
                continue;
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| xml_error(line, "unexpected end tag".into()))?;
                close(file, element, &mut stack, &mut root)?;
                continue;
            }
            Event::Text(text) => text
                .decode()
                .map_err(|e| xml_error(line, e.to_string()))?
                .into_owned(),
            Event::CData(data) => data
                .decode()
                .map_err(|e| xml_error(line, e.to_string()))?
                .into_owned(),
            Event::GeneralRef(reference) => {
                let name = reference
                    .decode()
                    .map_err(|e| xml_error(line, e.to_string()))?;
                match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&name)
                        .ok_or_else(|| xml_error(line, format!("unknown entity &{name};")))?
                        .to_string(),
                    Err(e) => return Err(xml_error(line, e.to_string())),
                }
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            Event::Eof => break,
        };
        match stack.last_mut() {
            Some(parent) => push_text(parent, text, line),
            None if text.trim().is_empty() => {}
            None => return Err(xml_error(line, "text outside the document element".into())),
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_error(
            open.line,
            format!("<{}> is not closed", open.name),
        ));
    }
    root.ok_or_else(|| {
        xml_error(
            lines.line(reader.buffer_position()),
            "no document element".into(),
        )
    })
}

/// Appends a finished element to its parent, or makes it the document element.
fn close(
    file: &str,
    element: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), GrammarError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None if root.is_none() => *root = Some(element),
        None => {
            return Err(GrammarError::Xml {
                file: file.to_string(),
                line: element.line,
                reason: format!("a second document element <{}>", element.name),
            });
        }
    }
    Ok(())
}

fn push_text(parent: &mut Element, text: String, line: u32) {
    if let Some(Node::Text { text: previous, .. }) = parent.children.last_mut() {
        previous.push_str(&text);
    } else {
        parent.children.push(Node::Text { text, line });
    }
}

fn element(file: &str, start: &BytesStart<'_>, line: u32) -> Result<Element, GrammarError> {
    let bad = |reason: String| GrammarError::Xml {
        file: file.to_string(),
        line,
        reason,
    };
    let name = String::from_utf8(start.local_name().as_ref().to_vec())
        .map_err(|_| bad("element name is not UTF-8".into()))?;
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| bad(e.to_string()))?;
        let key = String::from_utf8(attr.key.as_ref().to_vec())
            .map_err(|_| bad("attribute name is not UTF-8".into()))?;
        let value = attr
            .unescape_value()
            .map_err(|e| bad(e.to_string()))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_with_lines_and_resolved_text() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- c -->\n<g a=\"x &amp; y\">\n  <r>one &amp; &#x4E00;<![CDATA[<two>]]></r>\n  <e/>\n</g>\n";
        let root = parse_document("t.grxml", xml).expect("well-formed");
        assert_eq!(
            (root.name.as_str(), root.line, root.attr("a")),
            ("g", 3, Some("x & y"))
        );
        let Node::Element(r) = &root.children[1] else {
            panic!("element expected")
        };
        assert_eq!(r.line, 4);
        assert_eq!(
            r.children,
            vec![Node::Text {
                text: "one & 一<two>".into(),
                line: 4
            }]
        );
        let Node::Element(e) = &root.children[3] else {
            panic!("element expected")
        };
        assert_eq!((e.name.as_str(), e.line), ("e", 5));
    }

    #[test]
    fn reports_malformed_xml_with_a_line() {
        for (xml, line) in [
            ("<g>\n<r>\n</g>", 3),
            ("<g>\n\n<r>", 3),
            ("<g/>\n<h/>", 2),
            ("<g>&nbsp;</g>", 1),
            ("x<g/>", 1),
            ("", 1),
            ("<g a='1' a='2'/>", 1),
        ] {
            match parse_document("t.grxml", xml) {
                Err(GrammarError::Xml {
                    file, line: got, ..
                }) => {
                    assert_eq!((file.as_str(), got), ("t.grxml", line), "{xml:?}");
                }
                other => panic!("{xml:?}: expected an XML error, got {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_deep_nesting() {
        let xml = format!(
            "{}{}",
            "<i>".repeat(MAX_DEPTH + 1),
            "</i>".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            parse_document("t", &xml),
            Err(GrammarError::TooDeep { .. })
        ));
    }
}
