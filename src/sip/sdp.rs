//! SDP (RFC 8866) for audio calls and the offer/answer model (RFC 3264), codec-agnostic: codecs
//! are names, clock rates and channel counts supplied by the caller.
//!
//! Parsing is strict where a wrong guess would break media (the first line must be `v=0`;
//! `o=`, `c=`, `t=`, `m=` lines and `rtpmap`/`ptime` attributes must be well formed; an
//! `rtpmap` must name a payload type of its `m=` line; an active stream needs a `c=`) and lenient
//! elsewhere: CRLF or LF, blank lines skipped, `s=` and `t=` optional, unknown line types and
//! attributes kept, a second `c=` in one media section ignored, lines out of RFC order accepted.
//! Unknown lines are written back in RFC order.
//!
//! Offer/answer: the answer picks the first format *in the offer's order* that we support
//! (RFC 3264 §6.1), answers the first usable audio stream (plain RTP/AVP or RTP/AVPF, non-zero
//! port) and rejects every other stream with port 0, in the same order (RFC 3264 §6). An offer
//! with `c=0.0.0.0` is an old-style hold (RFC 3264 §8.4): the offerer does not want to receive.
//! DTMF uses telephone-event/8000 under any payload type (RFC 4733); other telephone-event clock
//! rates are ignored (deviation from RFC 4733 §2.1, which prefers the audio codec's rate).

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

/// Why a description could not be used. Callers map `Malformed` to SIP 400 and the rest to 488.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The text is not valid SDP; `line` is 1-based (0 when the description was built in code).
    #[error("SDP line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    /// No usable audio stream: no `m=audio` over RTP/AVP(F) with a non-zero port.
    #[error("no usable audio stream")]
    NoAudio,
    /// Audio is offered, but none of its formats is one we support.
    #[error("no audio codec in common")]
    NoCommonCodec,
    /// A well-formed answer that does not answer our offer (RFC 3264 §6).
    #[error("answer does not match the offer: {0}")]
    AnswerMismatch(String),
}

fn malformed(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Malformed {
        line,
        reason: reason.into(),
    }
}

/// Media direction (RFC 8866 §6.7), from the point of view of the side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// True when this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// True when this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other side (sendonly <-> recvonly).
    pub fn reversed(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attribute(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// The `o=` line. Fields are kept as text: some peers use ids beyond 64 bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub address_type: String,
    pub address: String,
}

/// A `c=` line's address. A multicast TTL suffix is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    pub address: IpAddr,
}

/// Any line this module does not interpret, kept to be written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpLine {
    /// The type letter.
    pub kind: char,
    pub value: String,
}

/// An `a=` line this module does not interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    /// The text after the first `:`, if any.
    pub value: Option<String>,
}

/// An `a=rtpmap` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    pub clock_rate: u32,
    /// Channels for audio; `None` means 1.
    pub channels: Option<u16>,
}

/// An `a=fmtp` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type number for RTP).
    pub format: String,
    pub params: String,
}

/// One `m=` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`…
    pub media: String,
    /// 0 means the stream is rejected or disabled.
    pub port: u16,
    pub port_count: Option<u16>,
    /// Transport, e.g. `RTP/AVP`.
    pub proto: String,
    /// Formats in preference order; for RTP, payload type numbers in canonical decimal.
    pub formats: Vec<String>,
    /// Media-level `c=`, overriding the session's.
    pub connection: Option<Connection>,
    pub rtpmaps: Vec<RtpMap>,
    pub fmtps: Vec<Fmtp>,
    /// `a=ptime` in milliseconds (a decimal value is rounded).
    pub ptime: Option<u32>,
    pub direction: Option<Direction>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    pub attributes: Vec<Attribute>,
    /// `i=`, `b=`, `k=` and unknown lines.
    pub other_lines: Vec<SdpLine>,
}

/// A whole session description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// The first `t=` line (`0 0` when absent).
    pub timing: (u64, u64),
    /// Session-level direction attribute.
    pub direction: Option<Direction>,
    /// Session-level attributes not interpreted here.
    pub attributes: Vec<Attribute>,
    /// `i= u= e= p= b=`, further `t=`, `r= z= k=` and unknown lines.
    pub other_lines: Vec<SdpLine>,
    pub media: Vec<MediaDescription>,
}

/// A codec as seen in SDP: encoding name, clock rate, channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioCodecSpec {
    pub name: Cow<'static, str>,
    pub clock_rate: u32,
    pub channels: u16,
}

impl AudioCodecSpec {
    pub fn new(name: impl Into<Cow<'static, str>>, clock_rate: u32, channels: u16) -> Self {
        AudioCodecSpec {
            name: name.into(),
            clock_rate,
            channels,
        }
    }

    fn matches(&self, name: &str, clock_rate: u32, channels: u16) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && self.clock_rate == clock_rate
            && self.channels == channels
    }
}

/// Our side of the media: where we receive, and the `o=` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our RTP address.
    pub addr: IpAddr,
    /// Our RTP port.
    pub port: u16,
    pub session_id: u64,
    /// Incremented by the caller for every new description in the dialog (RFC 3264 §8).
    pub session_version: u64,
}

/// The codec both sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenCodec {
    /// The payload type to send with (from the other side's description).
    pub payload_type: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: Option<String>,
}

/// The outcome of a negotiation, for setting up the RTP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: ChosenCodec,
    /// The payload type of telephone-event/8000 (RFC 4733), when both sides have it; without
    /// it DTMF has to be detected in-band.
    pub telephone_event: Option<u8>,
    /// Where the peer receives RTP (0.0.0.0 when it is holding the call).
    pub remote_rtp: SocketAddr,
    /// Our direction on the stream.
    pub direction: Direction,
    /// Both sides agreed on RTCP multiplexing.
    pub rtcp_mux: bool,
    /// The peer's `a=ptime`, if any.
    pub remote_ptime: Option<u32>,
    /// Index of the audio `m=` section in both descriptions.
    pub media_index: usize,
}

/// Our answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send.
    pub description: SessionDescription,
    pub negotiated: Negotiated,
}

/// Static audio payload types usable without `rtpmap` (RFC 3551 §6).
const STATIC_AUDIO: [(u8, &str, u32); 7] = [
    (0, "PCMU", 8000),
    (3, "GSM", 8000),
    (4, "G723", 8000),
    (8, "PCMA", 8000),
    (9, "G722", 8000),
    (13, "CN", 8000),
    (18, "G729", 8000),
];
const TELEPHONE_EVENT: &str = "telephone-event";
const TELEPHONE_EVENT_CLOCK: u32 = 8000;
/// The events our DTMF code handles (RFC 4733 §3.2).
const TELEPHONE_EVENT_FMTP: &str = "0-15";
/// Packetization we send.
const PTIME_MS: u32 = 20;

/// A codec as resolved from a description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CodecRef<'a> {
    name: &'a str,
    clock_rate: u32,
    channels: u16,
}

fn is_rtp_proto(proto: &str) -> bool {
    proto.to_ascii_uppercase().contains("RTP/")
}

/// Transports a plain SIP leg can carry (no SRTP, no DTLS).
fn is_plain_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

impl MediaDescription {
    /// True for `m=audio`.
    pub fn is_audio(&self) -> bool {
        self.media.eq_ignore_ascii_case("audio")
    }

