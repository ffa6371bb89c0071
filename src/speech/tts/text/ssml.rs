//! A small SSML subset, parsed by hand (W3C SSML 1.1,
//! <https://www.w3.org/TR/speech-synthesis11/>).
//!
//! Supported: `speak` (the root; `xml:lang` chooses the rules, other attributes are ignored),
//! `p` and `s` (sentence boundaries; SSML 1.0's `paragraph` and `sentence` too), `break`
//! (`time` or `strength`), `prosody` (`rate`; other attributes ignored), `say-as`
//! (`interpret-as`, and `format` for dates), `sub` (`alias`), comments, CDATA, processing
//! instructions, the five XML entities and numeric character references.
//!
//! Deviations: any other element is an error, not read through; `xml:lang` is honoured on
//! `speak`, `p` and `s` only; a break is at most 5 s; nested `prosody` rates multiply and are
//! clamped to 0.5–2.0; no DTD and no namespaces (a prefix is part of the name).

use std::borrow::Cow;
use std::time::Duration;

use super::{DateOrder, MAX_PAUSE, SayAs, Span, TextError, is_chinese};

const MIN_RATE: f32 = 0.5;
const MAX_RATE: f32 = 2.0;

/// The spans of an SSML document that starts with `<speak` (or an XML declaration).
pub(super) fn parse(input: &str, chinese: bool) -> Result<Vec<Span>, TextError> {
    let mut parser = Parser {
        src: input,
        pos: 0,
        spans: Vec::new(),
        stack: Vec::new(),
        closed: false,
        chinese,
    };
    parser.document()?;
    Ok(parser.spans)
}

fn error(offset: usize, reason: impl Into<String>) -> TextError {
    TextError::Ssml {
        offset,
        reason: reason.into(),
    }
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
    spans: Vec<Span>,
    /// Elements opened and not yet closed, innermost last.
    stack: Vec<Open<'a>>,
    /// `</speak>` has been read: only whitespace and comments may follow.
    closed: bool,
    /// The caller's language, until `xml:lang` says otherwise.
    chinese: bool,
}

struct Open<'a> {
    name: &'a str,
    /// Byte offset of its `<`, for errors about it.
    offset: usize,
    element: Element,
    /// The speaking rate inside it.
    rate: f32,
    chinese: bool,
}

enum Element {
    Speak,
    Sentence,
    Prosody,
    Break,
    /// Collects its text, read as a whole when the element closes.
    SayAs {
        kind: SayAs,
        text: String,
    },
    /// Its alias has been read; its own text is not.
    Sub,
}

