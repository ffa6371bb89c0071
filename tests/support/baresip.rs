//! baresip (Debian `baresip-core` 1.0.0) as a real softphone in tests, headless.
//!
//! [`Baresip::start`] writes a config dir (config, accounts, contacts) into a temp dir and runs
//! `baresip -f DIR` with:
//! - `ctrl_tcp` on a free port: JSON commands in netstrings (`dial`, `hangup`, `accept`,
//!   `sndcode`, `uanew`) and events (`CALL_ESTABLISHED`, `CALL_CLOSED`, `REGISTER_OK`, ...),
//!   read by a thread that stamps each event with the time it arrived;
//! - `aufile` as the audio source (a WAV made by [`speech_wav`] or [`tone_wav`]): baresip hangs up
//!   when it ends, so make it longer than the call;
//! - `sndfile`, which writes what the phone decoded (`*-dec.wav`, what it heard) and what it
//!   encoded (`*-enc.wav`, what it said) into `rec/`;
//! - no audio player at all (there is no sound card); the receive path decodes all the same.
//!
//! The process is killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One ctrl_tcp event, stamped on arrival.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub json: serde_json::Value,
}

impl Event {
    pub fn kind(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }
}

#[derive(Default)]
struct Inbox {
    /// Every event so far, in arrival order.
    events: Vec<Event>,
    /// Which of `events` [`Baresip::wait_event`] has handed out.
    taken: Vec<bool>,
    /// Command responses by token.
    responses: Vec<serde_json::Value>,
    closed: bool,
}

/// A running headless baresip; killed on drop.
pub struct Baresip {
    pub name: String,
    child: Child,
    pub dir: tempfile::TempDir,
    /// Set once ctrl_tcp accepted the connection.
    ctrl: Option<TcpStream>,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    next_token: u64,
    /// Logs shown with every failure (kefu's log, usually).
    also_show: Vec<PathBuf>,
}

/// How to start one phone.
pub struct Options<'a> {
    /// For messages: "caller", "agent".
    pub name: &'a str,
    /// A WAV file (S16, mono): what the phone says.
    pub audio_source: &'a Path,
    /// Lines of the `accounts` file (`<sip:user@host>;regint=0`, ...); may be empty and
    /// added later with [`Baresip::uanew`].
    pub accounts: &'a [String],
}

impl Baresip {
    pub fn start(opts: Options<'_>) -> Baresip {
        let dir = tempfile::tempdir().expect("temp dir");
        let rec = dir.path().join("rec");
        std::fs::create_dir(&rec).expect("rec dir");
        let ctrl_port = free_tcp_port();
        let config = config_text(opts.audio_source, ctrl_port, &rec);
        std::fs::write(dir.path().join("config"), config).expect("write config");
        let mut accounts = opts.accounts.join("\n");
        accounts.push('\n');
        std::fs::write(dir.path().join("accounts"), accounts).expect("write accounts");
        std::fs::write(dir.path().join("contacts"), "").expect("write contacts");
        let out = std::fs::File::create(dir.path().join("output.txt")).expect("output file");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup output"))
            .stderr(out)
            .spawn()
            .expect("baresip is installed (Debian baresip-core)");
        let mut b = Baresip {
            name: opts.name.to_owned(),
            child,
            dir,
            ctrl: None,
            inbox: Arc::new((Mutex::new(Inbox::default()), Condvar::new())),
            next_token: 1,
            also_show: Vec::new(),
        };
        b.connect(ctrl_port);
        b
    }

    /// Shows this file (kefu's log) with every failure message.
    pub fn also_show(&mut self, log: &Path) {
        self.also_show.push(log.to_owned());
    }

