//! Call recording: a stereo 16 kHz 16-bit WAV, caller on the left, kefu or the agent on the
//! right.
//!
//! This is the synchronous writer. The runtime runs it on its own task fed through a bounded
//! channel, so a slow disk drops recording frames instead of stalling the media loop.
//! Errors (disk full, missing directory, permissions) come back as values.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::media::error::MediaError;
use crate::media::frame::{FRAME_MS, FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// Longest recording: 16 hours, safely below the 4 GiB a WAV header can describe.
const MAX_FRAMES: u64 = 16 * 3600 * 1000 / FRAME_MS as u64;

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingInfo {
    pub path: PathBuf,
    pub seconds: f64,
}

/// Writes frame pairs to a stereo WAV file through a buffered writer.
pub struct StereoRecorder {
    writer: hound::WavWriter<BufWriter<File>>,
    path: PathBuf,
    frames: u64,
}

impl StereoRecorder {
    /// Creates (or truncates) the file and writes the WAV header.
    pub fn create(path: &Path) -> Result<StereoRecorder, MediaError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer =
            hound::WavWriter::create(path, spec).map_err(|source| MediaError::Recording {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(StereoRecorder {
            writer,
            path: path.to_path_buf(),
            frames: 0,
        })
    }

    /// Appends 20 ms: `left` is the caller, `right` is kefu or the agent.
    pub fn write(&mut self, left: &Frame, right: &Frame) -> Result<(), MediaError> {
        if self.frames >= MAX_FRAMES {
            return Err(MediaError::RecordingTooLong {
                path: self.path.clone(),
                seconds: self.seconds(),
            });
        }
        // The spec above is 16-bit integer, the only format `get_i16_writer` accepts, and
        // exactly 2 × FRAME_SAMPLES samples are written below.
        let mut samples = self.writer.get_i16_writer(2 * FRAME_SAMPLES as u32);
        for (&l, &r) in left.samples().iter().zip(right.samples()) {
            samples.write_sample(l);
            samples.write_sample(r);
        }
        samples.flush().map_err(|source| MediaError::Recording {
            path: self.path.clone(),
            source,
        })?;
        self.frames += 1;
        Ok(())
    }

    /// Seconds written so far.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 * f64::from(FRAME_MS) / 1000.0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Completes the header and flushes everything to disk.
    pub fn finish(self) -> Result<RecordingInfo, MediaError> {
        let seconds = self.seconds();
        let StereoRecorder { writer, path, .. } = self;
        match writer.finalize() {
            Ok(()) => Ok(RecordingInfo { path, seconds }),
            Err(source) => Err(MediaError::Recording { path, source }),
        }
    }
}

impl std::fmt::Debug for StereoRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StereoRecorder")
            .field("path", &self.path)
            .field("seconds", &self.seconds())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(value: i16) -> Frame {
        Frame([value; FRAME_SAMPLES])
    }

    #[test]
    fn writes_caller_left_and_kefu_right() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let mut rec = StereoRecorder::create(&path).unwrap();
        for i in 0..50 {
            rec.write(&frame_of(i), &frame_of(-i)).unwrap();
        }
        let info = rec.finish().unwrap();
        assert_eq!(
            info,
            RecordingInfo {
                path: path.clone(),
                seconds: 1.0
            }
        );

        let mut reader = hound::WavReader::open(&path).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 16000, 16)
        );
        assert_eq!(reader.duration(), 16000);
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(samples.len(), 32000);
        for (n, pair) in samples.chunks(2).enumerate() {
            let i = (n / FRAME_SAMPLES) as i16;
            assert_eq!(pair, [i, -i], "sample {n}");
        }
    }

    #[test]
    fn an_unwritable_path_is_an_error_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("call.wav");
        let err = StereoRecorder::create(&path).unwrap_err();
        assert!(matches!(err, MediaError::Recording { .. }));
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }

    #[test]
    fn an_empty_recording_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wav");
        let info = StereoRecorder::create(&path).unwrap().finish().unwrap();
        assert_eq!(info.seconds, 0.0);
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_an_error_value() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        let mut rec = match StereoRecorder::create(Path::new("/dev/full")) {
            Ok(rec) => rec,
            Err(e) => {
                // The header write may fail already, which is also a value.
                assert!(matches!(e, MediaError::Recording { .. }));
                return;
            }
        };
        let mut result = Ok(());
        for _ in 0..100 {
            result = rec.write(&frame_of(1), &frame_of(2));
            if result.is_err() {
                break;
            }
        }
        let finished = rec.finish();
        assert!(result.is_err() || finished.is_err());
    }
}
