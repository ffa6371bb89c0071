//! Opus (RFC 6716, RTP payload format RFC 7587) through libopus, at 16 kHz mono.
//!
//! The RTP clock is always 48 kHz and the SDP always says `opus/48000/2` (RFC 7587 §7),
//! but the codec itself runs at 16 kHz mono here: libopus resamples and downmixes stereo
//! packets inside the decoder, so kefu needs no resampler for Opus. The encoder uses the
//! VoIP application mode.

use super::{CodecError, MAX_DECODED_SAMPLES, MAX_ENCODED_BYTES};
use crate::media::frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

pub(super) struct OpusDecoder {
    inner: opus::Decoder,
    /// Room for the longest packet Opus allows (120 ms); boxed to keep `Decoder` small.
    scratch: Box<[i16; MAX_DECODED_SAMPLES]>,
}

impl OpusDecoder {
    pub(super) fn new() -> Result<Self, CodecError> {
        let inner =
            opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(CodecError::OpusInit)?;
        Ok(OpusDecoder {
            inner,
            scratch: Box::new([0; MAX_DECODED_SAMPLES]),
        })
    }

    /// `payload` must not be empty: libopus reads an empty packet as a loss.
    pub(super) fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let n = self
            .inner
            .decode(payload, &mut self.scratch[..], false)
            .map_err(CodecError::OpusDecode)?;
        out.extend_from_slice(&self.scratch[..n.min(MAX_DECODED_SAMPLES)]);
        Ok(())
    }

    /// Opus packet-loss concealment: libopus extrapolates 20 ms from its state.
    pub(super) fn conceal(&mut self, out: &mut Vec<i16>) {
        let plc = &mut self.scratch[..FRAME_SAMPLES];
        match self.inner.decode(&[], plc, false) {
            Ok(n) => out.extend_from_slice(&plc[..n.min(FRAME_SAMPLES)]),
            // PLC only fails on a broken decoder state; silence keeps the timing right.
            Err(_) => out.extend_from_slice(&Frame::SILENCE.0),
        }
    }
}

pub(super) struct OpusEncoder {
    inner: opus::Encoder,
}

impl OpusEncoder {
    pub(super) fn new() -> Result<Self, CodecError> {
        let inner = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
            .map_err(CodecError::OpusInit)?;
        Ok(OpusEncoder { inner })
    }

    pub(super) fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.clear();
        out.resize(MAX_ENCODED_BYTES, 0);
        let n = self
            .inner
            .encode(frame.samples(), out)
            .map_err(CodecError::OpusEncode)?;
        out.truncate(n);
        Ok(())
    }
}