    fn connect(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("exited with {status} at start"));
            }
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                break s;
            }
            if Instant::now() > deadline {
                self.fail("ctrl_tcp never listened");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let reader = stream.try_clone().expect("clone ctrl stream");
        self.ctrl = Some(stream);
        let inbox = self.inbox.clone();
        std::thread::spawn(move || read_netstrings(reader, inbox));
    }

    /// Sends one ctrl_tcp command and waits for its response; returns the response's `data`.
    pub fn command(&mut self, command: &str, params: &str) -> String {
        let token = format!("t{}", self.next_token);
        self.next_token += 1;
        let mut msg = serde_json::json!({ "command": command, "token": token });
        if !params.is_empty() {
            msg["params"] = params.into();
        }
        let body = msg.to_string();
        let framed = format!("{}:{},", body.len(), body);
        let sent = match &mut self.ctrl {
            Some(c) => c.write_all(framed.as_bytes()),
            None => Err(std::io::Error::other("not connected")),
        };
        if let Err(e) = sent {
            self.fail(&format!("cannot send {command}: {e}"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let (lock, cvar) = &*self.inbox;
        let mut inbox = lock.lock().expect("inbox lock");
        loop {
            if let Some(r) = inbox
                .responses
                .iter()
                .find(|r| r["token"] == token.as_str())
            {
                let r = r.clone();
                drop(inbox);
                if r["ok"] != true {
                    self.fail(&format!("{command} {params} failed: {r}"));
                }
                return r["data"].as_str().unwrap_or("").to_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || inbox.closed {
                drop(inbox);
                self.fail(&format!("no response to {command} {params}"));
            }
            inbox = cvar.wait_timeout(inbox, left).expect("inbox lock").0;
        }
    }

    pub fn dial(&mut self, uri: &str) {
        self.command("dial", uri);
    }

    pub fn hangup(&mut self) {
        self.command("hangup", "");
    }

    /// Answers the ringing call (for phones without `answermode=auto`).
    pub fn answer(&mut self) {
        self.command("accept", "");
    }

    /// Keys sent as RFC 4733 telephone-events (baresip uses the PT the answer gave, 101 here).
    pub fn send_dtmf(&mut self, keys: &str) {
        self.command("sndcode", keys);
    }

    /// Adds an account (and registers it when it has `regint` > 0) now that the test listens
    /// for events, so `REGISTER_OK` is not missed.
    pub fn uanew(&mut self, account: &str) {
        self.command("uanew", account);
    }

    /// The first event of `kind` not handed out before, waiting up to `timeout`.
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Event {
        match self.try_wait_event(&[kind], timeout) {
            Some(e) => e,
            None => self.fail(&format!("no {kind} event within {timeout:?}")),
        }
    }

    /// Like [`Baresip::wait_event`] for any of `kinds`; `None` on timeout.
    pub fn try_wait_event(&mut self, kinds: &[&str], timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.inbox;
        let mut inbox = lock.lock().expect("inbox lock");
        loop {
            let found = inbox
                .events
                .iter()
                .enumerate()
                .find(|(i, e)| !inbox.taken[*i] && kinds.contains(&e.kind()))
                .map(|(i, e)| (i, e.clone()));
            if let Some((i, e)) = found {
                inbox.taken[i] = true;
                return Some(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            inbox = cvar.wait_timeout(inbox, left).expect("inbox lock").0;
        }
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.inbox.0.lock().expect("inbox lock").events.clone()
    }

    /// What baresip printed.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.txt")).unwrap_or_default()
    }

    /// The WAVs sndfile wrote, `*-dec.wav` (heard) or `*-enc.wav` (said), oldest first.
    pub fn recordings(&self, suffix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The one recording of what the phone heard in its only call.
    pub fn heard(&self) -> Wav {
        let files = self.recordings("-dec.wav");
        match files.as_slice() {
            [one] => Wav::read(one),
            _ => self.fail(&format!("expected one *-dec.wav, found {files:?}")),
        }
    }

    /// Panics with everything a reader needs: the events, baresip's output and the extra logs.
    pub fn fail(&self, what: &str) -> ! {
        panic!("{}", self.report(what))
    }

    pub fn report(&self, what: &str) -> String {
        let events: Vec<String> = self
            .inbox
            .0
            .lock()
            .map(|i| i.events.iter().map(|e| e.json.to_string()).collect())
            .unwrap_or_default();
        let mut text = format!(
            "baresip {}: {what}\n--- its events ---\n{}\n--- its output ---\n{}",
            self.name,
            events.join("\n"),
            self.output()
        );
        for log in &self.also_show {
            text.push_str(&format!(
                "\n--- {} ---\n{}",
                log.display(),
                strip_ansi(&std::fs::read_to_string(log).unwrap_or_default())
            ));
        }
        text
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if let Some(c) = &self.ctrl {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drops terminal colour codes (`ESC [ ... m`) so logs read well in a panic message.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn config_text(audio_source: &Path, ctrl_port: u16, rec: &Path) -> String {
    format!(
        "\
poll_method		epoll
sip_listen		127.0.0.1:0
call_local_timeout	120
call_max_calls		4
audio_source		aufile,{source}
ausrc_srate		8000
ausrc_channels		1
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_tos			184
rtcp_mux		no
jitter_buffer_delay	5-10
rtp_stats		no
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module			opus.so
module			sndfile.so
module			aufile.so
module_tmp		account.so
module_app		contact.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{ctrl_port}
snd_path		{rec}
statmode_default	off
",
        source = audio_source.display(),
        rec = rec.display(),
    )
}

/// Reads `LEN:JSON,` netstrings until the stream closes.
fn read_netstrings(mut stream: TcpStream, inbox: Arc<(Mutex<Inbox>, Condvar)>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let now = Instant::now();
        while let Some(colon) = buf.iter().position(|&b| b == b':') {
            let Some(len) = std::str::from_utf8(&buf[..colon])
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
            else {
                buf.clear();
                break;
            };
            if buf.len() < colon + 1 + len + 1 {
                break;
            }
            let body = buf[colon + 1..colon + 1 + len].to_vec();
            buf.drain(..colon + 1 + len + 1);
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
                continue;
            };
            let (lock, cvar) = &*inbox;
            let mut inbox = lock.lock().expect("inbox lock");
            if json["event"] == true {
                inbox.events.push(Event { at: now, json });
                inbox.taken.push(false);
            } else if json["response"] == true {
                inbox.responses.push(json);
            }
            cvar.notify_all();
        }
    }
    let (lock, cvar) = &*inbox;
    if let Ok(mut inbox) = lock.lock() {
        inbox.closed = true;
    }
    cvar.notify_all();
}

/// A WAV file read leniently: sndfile fixes the header sizes only when the call is torn down,
/// so the samples are everything after the `data` chunk header.
#[derive(Debug, Clone)]
pub struct Wav {
    pub rate: u32,
    pub channels: u16,
    /// Mono: interleaved channels averaged.
    pub samples: Vec<i16>,
}

impl Wav {
    pub fn read(path: &Path) -> Wav {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Wav::parse(&bytes).unwrap_or_else(|| panic!("{} is not a 16-bit WAV", path.display()))
    }

    pub fn parse(bytes: &[u8]) -> Option<Wav> {
        if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return None;
        }
        let mut at = 12;
        let mut format: Option<(u16, u32, u16)> = None;
        while at + 8 <= bytes.len() {
            let id = &bytes[at..at + 4];
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
            let body = at + 8;
            if id == b"fmt " {
                let f = bytes.get(body..body + 16)?;
                let channels = u16::from_le_bytes([f[2], f[3]]);
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let bits = u16::from_le_bytes([f[14], f[15]]);
                format = Some((channels, rate, bits));
            } else if id == b"data" {
                let (channels, rate, bits) = format?;
                if bits != 16 || channels == 0 {
                    return None;
                }
                let data = &bytes[body..];
                let frame = 2 * channels as usize;
                let samples = data
                    .chunks_exact(frame)
                    .map(|f| {
                        let sum: i32 = f
                            .chunks_exact(2)
                            .map(|s| i16::from_le_bytes([s[0], s[1]]) as i32)
                            .sum();
                        (sum / channels as i32) as i16
                    })
                    .collect();
                return Some(Wav {
                    rate,
                    channels,
                    samples,
                });
            }
            at = body + size + (size & 1);
        }
        None
    }

    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }

    /// The samples from `from` to `to` seconds (clamped to the file).
    pub fn span(&self, from: f64, to: f64) -> &[i16] {
        let a = ((from.max(0.0) * self.rate as f64) as usize).min(self.samples.len());
        let b = ((to.max(0.0) * self.rate as f64) as usize).clamp(a, self.samples.len());
        &self.samples[a..b]
    }

    /// RMS of a span, in sample units (full scale 32768).
    pub fn rms(&self, from: f64, to: f64) -> f64 {
        rms(self.span(from, to))
    }

    /// Zero crossings per second over a span: about twice the frequency of a pure tone.
    pub fn crossings_per_second(&self, from: f64, to: f64) -> f64 {
        let s = self.span(from, to);
        if s.len() < 2 {
            return 0.0;
        }
        let n = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        n as f64 * self.rate as f64 / (s.len() - 1) as f64
    }
}

pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// `text` spoken by flite, repeated to fill `seconds`, as 8 kHz mono S16 WAV in `dir`.
pub fn speech_wav(dir: &Path, name: &str, text: &str, seconds: u32) -> PathBuf {
    let raw = dir.join(format!("{name}-flite.wav"));
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("flite").args(["-t", text, "-o"]).arg(&raw));
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["repeat", &seconds.to_string()])
        .args(["trim", "0", &seconds.to_string()]));
    out
}

/// A sine of `hz` at half scale for `seconds`, 8 kHz mono S16 WAV in `dir`.
pub fn tone_wav(dir: &Path, name: &str, hz: u32, seconds: u32) -> PathBuf {
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["synth", &seconds.to_string(), "sine", &hz.to_string()])
        .args(["vol", "0.5"]));
    out
}

/// `seconds` of digital silence, 8 kHz mono S16 WAV in `dir`.
pub fn silence_wav(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["trim", "0", &seconds.to_string()]));
    out
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} (flite and sox are installed): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
