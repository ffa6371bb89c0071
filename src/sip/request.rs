//! What kefu needs to know of an incoming request, read once out of rsipstack's types.

use rsipstack::sip::Request;
use rsipstack::sip::prelude::HeadersExt;

/// The parties and identity of a new INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteInfo {
    /// The SIP Call-ID header.
    pub sip_call_id: String,
    /// From URI (the caller), e.g. `sip:alice@10.0.0.5`.
    pub from: String,
    /// The number dialled: the user part of the Request-URI, else of the To URI.
    pub dialled: String,
    /// To URI as the caller wrote it.
    pub to: String,
}

impl InviteInfo {
    pub fn read(req: &Request) -> Result<InviteInfo, String> {
        let sip_call_id = req
            .call_id_header()
            .map_err(|e| e.to_string())?
            .value()
            .to_owned();
        let from = req
            .from_header()
            .and_then(|h| h.uri())
            .map(|u| u.to_string())
            .map_err(|e| format!("bad From: {e}"))?;
        let to_uri = req
            .to_header()
            .and_then(|h| h.uri())
            .map_err(|e| format!("bad To: {e}"))?;
        let dialled = req
            .uri
            .user()
            .or_else(|| to_uri.user())
            .unwrap_or_default()
            .to_owned();
        Ok(InviteInfo {
            sip_call_id,
            from,
            dialled,
            to: to_uri.to_string(),
        })
    }
}

/// True when the request carries a To tag, i.e. belongs to an existing dialog (RFC 3261 §12.2).
pub fn is_in_dialog(req: &Request) -> bool {
    req.to_header()
        .ok()
        .and_then(|h| h.tag().ok().flatten())
        .is_some()
}

/// The `Signal=` digit of an `application/dtmf-relay` INFO body (the de-facto format Cisco and
/// most PBXs send), or of an `application/dtmf` body holding just the digit.
pub fn dtmf_relay_digit(content_type: &str, body: &[u8]) -> Option<char> {
    let body = std::str::from_utf8(body).ok()?;
    let digit = if content_type.eq_ignore_ascii_case("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?
    } else if content_type.eq_ignore_ascii_case("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    let mut chars = digit.chars();
    let c = chars.next()?.to_ascii_uppercase();
    match (c, chars.next()) {
        ('0'..='9' | '*' | '#' | 'A'..='D', None) => Some(c),
        _ => None,
    }
}

/// The status of the referred call a NOTIFY reports (RFC 3515 §2.4.5): the status code of the
/// `message/sipfrag` body, when the request is a NOTIFY for the `refer` event.
pub fn refer_progress(req: &Request) -> Option<u16> {
    let event = req.headers.iter().find_map(|h| match h {
        rsipstack::sip::Header::Event(e) => Some(e.value().to_owned()),
        rsipstack::sip::Header::Other(name, value) if name.eq_ignore_ascii_case("event") => {
            Some(value.clone())
        }
        _ => None,
    })?;
    if !event
        .split(';')
        .next()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("refer"))
    {
        return None;
    }
    sipfrag_status(std::str::from_utf8(req.body()).ok()?)
}

/// `SIP/2.0 200 OK` -> 200.
fn sipfrag_status(body: &str) -> Option<u16> {
    let line = body.lines().next()?.trim();
    let code = line.strip_prefix("SIP/2.0 ")?.split(' ').next()?;
    code.parse().ok().filter(|c| (100..700).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dtmf_relay_bodies() {
        assert_eq!(
            dtmf_relay_digit("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"),
            Some('5')
        );
        assert_eq!(
            dtmf_relay_digit("Application/DTMF-Relay", b"signal= #\nDuration=100"),
            Some('#')
        );
        assert_eq!(dtmf_relay_digit("application/dtmf", b"7\r\n"), Some('7'));
        assert_eq!(
            dtmf_relay_digit("application/dtmf-relay", b"Signal=55"),
            None
        );
        assert_eq!(
            dtmf_relay_digit("application/dtmf-relay", b"Duration=160"),
            None
        );
        assert_eq!(dtmf_relay_digit("text/plain", b"Signal=5"), None);
        assert_eq!(
            dtmf_relay_digit("application/dtmf-relay", &[0xff, 0xfe]),
            None
        );
    }

    #[test]
    fn reads_refer_notifies() {
        let notify = |event: &str, body: &str| {
            let raw = format!(
                "NOTIFY sip:kefu@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2\r\n\
                 From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:kefu@127.0.0.1>;tag=k1\r\nCall-ID: c@h\r\n\
                 CSeq: 2 NOTIFY\r\nEvent: {event}\r\nContent-Type: message/sipfrag\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            Request::try_from(raw.as_bytes()).expect("valid NOTIFY")
        };
        assert_eq!(
            refer_progress(&notify("refer", "SIP/2.0 200 OK\r\n")),
            Some(200)
        );
        assert_eq!(
            refer_progress(&notify("refer;id=2", "SIP/2.0 180 Ringing")),
            Some(180)
        );
        assert_eq!(
            refer_progress(&notify("refer", "SIP/2.0 486 Busy Here")),
            Some(486)
        );
        assert_eq!(refer_progress(&notify("presence", "SIP/2.0 200 OK")), None);
        assert_eq!(refer_progress(&notify("refer", "garbage")), None);
    }

    #[test]
    fn reads_an_invite() {
        let raw = "INVITE sip:4001@127.0.0.1:5060 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
            From: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=a1\r\n\
            To: <sip:4001@127.0.0.1>\r\n\
            Call-ID: abc@127.0.0.1\r\n\
            CSeq: 1 INVITE\r\n\
            Content-Length: 0\r\n\r\n";
        let req = Request::try_from(raw.as_bytes()).expect("valid request");
        let info = InviteInfo::read(&req).expect("readable");
        assert_eq!(info.sip_call_id, "abc@127.0.0.1");
        assert_eq!(info.dialled, "4001");
        assert!(info.from.contains("alice@127.0.0.1"));
        assert!(!is_in_dialog(&req));
    }
}
