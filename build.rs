//! Compiles the gRPC API from proto/ with protox (no protoc needed), and lists the demo prompts
//! in voices/prompts/ and the grammars in grammars/ so the binary carries them (it must run
//! outside the repository too).

use std::fmt::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // sqlx::migrate! embeds the .sql files at compile time.
    println!("cargo:rerun-if-changed=src/store/migrations");
    let fds = protox::compile(["kefu/v1/calls.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    embed(
        "voices/prompts",
        &["wav", "flac", "ogg", "mp3"],
        "embedded_prompts.rs",
    )?;
    embed("grammars", &["grxml"], "embedded_grammars.rs")?;
    Ok(())
}

/// Writes `OUT_DIR/<out>`: a slice of (`<lang>/<file>`, bytes) for every file of `dir/<lang>/`
/// with one of `extensions`.
fn embed(dir: &str, extensions: &[&str], out: &str) -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={dir}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut entries = Vec::new();
    for lang in std::fs::read_dir(&root)? {
        let lang = lang?.path();
        if !lang.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&lang)? {
            let file = file?.path();
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if extensions.contains(&ext) {
                entries.push(file);
            }
        }
    }
    entries.sort();
    let mut text = String::from("&[\n");
    for file in entries {
        let rel = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            text,
            "    ({rel:?}, include_bytes!({:?})),",
            file.display().to_string()
        )?;
    }
    text.push(']');
    let dest = std::path::Path::new(&std::env::var("OUT_DIR")?).join(out);
    std::fs::write(dest, text)?;
    Ok(())
}