    /// The formats that are payload type numbers, in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// The `rtpmap` of a payload type.
    pub fn rtpmap(&self, payload_type: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|r| r.payload_type == payload_type)
    }

    /// The `fmtp` parameters of a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        let format = payload_type.to_string();
        self.fmtps
            .iter()
            .find(|f| f.format == format)
            .map(|f| f.params.as_str())
    }

    fn codec(&self, payload_type: u8) -> Option<CodecRef<'_>> {
        if let Some(map) = self.rtpmap(payload_type) {
            return Some(CodecRef {
                name: &map.encoding,
                clock_rate: map.clock_rate,
                channels: map.channels.unwrap_or(1),
            });
        }
        STATIC_AUDIO
            .iter()
            .find(|(pt, _, _)| *pt == payload_type)
            .map(|&(_, name, clock_rate)| CodecRef {
                name,
                clock_rate,
                channels: 1,
            })
    }

    /// The direction of the side that wrote this section: the media attribute, else the
    /// session's, else sendrecv; with an unspecified address (`c=0.0.0.0`, old-style hold) that
    /// side does not receive.
    pub fn effective_direction(&self, session: &SessionDescription) -> Direction {
        let direction = self
            .direction
            .or(session.direction)
            .unwrap_or(Direction::SendRecv);
        match self.connection.or(session.connection) {
            Some(c) if c.address.is_unspecified() => direction.intersect(Direction::SendOnly),
            _ => direction,
        }
    }

    /// The RTP address: this section's `c=` (or the session's) and port.
    pub fn rtp_addr(&self, session: &SessionDescription) -> Option<SocketAddr> {
        self.connection
            .or(session.connection)
            .map(|c| SocketAddr::new(c.address, self.port))
    }

    /// The first telephone-event format at 8000 Hz, any payload type. Other clock rates
    /// (e.g. telephone-event/48000 next to Opus) are not used: the DTMF code runs at 8000 Hz.
    pub fn telephone_event(&self) -> Option<u8> {
        self.payload_types().find(|&pt| {
            self.codec(pt).is_some_and(|c| {
                c.name.eq_ignore_ascii_case(TELEPHONE_EVENT)
                    && c.clock_rate == TELEPHONE_EVENT_CLOCK
            })
        })
    }
}

/// Position of an uninterpreted session-level line in RFC 8866 §5 order.
fn session_rank(kind: char) -> u8 {
    match kind {
        'i' => 1,
        'u' => 2,
        'e' => 3,
        'p' => 4,
        'b' => 6,       // after c= (5)
        't' | 'r' => 8, // after the first t= (7)
        'z' => 9,
        'k' => 10,
        _ => 11,
    }
}

/// Position of an uninterpreted media-level line in RFC 8866 §5 order.
fn media_rank(kind: char) -> u8 {
    match kind {
        'i' => 1,
        'b' => 3, // after c= (2)
        'k' => 4,
        _ => 5,
    }
}

/// Inserts keeping lines sorted by rank and in arrival order within a rank.
fn insert_ranked(lines: &mut Vec<SdpLine>, line: SdpLine, rank: fn(char) -> u8) {
    let r = rank(line.kind);
    let at = lines
        .iter()
        .position(|l| rank(l.kind) > r)
        .unwrap_or(lines.len());
    lines.insert(at, line);
}

/// Splits `x=value`.
fn split_line(number: usize, line: &str) -> Result<(char, &str), SdpError> {
    let mut chars = line.chars();
    match (chars.next(), chars.next()) {
        (Some(kind), Some('=')) => Ok((kind, &line[kind.len_utf8() + 1..])),
        _ => Err(malformed(number, "expected <type>=<value>")),
    }
}

fn parse_origin(number: usize, value: &str) -> Result<Origin, SdpError> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [
        username,
        session_id,
        session_version,
        net_type,
        address_type,
        address,
    ] = fields[..]
    else {
        return Err(malformed(
            number,
            "o= needs 6 fields: username sess-id sess-version nettype addrtype address",
        ));
    };
    Ok(Origin {
        username: username.to_string(),
        session_id: session_id.to_string(),
        session_version: session_version.to_string(),
        net_type: net_type.to_string(),
        address_type: address_type.to_string(),
        address: address.to_string(),
    })
}

fn parse_connection(number: usize, value: &str) -> Result<Connection, SdpError> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [net_type, address_type, address] = fields[..] else {
        return Err(malformed(
            number,
            "c= needs 3 fields: nettype addrtype address",
        ));
    };
    if net_type != "IN" {
        return Err(malformed(
            number,
            format!("unsupported network type '{net_type}'"),
        ));
    }
    let literal = address.split('/').next().unwrap_or(address);
    let Ok(ip) = literal.parse::<IpAddr>() else {
        return Err(malformed(
            number,
            format!("connection address '{address}' is not an IP address"),
        ));
    };
    let family_ok = match address_type {
        "IP4" => ip.is_ipv4(),
        "IP6" => ip.is_ipv6(),
        other => {
            return Err(malformed(
                number,
                format!("unsupported address type '{other}'"),
            ));
        }
    };
    if !family_ok {
        return Err(malformed(
            number,
            format!("address '{literal}' is not of type {address_type}"),
        ));
    }
    Ok(Connection { address: ip })
}

fn parse_timing(number: usize, value: &str) -> Result<(u64, u64), SdpError> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    match fields[..] {
        [start, stop] => match (start.parse(), stop.parse()) {
            (Ok(start), Ok(stop)) => Ok((start, stop)),
            _ => Err(malformed(number, "t= times must be numbers")),
        },
        _ => Err(malformed(number, "t= needs start and stop times")),
    }
}

fn parse_payload_type(text: &str) -> Option<u8> {
    text.parse::<u8>().ok().filter(|pt| *pt <= 127)
}

fn parse_media(number: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    let [media, port, proto, formats @ ..] = &fields[..] else {
        return Err(malformed(
            number,
            "m= needs media, port, proto and at least one format",
        ));
    };
    if formats.is_empty() {
        return Err(malformed(
            number,
            "m= needs media, port, proto and at least one format",
        ));
    }
    let (port_text, count_text) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (*port, None),
    };
    let Ok(port) = port_text.parse::<u16>() else {
        return Err(malformed(number, format!("bad port '{port_text}'")));
    };
    let port_count = match count_text {
        None => None,
        Some(c) => Some(
            c.parse::<u16>()
                .map_err(|_| malformed(number, format!("bad port count '{c}'")))?,
        ),
    };
    let rtp = is_rtp_proto(proto);
    let formats = formats
        .iter()
        .map(|f| {
            if !rtp {
                return Ok(f.to_string());
            }
            parse_payload_type(f)
                .map(|pt| pt.to_string())
                .ok_or_else(|| malformed(number, format!("bad payload type '{f}' in m= line")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MediaDescription {
        media: media.to_string(),
        port,
        port_count,
        proto: proto.to_string(),
        formats,
        ..MediaDescription::default()
    })
}

fn split_attribute(number: usize, value: &str) -> Result<(&str, Option<&str>), SdpError> {
    let (name, rest) = match value.split_once(':') {
        Some((name, rest)) => (name, Some(rest)),
        None => (value, None),
    };
    if name.is_empty() {
        return Err(malformed(number, "empty attribute name"));
    }
    Ok((name, rest))
}

fn parse_rtpmap(number: usize, value: &str, m: &MediaDescription) -> Result<RtpMap, SdpError> {
    let bad = || {
        malformed(
            number,
            "rtpmap needs <payload type> <encoding>/<clock rate>[/<channels>]",
        )
    };
    let (pt_text, encoding) = value
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    let payload_type = parse_payload_type(pt_text)
        .ok_or_else(|| malformed(number, format!("bad rtpmap payload type '{pt_text}'")))?;
    if !m.formats.contains(&payload_type.to_string()) {
        return Err(malformed(
            number,
            format!("rtpmap for payload type {payload_type} not in the m= line"),
        ));
    }
    if m.rtpmap(payload_type).is_some() {
        return Err(malformed(
            number,
            format!("duplicate rtpmap for payload type {payload_type}"),
        ));
    }
    let mut parts = encoding.trim().split('/');
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
    let clock_rate = parts
        .next()
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| *r > 0)
        .ok_or_else(|| malformed(number, format!("bad clock rate in rtpmap '{encoding}'")))?;
    let channels = match parts.next() {
        None => None,
        Some(c) => Some(c.parse::<u16>().ok().filter(|c| *c > 0).ok_or_else(|| {
            malformed(number, format!("bad channel count in rtpmap '{encoding}'"))
        })?),
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(RtpMap {
        payload_type,
        encoding: name.to_string(),
        clock_rate,
        channels,
    })
}

fn parse_fmtp(value: &str, rtp: bool) -> Fmtp {
    let (format, params) = match value.find(char::is_whitespace) {
        Some(i) => {
            let space = value[i..].chars().next().map_or(1, char::len_utf8);
            (&value[..i], &value[i + space..])
        }
        None => (value, ""),
    };
    let format = match parse_payload_type(format) {
        Some(pt) if rtp => pt.to_string(),
        _ => format.to_string(),
    };
    Fmtp {
        format,
        params: params.to_string(),
    }
}

fn parse_ptime(number: usize, value: &str) -> Result<u32, SdpError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms < 1_000_000.0)
        .map(|ms| ms.round() as u32)
        .ok_or_else(|| malformed(number, format!("bad ptime '{value}'")))
}

