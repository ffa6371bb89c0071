//! Writes recordings off the media path. The call task hands frames to a writer thread through a
//! bounded queue and never waits: if the disk stalls, frames are dropped and counted (a gap in a
//! recording), never a stall in what the caller hears.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::media::frame::{Frame, SAMPLE_RATE};
use crate::media::recorder::StereoRecorder;

/// Five seconds of frames may queue before frames are dropped.
const QUEUE_FRAMES: usize = 250;

/// The whole-call stereo recording: caller left, kefu or agent right.
pub struct RecordingTap {
    path: PathBuf,
    frames: SyncSender<(Frame, Frame)>,
    writer: JoinHandle<()>,
}

impl RecordingTap {
    pub fn start(dir: &Path, call_id: &str) -> Result<RecordingTap, crate::media::MediaError> {
        std::fs::create_dir_all(dir).map_err(|e| crate::media::MediaError::Recording {
            path: dir.to_owned(),
            source: hound::Error::IoError(e),
        })?;
        let path = dir.join(format!("{call_id}.wav"));
        let mut recorder = StereoRecorder::create(&path)?;
        let (frames, rx) = sync_channel::<(Frame, Frame)>(QUEUE_FRAMES);
        let writer = std::thread::spawn(move || {
            for (left, right) in rx {
                if let Err(e) = recorder.write(&left, &right) {
                    tracing::error!(error = %e, "recording write failed; recording stops here");
                    return;
                }
            }
            if let Err(e) = recorder.finish() {
                tracing::error!(error = %e, "recording could not be finished");
            }
        });
        Ok(RecordingTap {
            path,
            frames,
            writer,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn push(&mut self, left: Frame, right: Frame) {
        match self.frames.try_send((left, right)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                metrics::counter!("kefu_recording_frames_dropped_total").increment(1)
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Closes the file (the WAV header gets its final length).
    pub fn finish(self) {
        drop(self.frames);
        let _ = self.writer.join();
    }
}

/// A caller's message left at a `record` node: mono 16 kHz WAV. Messages are short and written
/// at their end, so they are buffered in memory and written once.
pub struct MessageWriter {
    path: PathBuf,
    samples: Vec<i16>,
}

impl MessageWriter {
    pub fn start(dir: &Path, call_id: &str) -> std::io::Result<MessageWriter> {
        std::fs::create_dir_all(dir)?;
        let stamp = jiff::Timestamp::now().as_millisecond();
        Ok(MessageWriter {
            path: dir.join(format!("{call_id}-message-{stamp}.wav")),
            samples: Vec::new(),
        })
    }

    pub fn push(&mut self, frame: Frame) {
        self.samples.extend_from_slice(frame.samples());
    }

    /// Writes the file; returns its path and length in seconds.
    pub fn finish(self) -> (PathBuf, f32) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let seconds = self.samples.len() as f32 / SAMPLE_RATE as f32;
        let written = hound::WavWriter::create(&self.path, spec).and_then(|mut w| {
            for s in &self.samples {
                w.write_sample(*s)?;
            }
            w.finalize()
        });
        if let Err(e) = written {
            tracing::error!(path = %self.path.display(), error = %e, "message could not be written");
        }
        (self.path, seconds)
    }
}
