//! The interface every synthesis engine offers: one chunk of prepared words in, audio out.

use std::ops::ControlFlow;

use crate::speech::tts::TtsError;

/// Audio as an engine renders it: mono 16-bit samples at the engine's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<i16>,
    pub rate: u32,
}

/// A speech synthesiser. Calls block (tens to hundreds of milliseconds): run them off the call
/// task. Implementations are shared between calls, so they must be safe to call from several
/// threads at once (serialising inside where the engine itself is not).
pub trait Engine: Send + Sync {
    /// Speaks `words` (already normalised: no digits or symbols left to interpret) with `voice`
    /// at `rate` (1.0 = the voice's normal speed).
    fn speak(&self, voice: &str, words: &str, rate: f32) -> Result<Audio, TtsError>;

    /// Like [`Engine::speak`], but hands the audio to `sink` (samples, rate) while it is being
    /// synthesised; `sink` returns `Break` to stop. Engines that cannot stream hand it over whole.
    fn stream(
        &self,
        voice: &str,
        words: &str,
        rate: f32,
        sink: &mut dyn FnMut(&[i16], u32) -> ControlFlow<()>,
    ) -> Result<(), TtsError> {
        let audio = self.speak(voice, words, rate)?;
        let _ = sink(&audio.samples, audio.rate);
        Ok(())
    }

    /// Whether `voice` can be used on this machine; the reason when it cannot.
    fn check(&self, voice: &str) -> Result<(), TtsError>;
}

/// Keeps what an English engine for 7-bit text can pronounce: letters, digits, punctuation and
/// spaces; anything else becomes a space (the text front end has already spelled out symbols).
pub(crate) fn ascii_words(words: &str) -> String {
    let mapped: String = words
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            c if c.is_ascii_graphic() => c,
            _ => ' ',
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_words_drops_what_an_english_voice_cannot_say() {
        assert_eq!(ascii_words("it\u{2019}s  here\n✓ now"), "it's here now");
        assert_eq!(ascii_words("\u{1F600}"), "");
    }
}
