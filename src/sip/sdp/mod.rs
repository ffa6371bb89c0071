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
mod tests;
