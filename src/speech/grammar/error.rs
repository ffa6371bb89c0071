//! The one error type of the grammar module. Every variant that comes from a grammar file names
//! the file, the line and the element, so a message reads like
//! `digits.grxml:12: <ruleref>: rule "#foo" is not defined`.

use super::ast::Mode;

/// A grammar that cannot be loaded or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrammarError {
    /// The file is not valid UTF-8.
    #[error("{file}: not UTF-8 text")]
    NotUtf8 { file: String },

    /// The file is not well-formed XML (as reported by the XML reader).
    #[error("{file}:{line}: not well-formed XML: {reason}")]
    Xml {
        file: String,
        line: u32,
        reason: String,
    },

    /// The document element is not `<grammar>`, or there is none.
    #[error("{file}:{line}: <{found}>: the document element must be <grammar>")]
    NotAGrammar {
        file: String,
        line: u32,
        found: String,
    },

    /// Elements are nested deeper than the parser allows (a guard against hostile input).
    #[error("{file}:{line}: <{element}>: elements nested deeper than {limit}")]
    TooDeep {
        file: String,
        line: u32,
        element: String,
        limit: usize,
    },

    /// An element SRGS does not define, or one in a place SRGS does not allow it.
    #[error("{file}:{line}: <{element}>: not allowed inside <{parent}>")]
    UnknownElement {
        file: String,
        line: u32,
        element: String,
        parent: String,
    },

    /// Text where SRGS allows none (directly in `<grammar>` or `<one-of>`).
    #[error("{file}:{line}: <{element}>: text {text:?} is not allowed here")]
    UnexpectedText {
        file: String,
        line: u32,
        element: String,
        text: String,
    },

    /// An attribute this element does not have.
    #[error("{file}:{line}: <{element}>: unknown attribute {attribute:?}")]
    UnknownAttribute {
        file: String,
        line: u32,
        element: String,
        attribute: String,
    },

    /// A required attribute is absent.
    #[error("{file}:{line}: <{element}>: attribute {attribute:?} is required")]
    MissingAttribute {
        file: String,
        line: u32,
        element: String,
        attribute: String,
    },

    /// An attribute value that is not allowed (version, mode, scope, special, weight, id...).
    #[error("{file}:{line}: <{element}>: {attribute}={value:?}: {reason}")]
    BadAttribute {
        file: String,
        line: u32,
        element: String,
        attribute: String,
        value: String,
        reason: String,
    },

    /// A `repeat` attribute that is not `n`, `n-m` or `n-` with m >= n (and at most the limit).
    #[error("{file}:{line}: <item>: repeat={value:?}: {reason}")]
    BadRepeat {
        file: String,
        line: u32,
        value: String,
        reason: String,
    },

    /// The grammar has no `root` attribute but is used as a whole (top level or `uri="x.grxml"`).
    #[error("{file}:{line}: <grammar>: no root rule (add root=\"...\")")]
    MissingRoot { file: String, line: u32 },

    /// The `root` attribute names a rule the file does not define.
    #[error("{file}:{line}: <grammar>: root rule {rule:?} is not defined")]
    UndefinedRoot {
        file: String,
        line: u32,
        rule: String,
    },

    /// Two rules with the same id in one file.
    #[error("{file}:{line}: <rule>: rule {rule:?} is already defined on line {first_line}")]
    DuplicateRule {
        file: String,
        line: u32,
        rule: String,
        first_line: u32,
    },

    /// A `<rule>` with nothing to match in it.
    #[error("{file}:{line}: <rule>: rule {rule:?} is empty")]
    EmptyRule {
        file: String,
        line: u32,
        rule: String,
    },

    /// A `<one-of>` without any `<item>`.
    #[error("{file}:{line}: <one-of>: needs at least one <item>")]
    EmptyOneOf { file: String, line: u32 },

    /// A token that is empty or not a DTMF key in a DTMF grammar.
    #[error("{file}:{line}: <{element}>: bad token {token:?}: {reason}")]
    BadToken {
        file: String,
        line: u32,
        element: String,
        token: String,
        reason: String,
    },

    /// A `<ruleref>` to a rule that is not defined in the file it points at.
    #[error("{file}:{line}: <ruleref>: rule {uri:?} is not defined")]
    UndefinedRule {
        file: String,
        line: u32,
        uri: String,
    },

    /// A `<ruleref>` into another file names a rule that file keeps private.
    #[error("{file}:{line}: <ruleref>: rule {uri:?} is private to its file")]
    PrivateRule {
        file: String,
        line: u32,
        uri: String,
    },

    /// A `<ruleref>` to a file the loader does not have.
    #[error("{file}:{line}: <ruleref>: {uri:?}: grammar file {path:?} not found")]
    MissingFile {
        file: String,
        line: u32,
        uri: String,
        path: String,
    },

    /// A `<ruleref>` URI this module cannot follow (absolute URLs, media types, empty).
    #[error("{file}:{line}: <ruleref>: {uri:?}: {reason}")]
    UnsupportedUri {
        file: String,
        line: u32,
        uri: String,
        reason: String,
    },

    /// A `<ruleref>` to a grammar of the other mode (SRGS 2.2.3: modes must agree).
    #[error("{file}:{line}: <ruleref>: {uri:?} is a {found} grammar, this one is {expected}")]
    ModeMismatch {
        file: String,
        line: u32,
        uri: String,
        expected: Mode,
        found: Mode,
    },

    /// A rule can reach itself without consuming a token, which no recogniser can expand.
    #[error("{file}:{line}: <rule>: rule {rule:?} is left-recursive ({cycle})")]
    LeftRecursion {
        file: String,
        line: u32,
        rule: String,
        cycle: String,
    },

    /// A rule recurses with no way out, so it can never finish a match.
    #[error("{file}:{line}: <rule>: rule {rule:?} recurses without end (no alternative stops)")]
    UnboundedRecursion {
        file: String,
        line: u32,
        rule: String,
    },

    /// A `tag-format` other than the SISR 1.0 script or literal formats.
    #[error("{file}:{line}: <grammar>: tag-format={format:?} is not supported")]
    UnsupportedTagFormat {
        file: String,
        line: u32,
        format: String,
    },

    /// A `<tag>` script outside the supported SISR subset.
    #[error("{file}:{line}: <tag>: {reason}")]
    BadTag {
        file: String,
        line: u32,
        reason: String,
    },

    /// Too many files or rules (a guard against hostile or runaway grammars).
    #[error("{file}: too large: {reason}")]
    TooLarge { file: String, reason: String },

    /// A grammar directory or file that cannot be read.
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },

    /// Two grammars of a set have the same language and name.
    #[error("{lang}/{name}: defined twice")]
    DuplicateGrammar { lang: String, name: String },
}
