//! What the speech benches share: tool checks and the machine load printed beside every figure.

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
