//! The gate every datagram passes before the SIP stack sees it.
//!
//! rsipstack silently drops what it cannot parse. A carrier or a PBX that sends a broken request
//! deserves an answer it can log (RFC 3261 §8.2, §18.3: 400 with a reason phrase that names the
//! fault), and an operator deserves a counter. So each datagram is checked here first: a message
//! that is broken but still names where to answer (Via, From, To, Call-ID, CSeq) gets a 400 (or
//! 513 when too large); one that does not is dropped; both are counted by [`Fault`].

use std::fmt;

/// Largest SIP message accepted over UDP. RFC 3261 §18.1.1 keeps UDP requests under the path MTU
/// unless congestion controlled; 16 KiB leaves room for big SDP offers and rejects floods of junk.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Why a datagram was refused. The label is a stable metric label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    TooLarge(usize),
    /// Not text, or no line break at all.
    Garbage,
    /// The first line is neither a request line nor a status line.
    BadStartLine(String),
    /// A header line without a colon, or an empty header name.
    BadHeaderLine(usize),
    /// A mandatory header (RFC 3261 §8.1.1) is absent.
    MissingHeader(&'static str),
    /// CSeq is not `<number> <METHOD>` or names another method than the request line.
    BadCSeq(String),
    /// Content-Length is not a number, or says more than the datagram carries.
    BadContentLength(String),
    /// The stack's own parser refused the message.
    Unparseable(String),
}

impl Fault {
    /// A stable label for metrics (`kefu_sip_malformed_total{fault=...}`).
    pub fn label(&self) -> &'static str {
        match self {
            Fault::TooLarge(_) => "too_large",
            Fault::Garbage => "garbage",
            Fault::BadStartLine(_) => "start_line",
            Fault::BadHeaderLine(_) => "header_line",
            Fault::MissingHeader(_) => "missing_header",
            Fault::BadCSeq(_) => "cseq",
            Fault::BadContentLength(_) => "content_length",
            Fault::Unparseable(_) => "unparseable",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TooLarge(n) => write!(f, "message of {n} bytes is too large"),
            Fault::Garbage => write!(f, "not a SIP message"),
            Fault::BadStartLine(l) => write!(f, "bad start line {l:?}"),
            Fault::BadHeaderLine(n) => write!(f, "malformed header on line {n}"),
            Fault::MissingHeader(h) => write!(f, "missing {h} header"),
            Fault::BadCSeq(v) => write!(f, "bad CSeq {v:?}"),
            Fault::BadContentLength(v) => write!(f, "bad Content-Length {v:?}"),
            Fault::Unparseable(e) => write!(f, "unparseable: {e}"),
        }
    }
}

/// What to do with one datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Well formed: hand it to the stack.
    Pass,
    /// Broken request that can be answered: send these bytes back to the source.
    Reply { fault: Fault, response: Vec<u8> },
    /// Broken beyond answering (or a broken response): drop it.
    Drop(Fault),
}

/// Checks one datagram. `stack_parse` is the SIP stack's own parser, run last so that nothing the
/// stack would refuse slips through unanswered.
pub fn inspect(bytes: &[u8], stack_parse: impl FnOnce(&[u8]) -> Result<(), String>) -> Verdict {
    let head = match Head::read(bytes) {
        Ok(h) => h,
        Err(fault) => return Verdict::Drop(fault),
    };
    let fault = if bytes.len() > MAX_MESSAGE_BYTES {
        Some(Fault::TooLarge(bytes.len()))
    } else {
        head.check().err()
    };
    let fault = match fault {
        Some(f) => f,
        None => match stack_parse(bytes) {
            Ok(()) => return Verdict::Pass,
            Err(e) => Fault::Unparseable(e),
        },
    };
    head.refuse(fault)
}

/// Refuses a message for a fault found elsewhere (the TCP framer): answered when the message
/// names where to answer, dropped otherwise.
pub fn refuse(bytes: &[u8], fault: Fault) -> Verdict {
    match Head::read(bytes) {
        Ok(head) => head.refuse(fault),
        Err(_) => Verdict::Drop(fault),
    }
}

impl Head<'_> {
    fn refuse(&self, fault: Fault) -> Verdict {
        match (&self.start, self.answerable()) {
            (StartLine::Request { method, .. }, true) if method != "ACK" => {
                let status = if matches!(fault, Fault::TooLarge(_)) {
                    513
                } else {
                    400
                };
                let response = self.response(status, &fault);
                Verdict::Reply { fault, response }
            }
            _ => Verdict::Drop(fault),
        }
    }
}

enum StartLine {
    Request { method: String },
    Response,
}

/// The start line and header lines of a message, as text, without interpretation.
struct Head<'a> {
    start: StartLine,
    headers: Vec<(&'a str, &'a str)>,
    body_len: usize,
    bad_line: Option<usize>,
}

