//! Speech grammars: W3C SRGS 1.0 (XML form) with the literal subset of SISR 1.0 tags, loaded
//! from `grammars/<lang>/*.grxml`. Each grammar becomes two things:
//!
//! - a whisper.cpp grammar ([`WhisperGrammar`], GBNF element arrays) that constrains
//!   decoding to what the grammar allows, written the way whisper writes text (leading
//!   spaces, capitals, digits or number words, final punctuation: see `gbnf`);
//! - a matcher, [`Grammar::interpret`] / [`Grammar::interpret_keys`], that turns a transcript
//!   or DTMF keys into a [`Match`]: the SISR `out` and a confidence (see `matcher`).
//!
//! Follows SRGS 1.0 sections 2 (rule expansions: tokens, `ruleref` local, external and
//! special, `one-of`/`item` with `weight`, `repeat` `n`/`n-m`/`n-`, `tag`), 3 (rules, scope,
//! root) and 4.1-4.9 (the `grammar` header, `mode`, `tag-format`). Deviations: only relative
//! file URIs are followed (no HTTP); `xml:lang` on elements below `<grammar>` is accepted but
//! the grammar's own language governs; `<lexicon>`, `<meta>`, `<metadata>` and header `<tag>`
//! are accepted and ignored; `repeat-prob` is checked and ignored; weights only break ties
//! between equally good matches; GARBAGE matches zero or more words; repeat counts are at most
//! 100. Tags: see `script` for the SISR subset.

pub mod ast;
pub mod error;
pub mod gbnf;
mod gbnf_text;
pub mod linked;
pub mod matcher;
pub mod normalise;
pub mod parse;
pub mod resolve;
pub mod script;
pub mod set;
mod xml;

#[cfg(test)]
mod gbnf_acceptor;
#[cfg(test)]
mod proptests;

pub use ast::Mode;
pub use error::GrammarError;
pub use gbnf::{GbnfElement, GbnfKind, WhisperGrammar};
pub use linked::Grammar;
pub use matcher::Match;
pub use resolve::GrammarLoader;
pub use set::GrammarSet;