fn parse_media_attribute(
    number: usize,
    value: &str,
    m: &mut MediaDescription,
) -> Result<(), SdpError> {
    let (name, rest) = split_attribute(number, value)?;
    match (name, rest) {
        ("rtpmap", Some(rest)) => {
            let map = parse_rtpmap(number, rest, m)?;
            m.rtpmaps.push(map);
        }
        ("rtpmap", None) => return Err(malformed(number, "rtpmap without a value")),
        ("fmtp", Some(rest)) => m.fmtps.push(parse_fmtp(rest, is_rtp_proto(&m.proto))),
        ("ptime", Some(rest)) => m.ptime = Some(parse_ptime(number, rest)?),
        ("ptime", None) => return Err(malformed(number, "ptime without a value")),
        ("rtcp-mux", None) => m.rtcp_mux = true,
        (name, None) if Direction::from_attribute(name).is_some() => {
            m.direction = Direction::from_attribute(name);
        }
        (name, rest) => m.attributes.push(Attribute {
            name: name.to_string(),
            value: rest.map(str::to_string),
        }),
    }
    Ok(())
}

impl SessionDescription {
    /// Parses a description. Errors name the 1-based line and the problem.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty());

        let Some((first_number, first)) = lines.next() else {
            return Err(malformed(1, "empty description: missing v= line"));
        };
        match split_line(first_number, first)? {
            ('v', "0") => {}
            ('v', other) => {
                return Err(malformed(
                    first_number,
                    format!("unsupported SDP version '{other}'"),
                ));
            }
            _ => {
                return Err(malformed(
                    first_number,
                    "missing v= line: the first line must be v=0",
                ));
            }
        }

        let mut sdp = SessionDescription::default();
        let mut origin = None;
        let mut session_name = None;
        let mut timing = None;
        let mut media_lines = Vec::new();
        for (number, line) in lines {
            let (kind, value) = split_line(number, line)?;
            if let Some(m) = sdp.media.last_mut() {
                match kind {
                    'm' => {
                        sdp.media.push(parse_media(number, value)?);
                        media_lines.push(number);
                    }
                    'c' => {
                        let connection = parse_connection(number, value)?;
                        m.connection.get_or_insert(connection);
                    }
                    'a' => parse_media_attribute(number, value, m)?,
                    'v' | 'o' | 's' | 't' => {
                        return Err(malformed(
                            number,
                            format!("{kind}= line inside a media description"),
                        ));
                    }
                    _ => insert_ranked(
                        &mut m.other_lines,
                        SdpLine {
                            kind,
                            value: value.to_string(),
                        },
                        media_rank,
                    ),
                }
                continue;
            }
            match kind {
                'v' => return Err(malformed(number, "duplicate v= line")),
                'o' if origin.is_some() => return Err(malformed(number, "duplicate o= line")),
                'o' => origin = Some(parse_origin(number, value)?),
                's' if session_name.is_some() => {
                    return Err(malformed(number, "duplicate s= line"));
                }
                's' => session_name = Some(value.to_string()),
                'c' if sdp.connection.is_some() => {
                    return Err(malformed(number, "duplicate session-level c= line"));
                }
                'c' => sdp.connection = Some(parse_connection(number, value)?),
                't' if timing.is_none() => timing = Some(parse_timing(number, value)?),
                'a' => {
                    let (name, rest) = split_attribute(number, value)?;
                    match Direction::from_attribute(name) {
                        Some(direction) if rest.is_none() => sdp.direction = Some(direction),
                        _ => sdp.attributes.push(Attribute {
                            name: name.to_string(),
                            value: rest.map(str::to_string),
                        }),
                    }
                }
                'm' => {
                    sdp.media.push(parse_media(number, value)?);
                    media_lines.push(number);
                }
                _ => {
                    if kind == 't' {
                        parse_timing(number, value)?;
                    }
                    insert_ranked(
                        &mut sdp.other_lines,
                        SdpLine {
                            kind,
                            value: value.to_string(),
                        },
                        session_rank,
                    );
                }
            }
        }

        sdp.origin = origin.ok_or_else(|| malformed(first_number + 1, "missing o= line"))?;
        sdp.session_name = session_name.unwrap_or_else(|| "-".to_string());
        sdp.timing = timing.unwrap_or((0, 0));
        for (m, &number) in sdp.media.iter().zip(&media_lines) {
            if m.port != 0 && m.connection.is_none() && sdp.connection.is_none() {
                return Err(malformed(
                    number,
                    "no c= line for this media or the session",
                ));
            }
        }
        Ok(sdp)
    }
}

fn write_connection(f: &mut fmt::Formatter<'_>, c: &Connection) -> fmt::Result {
    let kind = if c.address.is_ipv4() { "IP4" } else { "IP6" };
    write!(f, "c=IN {kind} {}\r\n", c.address)
}

fn write_lines(
    f: &mut fmt::Formatter<'_>,
    lines: &[SdpLine],
    rank: fn(char) -> u8,
    ranks: std::ops::RangeInclusive<u8>,
) -> fmt::Result {
    for line in lines.iter().filter(|l| ranks.contains(&rank(l.kind))) {
        write!(f, "{}={}\r\n", line.kind, line.value)?;
    }
    Ok(())
}

fn write_attribute(f: &mut fmt::Formatter<'_>, a: &Attribute) -> fmt::Result {
    match &a.value {
        Some(value) => write!(f, "a={}:{}\r\n", a.name, value),
        None => write!(f, "a={}\r\n", a.name),
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str("\r\n")?;
        write_lines(f, &self.other_lines, media_rank, 0..=1)?;
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        write_lines(f, &self.other_lines, media_rank, 2..=u8::MAX)?;
        for map in &self.rtpmaps {
            write!(
                f,
                "a=rtpmap:{} {}/{}",
                map.payload_type, map.encoding, map.clock_rate
            )?;
            if let Some(channels) = map.channels {
                write!(f, "/{channels}")?;
            }
            f.write_str("\r\n")?;
        }
        for fmtp in &self.fmtps {
            if fmtp.params.is_empty() {
                write!(f, "a=fmtp:{}\r\n", fmtp.format)?;
            } else {
                write!(f, "a=fmtp:{} {}\r\n", fmtp.format, fmtp.params)?;
            }
        }
        if let Some(ptime) = self.ptime {
            write!(f, "a=ptime:{ptime}\r\n")?;
        }
        if let Some(direction) = self.direction {
            write!(f, "a={}\r\n", direction.as_str())?;
        }
        if self.rtcp_mux {
            f.write_str("a=rtcp-mux\r\n")?;
        }
        for attribute in &self.attributes {
            write_attribute(f, attribute)?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.net_type,
            o.address_type,
            o.address,
            self.session_name
        )?;
        write_lines(f, &self.other_lines, session_rank, 0..=4)?;
        if let Some(c) = &self.connection {
            write_connection(f, c)?;
        }
        write_lines(f, &self.other_lines, session_rank, 5..=6)?;
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        write_lines(f, &self.other_lines, session_rank, 7..=u8::MAX)?;
        if let Some(direction) = self.direction {
            write!(f, "a={}\r\n", direction.as_str())?;
        }
        for attribute in &self.attributes {
            write_attribute(f, attribute)?;
        }
        for media in &self.media {
            write!(f, "{media}")?;
        }
        Ok(())
    }
}

