//! The SIP TCP listener, with [`crate::sip::framing`] and [`crate::sip::guard`] in front of the
//! stack, as `sip_socket` does for UDP.
//!
//! rsipstack parses TCP itself and closes a connection on a message it cannot parse, silently.
//! So kefu accepts the connections: it reads the caller's bytes, cuts them into messages, answers
//! the broken ones (400/513, counted) and passes the rest to the stack through a local socket
//! pair. The stack writes its responses straight to the caller's socket, and knows the
//! connection by the caller's real address, so dialogs and later requests on it work as before.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rsipstack::sip::transport::Transport;
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::stream::StreamConnectionInner;
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::sip_socket::stack_parse;
use crate::sip::framing::{Chunk, StreamFramer};
use crate::sip::guard::{self, Fault, Verdict};

/// Bound before the stack starts, so a taken port fails `serve` at once.
pub struct GuardedTcpListener {
    listener: TcpListener,
}

impl GuardedTcpListener {
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(GuardedTcpListener {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// Accepts connections until `cancel` fires, handing each to the stack behind the gate.
    pub fn serve(self, endpoint: EndpointInnerRef, cancel: CancellationToken) {
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => break,
                    accepted = self.listener.accept() => accepted,
                };
                match accepted {
                    Ok((stream, peer)) => {
                        let local = match self.listener.local_addr() {
                            Ok(a) => a,
                            Err(e) => {
                                tracing::warn!(error = %e, "SIP TCP listener lost its address");
                                break;
                            }
                        };
                        if let Err(e) =
                            attach(stream, local, peer, &endpoint.transport_layer, &cancel)
                        {
                            tracing::warn!(%peer, error = %e, "could not take SIP TCP connection");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "SIP TCP accept failed"),
                }
            }
        });
    }
}

fn attach(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    transport: &TransportLayer,
    cancel: &CancellationToken,
) -> std::io::Result<()> {
    let (from_peer, to_peer) = tokio::io::split(stream);
    let (stack_end, our_end) = std::os::unix::net::UnixStream::pair()?;
    stack_end.set_nonblocking(true)?;
    our_end.set_nonblocking(true)?;
    // rsipstack's TCP connection reads from a `TcpStream`; a stream socket of another family
    // reads the same through it, and the stack never asks this one for its addresses.
    let stack_end = TcpStream::from_std(std::net::TcpStream::from(OwnedFd::from(stack_end)))?;
    let (stack_reads, _unused) = tokio::io::split(stack_end);
    let our_end = tokio::net::UnixStream::from_std(our_end)?;
    let sip_addr = |a: SocketAddr| SipAddr {
        r#type: Some(Transport::Tcp),
        addr: a.into(),
    };
    let connection = TcpConnection {
        inner: Arc::new(StreamConnectionInner::new(
            sip_addr(local),
            sip_addr(peer),
            stack_reads,
            to_peer,
        )),
        cancel_token: Some(cancel.child_token()),
    };
    transport.add_connection(SipConnection::Tcp(connection.clone()));
    tokio::spawn(pump(from_peer, our_end, connection, peer, cancel.clone()));
    Ok(())
}

/// Reads the caller's bytes, passes whole good messages to the stack, answers bad ones.
async fn pump(
    mut from_peer: tokio::io::ReadHalf<TcpStream>,
    mut to_stack: tokio::net::UnixStream,
    connection: TcpConnection,
    peer: SocketAddr,
    cancel: CancellationToken,
) {
    let mut framer = StreamFramer::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            _ = cancel.cancelled() => return,
            read = from_peer.read(&mut buf) => match read {
                Ok(0) | Err(_) => return, // dropping `to_stack` ends the stack's side too
                Ok(n) => n,
            },
        };
        framer.push(&buf[..n]);
        while let Some(chunk) = framer.next_chunk() {
            let (verdict, bytes): (Verdict, &[u8]) = match &chunk {
                Chunk::KeepAlive(bytes) => (Verdict::Pass, bytes),
                Chunk::Message(bytes) => (guard::inspect(bytes, stack_parse), bytes),
                Chunk::Broken { head, fault } => (guard::refuse(head, fault.clone()), head),
            };
            let passed = match verdict {
                Verdict::Pass => to_stack.write_all(bytes).await.is_ok(),
                Verdict::Reply { fault, response } => {
                    count(&fault, "answered", peer);
                    connection.inner.send_raw(&response).await.is_ok()
                }
                Verdict::Drop(fault) => {
                    count(&fault, "dropped", peer);
                    true
                }
            };
            if !passed || matches!(chunk, Chunk::Broken { .. }) {
                let _ = connection.inner.close().await;
                return;
            }
        }
    }
}

fn count(fault: &Fault, action: &'static str, peer: SocketAddr) {
    metrics::counter!("kefu_sip_malformed_total", "fault" => fault.label(), "action" => action)
        .increment(1);
    tracing::warn!(%peer, %fault, action, "malformed SIP over TCP");
}
