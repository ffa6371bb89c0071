//! Load: SIPp places 200 concurrent calls that each stream recorded speech for 30 s, then hang up.
//! Every call must succeed at the SIP peer, leave a complete record, and get kefu's audio back
//! without a single missing RTP sequence number. kefu's outbound RTP is captured on `lo` with
//! tcpdump and read back by the small pcap reader below (independent of kefu's RTP code).
//! Takes about 45 s; needs sipp, tcpdump (and the right to capture: root or CAP_NET_RAW), flite
//! and sox.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Kefu, REPO};

const CALLS: usize = 200;
const CALLS_PER_SECOND: u32 = 20;
const HOLD_MS: u32 = 30_000;
/// 1000 RTP/RTCP pairs: above Linux's ephemeral range (32768-60999, where SIPp's and the other
/// tests' ports come from) and the support module's per-test ports (30000-50400).
const RTP_PORTS: &str = "61000-62999";
const RTP_CAPTURE_FILTER: &str = "udp and src portrange 61000-62999";
/// A call holds 30 s, so kefu sends ~1500 packets; fewer than this means its clock starved.
const MIN_PACKETS_PER_CALL: usize = 1400;

#[test]
fn two_hundred_concurrent_calls() {
    let kefu = Kefu::start_with_ports(Some(RTP_PORTS), &[]);
    let work = kefu.data.path().join("load");
    std::fs::create_dir_all(&work).expect("work dir");
    support::make_caller_speech(&work);

    let pcap_path = work.join("kefu-out.pcap");
    let capture = Capture::start(&pcap_path, RTP_CAPTURE_FILTER);
    let started = Instant::now();
    let (ok, sipp_out) = run_sipp(&kefu, &work);
    let took = started.elapsed();
    // Packets kefu sent just before SIPp's last BYE are still in flight for a moment.
    std::thread::sleep(Duration::from_millis(300));
    let dropped_by_capture = capture.stop();
    assert!(
        ok,
        "SIPp reports failed calls:\n{sipp_out}\n{}",
        log_tail(&kefu)
    );

    // Every call has its record: answered in PCMU, ended by the caller's BYE.
    let calls = ended_calls(&kefu, CALLS);
    assert_eq!(calls.len(), CALLS, "call records");
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for c in &calls {
        let cause = c["end_cause"].as_str().unwrap_or("(none)").to_owned();
        *causes.entry(cause).or_default() += 1;
    }
    assert_eq!(
        causes.get("caller.hangup"),
        Some(&CALLS),
        "end causes: {causes:?}"
    );
    for c in &calls {
        assert_eq!(c["direction"], "inbound", "{c:#}");
        assert!(c["answered_at"].is_string(), "never answered: {c:#}");
        assert_eq!(c["codec"], "PCMU", "{c:#}");
    }

    // What kefu sent: one stream per call, no sequence number missing.
    assert_eq!(
        dropped_by_capture, 0,
        "tcpdump lost packets, so the capture cannot be checked for gaps"
    );
    let bytes = std::fs::read(&pcap_path).expect("tcpdump wrote the capture");
    let datagrams = pcap::udp_datagrams(&bytes).expect("tcpdump's capture parses");
    let streams = rtp_streams(&datagrams);
    assert_eq!(
        streams.len(),
        CALLS,
        "one outbound RTP stream (source port, SSRC) per call"
    );
    let mut worst_interval = Duration::ZERO;
    let mut packets = 0;
    for ((port, ssrc), stream) in &streams {
        packets += stream.len();
        assert!(
            stream.len() >= MIN_PACKETS_PER_CALL,
            "stream {ssrc:08x} from port {port}: only {} packets in a 30 s call",
            stream.len()
        );
        for (i, w) in stream.windows(2).enumerate() {
            assert_eq!(
                w[1].seq,
                w[0].seq.wrapping_add(1),
                "stream {ssrc:08x} from port {port}: sequence gap after packet {}",
                i + 1
            );
            worst_interval = worst_interval.max(w[1].at.saturating_sub(w[0].at));
        }
    }
    eprintln!(
        "{CALLS} calls in {:.1} s; {packets} RTP packets from kefu, no gaps; longest pause \
         between two packets of one stream {:.1} ms",
        took.as_secs_f64(),
        worst_interval.as_secs_f64() * 1000.0
    );

    // The IVR kept running for every caller: the 2 s greeting ends long before the caller
    // hangs up, so every call reached the menu.
    let stuck: Vec<&serde_json::Value> = calls
        .iter()
        .filter(|c| {
            !c["flow_path"]
                .as_array()
                .is_some_and(|p| p.iter().any(|n| n == "menu"))
        })
        .collect();
    assert!(
        stuck.is_empty(),
        "{} of {CALLS} calls never reached the menu in 30 s; first: {:#}",
        stuck.len(),
        stuck[0]
    );
}

