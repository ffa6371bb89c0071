//! `kefu eval asr MANIFEST.tsv`: word error rate of kefu's recognition over a set of
//! recordings with known transcripts. The manifest has one line per recording, tab-separated:
//! `id`, the audio file (relative to the manifest), the transcript; lines starting with `#`
//! and a header line starting `id<TAB>` are skipped. Normalisation: see `speech::wer`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::transcribe::{Recogniser, RecogniserArgs};
use crate::speech::wer::{WordErrors, word_errors};

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub audio: PathBuf,
    pub transcript: String,
}

/// Reads a manifest; a bad line is an error naming the file and the line.
pub fn read_manifest(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') || (n == 0 && line.starts_with("id\t")) {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(id), Some(audio), Some(transcript)) = (cols.next(), cols.next(), cols.next())
        else {
            anyhow::bail!(
                "{}:{}: expected three tab-separated columns (id, wav, transcript)",
                path.display(),
                n + 1
            );
        };
        if id.trim().is_empty() || audio.trim().is_empty() {
            anyhow::bail!("{}:{}: empty id or audio path", path.display(), n + 1);
        }
        entries.push(Entry {
            id: id.trim().to_owned(),
            audio: base.join(audio.trim()),
            transcript: transcript.trim().to_owned(),
        });
    }
    if entries.is_empty() {
        anyhow::bail!("{}: no recordings listed", path.display());
    }
    Ok(entries)
}

pub async fn run(
    manifest: PathBuf,
    args: RecogniserArgs,
    json: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || run_blocking(&manifest, &args, json, &data_dir))
        .await
        .context("the evaluation thread")?
}

fn run_blocking(
    manifest: &Path,
    args: &RecogniserArgs,
    json: bool,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let entries = read_manifest(manifest)?;
    let mut recogniser = Recogniser::new(args, data_dir)?;
    let bar = indicatif::ProgressBar::new(entries.len() as u64);
    let mut total = WordErrors::default();
    let (mut audio_seconds, mut decode_seconds) = (0.0, 0.0);
    for entry in &entries {
        let t = recogniser
            .transcribe(&entry.audio, |_, _| {})
            .with_context(|| format!("{}: {}", entry.id, entry.audio.display()))?;
        let errors = word_errors(&entry.transcript, &t.text);
        total.add(errors);
        audio_seconds += t.audio_seconds;
        decode_seconds += t.decode_seconds;
        bar.suspend(|| {
            if json {
                let line = serde_json::json!({
                    "id": entry.id, "reference": entry.transcript, "hypothesis": t.text,
                    "wer": errors.rate(), "errors": errors,
                    "audio_seconds": t.audio_seconds, "decode_seconds": t.decode_seconds,
                });
                crate::cli::print_line(format_args!("{line}"));
            } else {
                crate::cli::print_line(format_args!(
                    "{}\t{:.1}%\t{}\t{}",
                    entry.id,
                    errors.rate() * 100.0,
                    entry.transcript,
                    t.text
                ));
            }
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let summary = serde_json::json!({
        "utterances": entries.len(),
        "reference_words": total.reference_words,
        "substitutions": total.substitutions,
        "deletions": total.deletions,
        "insertions": total.insertions,
        "wer": total.rate(),
        "audio_seconds": audio_seconds,
        "decode_seconds": decode_seconds,
        "real_time_factor": if audio_seconds > 0.0 { decode_seconds / audio_seconds } else { 0.0 },
    });
    if json {
        crate::cli::print_line(format_args!("{}", serde_json::json!({ "total": summary })));
    } else {
        crate::cli::print_line(format_args!(
            "total: {} utterances, {} words, WER {:.2}% (S {} D {} I {}), {:.1} s audio in {:.1} s (RTF {:.3})",
            entries.len(),
            total.reference_words,
            total.rate() * 100.0,
            total.substitutions,
            total.deletions,
            total.insertions,
            audio_seconds,
            decode_seconds,
            summary["real_time_factor"].as_f64().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_resolve_against_the_manifest_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("set.tsv");
        std::fs::write(
            &path,
            "id\twav\ttranscript\n# comment\na\tclips/a.wav\tHello there\n\nb\tb.wav\tone two\n",
        )
        .expect("write");
        let entries = read_manifest(&path).expect("valid");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].audio, dir.path().join("clips/a.wav"));
        assert_eq!(entries[1].transcript, "one two");
        std::fs::write(&path, "a\tx.wav\tfine\nbroken line\n").expect("write");
        let err = read_manifest(&path)
            .expect_err("line 2 is broken")
            .to_string();
        assert!(
            err.ends_with("set.tsv:2: expected three tab-separated columns (id, wav, transcript)"),
            "{err}"
        );
    }
}
