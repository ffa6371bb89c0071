//! Compiles the gRPC API from proto/ with protox (no protoc needed), and lists the demo prompts
//! in voices/prompts/ so the binary carries them (it must run outside the repository too).

use std::fmt::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // sqlx::migrate! embeds the .sql files at compile time.
    println!("cargo:rerun-if-changed=src/store/migrations");
    let fds = protox::compile(["kefu/v1/calls.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    embed_prompts()?;
    Ok(())
}

fn embed_prompts() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=voices/prompts");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("voices/prompts");
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
            if ["wav", "flac", "ogg", "mp3"].contains(&ext) {
                entries.push(file);
            }
        }
    }
    entries.sort();
    let mut out = String::from("&[\n");
    for file in entries {
        let rel = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            file.display().to_string()
        )?;
    }
    out.push(']');
    let dest = std::path::Path::new(&std::env::var("OUT_DIR")?).join("embedded_prompts.rs");
    std::fs::write(dest, out)?;
    Ok(())
}
