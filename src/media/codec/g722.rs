//! G.722 at 64 kbit/s (mode 1) through the `audio-codec` crate (ITU-T G.722, RFC 3551 §4.5.2).
//!
//! G.722 samples at 16 kHz, so it needs no resampling: one byte carries two samples and a
//! 20 ms frame is 160 bytes. (Its RTP clock is 8 kHz for historical reasons; that only
//! matters to the RTP timestamp, see `CodecKind::rtp_clock_rate`.)

use audio_codec::g722::{G722Decoder as Inner, G722Encoder as InnerEncoder};
use audio_codec::{Decoder as _, Encoder as _};

use super::CodecError;
use crate::media::frame::{FRAME_SAMPLES, Frame};

/// Bytes in a 20 ms payload.
const PAYLOAD_20MS: usize = FRAME_SAMPLES / 2;

pub(super) struct G722Decoder {
    inner: Inner,
}

impl G722Decoder {
    pub(super) fn new() -> Self {
        G722Decoder {
            inner: Inner::new(),
        }
    }

    /// Appends two samples per payload byte.
    pub(super) fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let mut pcm = [0i16; FRAME_SAMPLES];
        for chunk in payload.chunks(PAYLOAD_20MS) {
            let n = self
                .inner
                .decode_into(chunk, &mut pcm)
                .map_err(CodecError::G722)?;
            out.extend_from_slice(&pcm[..n]);
        }
        Ok(())
    }
}

pub(super) struct G722Encoder {
    inner: InnerEncoder,
}

impl G722Encoder {
    pub(super) fn new() -> Self {
        G722Encoder {
            inner: InnerEncoder::new(),
        }
    }

    pub(super) fn encode(&mut self, frame: &Frame, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.clear();
        out.resize(PAYLOAD_20MS, 0);
        let n = self
            .inner
            .encode_into(frame.samples(), out)
            .map_err(CodecError::G722)?;
        out.truncate(n);
        Ok(())
    }
}
