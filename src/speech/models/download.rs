//! HTTPS download of a model file (blocking; the CLI calls it, never the media path).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Duration;

use super::ModelError;

/// Downloads `url` into `dest` (created or truncated), calling `progress(downloaded, total)`
/// after each chunk. Returns the number of bytes written.
pub(crate) fn download(
    url: &str,
    dest: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, ModelError> {
    let fail = |detail: String| ModelError::Download {
        url: url.to_string(),
        detail: detail.replace('\n', " "),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = response.body().content_length();
    let mut reader = response.body_mut().as_reader();
    let file = File::create(dest).map_err(|e| ModelError::io(dest, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    progress(0, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(format!("after {done} bytes: {e}"))),
        };
        out.write_all(&buf[..n])
            .map_err(|e| ModelError::io(dest, e))?;
        done += n as u64;
        progress(done, total);
    }
    if let Some(total) = total.filter(|&t| t != done) {
        return Err(fail(format!("got {done} of {total} bytes")));
    }
    let file = out
        .into_inner()
        .map_err(|e| ModelError::io(dest, e.into_error()))?;
    file.sync_all().map_err(|e| ModelError::io(dest, e))?;
    Ok(done)
}
