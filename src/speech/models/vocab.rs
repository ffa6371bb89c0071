//! The byte-level BPE vocabulary a ggml whisper file embeds: token `i`'s raw bytes, for the
//! ordinary (non-special) tokens; whisper.cpp adds the special tokens itself.
//!
//! Sources: OpenAI's `gpt2.tiktoken` / `multilingual.tiktoken` (base64 token, space, rank per
//! line), or the `vocabulary.txt` / `vocabulary.json` a CTranslate2 model directory carries
//! (GPT-2 "byte-to-unicode" strings, one per token id, specials included: we stop at the first
//! `<|…|>` token).

use std::path::Path;

use super::ModelError;

/// Reads a vocabulary file, choosing the parser by its name (`*.tiktoken`, `*.json`, else one
/// token per line).
pub fn read(path: &Path) -> Result<Vec<Vec<u8>>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parsed = if name.ends_with(".tiktoken") {
        parse_tiktoken(&text)
    } else if name.ends_with(".json") {
        parse_ct2_json(&text)
    } else {
        parse_ct2_lines(&text)
    };
    parsed.map_err(|(line, what)| ModelError::Garbled {
        path: path.to_path_buf(),
        offset: line_offset(&text, line),
        what: format!("line {}: {what}", line + 1),
    })
}

/// Byte offset of 0-based `line` in `text` (for error messages).
fn line_offset(text: &str, line: usize) -> u64 {
    text.split_inclusive('\n')
        .take(line)
        .map(|l| l.len() as u64)
        .sum()
}

/// An error at a 0-based line.
type LineError = (usize, String);

/// Parses `base64 rank` lines; ranks must be exactly 0..n.
pub fn parse_tiktoken(text: &str) -> Result<Vec<Vec<u8>>, LineError> {
    let mut tokens: Vec<Option<Vec<u8>>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split_ascii_whitespace();
        let (Some(b64), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err((i, "expected `<base64> <rank>`".into()));
        };
        let bytes = decode_base64(b64).ok_or((i, format!("bad base64 `{b64}`")))?;
        let rank: usize = rank
            .parse()
            .map_err(|_| (i, format!("bad rank `{rank}`")))?;
        if rank > 1_000_000 {
            return Err((i, format!("rank {rank} is implausibly large")));
        }
        if tokens.len() <= rank {
            tokens.resize(rank + 1, None);
        }
        if tokens[rank].replace(bytes).is_some() {
            return Err((i, format!("rank {rank} appears twice")));
        }
    }
    tokens
        .into_iter()
        .enumerate()
        .map(|(rank, t)| t.ok_or((0, format!("rank {rank} is missing"))))
        .collect()
}

/// Parses a CTranslate2 `vocabulary.txt` (one token per line).
pub fn parse_ct2_lines(text: &str) -> Result<Vec<Vec<u8>>, LineError> {
    // Tokens never contain a raw newline (byte 0x0a is spelled `Ċ`), so lines are tokens.
    decode_ct2(text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)))
}

/// Parses a CTranslate2 `vocabulary.json` (a JSON array of token strings).
pub fn parse_ct2_json(text: &str) -> Result<Vec<Vec<u8>>, LineError> {
    let tokens: Vec<String> =
        serde_json::from_str(text).map_err(|e| (e.line().saturating_sub(1), e.to_string()))?;
    decode_ct2(tokens.iter().map(String::as_str))
}

fn decode_ct2<'a>(tokens: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<u8>>, LineError> {
    let table = unicode_to_byte();
    let mut out = Vec::new();
    for (i, token) in tokens.enumerate() {
        if token.starts_with("<|") && token.ends_with("|>") {
            return Ok(out);
        }
        let bytes = token
            .chars()
            .map(|c| table.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or((i, format!("token `{token}` is not GPT-2 byte-level text")))?;
        if bytes.is_empty() {
            return Err((i, "empty token".into()));
        }
        out.push(bytes);
    }
    Err((
        0,
        "no `<|endoftext|>` token: not a whisper vocabulary".into(),
    ))
}

/// GPT-2's reversible byte <-> printable-character table (`bytes_to_unicode` in
/// openai/gpt-2 `encoder.py`), inverted.
fn unicode_to_byte() -> std::collections::HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
    let mut map = std::collections::HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).expect("256..=323 are valid chars")
        };
        map.insert(c, b);
    }
    map
}

/// Standard base64 with padding (what tiktoken files use).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let last = bytes.len() / 4 - 1;
    for (i, quad) in bytes.chunks_exact(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i != last) {
            return None;
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - pad] {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * pad as u32;
        let group = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&group[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tiktoken_lines_decode_in_rank_order() {
        let text = "IQ== 0\nIGdhemVk 2\nIg== 1\n";
        let tokens = parse_tiktoken(text).expect("valid");
        assert_eq!(
            tokens,
            vec![b"!".to_vec(), b"\"".to_vec(), b" gazed".to_vec()]
        );
    }

    #[test]
    fn tiktoken_gaps_and_duplicates_are_errors() {
        assert!(parse_tiktoken("IQ== 0\nIg== 2\n").is_err());
        let err = parse_tiktoken("IQ== 0\nIg== 0\n").expect_err("duplicate");
        assert_eq!(err.0, 1);
        assert!(parse_tiktoken("I Q== 0\n").is_err());
    }

    #[test]
    fn ct2_text_uses_gpt2_byte_alphabet_and_stops_at_specials() {
        let text = "!\nĠgazed\nĊ\nĉ\n<|endoftext|>\n<|startoftranscript|>\n";
        let tokens = parse_ct2_lines(text).expect("valid");
        assert_eq!(
            tokens,
            vec![
                b"!".to_vec(),
                b" gazed".to_vec(),
                b"\n".to_vec(),
                b"\t".to_vec()
            ]
        );
        let json = r#"["!", "Ġgazed", "<|endoftext|>"]"#;
        assert_eq!(parse_ct2_json(json).expect("valid json").len(), 2);
    }

    #[test]
    fn ct2_text_without_specials_or_with_foreign_chars_fails() {
        assert!(parse_ct2_lines("a\nb\n").is_err());
        let err = parse_ct2_lines("a\n中\n<|endoftext|>").expect_err("not byte-level");
        assert_eq!(err.0, 1);
    }

    #[test]
    fn byte_alphabet_is_a_bijection() {
        let table = unicode_to_byte();
        assert_eq!(table.len(), 256);
        let mut bytes: Vec<u8> = table.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(table[&'Ġ'], b' ');
    }

    proptest! {
        #[test]
        fn base64_decodes_what_a_reference_encoder_writes(data in proptest::collection::vec(any::<u8>(), 1..40)) {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut encoded = String::new();
            for chunk in data.chunks(3) {
                let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for k in 0..4 {
                    if k <= chunk.len() {
                        encoded.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
                    } else {
                        encoded.push('=');
                    }
                }
            }
            prop_assert_eq!(decode_base64(&encoded), Some(data));
        }

        #[test]
        fn vocab_parsers_never_panic(text in "\\PC{0,200}") {
            let _ = parse_tiktoken(&text);
            let _ = parse_ct2_lines(&text);
            let _ = parse_ct2_json(&text);
        }
    }
}
