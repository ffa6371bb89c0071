//! Loads every prompt the flows use, once, at start: recordings from `voices/prompts/<lang>/`
//! next to the configuration or from the copies embedded in the binary, and text prompts
//! rendered by the flow's voice (from the speech cache after the first start). A missing or
//! broken prompt, or text that cannot be spoken, stops `kefu serve` with the reason. Prompts
//! are keyed `<lang>/<name>`.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::config::Config;
use crate::media::prompt::{PROMPT_EXTENSIONS, Prompt, PromptLibrary, language_key};
use crate::speech::tts::Tts;

/// The demo prompts compiled into the binary, as (`<lang>/<file name>`, bytes).
const EMBEDDED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded_prompts.rs"));

pub fn load(config: &Config, tts: &Tts) -> anyhow::Result<PromptLibrary> {
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for flow in config.flows.values() {
        for p in flow.prompt_names() {
            wanted.insert((flow.language.clone(), p.as_str().to_owned()));
        }
    }
    let mut library = PromptLibrary::new();
    for (lang, name) in &wanted {
        let prompt = match &config.prompts_dir {
            Some(dir) => PromptLibrary::load_one(&dir.join(lang), name)?,
            None => embedded(lang, name)?,
        };
        library.insert(&language_key(lang, name), prompt);
    }
    for flow in config.flows.values() {
        for text in flow.text_prompts() {
            let spoken = tts
                .voice(text.voice.as_deref(), &flow.language)
                .and_then(|voice| tts.render(voice, &text.text, 1.0));
            let (samples, _) = spoken.with_context(|| {
                format!(
                    "{}: cannot speak the text prompt {:?}",
                    flow.file.display(),
                    text.text
                )
            })?;
            library.insert_text(
                &language_key(&flow.language, text.name().as_str()),
                Prompt::from_samples(&samples),
                &text.text,
            );
        }
    }
    Ok(library)
}

fn embedded(lang: &str, name: &str) -> anyhow::Result<Prompt> {
    for ext in PROMPT_EXTENSIONS {
        let file = format!("{lang}/{name}.{ext}");
        if let Some((_, bytes)) = EMBEDDED.iter().find(|(f, _)| *f == file) {
            return Prompt::from_bytes(bytes, ext)
                .with_context(|| format!("embedded prompt {file}"));
        }
    }
    anyhow::bail!("prompt {lang}/{name} is used by a flow but is not embedded in this binary")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    #[test]
    fn embedded_and_repo_prompts_cover_every_flow() {
        let embedded = Config::load(&Overrides::default()).expect("embedded config");
        // In the repository ./sip-config exists only when tests run from the repo root.
        let tts = Tts::new(embedded.voices.clone(), None);
        let lib = load(&embedded, &tts).expect("every prompt is embedded");
        assert!(
            lib.get(&language_key("en", "greeting"))
                .is_some_and(|p| !p.is_empty())
        );
    }
}
