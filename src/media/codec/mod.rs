//! Voice codecs between RTP payloads and kefu's 16 kHz [`Frame`]s.
//!
//! G.711 µ-law/A-law (ITU-T G.711, written here), G.722 at 64 kbit/s (`audio-codec`) and
//! Opus (libopus). Payload types, clock rates and SDP names follow RFC 3551 §4.5 and §6
//! (G.722's RTP clock is 8000 although it samples at 16 kHz, §4.5.2) and RFC 7587 for Opus.
//! A [`Decoder`] turns one payload of any duration into 16 kHz samples; an [`Encoder`]
//! turns one 20 ms frame into one payload. Neither allocates after construction, provided
//! the caller keeps reusing its output vectors (reserve [`MAX_DECODED_SAMPLES`] and
//! [`MAX_ENCODED_BYTES`] once).

mod conceal;
pub mod g711;
mod g722;
mod opus;
pub mod resampler;

use std::fmt;

use self::conceal::FadeConcealer;
use self::g711::{G711Decoder, G711Encoder, Law};
use self::g722::{G722Decoder, G722Encoder};
use self::opus::{OpusDecoder, OpusEncoder};
use crate::media::frame::Frame;

/// Most 16 kHz samples one payload may decode to: 120 ms, the longest Opus packet (RFC 6716
/// §3.2.5). G.711 and G.722 payloads are held to the same bound.
pub const MAX_DECODED_SAMPLES: usize = 1920;

/// Most bytes one encoded 20 ms payload can take (an Opus frame and its TOC byte, RFC 6716
/// §3.2.1; G.711 and G.722 always write 160). Reserve this for the payload buffer.
pub const MAX_ENCODED_BYTES: usize = 1276;

/// Longest G.711 or G.722 payload accepted: 120 ms at one byte per 8 kHz tick.
const MAX_NARROW_PAYLOAD: usize = 960;

/// Errors from encoding or decoding one payload.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The RTP payload had no bytes at all.
    #[error("empty {0} payload")]
    EmptyPayload(CodecKind),
    /// The payload is longer than 120 ms of audio.
    #[error("{kind} payload of {bytes} bytes is longer than 120 ms")]
    PayloadTooLong { kind: CodecKind, bytes: usize },
    /// libopus could not create an encoder or decoder.
    #[error("cannot create opus codec: {0}")]
    OpusInit(#[source] ::opus::Error),
    /// libopus rejected the packet (corrupt, truncated or not Opus).
    #[error("malformed opus packet: {0}")]
    OpusDecode(#[source] ::opus::Error),
    /// libopus failed to encode a frame.
    #[error("opus encoding failed: {0}")]
    OpusEncode(#[source] ::opus::Error),
    /// The G.722 codec refused the input.
    #[error("G722 codec error: {0}")]
    G722(audio_codec::CodecError),
}

/// The codecs kefu speaks on an RTP leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 at 64 kbit/s.
    G722,
    /// Opus, 16 kHz mono inside kefu.
    Opus,
}

impl CodecKind {
    /// All codecs, in kefu's order of preference for an offer: Opus, G.722, PCMU, PCMA.
    pub const PREFERENCE: [CodecKind; 4] = [
        CodecKind::Opus,
        CodecKind::G722,
        CodecKind::Pcmu,
        CodecKind::Pcma,
    ];

    /// Matches an SDP `a=rtpmap` entry (`name/clock_rate[/channels]`; pass 1 when the
    /// channel count is absent). Names compare case-insensitively; Opus must be
    /// `opus/48000/2` (RFC 7587 §7).
    pub fn from_sdp(name: &str, clock_rate: u32, channels: u16) -> Option<CodecKind> {
        CodecKind::PREFERENCE.into_iter().find(|kind| {
            kind.sdp_name().eq_ignore_ascii_case(name)
                && kind.rtp_clock_rate() == clock_rate
                && kind.sdp_channels() == channels
        })
    }

    /// Encoding name as written in `a=rtpmap`.
    pub fn sdp_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
        }
    }

    /// RTP timestamp clock (RFC 3551 table 4; RFC 7587 §4.1).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 8000,
            CodecKind::Opus => 48000,
        }
    }

    /// Channel count as written in `a=rtpmap` (Opus always declares 2).
    pub fn sdp_channels(self) -> u16 {
        match self {
            CodecKind::Opus => 2,
            _ => 1,
        }
    }

    /// Static RTP payload type, if the codec has one (RFC 3551 table 4).
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::G722 => Some(9),
            CodecKind::Opus => None,
        }
    }

    /// RTP timestamp increment for one 20 ms packet.
    pub fn timestamp_step(self) -> u32 {
        self.rtp_clock_rate() / 50
    }
}

