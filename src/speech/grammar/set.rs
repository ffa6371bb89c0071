//! [`GrammarSet`]: every grammar of a `grammars/` tree (`grammars/<lang>/<name>.grxml`),
//! looked up by language and name.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::GrammarError;
use super::linked::Grammar;

/// Grammars by (language, name), e.g. `("en", "digits")`.
#[derive(Debug, Clone, Default)]
pub struct GrammarSet {
    grammars: BTreeMap<(String, String), Grammar>,
}

impl GrammarSet {
    /// Loads every `<dir>/<lang>/*.grxml`. Files reference each other by relative URI within
    /// the tree. Other files and directories are ignored.
    pub fn load_dir(dir: &Path) -> Result<GrammarSet, GrammarError> {
        let io = |path: &Path, e: std::io::Error| GrammarError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut sources: Vec<(String, String, Vec<u8>)> = Vec::new();
        let mut langs: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io(dir, e))?;
        langs.sort_by_key(|entry| entry.file_name());
        for lang_entry in langs {
            let lang_path = lang_entry.path();
            if !lang_path.is_dir() {
                continue;
            }
            let Some(lang) = lang_entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let mut files: Vec<_> = std::fs::read_dir(&lang_path)
                .map_err(|e| io(&lang_path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| io(&lang_path, e))?;
            files.sort_by_key(|entry| entry.file_name());
            for file_entry in files {
                let path = file_entry.path();
                let Some(file_name) = file_entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if !file_name.ends_with(".grxml") || !path.is_file() {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                sources.push((lang.clone(), file_name, bytes));
            }
        }
        let mut texts = Vec::with_capacity(sources.len());
        for (lang, file_name, bytes) in &sources {
            let text = std::str::from_utf8(bytes).map_err(|_| GrammarError::NotUtf8 {
                file: format!("{lang}/{file_name}"),
            })?;
            texts.push((lang.as_str(), file_name.as_str(), text));
        }
        GrammarSet::from_sources(texts)
    }

    /// Builds a set from `(lang, file_name, xml)` triples, e.g. files embedded with
    /// `include_str!`. Each file is known to the others as `<lang>/<file_name>`.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<GrammarSet, GrammarError> {
        let mut files: BTreeMap<String, (&str, &str)> = BTreeMap::new();
        for (lang, file_name, xml) in sources {
            if files
                .insert(format!("{lang}/{file_name}"), (lang, xml))
                .is_some()
            {
                let name = file_name.strip_suffix(".grxml").unwrap_or(file_name);
                return Err(GrammarError::DuplicateGrammar {
                    lang: lang.into(),
                    name: name.into(),
                });
            }
        }
        let loader = |path: &str| files.get(path).map(|(_, xml)| (*xml).to_string());
        let mut set = GrammarSet::default();
        for (path, (lang, _)) in &files {
            let grammar = Grammar::load(path, &loader)?;
            // "digits.grxml" and "digits" would both be named "digits".
            let key = (lang.to_string(), grammar.name().to_string());
            if set.grammars.contains_key(&key) {
                return Err(GrammarError::DuplicateGrammar {
                    lang: key.0,
                    name: key.1,
                });
            }
            set.grammars.insert(key, grammar);
        }
        Ok(set)
    }

    /// The grammar `name` for `lang`; a regional tag falls back to its language (`zh-CN` to
    /// `zh`).
    pub fn get(&self, lang: &str, name: &str) -> Option<&Grammar> {
        let exact = self.grammars.get(&(lang.to_string(), name.to_string()));
        exact.or_else(|| {
            let base = lang.split(['-', '_']).next()?;
            self.grammars.get(&(base.to_string(), name.to_string()))
        })
    }

    /// All grammars as (lang, name, grammar), sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Grammar)> {
        self.grammars
            .iter()
            .map(|((lang, name), g)| (lang.as_str(), name.as_str(), g))
    }

    pub fn len(&self) -> usize {
        self.grammars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grammars.is_empty()
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