fn our_origin(local: &LocalMedia) -> Origin {
    Origin {
        username: "kefu".to_string(),
        session_id: local.session_id.to_string(),
        session_version: local.session_version.to_string(),
        net_type: "IN".to_string(),
        address_type: if local.addr.is_ipv4() { "IP4" } else { "IP6" }.to_string(),
        address: local.addr.to_string(),
    }
}

fn our_session(local: &LocalMedia, media: Vec<MediaDescription>) -> SessionDescription {
    SessionDescription {
        origin: our_origin(local),
        session_name: "-".to_string(),
        connection: Some(Connection {
            address: local.addr,
        }),
        timing: (0, 0),
        media,
        ..SessionDescription::default()
    }
}

fn telephone_event_lines(m: &mut MediaDescription, payload_type: u8) {
    m.formats.push(payload_type.to_string());
    m.rtpmaps.push(RtpMap {
        payload_type,
        encoding: TELEPHONE_EVENT.to_string(),
        clock_rate: TELEPHONE_EVENT_CLOCK,
        channels: None,
    });
    m.fmtps.push(Fmtp {
        format: payload_type.to_string(),
        params: TELEPHONE_EVENT_FMTP.to_string(),
    });
}

/// The first offered format we support, in the offer's order (RFC 3264 §6.1).
fn choose_codec(m: &MediaDescription, supported: &[AudioCodecSpec]) -> Option<ChosenCodec> {
    m.payload_types().find_map(|pt| {
        let codec = m.codec(pt)?;
        let wanted = !codec.name.eq_ignore_ascii_case(TELEPHONE_EVENT)
            && supported
                .iter()
                .any(|s| s.matches(codec.name, codec.clock_rate, codec.channels));
        wanted.then(|| ChosenCodec {
            payload_type: pt,
            name: codec.name.to_string(),
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            fmtp: m.fmtp(pt).map(str::to_string),
        })
    })
}

/// Answers an offer (RFC 3264 §6): the first usable audio stream gets the first codec of the
/// offer we support and telephone-event if offered; every other stream is rejected.
pub fn negotiate_answer(
    offer: &SessionDescription,
    supported: &[AudioCodecSpec],
    local: &LocalMedia,
) -> Result<Answer, SdpError> {
    let mut saw_audio = false;
    let mut chosen = None;
    for (index, m) in offer.media.iter().enumerate() {
        if !m.is_audio() || m.port == 0 || !is_plain_rtp(&m.proto) {
            continue;
        }
        saw_audio = true;
        if let Some(codec) = choose_codec(m, supported) {
            chosen = Some((index, codec));
            break;
        }
    }
    let Some((media_index, codec)) = chosen else {
        return Err(if saw_audio {
            SdpError::NoCommonCodec
        } else {
            SdpError::NoAudio
        });
    };
    let offered = &offer.media[media_index];
    let remote_rtp = offered
        .rtp_addr(offer)
        .ok_or_else(|| malformed(0, "no connection address for the audio stream"))?;
    let telephone_event = offered.telephone_event();
    let direction = offered.effective_direction(offer).reversed();

    let mut answered = MediaDescription {
        media: offered.media.clone(),
        port: local.port,
        proto: offered.proto.clone(),
        formats: vec![codec.payload_type.to_string()],
        rtpmaps: vec![RtpMap {
            payload_type: codec.payload_type,
            encoding: codec.name.clone(),
            clock_rate: codec.clock_rate,
            channels: (codec.channels != 1).then_some(codec.channels),
        }],
        fmtps: codec
            .fmtp
            .iter()
            .map(|params| Fmtp {
                format: codec.payload_type.to_string(),
                params: params.clone(),
            })
            .collect(),
        ptime: Some(PTIME_MS),
        direction: Some(direction),
        rtcp_mux: offered.rtcp_mux,
        ..MediaDescription::default()
    };
    if let Some(te) = telephone_event {
        telephone_event_lines(&mut answered, te);
    }
    let mut answered = Some(answered);
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(
            |(index, m)| match answered.take_if(|_| index == media_index) {
                Some(answer) => answer,
                None => MediaDescription {
                    media: m.media.clone(),
                    port: 0,
                    proto: m.proto.clone(),
                    formats: m.formats.clone(),
                    ..MediaDescription::default()
                },
            },
        )
        .collect();

    Ok(Answer {
        description: our_session(local, media),
        negotiated: Negotiated {
            codec,
            telephone_event,
            remote_rtp,
            direction,
            rtcp_mux: offered.rtcp_mux,
            remote_ptime: offered.ptime,
            media_index,
        },
    })
}

/// An offer for an outbound call: one audio stream with our codecs in preference order, static
/// payload types where RFC 3551 has one and dynamic ones from 96 otherwise, then
/// telephone-event at `telephone_event_pt` (left out unless it is a free dynamic type 96..=127).
pub fn build_offer(
    supported: &[AudioCodecSpec],
    local: &LocalMedia,
    telephone_event_pt: u8,
) -> SessionDescription {
    let mut m = MediaDescription {
        media: "audio".to_string(),
        port: local.port,
        proto: "RTP/AVP".to_string(),
        ptime: Some(PTIME_MS),
        direction: Some(Direction::SendRecv),
        rtcp_mux: true,
        ..MediaDescription::default()
    };
    let te_usable = (96..=127).contains(&telephone_event_pt);
    let mut next_dynamic = 96u8;
    for spec in supported {
        let static_pt = STATIC_AUDIO
            .iter()
            .find(|(_, name, clock)| spec.matches(name, *clock, 1))
            .map(|(pt, _, _)| *pt);
        let pt = match static_pt {
            Some(pt) => pt,
            None => {
                while next_dynamic == telephone_event_pt && te_usable {
                    next_dynamic += 1;
                }
                if next_dynamic > 127 {
                    continue; // out of dynamic payload types
                }
                next_dynamic += 1;
                next_dynamic - 1
            }
        };
        if m.rtpmap(pt).is_some() {
            continue; // listed twice
        }
        m.formats.push(pt.to_string());
        m.rtpmaps.push(RtpMap {
            payload_type: pt,
            encoding: spec.name.to_string(),
            clock_rate: spec.clock_rate,
            channels: (spec.channels != 1).then_some(spec.channels),
        });
    }
    if te_usable {
        telephone_event_lines(&mut m, telephone_event_pt);
    }
    our_session(local, vec![m])
}

