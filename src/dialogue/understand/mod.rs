//! Understanding a caller's turn: its words and features (`text`), what they want (`intent`),
//! the details they gave (`slots`), how they feel (`sentiment`), and which FAQ entry answers
//! them (`faq`). Everything here is pure and in memory; a turn takes well under a millisecond.

pub mod faq;
pub mod intent;
pub mod sentiment;
pub mod slots;
pub mod text;
pub mod vectors;