struct Attribute<'a> {
    name: &'a str,
    value: String,
    /// Byte offset of the value.
    offset: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn document(&mut self) -> Result<(), TextError> {
        self.skip_space();
        if self.rest().starts_with("<?xml") {
            self.skip_past("<?", "?>", "the XML declaration")?;
        }
        while !self.rest().is_empty() {
            let rest = self.rest();
            if rest.starts_with("<!--") {
                self.skip_past("<!--", "-->", "the comment")?;
            } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let start = self.pos;
                let len = body
                    .find("]]>")
                    .ok_or_else(|| error(start, "the CDATA section is never closed"))?;
                self.text(&body[..len], start)?;
                self.pos += "<![CDATA[".len() + len + "]]>".len();
            } else if rest.starts_with("<?") {
                self.skip_past("<?", "?>", "the processing instruction")?;
            } else if rest.starts_with("<!") {
                return Err(error(
                    self.pos,
                    "DOCTYPE and other declarations are not supported",
                ));
            } else if rest.starts_with("</") {
                self.end_tag()?;
            } else if rest.starts_with('<') {
                self.start_tag()?;
            } else {
                let start = self.pos;
                let len = rest.find('<').unwrap_or(rest.len());
                let text = decode(&rest[..len], start)?;
                self.text(&text, start)?;
                self.pos += len;
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(error(
                open.offset,
                format!("<{}> is never closed", open.name),
            ));
        }
        if !self.closed {
            return Err(error(self.pos, "no <speak> element"));
        }
        Ok(())
    }

    fn skip_past(&mut self, open: &str, close: &str, what: &str) -> Result<(), TextError> {
        let start = self.pos;
        let body = self.rest().get(open.len()..).unwrap_or("");
        let at = body
            .find(close)
            .ok_or_else(|| error(start, format!("{what} is never closed with {close}")))?;
        self.pos += open.len() + at + close.len();
        Ok(())
    }

    /// Skips XML whitespace; whether there was any.
    fn skip_space(&mut self) -> bool {
        let rest = self.rest();
        let len = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
        self.pos += len;
        len > 0
    }

    fn name(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        rest.chars()
            .next()
            .filter(|&c| c.is_alphabetic() || c == '_' || c == ':')?;
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
            .unwrap_or(rest.len());
        self.pos += len;
        Some(&rest[..len])
    }

    fn start_tag(&mut self) -> Result<(), TextError> {
        let offset = self.pos;
        self.pos += 1;
        let name = self
            .name()
            .ok_or_else(|| error(offset, "expected an element name after '<'"))?;
        let mut attributes: Vec<Attribute<'a>> = Vec::new();
        let empty = loop {
            let spaced = self.skip_space();
            let rest = self.rest();
            if rest.starts_with("/>") {
                self.pos += 2;
                break true;
            }
            if rest.starts_with('>') {
                self.pos += 1;
                break false;
            }
            if rest.is_empty() {
                return Err(error(offset, format!("<{name} is never closed with '>'")));
            }
            if !spaced {
                return Err(error(
                    self.pos,
                    format!("<{name}>: expected a space, '>' or '/>'"),
                ));
            }
            let attribute = self.attribute(name)?;
            if attributes.iter().any(|a| a.name == attribute.name) {
                let reason = format!("<{name}>: attribute {} given twice", attribute.name);
                return Err(error(attribute.offset, reason));
            }
            attributes.push(attribute);
        };
        self.open(name, offset, &attributes, empty)
    }

    fn attribute(&mut self, element: &str) -> Result<Attribute<'a>, TextError> {
        let offset = self.pos;
        let name = self
            .name()
            .ok_or_else(|| error(offset, format!("<{element}>: expected an attribute name")))?;
        self.skip_space();
        if !self.rest().starts_with('=') {
            return Err(error(
                self.pos,
                format!("<{element}>: attribute {name} needs '='"),
            ));
        }
        self.pos += 1;
        self.skip_space();
        let quote = match self.rest().chars().next() {
            Some(quote @ ('"' | '\'')) => quote,
            _ => {
                let reason = format!("<{element}>: the value of {name} must be in quotes");
                return Err(error(self.pos, reason));
            }
        };
        self.pos += 1;
        let start = self.pos;
        let rest = self.rest();
        let len = rest.find(quote).ok_or_else(|| {
            error(
                offset,
                format!("<{element}>: the value of {name} is never closed"),
            )
        })?;
        let raw = &rest[..len];
        if let Some(at) = raw.find('<') {
            return Err(error(
                start + at,
                format!("<{element}>: '<' in the value of {name}"),
            ));
        }
        let value = decode(raw, start)?.trim().to_owned();
        self.pos = start + len + 1;
        Ok(Attribute {
            name,
            value,
            offset: start,
        })
    }

    fn open(
        &mut self,
        name: &'a str,
        offset: usize,
        attributes: &[Attribute<'a>],
        empty: bool,
    ) -> Result<(), TextError> {
        if self.closed {
            return Err(error(offset, format!("<{name}> after </speak>")));
        }
        let (mut rate, mut chinese) = match self.stack.last() {
            None if name != "speak" => {
                let reason = format!("the root element must be <speak>, not <{name}>");
                return Err(error(offset, reason));
            }
            None => (1.0, self.chinese),
            Some(parent) => {
                if matches!(
                    parent.element,
                    Element::SayAs { .. } | Element::Sub | Element::Break
                ) {
                    let reason = format!(
                        "<{name}> inside <{}>, which may hold only text",
                        parent.name
                    );
                    return Err(error(offset, reason));
                }
                (parent.rate, parent.chinese)
            }
        };
        let attribute = |wanted: &str| attributes.iter().find(|a| a.name == wanted);
        let element = match name {
            "speak" | "p" | "s" | "paragraph" | "sentence" => {
                if let Some(lang) = attribute("xml:lang") {
                    chinese = is_chinese(&lang.value);
                }
                if name != "speak" {
                    self.spans.push(Span::Boundary);
                    Element::Sentence
                } else if self.stack.is_empty() {
                    Element::Speak
                } else {
                    return Err(error(offset, "<speak> inside <speak>"));
                }
            }
            "break" => {
                let pause = pause(attribute("time"), attribute("strength"))?;
                self.spans.push(Span::Pause(pause));
                Element::Break
            }
            "prosody" => {
                if let Some(value) = attribute("rate") {
                    let factor = rate_factor(&value.value).ok_or_else(|| {
                        let reason = format!(
                            "<prosody>: rate {:?} is not x-slow, slow, medium, fast, x-fast, a \
                             percentage or a positive number",
                            value.value
                        );
                        error(value.offset, reason)
                    })?;
                    rate = (rate * factor).clamp(MIN_RATE, MAX_RATE);
                }
                Element::Prosody
            }
            "say-as" => {
                let kind = attribute("interpret-as")
                    .ok_or_else(|| error(offset, "<say-as> needs interpret-as"))?;
                let order = match attribute("format") {
                    Some(format) if kind.value == "date" => {
                        Some(DateOrder::parse(&format.value).ok_or_else(|| {
                            let reason = format!(
                                "<say-as>: date format {:?} is not mdy, dmy, ymd, md or dm",
                                format.value
                            );
                            error(format.offset, reason)
                        })?)
                    }
                    _ => None,
                };
                Element::SayAs {
                    kind: SayAs::parse(&kind.value, order)?,
                    text: String::new(),
                }
            }
            "sub" => {
                let alias = attribute("alias").ok_or_else(|| error(offset, "<sub> needs alias"))?;
                self.push_text(&alias.value, rate, chinese);
                Element::Sub
            }
            _ => return Err(error(offset, format!("unsupported element <{name}>"))),
        };
        let open = Open {
            name,
            offset,
            element,
            rate,
            chinese,
        };
        if empty {
            self.close(open);
        } else {
            self.stack.push(open);
        }
        Ok(())
    }

    fn end_tag(&mut self) -> Result<(), TextError> {
        let offset = self.pos;
        self.pos += 2;
        let name = self
            .name()
            .ok_or_else(|| error(offset, "expected an element name after '</'"))?;
        self.skip_space();
        if !self.rest().starts_with('>') {
            return Err(error(self.pos, format!("</{name}: expected '>'")));
        }
        self.pos += 1;
        match self.stack.pop() {
            Some(open) if open.name == name => {
                self.close(open);
                Ok(())
            }
            Some(open) => {
                let reason = format!(
                    "</{name}> does not close <{}> (opened at byte {})",
                    open.name, open.offset
                );
                Err(error(offset, reason))
            }
            None => Err(error(offset, format!("</{name}> closes nothing"))),
        }
    }

    fn close(&mut self, open: Open<'a>) {
        match open.element {
            Element::Speak => self.closed = true,
            Element::Sentence => self.spans.push(Span::Boundary),
            Element::SayAs { kind, text } => self.spans.push(Span::Text {
                text,
                rate: open.rate,
                chinese: open.chinese,
                say_as: Some(kind),
            }),
            Element::Prosody | Element::Break | Element::Sub => {}
        }
    }

    fn text(&mut self, text: &str, offset: usize) -> Result<(), TextError> {
        let blank = text.trim().is_empty();
        let Some(top) = self.stack.last_mut() else {
            if blank {
                return Ok(());
            }
            let place = if self.closed {
                "after </speak>"
            } else {
                "before <speak>"
            };
            return Err(error(offset, format!("text {place}")));
        };
        let (rate, chinese) = (top.rate, top.chinese);
        match &mut top.element {
            Element::SayAs { text: said, .. } => said.push_str(text),
            Element::Sub => {}
            Element::Break if blank => {}
            Element::Break => return Err(error(offset, "<break> must be empty")),
            Element::Speak | Element::Sentence | Element::Prosody => {
                self.push_text(text, rate, chinese);
            }
        }
        Ok(())
    }

    /// Appends to the last span when it reads the same way, so text split by a comment or a
    /// `<sub>` is normalised as one.
    fn push_text(&mut self, text: &str, rate: f32, chinese: bool) {
        if let Some(Span::Text {
            text: last,
            rate: last_rate,
            chinese: last_chinese,
            say_as: None,
        }) = self.spans.last_mut()
            && *last_rate == rate
            && *last_chinese == chinese
        {
            last.push_str(text);
            return;
        }
        self.spans.push(Span::Text {
            text: text.to_owned(),
            rate,
            chinese,
            say_as: None,
        });
    }
}

