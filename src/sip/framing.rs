//! Splitting a SIP byte stream (TCP) into messages, so each one can pass [`super::guard`] like a
//! UDP datagram does.
//!
//! RFC 3261 §18.3: on a stream the end of a message is its Content-Length, which is mandatory
//! there; a message without one (or with a broken one) leaves the stream unsynchronised, so it is
//! answered and the connection closed. RFC 5626 §4.4.1 keep-alives (CRLFCRLF ping, CRLF pong)
//! pass through untouched for the stack to answer.

use super::guard::Fault;

/// Largest message accepted on a stream (rsipstack's own limit).
pub const MAX_STREAM_MESSAGE_BYTES: usize = 64 * 1024;

/// One unit cut from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk {
    /// A keep-alive ping or pong, to pass on as is.
    KeepAlive(Vec<u8>),
    /// One whole message (head and body), not yet checked.
    Message(Vec<u8>),
    /// The stream cannot be framed any further: answer `head` for `fault`, then close.
    Broken { head: Vec<u8>, fault: Fault },
}

/// Accumulates stream bytes and cuts them into [`Chunk`]s. "Incomplete" is the normal answer
/// (`None`) until a whole message is there.
#[derive(Default)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    broken: bool,
}

impl StreamFramer {
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.broken {
            self.buffer.extend_from_slice(bytes);
        }
    }

    /// The next complete chunk, if any. After a [`Chunk::Broken`] nothing more comes out.
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        if self.broken {
            return None;
        }
        if self.buffer.starts_with(b"\r\n") {
            let n = if self.buffer.starts_with(b"\r\n\r\n") {
                4
            } else {
                2
            };
            return Some(Chunk::KeepAlive(self.buffer.drain(..n).collect()));
        }
        let Some(head_end) = find(&self.buffer, b"\r\n\r\n").map(|i| i + 4) else {
            if self.buffer.len() > MAX_STREAM_MESSAGE_BYTES {
                return Some(self.break_off(self.buffer.len(), Fault::TooLarge(self.buffer.len())));
            }
            return None;
        };
        let body_len = match content_length(&self.buffer[..head_end]) {
            Ok(n) => n,
            Err(fault) => return Some(self.break_off(head_end, fault)),
        };
        let total = head_end + body_len;
        if total > MAX_STREAM_MESSAGE_BYTES {
            return Some(self.break_off(head_end, Fault::TooLarge(total)));
        }
        if self.buffer.len() < total {
            return None;
        }
        Some(Chunk::Message(self.buffer.drain(..total).collect()))
    }

    fn break_off(&mut self, head_end: usize, fault: Fault) -> Chunk {
        self.broken = true;
        let head = self.buffer[..head_end].to_vec();
        self.buffer = Vec::new();
        Chunk::Broken { head, fault }
    }
}

/// The Content-Length of a message head (long or compact form), which a stream requires.
fn content_length(head: &[u8]) -> Result<usize, Fault> {
    let text = String::from_utf8_lossy(head);
    let value = text
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| {
            let name = name.trim();
            name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l")
        })
        .map(|(_, value)| value.trim().to_owned());
    match value {
        None => Err(Fault::MissingHeader("Content-Length")),
        Some(v) => v.parse().map_err(|_| Fault::BadContentLength(v)),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:kefu@127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nv=0\n";

    fn all(framer: &mut StreamFramer) -> Vec<Chunk> {
        std::iter::from_fn(|| framer.next_chunk()).collect()
    }

    #[test]
    fn a_message_split_anywhere_comes_out_whole_once_complete() {
        for cut in 1..OPTIONS.len() {
            let mut f = StreamFramer::default();
            f.push(&OPTIONS[..cut]);
            assert_eq!(all(&mut f), vec![], "cut at {cut}");
            f.push(&OPTIONS[cut..]);
            assert_eq!(all(&mut f), vec![Chunk::Message(OPTIONS.to_vec())]);
        }
    }

    #[test]
    fn back_to_back_messages_and_keepalives_are_cut_apart() {
        let mut f = StreamFramer::default();
        let mut bytes = b"\r\n\r\n".to_vec();
        bytes.extend_from_slice(OPTIONS);
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(OPTIONS);
        f.push(&bytes);
        assert_eq!(
            all(&mut f),
            vec![
                Chunk::KeepAlive(b"\r\n\r\n".to_vec()),
                Chunk::Message(OPTIONS.to_vec()),
                Chunk::KeepAlive(b"\r\n".to_vec()),
                Chunk::Message(OPTIONS.to_vec()),
            ]
        );
    }

    #[test]
    fn a_missing_content_length_breaks_the_stream_with_the_head_to_answer() {
        let msg = b"OPTIONS sip:k@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let mut f = StreamFramer::default();
        f.push(msg);
        f.push(OPTIONS);
        assert_eq!(
            all(&mut f),
            vec![Chunk::Broken {
                head: msg.to_vec(),
                fault: Fault::MissingHeader("Content-Length")
            }]
        );
        f.push(OPTIONS);
        assert_eq!(f.next_chunk(), None, "nothing after the stream broke");
    }

    #[test]
    fn a_bad_or_huge_content_length_breaks_the_stream() {
        let mut f = StreamFramer::default();
        f.push(b"OPTIONS sip:k@h SIP/2.0\r\nl: ten\r\n\r\n");
        assert!(matches!(
            f.next_chunk(),
            Some(Chunk::Broken { fault: Fault::BadContentLength(v), .. }) if v == "ten"
        ));
        let mut f = StreamFramer::default();
        f.push(b"OPTIONS sip:k@h SIP/2.0\r\nContent-Length: 999999\r\n\r\n");
        assert!(matches!(
            f.next_chunk(),
            Some(Chunk::Broken {
                fault: Fault::TooLarge(_),
                ..
            })
        ));
    }

    #[test]
    fn endless_headers_are_cut_off() {
        let mut f = StreamFramer::default();
        f.push(&vec![b'a'; MAX_STREAM_MESSAGE_BYTES + 1]);
        assert!(matches!(
            f.next_chunk(),
            Some(Chunk::Broken {
                fault: Fault::TooLarge(_),
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn the_framer_never_panics_and_never_grows_past_its_limit(
            pieces in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..2000), 0..40)
        ) {
            let mut f = StreamFramer::default();
            for p in &pieces {
                f.push(p);
                while f.next_chunk().is_some() {}
                proptest::prop_assert!(f.buffer.len() <= MAX_STREAM_MESSAGE_BYTES + 2000);
            }
        }
    }
}
