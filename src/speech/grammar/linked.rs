//! [`Grammar`]: one loaded, linked and checked grammar, ready to constrain whisper and to
//! interpret what it heard.

use super::ast::Mode;
use super::error::GrammarError;
use super::gbnf::{WhisperGrammar, compile};
use super::matcher::{Match, run};
use super::normalise::{Unit, dtmf_keys, transcript_units};
use super::resolve::{GrammarLoader, Linked, link};

/// A grammar with everything it references, checked and compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Grammar {
    /// File name without directory and `.grxml` (`digits`).
    name: String,
    /// The path it was loaded by (`en/digits.grxml`).
    path: String,
    linked: Linked,
    /// Compiled once at load; `None` for DTMF grammars.
    whisper: Option<WhisperGrammar>,
}

impl Grammar {
    /// Parses a grammar that stands alone (a reference to another file is a
    /// [`GrammarError::MissingFile`]).
    pub fn parse(path: &str, xml: &str) -> Result<Grammar, GrammarError> {
        let only = |p: &str| (p == path).then(|| xml.to_string());
        Grammar::load(path, &only)
    }

    /// Parses raw bytes (anything read from a file or the network); non-UTF-8 is an error.
    pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<Grammar, GrammarError> {
        let xml = std::str::from_utf8(bytes).map_err(|_| GrammarError::NotUtf8 {
            file: path.to_string(),
        })?;
        Grammar::parse(path, xml)
    }

    /// Loads `path` through `loader`, following rule references to other files relative to it
    /// (`uri="digits.grxml#digit"` from `en/order_number.grxml` asks for `en/digits.grxml`).
    pub fn load(path: &str, loader: &dyn GrammarLoader) -> Result<Grammar, GrammarError> {
        let linked = link(path, loader)?;
        let whisper = compile(&linked);
        let file = path.rsplit('/').next().unwrap_or(path);
        let name = file.strip_suffix(".grxml").unwrap_or(file).to_string();
        Ok(Grammar {
            name,
            path: path.to_string(),
            linked,
            whisper,
        })
    }

    /// The grammar's name: its file name without `.grxml`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path it was loaded by.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `xml:lang` of the grammar (empty if absent).
    pub fn lang(&self) -> &str {
        &self.linked.lang
    }

    pub fn mode(&self) -> Mode {
        self.linked.mode
    }

    /// The whisper.cpp grammar to constrain decoding; `None` for DTMF grammars.
    pub fn whisper_grammar(&self) -> Option<&WhisperGrammar> {
        self.whisper.as_ref()
    }

    /// Interprets a transcript with a voice grammar: case, punctuation, digit spellings and
    /// small recognition errors are forgiven (see `matcher` for the scoring). `None` if the
    /// transcript does not match, or this is a DTMF grammar.
    pub fn interpret(&self, transcript: &str) -> Option<Match> {
        if self.mode() != Mode::Voice {
            return None;
        }
        let units = transcript_units(transcript);
        run(
            &self.linked.rules,
            self.linked.root,
            &units,
            true,
            transcript,
        )
    }

    /// Interprets DTMF keys (`"10023#"`) with a DTMF grammar; exact matches only. A final `#`
    /// the grammar does not take is treated as the usual end-of-input key and dropped. `None`
    /// if the keys do not match, or this is a voice grammar.
    pub fn interpret_keys(&self, keys: &str) -> Option<Match> {
        if self.mode() != Mode::Dtmf {
            return None;
        }
        let units: Vec<Unit> = dtmf_keys(keys).ok()?.into_iter().map(Unit::Key).collect();
        let found = run(&self.linked.rules, self.linked.root, &units, false, keys);
        match units.split_last() {
            Some((Unit::Key('#'), rest)) if found.is_none() => {
                let trimmed = keys.trim_end().strip_suffix('#').unwrap_or(keys);
                run(&self.linked.rules, self.linked.root, rest, false, trimmed)
            }
            _ => found,
        }
    }
}