/// Replaces entities and character references; `offset` is where `raw` starts in the input.
fn decode(raw: &str, offset: usize) -> Result<Cow<'_, str>, TextError> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let here = offset + (raw.len() - rest.len()) + at;
        let after = &rest[at + 1..];
        let end = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i)
            .ok_or_else(|| error(here, "'&' must start an entity such as &amp;"))?;
        let name = &after[..end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => name
                .strip_prefix('#')
                .and_then(|number| match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => number.parse().ok(),
                })
                .and_then(char::from_u32)
                .filter(|&c| c != '\0')
                .ok_or_else(|| error(here, format!("unknown entity &{name};")))?,
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// `time="500ms" | "1.5s"` wins over `strength`; neither is a medium break.
fn pause(time: Option<&Attribute>, strength: Option<&Attribute>) -> Result<Duration, TextError> {
    if let Some(time) = time {
        let value = time.value.as_str();
        let (number, scale) = match value.strip_suffix("ms") {
            Some(ms) => (ms, 1.0),
            None => (value.strip_suffix('s').unwrap_or("?"), 1000.0),
        };
        let millis = number
            .trim()
            .parse::<f64>()
            .ok()
            .map(|n| n * scale)
            .filter(|m| m.is_finite() && *m >= 0.0)
            .ok_or_else(|| {
                let reason = format!("<break>: time {value:?} is not like \"500ms\" or \"1s\"");
                error(time.offset, reason)
            })?;
        let max = MAX_PAUSE.as_secs_f64() * 1000.0;
        return Ok(Duration::from_millis(millis.min(max).round() as u64));
    }
    let millis = match strength {
        None => 400,
        Some(strength) => match strength.value.as_str() {
            "none" => 0,
            "x-weak" => 100,
            "weak" => 200,
            "medium" => 400,
            "strong" => 700,
            "x-strong" => 1000,
            other => {
                let reason = format!(
                    "<break>: strength {other:?} is not none, x-weak, weak, medium, strong or \
                     x-strong"
                );
                return Err(error(strength.offset, reason));
            }
        },
    };
    Ok(Duration::from_millis(millis))
}