impl<'a> Head<'a> {
    fn read(bytes: &'a [u8]) -> Result<Head<'a>, Fault> {
        let (head_bytes, body_len) = match find(bytes, b"\r\n\r\n") {
            Some(i) => (&bytes[..i], bytes.len() - i - 4),
            None => match find(bytes, b"\n\n") {
                Some(i) => (&bytes[..i], bytes.len() - i - 2),
                None => (bytes, 0),
            },
        };
        let text = std::str::from_utf8(head_bytes).map_err(|_| Fault::Garbage)?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        if !text.contains('\n') && bytes.len() < 12 {
            return Err(Fault::Garbage);
        }
        let start = parse_start_line(first)?;
        let mut headers: Vec<(&str, &str)> = Vec::new();
        let mut bad_line = None;
        for (i, line) in lines.enumerate() {
            if line.starts_with([' ', '\t']) {
                continue; // folded continuation (RFC 3261 §7.3.1); the value's first line suffices here
            }
            match line.split_once(':') {
                Some((name, value)) if !name.trim().is_empty() => {
                    headers.push((name.trim(), value.trim()))
                }
                _ => {
                    bad_line.get_or_insert(i + 2);
                }
            }
        }
        Ok(Head {
            start,
            headers,
            body_len,
            bad_line,
        })
    }

    fn get(&self, long: &str, compact: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(long) || n.eq_ignore_ascii_case(compact))
            .map(|(_, v)| *v)
    }

