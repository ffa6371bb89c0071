//! Hands out RTP ports from the configured range. Each call binds one even port (RFC 3550 §11:
//! RTP on an even port, RTCP on the next odd one); a port whose bind fails (taken by another
//! program) is skipped.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use tokio::net::UdpSocket;

/// A bound RTP/RTCP socket pair.
pub struct RtpSockets {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

pub struct PortPool {
    ip: IpAddr,
    range: RangeInclusive<u16>,
    /// Next even port to try; rotating spreads reuse so late packets of an old call rarely land
    /// on a new one.
    next: Mutex<u16>,
}

impl PortPool {
    pub fn new(ip: IpAddr, range: RangeInclusive<u16>) -> Self {
        let first = range.start() + range.start() % 2;
        PortPool {
            ip,
            range,
            next: Mutex::new(first),
        }
    }

    /// Binds the next free even port and the odd one after it.
    pub async fn bind(&self) -> std::io::Result<RtpSockets> {
        let span = (self.range.end() - self.range.start()) as usize / 2 + 1;
        for _ in 0..span {
            let port = self.take_next();
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.ip, port)).await else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(self.ip, port + 1)).await else {
                continue;
            };
            return Ok(RtpSockets { rtp, rtcp });
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "no free RTP port in the configured range",
        ))
    }

    fn take_next(&self) -> u16 {
        let mut next = self
            .next
            .lock()
            .expect("port pool lock is never held across a panic");
        let port = *next;
        let candidate = port.saturating_add(2);
        *next = if candidate >= *self.range.end() {
            self.range.start() + self.range.start() % 2
        } else {
            candidate
        };
        port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_even_ports_and_skips_taken_ones() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let pool = PortPool::new(ip, 31000..=31009);
        let _squatter = UdpSocket::bind((ip, 31002)).await.expect("test port free");
        let a = pool.bind().await.expect("first pair");
        let b = pool.bind().await.expect("second pair");
        let pa = a.rtp.local_addr().expect("bound").port();
        let pb = b.rtp.local_addr().expect("bound").port();
        assert_eq!(pa, 31000);
        assert_eq!(pb, 31004, "31002 is taken");
        assert_eq!(b.rtcp.local_addr().expect("bound").port(), 31005);
    }
}