/// Reads the far end's answer to `our_offer` (RFC 3264 §5, §6): the codec it chose (the first
/// format of its answer that we offered), its telephone-event type, its address and direction.
pub fn accept_answer(
    our_offer: &SessionDescription,
    answer_text: &str,
) -> Result<Negotiated, SdpError> {
    let answer = SessionDescription::parse(answer_text)?;
    if answer.media.len() != our_offer.media.len() {
        return Err(SdpError::AnswerMismatch(format!(
            "{} m= lines answer an offer of {}",
            answer.media.len(),
            our_offer.media.len()
        )));
    }
    let Some(media_index) = our_offer
        .media
        .iter()
        .zip(&answer.media)
        .position(|(o, a)| o.is_audio() && o.port != 0 && a.is_audio() && a.port != 0)
    else {
        return Err(SdpError::NoAudio);
    };
    let offered = &our_offer.media[media_index];
    let answered = &answer.media[media_index];
    let codec = answered
        .payload_types()
        .find_map(|pt| {
            let codec = answered.codec(pt)?;
            if codec.name.eq_ignore_ascii_case(TELEPHONE_EVENT) {
                return None;
            }
            let was_offered = offered.payload_types().any(|opt| {
                offered.codec(opt).is_some_and(|c| {
                    c.name.eq_ignore_ascii_case(codec.name)
                        && c.clock_rate == codec.clock_rate
                        && c.channels == codec.channels
                })
            });
            was_offered.then(|| ChosenCodec {
                payload_type: pt,
                name: codec.name.to_string(),
                clock_rate: codec.clock_rate,
                channels: codec.channels,
                fmtp: answered.fmtp(pt).map(str::to_string),
            })
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let telephone_event = offered.telephone_event().and(answered.telephone_event());
    let remote_rtp = answered
        .rtp_addr(&answer)
        .ok_or_else(|| malformed(0, "no connection address for the audio stream"))?;
    let ours = offered.effective_direction(our_offer);
    let direction = answered
        .effective_direction(&answer)
        .reversed()
        .intersect(ours);
    Ok(Negotiated {
        codec,
        telephone_event,
        remote_rtp,
        direction,
        rtcp_mux: offered.rtcp_mux && answered.rtcp_mux,
        remote_ptime: answered.ptime,
        media_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn pcmu() -> AudioCodecSpec {
        AudioCodecSpec::new("PCMU", 8000, 1)
    }
    fn pcma() -> AudioCodecSpec {
        AudioCodecSpec::new("PCMA", 8000, 1)
    }
    fn g722() -> AudioCodecSpec {
        AudioCodecSpec::new("G722", 8000, 1)
    }
    fn opus() -> AudioCodecSpec {
        AudioCodecSpec::new("opus", 48000, 2)
    }

    fn local() -> LocalMedia {
        LocalMedia {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port: 20_000,
            session_id: 4242,
            session_version: 1,
        }
    }

    fn answer(offer: &str, supported: &[AudioCodecSpec]) -> Result<Answer, SdpError> {
        negotiate_answer(&SessionDescription::parse(offer)?, supported, &local())
    }

    fn line_of(err: SdpError) -> (usize, String) {
        match err {
            SdpError::Malformed { line, reason } => (line, reason),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    /// SIPp 3.6 `uac` scenario, LF line endings.
    const SIPP: &str = "v=0\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\n\
s=-\n\
c=IN IP4 127.0.0.1\n\
t=0 0\n\
m=audio 6000 RTP/AVP 0\n\
a=rtpmap:0 PCMU/8000\n";

    /// SIPp with `play_dtmf`: telephone-event on PT 96.
    const SIPP_DTMF: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6002 RTP/AVP 0 96\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\n";

    const BARESIP: &str = "v=0\r\n\
o=- 2890844526 2890844527 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 10004 RTP/AVP 96 9 0 8 101\r\n\
b=AS:128\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=rtcp-rsize\r\n\
a=ssrc:3477815634 cname:5d1d4b2a-7f4c-4c63-9a1c-0b7f0c0e9b7a\r\n\
a=ptime:20\r\n";

    const CHROME: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0 1\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:Wq3B\r\n\
a=ice-pwd:l5hv6YSgPW3vU4Hbsm9nVJ6F\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A:3D:D6:A3:E2:9C:17:4C:E7:46:3B:1B:CE:84:98:DD:8E:AF:7B\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
a=sendrecv\r\n\
a=msid:- 0f6d3b3e-6b0e-4a5c-9a55-3b1b1e3c9f0e\r\n\
a=rtcp-mux\r\n\
a=rtcp-rsize\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=rtcp-fb:111 transport-cc\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\n\
a=fmtp:63 111/111\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:13 CN/8000\r\n\
a=rtpmap:110 telephone-event/48000\r\n\
a=rtpmap:126 telephone-event/8000\r\n\
a=ssrc:2923380493 cname:Yd3D1vE0xq9ZSqGv\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n\
c=IN IP4 0.0.0.0\r\n\
a=mid:1\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\n\
a=rtpmap:97 rtx/90000\r\n\
a=fmtp:97 apt=96\r\n\
a=recvonly\r\n";

    const LINPHONE: &str = "v=0\r\n\
o=alice 2196 1396 IN IP4 192.168.0.5\r\n\
s=Talk\r\n\
c=IN IP4 192.168.0.5\r\n\
t=0 0\r\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
a=record:off\r\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=fmtp:97 vbr=on\r\n\
a=rtpmap:98 speex/8000\r\n\
a=fmtp:98 vbr=on\r\n\
a=fmtp:18 annexb=yes\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:99 telephone-event/16000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n\
m=video 9078 RTP/AVP 96 97\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtpmap:97 H264/90000\r\n\
a=fmtp:97 profile-level-id=42801F\r\n\
a=rtcp-fb:* trr-int 1000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n";

    #[test]
    fn sipp_offer() {
        let a = answer(SIPP, &[pcma(), pcmu()]).unwrap();
        let n = &a.negotiated;
        assert_eq!(n.codec.payload_type, 0);
        assert_eq!(n.codec.name, "PCMU");
        assert_eq!(n.telephone_event, None);
        assert_eq!(n.remote_rtp, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(n.direction, Direction::SendRecv);
        assert!(!n.rtcp_mux);
        let text = a.description.to_string();
        assert_eq!(
            text,
            "v=0\r\no=kefu 4242 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
             m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
        );
        assert_eq!(SessionDescription::parse(&text).unwrap(), a.description);
    }

    #[test]
    fn sipp_dtmf_offer_uses_pt_96() {
        let a = answer(SIPP_DTMF, &[pcmu()]).unwrap();
        assert_eq!(a.negotiated.telephone_event, Some(96));
        let m = &a.description.media[0];
        assert_eq!(m.formats, ["0", "96"]);
        assert_eq!(m.fmtp(96), Some("0-15"));
    }

    #[test]
    fn baresip_offer_in_offer_order() {
        let offer = SessionDescription::parse(BARESIP).unwrap();
        let m = &offer.media[0];
        assert_eq!(m.formats, ["96", "9", "0", "8", "101"]);
        assert_eq!(m.ptime, Some(20));
        assert_eq!(m.direction, Some(Direction::SendRecv));
        assert_eq!(
            m.other_lines,
            [SdpLine {
                kind: 'b',
                value: "AS:128".into()
            }]
        );
        assert_eq!(m.rtpmap(96).unwrap().channels, Some(2));

        // Our preference puts PCMA first, but the offer's order decides (RFC 3264 §6.1).
        let a = answer(BARESIP, &[pcma(), pcmu()]).unwrap();
        assert_eq!(a.negotiated.codec.payload_type, 0);
        let a = answer(BARESIP, &[pcma(), pcmu(), g722()]).unwrap();
        assert_eq!(a.negotiated.codec.name, "G722");
        assert_eq!(a.negotiated.codec.clock_rate, 8000);
        assert_eq!(a.negotiated.telephone_event, Some(101));

        let a = answer(BARESIP, &[opus(), pcmu()]).unwrap();
        let codec = &a.negotiated.codec;
        assert_eq!(
            (codec.payload_type, codec.clock_rate, codec.channels),
            (96, 48000, 2)
        );
        assert_eq!(codec.fmtp.as_deref(), Some("stereo=1;sprop-stereo=1"));
        // telephone-event is always the 8000 Hz one.
        assert_eq!(a.negotiated.telephone_event, Some(101));
        let text = a.description.to_string();
        assert!(text.contains("m=audio 20000 RTP/AVP 96 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"));
        assert!(text.contains("a=fmtp:96 stereo=1;sprop-stereo=1\r\n"));
        assert!(text.contains("a=fmtp:101 0-15\r\n"));
    }

    #[test]
    fn chrome_offer_parses_but_is_not_plain_rtp() {
        let offer = SessionDescription::parse(CHROME).unwrap();
        assert_eq!(offer.connection, None);
        assert_eq!(offer.media.len(), 2);
        let audio = &offer.media[0];
        assert!(audio.rtcp_mux);
        assert_eq!(audio.rtpmap(126).unwrap().clock_rate, 8000);
        assert_eq!(audio.fmtp(111), Some("minptime=10;useinbandfec=1"));
        assert_eq!(offer.media[1].direction, Some(Direction::RecvOnly));
        assert!(
            offer
                .attributes
                .iter()
                .any(|a| a.name == "group" && a.value.as_deref() == Some("BUNDLE 0 1"))
        );
        assert_eq!(
            negotiate_answer(&offer, &[opus(), pcmu()], &local()),
            Err(SdpError::NoAudio)
        );

        // The same streams as a gateway forwards them over plain RTP.
        let plain = CHROME
            .replace("UDP/TLS/RTP/SAVPF", "RTP/AVPF")
            .replace("c=IN IP4 0.0.0.0", "c=IN IP4 198.51.100.7");
        let a = answer(&plain, &[pcmu(), opus()]).unwrap();
        assert_eq!(a.negotiated.codec.payload_type, 111);
        assert_eq!(a.negotiated.telephone_event, Some(126));
        assert!(a.negotiated.rtcp_mux);
        assert_eq!(a.negotiated.remote_rtp, "198.51.100.7:9".parse().unwrap());
        let video = &a.description.media[1];
        assert_eq!((video.port, video.proto.as_str()), (0, "RTP/AVPF"));
        assert_eq!(video.formats, ["96", "97"]);
        let text = a.description.to_string();
        assert!(
            text.contains("m=audio 20000 RTP/AVPF 111 126\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtcp-mux\r\n"));
        assert!(text.ends_with("m=video 0 RTP/AVPF 96 97\r\n"));
    }

    #[test]
    fn linphone_offer_answers_audio_and_rejects_video() {
        let offer = SessionDescription::parse(LINPHONE).unwrap();
        assert_eq!(offer.session_name, "Talk");
        assert_eq!(offer.attributes.len(), 2);
        let a = negotiate_answer(&offer, &[pcma(), pcmu()], &local()).unwrap();
        assert_eq!(a.negotiated.codec.payload_type, 0);
        assert_eq!(a.negotiated.telephone_event, Some(100));
        assert_eq!(a.negotiated.media_index, 0);
        assert_eq!(a.description.media.len(), 2);
        assert_eq!(a.description.media[1].port, 0);
        assert_eq!(a.description.media[1].media, "video");
        // G.729 is static: it resolves without an rtpmap, with its fmtp.
        let g729 = answer(LINPHONE, &[AudioCodecSpec::new("G729", 8000, 1)]).unwrap();
        assert_eq!(g729.negotiated.codec.payload_type, 18);
        assert_eq!(g729.negotiated.codec.fmtp.as_deref(), Some("annexb=yes"));
        assert_eq!(g729.description.media[0].rtpmaps[0].encoding, "G729");
    }

    #[test]
    fn static_payload_types_without_rtpmap_and_names_in_any_case() {
        let offer = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 8 0 9\n";
        let a = answer(offer, &[pcmu(), pcma()]).unwrap();
        assert_eq!(a.negotiated.codec.name, "PCMA");
        let a = answer(offer, &[g722()]).unwrap();
        assert_eq!(a.negotiated.codec.payload_type, 9);
        let lower = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\
                     m=audio 4000 RTP/AVP 97\na=rtpmap:97 pcmu/8000\n";
        let a = answer(lower, &[pcmu()]).unwrap();
        assert_eq!(a.negotiated.codec.payload_type, 97);
    }

    fn hold_offer(extra_session: &str, connection: &str, media_attr: &str) -> String {
        format!(
            "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 {connection}\r\nt=0 0\r\n{extra_session}\
             m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{media_attr}"
        )
    }

    #[test]
    fn hold_and_direction_answers() {
        let cases = [
            ("", "10.0.0.1", "a=sendonly\r\n", Direction::RecvOnly),
            ("", "10.0.0.1", "a=recvonly\r\n", Direction::SendOnly),
            ("", "10.0.0.1", "a=inactive\r\n", Direction::Inactive),
            ("", "10.0.0.1", "", Direction::SendRecv),
            // Old-style hold: c=0.0.0.0.
            ("", "0.0.0.0", "", Direction::RecvOnly),
            ("", "0.0.0.0", "a=recvonly\r\n", Direction::Inactive),
            // Session-level attribute, overridden at media level.
            ("a=sendonly\r\n", "10.0.0.1", "", Direction::RecvOnly),
            (
                "a=sendonly\r\n",
                "10.0.0.1",
                "a=sendrecv\r\n",
                Direction::SendRecv,
            ),
        ];
        for (session, connection, media, expected) in cases {
            let offer = hold_offer(session, connection, media);
            let a = answer(&offer, &[pcmu()]).unwrap();
            assert_eq!(a.negotiated.direction, expected, "{offer}");
            assert_eq!(a.description.media[0].direction, Some(expected));
            assert!(
                a.description
                    .to_string()
                    .contains(&format!("a={}\r\n", expected.as_str()))
            );
        }
        let held = answer(&hold_offer("", "0.0.0.0", ""), &[pcmu()]).unwrap();
        assert_eq!(held.negotiated.remote_rtp, "0.0.0.0:4000".parse().unwrap());
    }

    #[test]
    fn errors_name_the_line_and_problem() {
        let cases = [
            ("", 1, "missing v="),
            ("o=- 1 1 IN IP4 1.2.3.4\n", 1, "missing v="),
            ("v=1\n", 1, "unsupported SDP version"),
            ("v=0\ns=-\n", 0, "missing o="),
            ("v=0\no=- 1 1 IN IP4\n", 2, "o= needs 6 fields"),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 example.com\n",
                3,
                "not an IP address",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP6 1.2.3.4\n",
                3,
                "not of type IP6",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nt=now later\n",
                3,
                "must be numbers",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP\n",
                4,
                "bad m= line",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\n",
                4,
                "bad port '70000'",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0 x\n",
                4,
                "bad payload type 'x'",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=rtpmap:97 opus/48000/2\n",
                5,
                "payload type 97 not in the m= line",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 97\na=rtpmap:97 opus\n",
                5,
                "bad clock rate",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\na=ptime:fast\n",
                5,
                "bad ptime",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n",
                3,
                "no c= line",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\ns=again\n",
                5,
                "inside a media description",
            ),
            (
                "v=0\no=- 1 1 IN IP4 1.2.3.4\nnonsense\n",
                3,
                "expected <type>=<value>",
            ),
        ];
        for (text, line, needle) in cases {
            let (got_line, reason) = line_of(SessionDescription::parse(text).unwrap_err());
            let needle = needle.replace("bad m= line", "m= needs media");
            let expected_line = if line == 0 { 2 } else { line };
            assert_eq!(got_line, expected_line, "{text:?}: {reason}");
            assert!(reason.contains(&needle), "{text:?}: {reason}");
        }
    }

    #[test]
    fn no_audio_and_no_common_codec() {
        let video_only = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n";
        assert_eq!(answer(video_only, &[pcmu()]), Err(SdpError::NoAudio));
        let port_zero = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 0 RTP/AVP 0\n";
        assert_eq!(answer(port_zero, &[pcmu()]), Err(SdpError::NoAudio));
        let g729_only = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18 101\na=rtpmap:101 telephone-event/8000\n";
        assert_eq!(
            answer(g729_only, &[pcmu(), pcma()]),
            Err(SdpError::NoCommonCodec)
        );
        // A second audio stream with a common codec is used, the first rejected.
        let two = "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18\nm=audio 4002 RTP/AVP 8\n";
        let a = answer(two, &[pcma()]).unwrap();
        assert_eq!(a.negotiated.media_index, 1);
        assert_eq!(a.negotiated.remote_rtp.port(), 4002);
        assert_eq!(
            (a.description.media[0].port, a.description.media[1].port),
            (0, 20_000)
        );
    }

    #[test]
    fn offer_then_answer_round_trip() {
        let supported = [opus(), pcmu(), pcma(), g722()];
        let offer = build_offer(&supported, &local(), 101);
        let text = offer.to_string();
        assert!(
            text.contains("m=audio 20000 RTP/AVP 96 0 8 9 101\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"));
        assert!(text.contains("a=rtpmap:9 G722/8000\r\n"));
        assert!(text.contains("a=rtcp-mux\r\n"));
        assert_eq!(SessionDescription::parse(&text).unwrap(), offer);

        // A far end that only does PCMA answers with its own ports and numbers.
        let far = LocalMedia {
            addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)),
            port: 30_000,
            session_id: 9,
            session_version: 9,
        };
        let their_answer =
            negotiate_answer(&SessionDescription::parse(&text).unwrap(), &[pcma()], &far).unwrap();
        let got = accept_answer(&offer, &their_answer.description.to_string()).unwrap();
        assert_eq!(got.codec.payload_type, 8);
        assert_eq!(got.codec.name, "PCMA");
        assert_eq!(got.telephone_event, Some(101));
        assert_eq!(got.remote_rtp, "203.0.113.5:30000".parse().unwrap());
        assert_eq!(got.direction, Direction::SendRecv);
        assert!(got.rtcp_mux);
    }

    #[test]
    fn accept_answer_checks_the_answer() {
        let offer = build_offer(&[pcmu(), pcma()], &local(), 101);
        let head = "v=0\no=- 1 1 IN IP4 203.0.113.5\ns=-\nc=IN IP4 203.0.113.5\nt=0 0\n";
        // Answer with a different payload number for PCMA and sendonly (the far end holds).
        let renumbered =
            format!("{head}m=audio 30000 RTP/AVP 110\na=rtpmap:110 PCMA/8000\na=sendonly\n");
        let got = accept_answer(&offer, &renumbered).unwrap();
        assert_eq!(got.codec.payload_type, 110);
        assert_eq!(got.telephone_event, None);
        assert_eq!(got.direction, Direction::RecvOnly);
        assert!(!got.rtcp_mux);
        let foreign = format!("{head}m=audio 30000 RTP/AVP 18\n");
        assert_eq!(
            accept_answer(&offer, &foreign),
            Err(SdpError::NoCommonCodec)
        );
        let rejected = format!("{head}m=audio 0 RTP/AVP 0\n");
        assert_eq!(accept_answer(&offer, &rejected), Err(SdpError::NoAudio));
        let extra = format!("{head}m=audio 30000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n");
        assert!(matches!(
            accept_answer(&offer, &extra),
            Err(SdpError::AnswerMismatch(_))
        ));
        assert!(matches!(
            accept_answer(&offer, "garbage"),
            Err(SdpError::Malformed { line: 1, .. })
        ));
    }

    #[test]
    fn build_offer_skips_the_telephone_event_number_and_bad_choices() {
        let codecs = [AudioCodecSpec::new("L16", 16000, 1), opus(), pcmu()];
        let offer = build_offer(&codecs, &local(), 96);
        assert_eq!(offer.media[0].formats, ["97", "98", "0", "96"]);
        let without = build_offer(&[pcmu()], &local(), 13);
        assert_eq!(without.media[0].formats, ["0"]);
    }

    #[test]
    fn unknown_lines_are_kept_in_rfc_order() {
        let text = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nc=IN IP4 1.2.3.4\nb=CT:64\nt=0 0\n\
                    i=late info\nr=7d 1h 0 25h\nm=audio 4000 RTP/AVP 0\nb=AS:64\ni=media info\nq=what\n";
        let sdp = SessionDescription::parse(text).unwrap();
        let kinds: String = sdp.other_lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, "ibr");
        let media_kinds: String = sdp.media[0].other_lines.iter().map(|l| l.kind).collect();
        assert_eq!(media_kinds, "ibq");
        let written = sdp.to_string();
        assert!(written.starts_with("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\ni=late info\r\nc=IN IP4 1.2.3.4\r\nb=CT:64\r\nt=0 0\r\nr=7d 1h 0 25h\r\n"), "{written}");
        assert_eq!(SessionDescription::parse(&written).unwrap(), sdp);
    }

    // ---- property tests ----

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9.+_-]{1,8}"
    }

    fn text() -> impl Strategy<Value = String> {
        "[ -~]{0,12}"
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ]
    }

    fn direction() -> impl Strategy<Value = Option<Direction>> {
        proptest::option::of(prop_oneof![
            Just(Direction::SendRecv),
            Just(Direction::SendOnly),
            Just(Direction::RecvOnly),
            Just(Direction::Inactive)
        ])
    }

    fn attribute(reserved: &'static [&'static str]) -> impl Strategy<Value = Attribute> {
        ("[a-z][a-z0-9-]{0,8}", proptest::option::of(text()))
            .prop_filter("reserved name", move |(name, _)| {
                !reserved.contains(&name.as_str())
            })
            .prop_map(|(name, value)| Attribute { name, value })
    }

    const DIRECTIONS: &[&str] = &["sendrecv", "sendonly", "recvonly", "inactive"];
    const MEDIA_RESERVED: &[&str] = &[
        "sendrecv", "sendonly", "recvonly", "inactive", "rtpmap", "fmtp", "ptime", "rtcp-mux",
    ];

    fn other_lines(
        kinds: &'static str,
        rank: fn(char) -> u8,
    ) -> impl Strategy<Value = Vec<SdpLine>> {
        let kinds: Vec<char> = kinds.chars().collect();
        proptest::collection::vec((proptest::sample::select(kinds), text()), 0..3).prop_map(
            move |lines| {
                let mut sorted = Vec::new();
                for (kind, value) in lines {
                    insert_ranked(&mut sorted, SdpLine { kind, value }, rank);
                }
                sorted
            },
        )
    }

    fn media() -> impl Strategy<Value = MediaDescription> {
        let rtp = (
            prop_oneof![Just("RTP/AVP"), Just("RTP/AVPF"), Just("UDP/TLS/RTP/SAVPF")],
            proptest::collection::btree_set(0u8..128, 1..5),
        )
            .prop_flat_map(|(proto, pts)| {
                let pts: Vec<u8> = pts.into_iter().collect();
                let n = pts.len();
                (
                    Just(proto.to_string()),
                    Just(pts),
                    proptest::collection::vec(
                        (
                            token(),
                            1u32..200_000,
                            proptest::option::of(1u16..9),
                            any::<bool>(),
                        ),
                        n,
                    ),
                    proptest::collection::vec(proptest::option::of(text()), n),
                )
            })
            .prop_map(|(proto, pts, maps, fmtps)| {
                let formats = pts.iter().map(u8::to_string).collect();
                let rtpmaps = pts
                    .iter()
                    .zip(maps)
                    .filter(|(_, (_, _, _, keep))| *keep)
                    .map(|(&pt, (encoding, clock_rate, channels, _))| RtpMap {
                        payload_type: pt,
                        encoding,
                        clock_rate,
                        channels,
                    })
                    .collect();
                let fmtps = pts
                    .iter()
                    .zip(fmtps)
                    .filter_map(|(pt, params)| {
                        params.map(|params| Fmtp {
                            format: pt.to_string(),
                            params,
                        })
                    })
                    .collect();
                (proto, formats, rtpmaps, fmtps)
            });
        let other = (
            Just("udp".to_string()),
            proptest::collection::vec(token(), 1..3),
        )
            .prop_map(|(proto, formats)| (proto, formats, Vec::new(), Vec::new()));
        (
            prop_oneof![Just("audio"), Just("video"), Just("application")],
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            prop_oneof![3 => rtp, 1 => other],
            proptest::option::of(ip()),
            proptest::option::of(1u32..1000),
            direction(),
            any::<bool>(),
            proptest::collection::vec(attribute(MEDIA_RESERVED), 0..3),
            other_lines("ibkxy", media_rank),
        )
            .prop_map(
                |(
                    media,
                    port,
                    port_count,
                    (proto, formats, rtpmaps, fmtps),
                    connection,
                    ptime,
                    direction,
                    rtcp_mux,
                    attributes,
                    other_lines,
                )| {
                    MediaDescription {
                        media: media.to_string(),
                        port,
                        port_count,
                        proto,
                        formats,
                        connection: connection.map(|address| Connection { address }),
                        rtpmaps,
                        fmtps,
                        ptime,
                        direction,
                        rtcp_mux,
                        attributes,
                        other_lines,
                    }
                },
            )
    }

    fn description() -> impl Strategy<Value = SessionDescription> {
        (
            (token(), "[0-9]{1,20}", "[0-9]{1,20}", token()),
            text(),
            proptest::option::of(ip()),
            (any::<u64>(), any::<u64>()),
            direction(),
            proptest::collection::vec(attribute(DIRECTIONS), 0..3),
            other_lines("iuepbrzkx", session_rank),
            proptest::collection::vec(media(), 0..3),
        )
            .prop_map(
                |(
                    (username, id, version, address),
                    session_name,
                    connection,
                    timing,
                    direction,
                    attributes,
                    other_lines,
                    mut media,
                )| {
                    let connection = connection.map(|address| Connection { address });
                    for m in &mut media {
                        if connection.is_none() && m.port != 0 && m.connection.is_none() {
                            m.connection = Some(Connection {
                                address: IpAddr::from([127, 0, 0, 1]),
                            });
                        }
                    }
                    SessionDescription {
                        origin: Origin {
                            username,
                            session_id: id,
                            session_version: version,
                            net_type: "IN".into(),
                            address_type: "IP4".into(),
                            address,
                        },
                        session_name,
                        connection,
                        timing,
                        direction,
                        attributes,
                        other_lines,
                        media,
                    }
                },
            )
    }

    fn re(pattern: &str) -> impl Strategy<Value = String> + use<> {
        proptest::string::string_regex(pattern).expect("test regex is valid")
    }

    /// Text shaped like SDP (v=, o=, session lines, media sections whose rtpmaps mostly name
    /// their own payload types) with a little noise, so that a good share parses and answers.
    fn sdp_soup() -> impl Strategy<Value = String> {
        let session_line = prop_oneof![
            4 => re("(s=-|t=0 0|t=1 2|b=AS:64|a=tool:x|a=group:BUNDLE 0|a=sendonly:x|c=IN IP4 0.0.0.0)"),
            2 => re("a=(sendonly|recvonly|inactive|sendrecv)"),
            1 => re("[bikrzuxy]=[ -~]{0,12}"),
            1 => re("(t=x|c=IN IP4 1.2.3.4|[ -~]{0,12})"),
        ];
        let pool = prop::sample::select(vec![0u8, 0, 8, 8, 9, 18, 96, 97, 101, 111, 200]);
        let media = (
            re("m=(audio|audio|audio|video|application) (0|4000|4000|[0-9]{1,5})(/2)? (RTP/AVP|RTP/AVP|RTP/AVPF|UDP/TLS/RTP/SAVPF|udp)"),
            proptest::collection::vec(pool, 1..5),
        )
            .prop_flat_map(|(head, pts)| {
                let own = prop::sample::select(pts.clone());
                let line = prop_oneof![
                    4 => (own.clone(), re("(PCMU/8000|PCMA/8000|pcma/8000/1|G722/8000|opus/48000/2|L16/16000|\
                                           telephone-event/8000|TELEPHONE-EVENT/48000|(PCMU|opus)/(8000|48000)(/[12])?)"))
                        .prop_map(|(pt, codec)| format!("a=rtpmap:{pt} {codec}")),
                    2 => (own, re("[ -~]{0,10}")).prop_map(|(pt, params)| format!("a=fmtp:{pt} {params}")),
                    3 => re("a=(ptime:(20|30|2.5)|sendonly|recvonly|inactive|sendrecv|rtcp-mux|mid:0|rtcp-mux:1)"),
                    1 => re("c=IN (IP4 10.0.0.2|IP4 0.0.0.0|IP6 ::1|IP4 10.0.0.3/127)"),
                    1 => re("[bikxy]=[ -~]{0,12}"),
                    1 => re("(a=rtpmap:55 x/8000|a=ptime:x|c=IN IP4 ::1|[ -~]{0,12})"),
                ];
                let formats: Vec<String> = pts.iter().map(u8::to_string).collect();
                (Just(format!("{head} {}", formats.join(" "))), proptest::collection::vec(line, 0..6))
            });
        (
            proptest::collection::vec(session_line, 0..4),
            proptest::collection::vec(media, 0..3),
            any::<bool>(),
            prop::bool::weighted(0.8),
        )
            .prop_map(|(session, media, crlf, connection)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = format!("v=0{eol}o=- 1 1 IN IP4 10.0.0.1{eol}");
                if connection {
                    text.push_str(&format!("c=IN IP4 10.0.0.1{eol}"));
                }
                for line in session {
                    text.push_str(&line);
                    text.push_str(eol);
                }
                for (m, lines) in media {
                    text.push_str(&m);
                    text.push_str(eol);
                    for line in lines {
                        text.push_str(&line);
                        text.push_str(eol);
                    }
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
            let _ = SessionDescription::parse(&s);
            let _ = accept_answer(&SessionDescription::default(), &s);
        }

        #[test]
        fn sdp_like_text_never_panics_and_reparses_the_same(text in sdp_soup()) {
            if let Ok(sdp) = SessionDescription::parse(&text) {
                let written = sdp.to_string();
                prop_assert_eq!(SessionDescription::parse(&written), Ok(sdp.clone()), "{}", written);
                let supported = [pcmu(), pcma(), opus()];
                if let Ok(a) = negotiate_answer(&sdp, &supported, &local()) {
                    let answer_text = a.description.to_string();
                    prop_assert_eq!(SessionDescription::parse(&answer_text), Ok(a.description.clone()));
                    prop_assert_eq!(a.description.media.len(), sdp.media.len());
                    let _ = accept_answer(&sdp, &answer_text);
                }
            }
        }

        #[test]
        fn parse_of_to_string_round_trips(sdp in description()) {
            let written = sdp.to_string();
            prop_assert_eq!(SessionDescription::parse(&written), Ok(sdp), "{}", written);
        }
    }
}