impl fmt::Display for CodecKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdp_name())
    }
}

enum DecoderState {
    G711(G711Decoder),
    G722(G722Decoder),
    Opus(OpusDecoder),
}

/// Decodes one leg's payloads to 16 kHz mono.
pub struct Decoder {
    kind: CodecKind,
    state: DecoderState,
    /// Loss concealment for G.711 and G.722 (Opus has its own).
    fade: FadeConcealer,
}

impl Decoder {
    pub fn new(kind: CodecKind) -> Result<Decoder, CodecError> {
        let state = match kind {
            CodecKind::Pcmu => DecoderState::G711(G711Decoder::new(Law::Mu)),
            CodecKind::Pcma => DecoderState::G711(G711Decoder::new(Law::A)),
            CodecKind::G722 => DecoderState::G722(G722Decoder::new()),
            CodecKind::Opus => DecoderState::Opus(OpusDecoder::new()?),
        };
        Ok(Decoder {
            kind,
            state,
            fade: FadeConcealer::new(),
        })
    }

    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Appends the 16 kHz samples of one payload to `out` (as many as the payload holds:
    /// 10 ms, 20 ms, 60 ms …, at most [`MAX_DECODED_SAMPLES`]). On error `out` is unchanged.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::EmptyPayload(self.kind));
        }
        let narrow = !matches!(self.state, DecoderState::Opus(_));
        if narrow && payload.len() > MAX_NARROW_PAYLOAD {
            return Err(CodecError::PayloadTooLong {
                kind: self.kind,
                bytes: payload.len(),
            });
        }
        let start = out.len();
        let result = match &mut self.state {
            DecoderState::G711(d) => {
                d.decode(payload, out);
                Ok(())
            }
            DecoderState::G722(d) => d.decode(payload, out),
            DecoderState::Opus(d) => d.decode(payload, out),
        };
        match result {
            Ok(()) => {
                if narrow {
                    self.fade.remember(&out[start..]);
                }
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends 20 ms standing in for a lost packet: Opus runs libopus's concealment;
    /// G.711 and G.722 replay the last 20 ms fading out over 40 ms, then give silence.
    pub fn conceal(&mut self, out: &mut Vec<i16>) {
        match &mut self.state {
            DecoderState::Opus(d) => d.conceal(out),
            DecoderState::G711(_) | DecoderState::G722(_) => self.fade.conceal(out),
        }
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder").field("kind", &self.kind).finish()
    }
}

enum EncoderState {
    G711(G711Encoder),
    G722(G722Encoder),
    Opus(OpusEncoder),
}

/// Encodes one leg's 20 ms frames to payloads.
pub struct Encoder {
    kind: CodecKind,
    state: EncoderState,
}

impl Encoder {
    pub fn new(kind: CodecKind) -> Result<Encoder, CodecError> {
        let state = match kind {
            CodecKind::Pcmu => EncoderState::G711(G711Encoder::new(Law::Mu)),
            CodecKind::Pcma => EncoderState::G711(G711Encoder::new(Law::A)),
            CodecKind::G722 => EncoderState::G722(G722Encoder::new()),
            CodecKind::Opus => EncoderState::Opus(OpusEncoder::new()?),
        };
        Ok(Encoder { kind, state })
    }

    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Clears `out` and writes the payload for one 20 ms frame (`out` is left empty on
    /// error).
    pub fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let result = match &mut self.state {
            EncoderState::G711(e) => {
                e.encode(frame, out);
                Ok(())
            }
            EncoderState::G722(e) => e.encode(frame, out),
            EncoderState::Opus(e) => e.encode(frame, out),
        };
        if result.is_err() {
            out.clear();
        }
        result
    }
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder").field("kind", &self.kind).finish()
    }
}

#[cfg(test)]
mod tests;
