//! `kefu transcribe FILE… [--grammar G] [--json]`: what kefu hears in recordings, through the
//! same pipeline as a call (or `--plain`: one whisper decode of the whole file).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::media::prompt::Prompt;
use crate::speech::asr::{DecodeOptions, Decoder, Whisper};
use crate::speech::grammar::{Grammar, GrammarSet};
use crate::speech::models::ModelStore;
use crate::speech::transcriber::{self, FileTranscript, Mode};

/// What `transcribe` and `eval asr` share: the model, the mode, the grammar.
#[derive(Debug, clap::Args)]
pub struct RecogniserArgs {
    /// Whisper model: a name installed with `kefu models` or a ggml file (default tiny.en).
    #[arg(long, default_value = "tiny.en")]
    pub model: String,
    /// Language of the speech (`en`, `zh`, …); English-only models accept `en` only.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Interpret the text with this grammar (a name in grammars/<language>/, or a .grxml file)
    /// and constrain decoding to it.
    #[arg(long)]
    pub grammar: Option<String>,
    /// One decode of the whole file with whisper's full window, instead of the call pipeline.
    #[arg(long)]
    pub plain: bool,
    /// Skip noise suppression in the pipeline.
    #[arg(long)]
    pub no_denoise: bool,
    /// Words to expect (product names, the shop's name).
    #[arg(long)]
    pub hints: Option<String>,
    /// CPU threads for whisper. More helps only on an idle machine: ggml's threads spin waiting
    /// for each other, and one that loses its core stalls the rest (measured here: 2 threads
    /// with one core busy elsewhere were 4-7x slower than 1).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Beam search with N beams (2 to 16) instead of one greedy pass: slower, a little more
    /// accurate; calls always decode greedily.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub beam: Option<u32>,
}

/// A loaded recogniser.
pub struct Recogniser {
    decoder: Decoder,
    options: DecodeOptions,
    grammar: Option<Grammar>,
    mode: Mode,
}

impl Recogniser {
    pub fn new(args: &RecogniserArgs, data_dir: &Path) -> anyhow::Result<Recogniser> {
        let path = ModelStore::new(data_dir).resolve(&args.model)?;
        let whisper = Whisper::load(&path)?;
        let threads = args.threads.max(1);
        let decoder = whisper.new_decoder(threads)?;
        let grammar = args
            .grammar
            .as_deref()
            .map(|g| load_grammar(g, &args.language))
            .transpose()?;
        let whisper_grammar = grammar
            .as_ref()
            .and_then(|g| g.whisper_grammar())
            .map(crate::speech::asr::Grammar::from_whisper_grammar)
            .transpose()
            .map_err(|p| anyhow::anyhow!("grammar not usable by whisper: {p}"))?;
        Ok(Recogniser {
            decoder,
            options: DecodeOptions {
                language: args.language.clone(),
                initial_prompt: args.hints.clone(),
                grammar: whisper_grammar,
                beam_size: args.beam.unwrap_or(0),
                ..DecodeOptions::default()
            },
            grammar,
            mode: if args.plain {
                Mode::Plain
            } else {
                Mode::Pipeline {
                    denoise: !args.no_denoise,
                }
            },
        })
    }

    /// Decodes `file` (any format and rate symphonia reads); `progress(done, total)` in frames.
    pub fn transcribe(
        &mut self,
        file: &Path,
        progress: impl FnMut(usize, usize),
    ) -> anyhow::Result<FileTranscript> {
        let audio = Prompt::from_path(file)?;
        Ok(transcriber::transcribe(
            &mut self.decoder,
            audio.frames(),
            self.mode,
            &self.options,
            self.grammar.as_ref(),
            progress,
        )?)
    }
}

/// A grammar by name (in `grammars/<language>/` or the embedded set) or by file.
fn load_grammar(name: &str, language: &str) -> anyhow::Result<Grammar> {
    let path = Path::new(name);
    if path.extension().is_some_and(|e| e == "grxml") {
        let dir = path
            .parent()
            .and_then(Path::parent)
            .context("a grammar file lives in grammars/<language>/")?;
        let lang = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|l| l.to_str())
            .unwrap_or(language);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        let set = GrammarSet::load_dir(dir)?;
        return set
            .get(lang, stem)
            .cloned()
            .with_context(|| format!("{name}: not a grammar"));
    }
    let set = crate::config::local_grammars()?;
    set.get(language, name)
        .cloned()
        .with_context(|| format!("no grammar \"{name}\" for language {language}"))
}

pub async fn run(
    files: Vec<PathBuf>,
    args: RecogniserArgs,
    json: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || run_blocking(&files, &args, json, &data_dir))
        .await
        .context("the transcription thread")?
}

fn run_blocking(
    files: &[PathBuf],
    args: &RecogniserArgs,
    json: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    if files.is_empty() {
        anyhow::bail!("no files to transcribe");
    }
    let mut recogniser = Recogniser::new(args, data_dir)?;
    let mut failed = 0;
    for file in files {
        let bar = progress_bar(file);
        let result = recogniser.transcribe(file, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        bar.finish_and_clear();
        match result {
            Ok(t) if json => {
                let mut value = serde_json::to_value(&t)?;
                value["file"] = serde_json::Value::String(file.display().to_string());
                crate::cli::print_line(format_args!("{value}"));
            }
            Ok(t) => {
                crate::cli::print_line(format_args!("{}: {}", file.display(), t.text));
                if let Some(i) = &t.interpretation {
                    crate::cli::print_line(format_args!("  interpretation: {i}"));
                }
                crate::cli::print_line(format_args!(
                    "  confidence {:.2}, {:.1} s of audio decoded in {:.2} s",
                    t.confidence, t.audio_seconds, t.decode_seconds
                ));
            }
            Err(e) => {
                failed += 1;
                eprintln!("kefu: {}: {e:#}", file.display());
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} files could not be transcribed", files.len());
    }
    Ok(())
}

/// A bar on stderr for files long enough to wait for; hidden when stderr is not a terminal.
pub fn progress_bar(file: &Path) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {percent}%")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    bar
}
