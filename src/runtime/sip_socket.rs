//! The UDP socket the SIP stack reads from, with [`crate::sip::guard`] in front of it: broken
//! datagrams are answered or dropped and counted here, and never reach rsipstack.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::platform::net::UdpSocket as StackUdpSocket;

use crate::sip::guard::{self, Verdict};

/// A tokio UDP socket that only lets well-formed SIP through.
pub struct GuardedUdpSocket {
    socket: tokio::net::UdpSocket,
}

impl GuardedUdpSocket {
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Arc<Self>> {
        let socket = tokio::net::UdpSocket::bind(addr).await?;
        Ok(Arc::new(GuardedUdpSocket { socket }))
    }
}

/// rsipstack's own parser, the last check of [`guard::inspect`].
pub(super) fn stack_parse(bytes: &[u8]) -> Result<(), String> {
    rsipstack::sip::SipMessage::try_from(bytes)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[async_trait::async_trait]
impl StackUdpSocket for GuardedUdpSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.socket.recv_from(buf).await?;
            let datagram = &buf[..len];
            // rsipstack answers its own keep-alives (RFC 5626 CRLF pings).
            if datagram.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok((len, from));
            }
            match guard::inspect(datagram, stack_parse) {
                Verdict::Pass => return Ok((len, from)),
                Verdict::Reply { fault, response } => {
                    metrics::counter!("kefu_sip_malformed_total", "fault" => fault.label(), "action" => "answered").increment(1);
                    tracing::warn!(%from, %fault, "malformed SIP request answered");
                    if let Err(e) = self.socket.send_to(&response, from).await {
                        tracing::warn!(%from, error = %e, "could not answer malformed request");
                    }
                }
                Verdict::Drop(fault) => {
                    metrics::counter!("kefu_sip_malformed_total", "fault" => fault.label(), "action" => "dropped").increment(1);
                    tracing::warn!(%from, %fault, "malformed SIP datagram dropped");
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// rsipstack's parser is the last gate in `inspect`; it must not panic on anything
        /// either, and neither may the whole gate with it.
        #[test]
        fn the_stack_parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1500)) {
            let _ = stack_parse(&bytes);
            let _ = guard::inspect(&bytes, stack_parse);
        }

        #[test]
        fn mutated_requests_never_panic_the_gate(pos in 0usize..400, byte in proptest::num::u8::ANY, cut in 0usize..400) {
            let mut msg = b"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
    From: <sip:a@127.0.0.1>;tag=a1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: c1@127.0.0.1\r\n\
    CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n".to_vec();
            let i = pos % msg.len();
            msg[i] = byte;
            msg.truncate(msg.len() - cut % msg.len());
            let _ = guard::inspect(&msg, stack_parse);
        }
    }
}
