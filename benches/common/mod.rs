//! What the speech benches share: tool checks, the machine load printed beside every figure,
//! commands, the telephone round trip and percentiles. Each bench uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The machine load, since the machine may be shared.
pub fn load() -> String {
    let up = Command::new("uptime")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    let up = String::from_utf8_lossy(&up);
    let avg = up.split("load average:").nth(1).unwrap_or("?").trim();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("load average {avg} on {cores} cores")
}

/// Runs a command; its stdout, or the command and its stderr as the error.
pub fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Any audio file → 8 kHz µ-law → back to 16-bit PCM at 8 kHz (what a G.711 call delivers).
pub fn mulaw(input: &Path, output: &Path) -> Result<(), String> {
    let tmp = output.with_extension("ulaw.wav");
    run(Command::new("sox")
        .arg(input)
        .args(["-r", "8000", "-c", "1", "-e", "u-law", "-b", "8"])
        .arg(&tmp))?;
    run(Command::new("sox")
        .arg(&tmp)
        .args(["-e", "signed-integer", "-b", "16"])
        .arg(output))?;
    std::fs::remove_file(&tmp).map_err(|e| e.to_string())
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
