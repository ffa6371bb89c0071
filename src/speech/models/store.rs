//! The model store: ggml files under `<data_dir>/models/`, each with a `.sha256` sidecar that
//! caches its checksum (keyed on size and modification time, so listing does not re-hash
//! hundreds of megabytes). New files arrive as `<file>.part` and are renamed into place only
//! once [`inspect`] accepts them, so a half-written model is never listed or loaded.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::convert::{ConvertSources, convert_ct2};
use super::ggml::{GgmlInfo, inspect};
use super::quant::Quant;
use super::{ModelError, catalog, download};

/// A model file in the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelEntry {
    /// The name used on the command line: the file name without `ggml-` and `.bin`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

/// How to import a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Weight encoding for a converted CT2 model (default f16). For a ggml file it must match
    /// the file's own encoding, if given.
    pub quant: Option<Quant>,
    /// `mel_filters.npz` for a CT2 conversion (default: beside model.bin, else computed).
    pub mel: Option<PathBuf>,
    /// Vocabulary for a CT2 conversion (default: beside model.bin).
    pub vocab: Option<PathBuf>,
}

/// The directory of model files.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    /// The store of `data_dir` (`<data_dir>/models`); nothing is created until a model arrives.
    pub fn new(data_dir: &Path) -> ModelStore {
        ModelStore {
            dir: data_dir.join("models"),
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// All `.bin` models, sorted by name, with checksums (cached in sidecars).
    pub fn list(&self) -> Result<Vec<ModelEntry>, ModelError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ModelError::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| ModelError::io(&self.dir, e))?.path();
            if path.extension().is_some_and(|e| e == "bin") && path.is_file() {
                out.push(entry_for(&path)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The file of model `name_or_path`: an existing file path, or a store name (`tiny.en`,
    /// `ggml-tiny.en.bin`).
    pub fn resolve(&self, name_or_path: &str) -> Result<PathBuf, ModelError> {
        let as_path = Path::new(name_or_path);
        if as_path.is_file() {
            return Ok(as_path.to_path_buf());
        }
        let bare = name_or_path
            .trim_start_matches("ggml-")
            .trim_end_matches(".bin");
        let in_store = self.dir.join(format!("ggml-{bare}.bin"));
        if !bare.contains(['/', '\\']) && in_store.is_file() {
            return Ok(in_store);
        }
        // `tiny.en` also names a quantised variant (`ggml-tiny.en-q8_0.bin`) when that is all
        // there is: the PyPI fallback installs one.
        if !bare.contains(['/', '\\'])
            && let Ok(entries) = self.list()
            && let Some(variant) = entries.into_iter().find(|e| {
                e.name
                    .strip_prefix(bare)
                    .is_some_and(|q| q.starts_with('-'))
            })
        {
            return Ok(variant.path);
        }
        Err(ModelError::NotInStore {
            name: name_or_path.to_string(),
            dir: self.dir.clone(),
        })
    }

    /// Imports a ggml file (validated, copied) or a CTranslate2 model directory / model.bin
    /// (converted). Returns the new store entry.
    pub fn import(&self, src: &Path, opts: &ImportOptions) -> Result<ModelEntry, ModelError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ModelError::io(&self.dir, e))?;
        if is_ct2(src) {
            let quant = opts.quant.unwrap_or(Quant::F16);
            let sources = ConvertSources {
                model: src.to_path_buf(),
                mel: opts.mel.clone(),
                vocab: opts.vocab.clone(),
            };
            // The final name needs the hyper-parameters, known only after converting.
            let part = self
                .dir
                .join(format!(".import-{}.part", std::process::id()));
            let info = match convert_ct2(&sources, quant, &part) {
                Ok(info) => info,
                Err(e) => {
                    let _ = std::fs::remove_file(&part);
                    return Err(e);
                }
            };
            return self.install(&part, &file_name_for(&info));
        }
        let info = inspect(src)?;
        if let Some(q) = opts.quant.filter(|q| q.label() != info.weights) {
            return Err(ModelError::Unsupported(format!(
                "{} is already {}; re-quantising a ggml file to {} is not supported (convert \
                 the CTranslate2 model with that quantisation, or use whisper.cpp's quantize)",
                src.display(),
                info.weights,
                q.label()
            )));
        }
        let keep = src
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.starts_with("ggml-") && n.ends_with(".bin"));
        let name = keep.map_or_else(|| file_name_for(&info), str::to_string);
        let dest = self.dir.join(&name);
        if same_file(src, &dest) {
            return entry_for(&dest);
        }
        let part = self.dir.join(format!("{name}.part"));
        std::fs::copy(src, &part).map_err(|e| ModelError::io(&part, e))?;
        if let Err(e) = inspect(&part) {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        self.install(&part, &name)
    }

    /// Downloads official model `name` (see [`catalog`]) unless a valid copy is already here.
    /// `progress(downloaded, total)` is called as bytes arrive.
    pub fn fetch(
        &self,
        name: &str,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<ModelEntry, ModelError> {
        let entry = catalog::catalog_entry(name).ok_or_else(|| ModelError::UnknownName {
            name: name.to_string(),
            known: catalog::known_names(),
        })?;
        self.fetch_url(&entry.url, &entry.file_name, &mut progress)
    }

    /// Downloads `url` into the store as `file_name`, validating it before it is installed.
    fn fetch_url(
        &self,
        url: &str,
        file_name: &str,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<ModelEntry, ModelError> {
        let dest = self.dir.join(file_name);
        if dest.is_file() && inspect(&dest).is_ok() {
            return entry_for(&dest);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| ModelError::io(&self.dir, e))?;
        let part = self.dir.join(format!("{file_name}.part"));
        let checked = download::download(url, &part, progress).and_then(|_| inspect(&part));
        if let Err(e) = checked {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        self.install(&part, file_name)
    }

    /// Renames a validated `.part` file to `name` and lists it.
    fn install(&self, part: &Path, name: &str) -> Result<ModelEntry, ModelError> {
        let dest = self.dir.join(name);
        std::fs::rename(part, &dest).map_err(|e| ModelError::io(&dest, e))?;
        let _ = std::fs::remove_file(sidecar_path(&dest));
        entry_for(&dest)
    }
}

/// Whether `src` is a CTranslate2 model (a directory with model.bin, or a model.bin whose
/// first word is a CT2 binary version rather than the ggml magic).
fn is_ct2(src: &Path) -> bool {
    if src.is_dir() {
        return true;
    }
    let mut head = [0u8; 4];
    let read = File::open(src).and_then(|mut f| f.read_exact(&mut head));
    read.is_ok() && (4..=6).contains(&u32::from_le_bytes(head))
}

/// `ggml-<name>.bin` for f16 (upstream's naming), `ggml-<name>-<quant>.bin` otherwise.
fn file_name_for(info: &GgmlInfo) -> String {
    if info.weights == "f16" {
        format!("ggml-{}.bin", info.name)
    } else {
        format!("ggml-{}-{}.bin", info.name, info.weights)
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn sidecar_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// The store entry of `path`, hashing it only if the sidecar is missing or stale.
fn entry_for(path: &Path) -> Result<ModelEntry, ModelError> {
    let meta = std::fs::metadata(path).map_err(|e| ModelError::io(path, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("{} {}", meta.len(), mtime);
    let sidecar = sidecar_path(path);
    let cached = std::fs::read_to_string(&sidecar).ok().and_then(|text| {
        let (hash, rest) = text.trim().split_once("  ")?;
        (rest == key && hash.len() == 64).then(|| hash.to_string())
    });
    let sha256 = match cached {
        Some(hash) => hash,
        None => {
            let hash = sha256_file(path)?;
            if let Err(e) = std::fs::write(&sidecar, format!("{hash}  {key}\n")) {
                tracing::warn!(path = %sidecar.display(), error = %e, "cannot cache model checksum");
            }
            hash
        }
    };
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = file_name
        .strip_prefix("ggml-")
        .unwrap_or(file_name)
        .trim_end_matches(".bin")
        .to_string();
    Ok(ModelEntry {
        name,
        path: path.to_path_buf(),
        size: meta.len(),
        sha256,
    })
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::models::ggml::tests::{small_hparams, write_model};

    fn tiny_model(dir: &Path, file: &str) -> PathBuf {
        let mut hp = small_hparams(1);
        hp.n_audio_layer = 4;
        hp.n_text_layer = 1;
        let path = dir.join(file);
        std::fs::write(&path, write_model(&hp, &[b"a"])).expect("write model");
        path
    }

    #[test]
    fn import_copies_validates_and_lists_with_cached_checksum() {
        let src_dir = tempfile::tempdir().expect("temp dir");
        let data = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::new(data.path());
        assert!(store.list().expect("empty store").is_empty());

        let src = tiny_model(src_dir.path(), "downloaded.bin");
        let entry = store
            .import(&src, &ImportOptions::default())
            .expect("import");
        assert_eq!(entry.name, "tiny.en", "named from the header");
        assert_eq!(entry.path, data.path().join("models/ggml-tiny.en.bin"));
        assert_eq!(entry.sha256, sha256_file(&src).expect("hash"));

        let listed = store.list().expect("list");
        assert_eq!(listed, vec![entry.clone()]);
        // The sidecar is used: corrupt its hash but keep the key, and list reports it.
        let sidecar = sidecar_path(&entry.path);
        let text = std::fs::read_to_string(&sidecar).expect("sidecar written");
        let fake = format!("{}{}", "0".repeat(64), &text[64..]);
        std::fs::write(&sidecar, fake).expect("rewrite sidecar");
        assert_eq!(store.list().expect("list")[0].sha256, "0".repeat(64));
        // A changed file (different size) is re-hashed.
        let mut bytes = std::fs::read(&entry.path).expect("read");
        bytes.push(0);
        std::fs::write(&entry.path, &bytes).expect("grow file");
        assert_ne!(store.list().expect("list")[0].sha256, "0".repeat(64));

        assert_eq!(store.resolve("tiny.en").expect("by name"), entry.path);
        assert_eq!(
            store.resolve("ggml-tiny.en.bin").expect("by file name"),
            entry.path
        );
        assert!(matches!(
            store.resolve("base"),
            Err(ModelError::NotInStore { .. })
        ));
    }

    #[test]
    fn import_rejects_bad_files_and_leaves_nothing_behind() {
        let src_dir = tempfile::tempdir().expect("temp dir");
        let data = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::new(data.path());
        let src = tiny_model(src_dir.path(), "ggml-custom.bin");
        let bytes = std::fs::read(&src).expect("read");
        std::fs::write(&src, &bytes[..bytes.len() - 100]).expect("truncate");
        let err = store
            .import(&src, &ImportOptions::default())
            .expect_err("truncated");
        assert!(err.to_string().contains("truncated at byte"), "{err}");

        let good = tiny_model(src_dir.path(), "ggml-custom2.bin");
        let opts = ImportOptions {
            quant: Some(Quant::Q8_0),
            ..ImportOptions::default()
        };
        let err = store.import(&good, &opts).expect_err("re-quantise");
        assert!(err.to_string().contains("already f16"), "{err}");
        let kept = store
            .import(&good, &ImportOptions::default())
            .expect("import");
        assert_eq!(kept.name, "custom2", "an upstream-style file name is kept");
        let leftovers: Vec<_> = std::fs::read_dir(store.dir())
            .expect("store exists")
            .map(|e| e.expect("entry").file_name())
            .filter(|n| n.to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn fetch_validates_the_name_before_any_network() {
        let data = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::new(data.path());
        let err = store
            .fetch("../../etc/passwd", |_, _| {})
            .expect_err("bad name");
        assert!(
            err.to_string()
                .starts_with("unknown model `../../etc/passwd`; known: tiny,")
        );
        assert!(!store.dir().exists(), "nothing created for a bad name");
    }

    #[test]
    fn failed_download_is_a_one_line_error_and_leaves_no_part_file() {
        let data = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::new(data.path());
        // Port 1 on loopback refuses connections: a network failure without any network.
        let url = "https://127.0.0.1:1/ggml-tiny.en.bin";
        let err = store
            .fetch_url(url, "ggml-tiny.en.bin", &mut |_, _| {})
            .expect_err("connection refused");
        let text = err.to_string();
        assert!(
            text.starts_with("downloading https://127.0.0.1:1/"),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert!(!store.dir().join("ggml-tiny.en.bin.part").exists());
        assert!(store.list().expect("list").is_empty());
    }
}
