//! A little-endian reader over a model file that knows its byte offset, so every error can say
//! which file, which byte and what was being read when the data ran out or made no sense.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::ModelError;

/// A buffered reader that tracks its position and the file's length.
pub(crate) struct Cursor {
    inner: BufReader<File>,
    path: PathBuf,
    pos: u64,
    len: u64,
}

impl Cursor {
    /// Opens `path` for reading.
    pub(crate) fn open(path: &Path) -> Result<Cursor, ModelError> {
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let len = file.metadata().map_err(|e| ModelError::io(path, e))?.len();
        Ok(Cursor {
            inner: BufReader::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            pos: 0,
            len,
        })
    }

    /// The file being read.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The offset of the next byte to be read.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Bytes left after the current position.
    pub(crate) fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// An error for data that cannot be right, at the current position.
    pub(crate) fn garbled(&self, what: impl Into<String>) -> ModelError {
        self.garbled_at(self.pos, what)
    }

    /// An error for data that cannot be right, at `offset`.
    pub(crate) fn garbled_at(&self, offset: u64, what: impl Into<String>) -> ModelError {
        ModelError::Garbled {
            path: self.path.clone(),
            offset,
            what: what.into(),
        }
    }

    fn truncated(&self, what: &str) -> ModelError {
        ModelError::Truncated {
            path: self.path.clone(),
            offset: self.pos,
            what: what.to_string(),
        }
    }

    /// Checks that `n` more bytes exist before reading or skipping them.
    pub(crate) fn need(&self, n: u64, what: &str) -> Result<(), ModelError> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(())
    }

    /// Fills `buf` completely, or fails naming `what`.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), ModelError> {
        self.need(buf.len() as u64, what)?;
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(self.truncated(what)),
            Err(e) => Err(ModelError::io(&self.path, e)),
        }
    }

    /// Reads `n` bytes into a new vector (after checking the file holds them).
    pub(crate) fn read_vec(&mut self, n: u64, what: &str) -> Result<Vec<u8>, ModelError> {
        self.need(n, what)?;
        let len = usize::try_from(n).map_err(|_| self.garbled(format!("{what} too large")))?;
        let mut buf = vec![0; len];
        self.read_exact(&mut buf, what)?;
        Ok(buf)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, ModelError> {
        let mut b = [0; 1];
        self.read_exact(&mut b, what)?;
        Ok(b[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, ModelError> {
        let mut b = [0; 2];
        self.read_exact(&mut b, what)?;
        Ok(u16::from_le_bytes(b))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        let mut b = [0; 4];
        self.read_exact(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, ModelError> {
        let mut b = [0; 4];
        self.read_exact(&mut b, what)?;
        Ok(i32::from_le_bytes(b))
    }

    /// Skips `n` bytes, failing if the file is shorter.
    pub(crate) fn skip(&mut self, n: u64, what: &str) -> Result<(), ModelError> {
        self.need(n, what)?;
        let delta = i64::try_from(n).map_err(|_| self.garbled(format!("{what} too large")))?;
        self.inner
            .seek_relative(delta)
            .map_err(|e| ModelError::io(&self.path, e))?;
        self.pos += n;
        Ok(())
    }

    /// Moves to the absolute `offset`.
    pub(crate) fn seek_to(&mut self, offset: u64, what: &str) -> Result<(), ModelError> {
        if offset > self.len {
            return Err(ModelError::Truncated {
                path: self.path.clone(),
                offset: self.len,
                what: what.to_string(),
            });
        }
        self.inner
            .seek(SeekFrom::Start(offset))
            .map_err(|e| ModelError::io(&self.path, e))?;
        self.pos = offset;
        Ok(())
    }
}