/// A `prosody rate` as a factor: keywords, "80%" (a factor), "+20%"/"-20%" (a change), "1.2".
fn rate_factor(value: &str) -> Option<f32> {
    let factor: f32 = match value {
        "x-slow" => 0.6,
        "slow" => 0.8,
        "medium" | "default" => 1.0,
        "fast" => 1.2,
        "x-fast" => 1.4,
        _ => match value.strip_suffix('%') {
            Some(percent) if percent.starts_with(['+', '-']) => {
                1.0 + percent.parse::<f32>().ok()? / 100.0
            }
            Some(percent) => percent.parse::<f32>().ok()? / 100.0,
            None => value.parse().ok()?,
        },
    };
    (factor.is_finite() && factor > 0.0).then_some(factor.clamp(MIN_RATE, MAX_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str, rate: f32) -> Span {
        Span::Text {
            text: text.into(),
            rate,
            chinese: false,
            say_as: None,
        }
    }

    fn ms(millis: u64) -> Span {
        Span::Pause(Duration::from_millis(millis))
    }

    fn fails(input: &str) -> (usize, String) {
        match parse(input, false) {
            Err(TextError::Ssml { offset, reason }) => (offset, reason),
            other => panic!("{input}: expected an SSML error, got {other:?}"),
        }
    }

    #[test]
    fn text_breaks_and_sentences() {
        let spans = parse(
            "<speak>Hello<break time=\"500ms\"/>world <s>Two</s><p>Three</p></speak>",
            false,
        )
        .expect("valid");
        assert_eq!(
            spans,
            [
                text("Hello", 1.0),
                ms(500),
                text("world ", 1.0),
                Span::Boundary,
                text("Two", 1.0),
                Span::Boundary,
                Span::Boundary,
                text("Three", 1.0),
                Span::Boundary,
            ]
        );
    }

    #[test]
    fn break_lengths() {
        let cases = [
            ("time=\"1s\"", 1000),
            ("time=\"1.5s\"", 1500),
            ("time=\"250ms\"", 250),
            ("time=\"9s\"", 5000),
            ("strength=\"none\"", 0),
            ("strength=\"x-weak\"", 100),
            ("strength=\"weak\"", 200),
            ("strength=\"medium\"", 400),
            ("strength=\"strong\"", 700),
            ("strength=\"x-strong\"", 1000),
            ("", 400),
            ("time=\"300ms\" strength=\"x-strong\"", 300),
        ];
        for (attributes, millis) in cases {
            let input = format!("<speak><break {attributes}/></speak>");
            assert_eq!(
                parse(&input, false).expect("valid"),
                [ms(millis)],
                "{input}"
            );
        }
        let open_close = parse("<speak><break time='2s'></break></speak>", false);
        assert_eq!(open_close.expect("valid"), [ms(2000)]);
    }

    #[test]
    fn prosody_rates_multiply_and_clamp() {
        let rate = |value: &str| {
            let input = format!("<speak><prosody rate=\"{value}\">x</prosody></speak>");
            match parse(&input, false).expect("valid").as_slice() {
                [Span::Text { rate, .. }] => *rate,
                other => panic!("{other:?}"),
            }
        };
        let cases = [
            ("x-slow", 0.6),
            ("slow", 0.8),
            ("medium", 1.0),
            ("fast", 1.2),
            ("x-fast", 1.4),
            ("80%", 0.8),
            ("+20%", 1.2),
            ("-20%", 0.8),
            ("1.2", 1.2),
            ("10", 2.0),
            ("10%", 0.5),
        ];
        for (value, expected) in cases {
            assert!(
                (rate(value) - expected).abs() < 1e-6,
                "{value}: {}",
                rate(value)
            );
        }
        let nested = parse(
            "<speak><prosody rate=\"slow\">a<prosody rate=\"x-fast\">b</prosody>c</prosody>\
             <prosody rate=\"50%\"><prosody rate=\"50%\">d</prosody></prosody></speak>",
            false,
        )
        .expect("valid");
        let rates: Vec<f32> = nested
            .iter()
            .filter_map(|s| match s {
                Span::Text { rate, .. } => Some(*rate),
                _ => None,
            })
            .collect();
        assert_eq!(rates.len(), 4);
        assert!((rates[0] - 0.8).abs() < 1e-6 && (rates[1] - 1.12).abs() < 1e-6);
        assert!((rates[2] - 0.8).abs() < 1e-6 && (rates[3] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn say_as_sub_and_entities() {
        let spans = parse(
            "<speak>Order <say-as interpret-as=\"date\" format=\"dmy\">01/02/2026</say-as> \
             <sub alias=\"World Wide Web\">WWW</sub> &lt;&amp;&gt;&quot;&apos;&#65;&#x42;\
             <![CDATA[<c>]]><!-- skipped --></speak>",
            false,
        )
        .expect("valid");
        assert_eq!(
            spans,
            [
                text("Order ", 1.0),
                Span::Text {
                    text: "01/02/2026".into(),
                    rate: 1.0,
                    chinese: false,
                    say_as: Some(SayAs::Date(Some(DateOrder::Dmy))),
                },
                text(" World Wide Web <&>\"'AB<c>", 1.0),
            ]
        );
    }

    #[test]
    fn xml_lang_chooses_the_rules() {
        let spans = parse(
            "<?xml version=\"1.0\"?>\n<speak version=\"1.1\" xml:lang=\"zh-CN\">你好<s xml:lang=\"en\">hi</s></speak>",
            false,
        )
        .expect("valid");
        let languages: Vec<bool> = spans
            .iter()
            .filter_map(|s| match s {
                Span::Text { chinese, .. } => Some(*chinese),
                _ => None,
            })
            .collect();
        assert_eq!(languages, [true, false]);
    }

    #[test]
    fn unknown_elements_and_say_as_are_named() {
        let input = "<speak>Hi <audio src=\"x.wav\"/></speak>";
        assert_eq!(fails(input), (10, "unsupported element <audio>".into()));
        assert_eq!(
            parse(
                "<speak><say-as interpret-as=\"emoji\">x</say-as></speak>",
                false
            ),
            Err(TextError::UnknownSayAs("emoji".into()))
        );
        let (offset, reason) =
            fails("<speak><say-as interpret-as=\"date\" format=\"xyz\">1</say-as></speak>");
        assert_eq!((offset, reason.contains("\"xyz\"")), (43, true));
        assert_eq!(
            fails("<speak><say-as>1</say-as></speak>"),
            (7, "<say-as> needs interpret-as".into())
        );
        assert_eq!(
            fails("<speak><sub>x</sub></speak>"),
            (7, "<sub> needs alias".into())
        );
    }

    #[test]
    fn malformed_xml_names_the_offset() {
        let cases: [(&str, usize, &str); 14] = [
            ("<speak>Hello", 0, "<speak> is never closed"),
            (
                "<speak><s>Hi</p></speak>",
                12,
                "</p> does not close <s> (opened at byte 7)",
            ),
            ("<speak>Hi</speak></s>", 17, "</s> closes nothing"),
            (
                "<speak><break time=500ms/></speak>",
                19,
                "<break>: the value of time must be in quotes",
            ),
            (
                "<speak><break time=\"1s/></speak>",
                14,
                "<break>: the value of time is never closed",
            ),
            (
                "<speak><break time></speak>",
                18,
                "<break>: attribute time needs '='",
            ),
            (
                "<speak><break time=\"1\"/></speak>",
                20,
                "<break>: time \"1\" is not like \"500ms\" or \"1s\"",
            ),
            (
                "<speak><break strength=\"loud\"/></speak>",
                24,
                "<break>: strength \"loud\" is not none, x-weak, weak, medium, strong or x-strong",
            ),
            ("<speak>a &nbsp; b</speak>", 9, "unknown entity &nbsp;"),
            (
                "<speak>AT&T</speak>",
                9,
                "'&' must start an entity such as &amp;",
            ),
            ("<speak>Hi</speak> bye", 17, "text after </speak>"),
            (
                "<speak><s>x<break/>y</s><prosody rate=\"fast\"",
                24,
                "<prosody is never closed with '>'",
            ),
            (
                "<speak><!-- open",
                7,
                "the comment is never closed with -->",
            ),
            (
                "<speak><s a=\"1\" a=\"2\">x</s></speak>",
                19,
                "<s>: attribute a given twice",
            ),
        ];
        for (input, offset, reason) in cases {
            assert_eq!(fails(input), (offset, reason.to_owned()), "{input}");
        }
        assert_eq!(
            fails("<speak><say-as interpret-as=\"digits\"><s>1</s></say-as></speak>").0,
            37
        );
        assert_eq!(
            fails("<speak><break>x</break></speak>"),
            (14, "<break> must be empty".into())
        );
        assert_eq!(
            fails("<speak><speak>x</speak></speak>"),
            (7, "<speak> inside <speak>".into())
        );
        assert_eq!(
            fails("<speak><s x=\"<\">x</s></speak>"),
            (13, "<s>: '<' in the value of x".into())
        );
        assert_eq!(fails("<speak><!DOCTYPE x></speak>").0, 7);
        assert_eq!(fails("<speak><1/></speak>").0, 7);
        assert_eq!(
            fails("<speak><prosody rate=\"warp\">x</prosody></speak>").0,
            22
        );
        assert_eq!(
            fails("<?xml version=\"1.0\"?><s>x</s>").1,
            "the root element must be <speak>, not <s>"
        );
    }
}
