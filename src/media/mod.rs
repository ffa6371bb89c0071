//! Audio inside kefu: the 20 ms 16 kHz [`Frame`], codecs, resampling, prompts, tones,
//! mixing and recording.
//!
//! Every leg decodes into [`Frame`]s and encodes from them ([`codec`]: G.711 per ITU-T G.711,
//! G.722, Opus; RTP parameters per RFC 3551 §4.5/§6 and RFC 7587). Files (prompts, any
//! input) are decoded once with symphonia and resampled with rubato ([`prompt`],
//! [`resample`]). In-band DTMF ([`tone`]) follows the ITU-T Q.24 timing limits with a
//! 40 ms minimum on and off; RFC 4733 events are the `rtp` module's business. Everything per
//! frame is synchronous and allocation-free; file I/O ([`prompt`], [`recorder`]) is meant
//! for a blocking task, never the media loop.

pub mod codec;
mod error;
pub mod frame;
pub mod mixer;
pub mod player;
pub mod prompt;
pub mod recorder;
pub mod resample;
pub mod tone;

pub use codec::{CodecError, CodecKind, Decoder, Encoder};
pub use error::MediaError;
pub use frame::{FRAME_MS, FRAME_SAMPLES, Frame, SAMPLE_RATE};
pub use player::Playback;
pub use prompt::{Prompt, PromptLibrary};
pub use recorder::{RecordingInfo, StereoRecorder};
pub use tone::{DtmfDetector, ToneGenerator};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_can_move_between_tasks() {
        fn send<T: Send>() {}
        fn shared<T: Send + Sync>() {}
        send::<Decoder>();
        send::<Encoder>();
        send::<Playback>();
        send::<DtmfDetector>();
        send::<StereoRecorder>();
        shared::<Prompt>();
        shared::<PromptLibrary>();
    }
}
