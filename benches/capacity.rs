//! Capacity of one kefu process, as figures rather than a pass/fail test: SIPp places N
//! concurrent PCMU calls (default 200, env KEFU_BENCH_CALLS) at 20 calls/s, each streaming
//! recorded speech into the demo hotline (recording on, as by default) for 30 s
//! (KEFU_BENCH_HOLD_S), and the bench reads /proc while every call is up:
//!
//! - kefu's CPU time (utime + stime) per call-second of media, and the calls one core could
//!   carry at that rate;
//! - SIPp's CPU for the same window and calls, as a reference: the ratio of the two is the
//!   figure to compare across machines and runs, since both sides share the same cores;
//! - INVITE-to-200 as SIPp measured it (`rtd` on the 200, `-trace_rtt`), and kefu's own
//!   `kefu_invite_to_answer_seconds` summary from /metrics;
//! - resident memory per call: (VmRSS with every call up − VmRSS idle) / N.
//!
//! `cargo bench --bench capacity` (the bench profile, so kefu is an optimised build). Needs
//! sipp, flite and sox.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use support::{Kefu, REPO};

/// RTP ports for the bench's kefu: above Linux's ephemeral range, apart from tests/load.rs.
const RTP_PORTS: &str = "63000-64999";
const CALLS_PER_SECOND: u32 = 20;