    fn all(&self, long: &str, compact: &str) -> impl Iterator<Item = &'a str> + '_ {
        let (long, compact) = (long.to_owned(), compact.to_owned());
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&long) || n.eq_ignore_ascii_case(&compact))
            .map(|(_, v)| *v)
    }

    /// Can a response be routed back at all (RFC 3261 §8.2.6 copies these)?
    fn answerable(&self) -> bool {
        self.get("Via", "v").is_some()
            && self.get("From", "f").is_some()
            && self.get("To", "t").is_some()
            && self.get("Call-ID", "i").is_some()
            && self.get("CSeq", "").is_some()
    }

    fn check(&self) -> Result<(), Fault> {
        if let Some(n) = self.bad_line {
            return Err(Fault::BadHeaderLine(n));
        }
        let StartLine::Request { method } = &self.start else {
            return Ok(()); // responses are matched or dropped by the stack
        };
        for (long, compact) in [
            ("Via", "v"),
            ("From", "f"),
            ("To", "t"),
            ("Call-ID", "i"),
            ("CSeq", ""),
        ] {
            if self.get(long, compact).is_none() {
                return Err(Fault::MissingHeader(long));
            }
        }
        let cseq = self.get("CSeq", "").unwrap_or_default();
        let mut parts = cseq.split_whitespace();
        let number_ok = parts.next().is_some_and(|n| n.parse::<u32>().is_ok());
        let cseq_method = parts.next();
        let method_ok = match cseq_method {
            // A CANCEL's or ACK's CSeq names itself too (RFC 3261 §9.1, §17.1.1.3).
            Some(m) => m == method,
            None => false,
        };
        if !number_ok || !method_ok || parts.next().is_some() {
            return Err(Fault::BadCSeq(cseq.to_owned()));
        }
        if let Some(cl) = self.get("Content-Length", "l") {
            match cl.parse::<usize>() {
                Ok(n) if n <= self.body_len => {}
                _ => return Err(Fault::BadContentLength(cl.to_owned())),
            }
        }
        Ok(())
    }

    /// A response built from the request's own headers (RFC 3261 §8.2.6.2).
    fn response(&self, status: u16, fault: &Fault) -> Vec<u8> {
        let reason = match status {
            513 => "Message Too Large".to_owned(),
            _ => format!("Bad Request - {fault}"),
        };
        // Reason phrases are TEXT-UTF8 without CR/LF.
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let mut out = format!("SIP/2.0 {status} {reason}\r\n");
        for via in self.all("Via", "v") {
            out.push_str(&format!("Via: {via}\r\n"));
        }
        let to = self.get("To", "t").unwrap_or_default();
        let to = if to.contains(";tag=") {
            to.to_owned()
        } else {
            format!("{to};tag=kefu400")
        };
        for (name, value) in [
            ("From", self.get("From", "f").unwrap_or_default()),
            ("To", to.as_str()),
            ("Call-ID", self.get("Call-ID", "i").unwrap_or_default()),
            ("CSeq", self.get("CSeq", "").unwrap_or_default()),
        ] {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("Server: kefu\r\nContent-Length: 0\r\n\r\n");
        out.into_bytes()
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, Fault> {
    let bad = || Fault::BadStartLine(line.chars().take(80).collect());
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let code = rest.split(' ').next().unwrap_or_default();
        return match code.parse::<u16>() {
            Ok(100..=699) => Ok(StartLine::Response),
            _ => Err(bad()),
        };
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let method_ok = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    let scheme_ok = ["sip:", "sips:", "tel:"]
        .iter()
        .any(|s| uri.len() > s.len() && uri[..s.len()].eq_ignore_ascii_case(s));
    if !method_ok || !scheme_ok || version != "SIP/2.0" {
        return Err(bad());
    }
    Ok(StartLine::Request {
        method: method.to_owned(),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &[u8]) -> Result<(), String> {
        Ok(())
    }

    const INVITE: &str = "INVITE sip:100@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
        From: <sip:alice@127.0.0.1>;tag=a1\r\n\
        To: <sip:100@127.0.0.1>\r\n\
        Call-ID: c1@127.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Length: 4\r\n\r\nv=0\n";

    fn reply_text(v: Verdict) -> String {
        match v {
            Verdict::Reply { response, .. } => String::from_utf8(response).expect("ascii"),
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn a_good_invite_passes() {
        assert_eq!(inspect(INVITE.as_bytes(), ok), Verdict::Pass);
    }

    #[test]
    fn missing_call_id_is_answered_400_naming_it() {
        let msg = INVITE.replace("Call-ID: c1@127.0.0.1\r\n", "");
        match inspect(msg.as_bytes(), ok) {
            Verdict::Drop(Fault::MissingHeader("Call-ID")) => {}
            other => panic!("{other:?}"),
        }
        let msg = INVITE.replace("CSeq: 1 INVITE", "CSeq: one INVITE");
        let text = reply_text(inspect(msg.as_bytes(), ok));
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request - bad CSeq"),
            "{text}"
        );
        assert!(text.contains("Call-ID: c1@127.0.0.1\r\n"));
        assert!(text.contains("To: <sip:100@127.0.0.1>;tag=kefu400\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"));
    }

    #[test]
    fn content_length_longer_than_the_body_is_400() {
        let msg = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        let text = reply_text(inspect(msg.as_bytes(), ok));
        assert!(text.contains("bad Content-Length"), "{text}");
    }

    #[test]
    fn cseq_method_must_match() {
        let msg = INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE");
        assert!(reply_text(inspect(msg.as_bytes(), ok)).contains("bad CSeq"));
    }

    #[test]
    fn bad_start_lines() {
        for first in [
            "INVITE sip:100@x SIP/3.0",
            "INVITE 100@x SIP/2.0",
            "INV ITE sip:100@x SIP/2.0",
            "SIP/2.0 9999 Odd",
        ] {
            let msg = INVITE.replacen("INVITE sip:100@127.0.0.1 SIP/2.0", first, 1);
            match inspect(msg.as_bytes(), ok) {
                Verdict::Drop(Fault::BadStartLine(_)) => {}
                other => panic!("{first}: {other:?}"),
            }
        }
    }

    #[test]
    fn header_without_colon_names_its_line() {
        let msg = INVITE.replace("CSeq: 1 INVITE\r\n", "CSeq: 1 INVITE\r\nGarbage line\r\n");
        let text = reply_text(inspect(msg.as_bytes(), ok));
        assert!(text.contains("malformed header on line 7"), "{text}");
    }

    #[test]
    fn oversized_is_513() {
        let mut msg = INVITE.replace("Content-Length: 4", "Content-Length: 20000");
        msg.push_str(&"a".repeat(20000));
        let text = reply_text(inspect(msg.as_bytes(), ok));
        assert!(text.starts_with("SIP/2.0 513 "), "{text}");
    }

    #[test]
    fn stack_refusal_is_answered() {
        let text = reply_text(inspect(INVITE.as_bytes(), |_| Err("bad uri".into())));
        assert!(text.contains("unparseable: bad uri"));
    }

    #[test]
    fn garbage_and_acks_are_dropped() {
        assert!(matches!(
            inspect(b"\x00\x01\x02", ok),
            Verdict::Drop(Fault::Garbage)
        ));
        assert!(matches!(inspect(&[0xff; 300], ok), Verdict::Drop(_)));
        let ack = INVITE
            .replace("INVITE sip", "ACK sip")
            .replace("1 INVITE", "1 ACK")
            .replace("Content-Length: 4", "Content-Length: 99");
        assert!(matches!(inspect(ack.as_bytes(), ok), Verdict::Drop(_)));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = inspect(&bytes, ok);
        }

        #[test]
        fn mutated_invites_never_panic(pos in 0usize..300, byte in proptest::num::u8::ANY) {
            let mut msg = INVITE.as_bytes().to_vec();
            let i = pos % msg.len();
            msg[i] = byte;
            let _ = inspect(&msg, ok);
        }
    }
}
