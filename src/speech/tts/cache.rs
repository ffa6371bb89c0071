//! Rendered speech kept on disk by content hash (`<data>/tts-cache/<sha256>.wav`, 16 kHz mono),
//! so a sentence is synthesised once per voice and rate, then read back in well under a
//! millisecond. A file is written under a temporary name and renamed, so a reader never sees half
//! of one; an unreadable entry counts as a miss and is rewritten.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::media::frame::SAMPLE_RATE;

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The directory is created on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of `words` spoken by `engine`'s `voice` at `rate`.
    pub fn key(engine: &str, voice: &str, rate: f32, words: &str) -> String {
        let mut hash = Sha256::new();
        for part in [engine, voice, &format!("{rate:.3}"), words] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn get(&self, key: &str) -> Option<Vec<i16>> {
        let reader = hound::WavReader::open(self.path(key)).ok()?;
        let spec = reader.spec();
        if spec.sample_rate != SAMPLE_RATE || spec.channels != 1 || spec.bits_per_sample != 16 {
            return None;
        }
        reader.into_samples::<i16>().collect::<Result<_, _>>().ok()
    }

    /// Stores 16 kHz samples; a failure (disk full, read-only) only costs the next render.
    pub fn put(&self, key: &str, samples: &[i16]) {
        if let Err(e) = self.write(key, samples) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot cache rendered speech");
        }
    }

    fn write(&self, key: &str, samples: &[i16]) -> Result<(), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&tmp, spec)?;
        for &s in samples {
            writer.write_sample(s)?;
        }
        writer.finalize()?;
        std::fs::rename(&tmp, self.path(key))?;
        Ok(())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.wav"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_reads_back_by_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = Cache::new(dir.path().join("tts"));
        let key = Cache::key("flite", "slt", 1.0, "hello");
        assert_ne!(key, Cache::key("flite", "slt", 1.1, "hello"));
        assert_ne!(key, Cache::key("flite", "awb", 1.0, "hello"));
        assert_eq!(cache.get(&key), None);
        cache.put(&key, &[1, -2, 3]);
        assert_eq!(cache.get(&key), Some(vec![1, -2, 3]));
    }

    #[test]
    fn a_broken_entry_is_a_miss() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = Cache::new(dir.path());
        let key = Cache::key("flite", "slt", 1.0, "x");
        std::fs::write(dir.path().join(format!("{key}.wav")), b"RIFF junk").expect("write");
        assert_eq!(cache.get(&key), None);
        cache.put(&key, &[7]);
        assert_eq!(cache.get(&key), Some(vec![7]));
    }
}