/// Runs the whole load in SIPp from `work` (where the speech file is); (exit 0, output).
fn run_sipp(kefu: &Kefu, work: &Path) -> (bool, String) {
    let scenario = Path::new(REPO).join("tests/sipp/uac_load.xml");
    let err_file = work.join("sipp-load.err");
    let out = Command::new("sipp")
        .current_dir(work)
        .arg(kefu.sip.to_string())
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &support::free_udp_port().to_string()])
        .args(["-mp", &support::free_media_port().to_string()])
        .args(["-s", "4001"])
        .args(["-r", &CALLS_PER_SECOND.to_string()])
        .args(["-l", &CALLS.to_string(), "-m", &CALLS.to_string()])
        .args(["-d", &HOLD_MS.to_string()])
        .args(["-timeout", "150s", "-timeout_error", "-nostdin"])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(&err_file)
        .output()
        .expect("sipp is installed (.ci/install-deps installs sip-tester)");
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&err_file).unwrap_or_default()
    );
    (out.status.success(), text)
}

/// The list of calls once `n` of them have ended (waits up to 30 s for the stragglers).
fn ended_calls(kefu: &Kefu, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = kefu.cli(&["calls", "list", "--json", "--limit", "1000"]);
        assert!(
            out.status.success(),
            "kefu calls list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let calls: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("calls list --json prints a JSON array");
        let ended = calls.iter().filter(|c| !c["ended_at"].is_null()).count();
        if ended >= n || Instant::now() > deadline {
            return calls;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn log_tail(kefu: &Kefu) -> String {
    let log = kefu.log_text();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// One RTP packet kefu sent, as captured.
struct Sent {
    at: Duration,
    seq: u16,
}

/// RTP packets by (kefu's source port, SSRC), in capture order; RTCP (RFC 5761 §4: second
/// byte 192..=223) is left out.
fn rtp_streams(datagrams: &[pcap::Udp]) -> HashMap<(u16, u32), Vec<Sent>> {
    let mut streams: HashMap<(u16, u32), Vec<Sent>> = HashMap::new();
    for d in datagrams {
        let p = &d.payload;
        if p.len() < 12 || p[0] >> 6 != 2 || (192..=223).contains(&p[1]) {
            continue;
        }
        let seq = u16::from_be_bytes([p[2], p[3]]);
        let ssrc = u32::from_be_bytes([p[8], p[9], p[10], p[11]]);
        streams
            .entry((d.src_port, ssrc))
            .or_default()
            .push(Sent { at: d.at, seq });
    }
    streams
}

/// tcpdump writing the datagrams that match `filter` on `lo` to a pcap file.
struct Capture {
    child: Child,
    stderr: PathBuf,
}

impl Capture {
    /// Starts tcpdump and waits until it is listening.
    fn start(path: &Path, filter: &str) -> Capture {
        let stderr = path.with_extension("log");
        let log = std::fs::File::create(&stderr).expect("tcpdump log file");
        let child = Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-s", "128", "-B", "32768", "-w"])
            .arg(path)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "tcpdump is not installed: the load test captures kefu's RTP with it \
                 (Debian package tcpdump; .ci/install-deps installs it)"
            ),
            Err(e) => panic!("cannot run tcpdump: {e}"),
        };
        let mut capture = Capture { child, stderr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !capture.log().contains("listening on") {
            if let Ok(Some(status)) = capture.child.try_wait() {
                panic!(
                    "tcpdump exited with {status} (capturing on lo needs root or CAP_NET_RAW):\n{}",
                    capture.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "tcpdump did not start listening:\n{}",
                capture.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        capture
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Stops the capture (SIGINT, so tcpdump flushes the file); returns the packets the kernel
    /// dropped before tcpdump could write them.
    fn stop(mut self) -> u64 {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "could not stop tcpdump");
        let status = self.child.wait().expect("tcpdump is our child");
        let log = self.log();
        assert!(status.success(), "tcpdump failed ({status}):\n{log}");
        log.lines()
            .find_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("tcpdump did not report its drops:\n{log}"))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Just enough of the pcap format (the classic libpcap file, not pcapng) to get UDP datagrams
/// over IPv4 out of a capture on `lo`.
mod pcap {
    use std::time::Duration;

    /// One UDP datagram; `payload` is cut at the capture's snap length.
    pub struct Udp {
        /// Capture time since the Unix epoch.
        pub at: Duration,
        pub src_port: u16,
        pub dst_port: u16,
        pub payload: Vec<u8>,
    }

    /// Link-layer header types (tcpdump.org/linktypes.html) a capture on `lo` can have.
    const NULL: u32 = 0; // BSD loopback: 4-byte address family in host order
    const ETHERNET: u32 = 1;
    const RAW: u32 = 101;
    const LINUX_SLL: u32 = 113;
    const LINUX_SLL2: u32 = 276;

    /// The UDP-over-IPv4 datagrams of a capture, in capture order; other packets are skipped.
    pub fn udp_datagrams(file: &[u8]) -> Result<Vec<Udp>, String> {
        let header = file.get(..24).ok_or("shorter than a pcap global header")?;
        let magic = [header[0], header[1], header[2], header[3]];
        let (big_endian, nanos) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            _ => return Err(format!("not a pcap file (magic {magic:02x?}); pcapng?")),
        };
        let u32_at = |b: &[u8], at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        let link = u32_at(header, 20) & 0x0fff_ffff;
        let mut out = Vec::new();
        let mut at = 24;
        while at < file.len() {
            let record = file
                .get(at..at + 16)
                .ok_or(format!("truncated record header at byte {at}"))?;
            let seconds = u32_at(record, 0);
            let fraction = u32_at(record, 4);
            let captured = u32_at(record, 8) as usize;
            let data = file
                .get(at + 16..at + 16 + captured)
                .ok_or(format!("truncated record at byte {at}"))?;
            at += 16 + captured;
            let time = Duration::from_secs(u64::from(seconds))
                + if nanos {
                    Duration::from_nanos(u64::from(fraction))
                } else {
                    Duration::from_micros(u64::from(fraction))
                };
            if let Some(ip) = ipv4_of(link, data)?
                && let Some(udp) = udp_of(ip, time)
            {
                out.push(udp);
            }
        }
        Ok(out)
    }

    /// The IPv4 packet inside one link-layer frame, or None for other protocols.
    fn ipv4_of(link: u32, frame: &[u8]) -> Result<Option<&[u8]>, String> {
        let ether_type = |at: usize| {
            frame
                .get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let (protocol_is_ipv4, start) = match link {
            ETHERNET => (ether_type(12) == Some(0x0800), 14),
            LINUX_SLL => (ether_type(14) == Some(0x0800), 16),
            LINUX_SLL2 => (ether_type(0) == Some(0x0800), 20),
            // AF_INET is 2 on every system; the family is in the capturing host's byte order.
            NULL => (
                frame
                    .get(..4)
                    .is_some_and(|f| f == [2, 0, 0, 0] || f == [0, 0, 0, 2]),
                4,
            ),
            RAW => (frame.first().is_some_and(|b| b >> 4 == 4), 0),
            other => return Err(format!("link-layer type {other} is not handled")),
        };
        Ok(protocol_is_ipv4.then(|| frame.get(start..)).flatten())
    }

    /// The UDP datagram in an IPv4 packet, or None (not UDP, a later fragment, truncated).
    fn udp_of(ip: &[u8], at: Duration) -> Option<Udp> {
        if ip.first()? >> 4 != 4 || *ip.get(9)? != 17 {
            return None;
        }
        let fragment_offset = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x1fff;
        if fragment_offset != 0 {
            return None;
        }
        let header_len = usize::from(ip[0] & 0x0f) * 4;
        let udp = ip.get(header_len..)?;
        let udp_header = udp.get(..8)?;
        Some(Udp {
            at,
            src_port: u16::from_be_bytes([udp_header[0], udp_header[1]]),
            dst_port: u16::from_be_bytes([udp_header[2], udp_header[3]]),
            payload: udp[8..].to_vec(),
        })
    }

    #[test]
    fn reads_a_udp_datagram_from_an_ethernet_capture() {
        let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        file.extend([0; 8]);
        file.extend(65535u32.to_le_bytes());
        file.extend(ETHERNET.to_le_bytes());
        let mut frame = vec![0; 12];
        frame.extend([0x08, 0x00]);
        frame.extend([
            0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ]);
        frame.extend([0xee, 0x48, 0x17, 0x70, 0, 12, 0, 0]);
        frame.extend([0x80, 0x00, 0x12, 0x34]);
        file.extend(7u32.to_le_bytes());
        file.extend(250_000u32.to_le_bytes());
        file.extend((frame.len() as u32).to_le_bytes());
        file.extend((frame.len() as u32).to_le_bytes());
        file.extend(&frame);
        let got = udp_datagrams(&file).expect("parses");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].src_port, 61000);
        assert_eq!(got[0].dst_port, 6000);
        assert_eq!(got[0].payload, [0x80, 0x00, 0x12, 0x34]);
        assert_eq!(got[0].at, Duration::from_millis(7250));
        assert!(
            udp_datagrams(&file[..30]).is_err(),
            "a cut record is an error"
        );
    }
}