fn main() -> ExitCode {
    let calls: usize = env_number("KEFU_BENCH_CALLS", 200);
    let hold_s: u64 = env_number("KEFU_BENCH_HOLD_S", 30);
    if calls == 0 || calls > 1000 {
        eprintln!("KEFU_BENCH_CALLS must be 1..=1000 (the bench's kefu has 1000 RTP port pairs)");
        return ExitCode::FAILURE;
    }
    let ramp = Duration::from_secs_f64(calls as f64 / f64::from(CALLS_PER_SECOND));
    let hold = Duration::from_secs(hold_s);
    if hold < ramp + Duration::from_secs(7) {
        eprintln!(
            "KEFU_BENCH_HOLD_S={hold_s} leaves no steady window after a {:.0} s ramp; use at \
             least {:.0}",
            ramp.as_secs_f64(),
            (ramp + Duration::from_secs(7)).as_secs_f64().ceil()
        );
        return ExitCode::FAILURE;
    }
    let ticks = clock_ticks();

    let kefu = Kefu::start_with_ports(Some(RTP_PORTS), &[]);
    let kefu_pid = kefu.child.id();
    let work = kefu.data.path().join("bench");
    std::fs::create_dir_all(&work).expect("work dir");
    support::make_caller_speech(&work);
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = rss_kib(kefu_pid);
    let idle_threads = threads(kefu_pid);
    let load_before = load_average();

    let started = Instant::now();
    let mut sipp = start_sipp(&kefu, &work, calls, hold);
    // Steady state: from a second after the last call is up to a second before the first
    // one hangs up.
    let all_up = wait_until(started + ramp + Duration::from_secs(10), || {
        active_calls(&kefu) == Some(calls)
    });
    if !all_up {
        eprintln!(
            "only {:?} of {calls} calls came up; SIPp:\n{}",
            active_calls(&kefu),
            stop(&mut sipp, &work)
        );
        return ExitCode::FAILURE;
    }
    std::thread::sleep(Duration::from_secs(1));
    let window_end = started + hold - Duration::from_secs(1);
    let begin = Sample::take(kefu_pid, sipp.id());
    std::thread::sleep(window_end.saturating_duration_since(Instant::now()));
    let end = Sample::take(kefu_pid, sipp.id());
    let still_up = active_calls(&kefu);
    let steady_rss = rss_kib(kefu_pid);
    let steady_threads = threads(kefu_pid);
    let metrics = kefu
        .http_get("/metrics")
        .map(|(_, m)| m)
        .unwrap_or_default();

    let sipp_ok = sipp.wait().expect("sipp is our child").success();
    let load_after = load_average();
    let invite_to_200 = sipp_response_times(&work);
    let recorded = recordings_bytes(&kefu.data.path().join("recordings"));

    let seconds = end.at.duration_since(begin.at).as_secs_f64();
    let call_seconds = calls as f64 * seconds;
    let kefu_user_s = (end.kefu.user - begin.kefu.user) as f64 / ticks;
    let kefu_system_s = (end.kefu.system - begin.kefu.system) as f64 / ticks;
    let kefu_cpu_us = (kefu_user_s + kefu_system_s) * 1e6;
    let sipp_cpu_us = (end.sipp.total() - begin.sipp.total()) as f64 * 1e6 / ticks;
    let per_call_second = kefu_cpu_us / call_seconds;
    let sipp_per_call_second = sipp_cpu_us / call_seconds;
    let busy = end.machine.busy_share_since(&begin.machine);

    println!();
    println!(
        "kefu capacity — {calls} concurrent PCMU calls, speech in both directions, recording on, \
         {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "optimised (bench profile)"
        }
    );
    println!(
        "steady window            {seconds:.1} s with {calls} calls up (still up at the end: {})",
        still_up.map_or("?".into(), |n| n.to_string())
    );
    println!(
        "kefu CPU                 {:.2} s (user {kefu_user_s:.2}, system {kefu_system_s:.2}) = \
         {per_call_second:.0} µs per call-second → {:.0} calls per core",
        kefu_cpu_us / 1e6,
        1e6 / per_call_second
    );
    println!(
        "SIPp CPU (same calls)    {:.2} s = {sipp_per_call_second:.0} µs per call-second → kefu/SIPp = {:.2}",
        sipp_cpu_us / 1e6,
        kefu_cpu_us / sipp_cpu_us
    );
    match invite_to_200 {
        Some(t) => println!(
            "INVITE→200 at SIPp       p50 {} ms, p95 {} ms, max {} ms ({} calls, 1 ms resolution)",
            t.p50, t.p95, t.max, t.count
        ),
        None => println!("INVITE→200 at SIPp       (no -trace_rtt file)"),
    }
    println!(
        "INVITE→answer in kefu    p50 {}, p95 {}, max {} (/metrics summary)",
        quantile(&metrics, "0.5"),
        quantile(&metrics, "0.95"),
        quantile(&metrics, "1")
    );
    println!(
        "kefu memory              idle {:.1} MiB, steady {:.1} MiB → {:.0} KiB per call; \
         threads {idle_threads} idle, {steady_threads} with every call up",
        idle_rss as f64 / 1024.0,
        steady_rss as f64 / 1024.0,
        (steady_rss as f64 - idle_rss as f64) / calls as f64
    );
    println!(
        "recordings               {:.0} MiB written",
        recorded as f64 / (1024.0 * 1024.0)
    );
    println!(
        "machine                  {} cores, {:.0} % busy during the window (everything, not only \
         kefu and SIPp); load average {load_before} before, {load_after} after",
        num_cores(),
        busy * 100.0
    );
    if !sipp_ok {
        println!(
            "SIPp reported failed calls: the figures above are not valid\n{}",
            tail(&work)
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

fn start_sipp(kefu: &Kefu, work: &Path, calls: usize, hold: Duration) -> Child {
    Command::new("sipp")
        .current_dir(work)
        .arg(kefu.sip.to_string())
        .arg("-sf")
        .arg(Path::new(REPO).join("tests/sipp/uac_load.xml"))
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &support::free_udp_port().to_string()])
        .args(["-mp", &support::free_media_port().to_string(), "-s", "4001"])
        .args(["-r", &CALLS_PER_SECOND.to_string()])
        .args(["-l", &calls.to_string(), "-m", &calls.to_string()])
        .args(["-d", &hold.as_millis().to_string()])
        .args(["-timeout", &format!("{}s", hold.as_secs() * 3 + 60)])
        .args(["-timeout_error", "-nostdin", "-trace_err"])
        .args(["-trace_rtt", "-rtt_freq", "1"])
        .stdout(Stdio::from(
            std::fs::File::create(work.join("sipp.out")).expect("sipp log"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(work.join("sipp.err")).expect("sipp log"),
        ))
        .spawn()
        .expect("sipp is installed (Debian sip-tester)")
}

fn stop(sipp: &mut Child, work: &Path) -> String {
    let _ = sipp.kill();
    let _ = sipp.wait();
    tail(work)
}

fn tail(work: &Path) -> String {
    let mut text = String::new();
    for f in ["sipp.out", "sipp.err"] {
        let t = std::fs::read_to_string(work.join(f)).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        text += &lines[lines.len().saturating_sub(30)..].join("\n");
        text.push('\n');
    }
    text
}

fn wait_until(deadline: Instant, mut ready: impl FnMut() -> bool) -> bool {
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ready()
}

/// The `kefu_active_calls` gauge.
fn active_calls(kefu: &Kefu) -> Option<usize> {
    let (_, metrics) = kefu.http_get("/metrics")?;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("kefu_active_calls "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as usize)
}

/// A quantile of the `kefu_invite_to_answer_seconds` summary, in ms.
fn quantile(metrics: &str, q: &str) -> String {
    let prefix = format!("kefu_invite_to_answer_seconds{{quantile=\"{q}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or("?".into(), |s| format!("{:.2} ms", s * 1000.0))
}

struct ResponseTimes {
    count: usize,
    p50: u64,
    p95: u64,
    max: u64,
}

/// SIPp's `<scenario>_<pid>_rtt.csv`: `Date_ms;response_time_ms;rtd_no` per call.
fn sipp_response_times(work: &Path) -> Option<ResponseTimes> {
    let file = std::fs::read_dir(work)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_rtt.csv"))?;
    let text = std::fs::read_to_string(file).ok()?;
    let mut ms: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split(';').nth(1)?.trim().parse::<f64>().ok())
        .map(|v| v.round() as u64)
        .collect();
    if ms.is_empty() {
        return None;
    }
    ms.sort_unstable();
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    Some(ResponseTimes {
        count: ms.len(),
        p50: at(0.5),
        p95: at(0.95),
        max: *ms.last().expect("not empty"),
    })
}

fn recordings_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// CPU counters at one instant.
struct Sample {
    at: Instant,
    kefu: CpuTicks,
    sipp: CpuTicks,
    machine: MachineTicks,
}

impl Sample {
    fn take(kefu: u32, sipp: u32) -> Sample {
        Sample {
            at: Instant::now(),
            kefu: CpuTicks::of(kefu),
            sipp: CpuTicks::of(sipp),
            machine: MachineTicks::read(),
        }
    }
}

/// CPU time of a process (all its threads), in clock ticks.
struct CpuTicks {
    user: u64,
    system: u64,
}

impl CpuTicks {
    /// utime and stime: fields 14 and 15 of /proc/PID/stat, counted after the parenthesised
    /// command name (which may hold spaces).
    fn of(pid: u32) -> CpuTicks {
        let stat =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process is running");
        let name_end = stat
            .rfind(')')
            .expect("stat has the command in parentheses");
        let fields: Vec<&str> = stat[name_end + 2..].split_whitespace().collect();
        // The fields after the name start at field 3 (state), so field n is at index n - 3.
        CpuTicks {
            user: fields[14 - 3].parse().expect("utime is a number"),
            system: fields[15 - 3].parse().expect("stime is a number"),
        }
    }

    fn total(&self) -> u64 {
        self.user + self.system
    }
}

/// Resident set size from /proc/PID/status, in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn threads(pid: u32) -> u64 {
    status_field(pid, "Threads:")
}

/// A numeric field of /proc/PID/status (units dropped).
fn status_field(pid: u32, name: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process is running");
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
}

/// The machine's CPU time from the `cpu` line of /proc/stat.
struct MachineTicks {
    busy: u64,
    total: u64,
}

impl MachineTicks {
    fn read() -> MachineTicks {
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .expect("cpu line")
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...; idle and iowait are not busy.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
        MachineTicks {
            busy: total - idle,
            total,
        }
    }

    fn busy_share_since(&self, earlier: &MachineTicks) -> f64 {
        let total = self.total.saturating_sub(earlier.total).max(1);
        self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf is installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
