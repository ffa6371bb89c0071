//! `kefu calls list [--json] [--live] [--limit N]` and `kefu calls show ID [--json]`: recent and
//! live calls from the data directory's database, readable while `kefu serve` runs.
//!
//! Tables show times in the local time zone; JSON keeps the stored RFC 3339 UTC strings.

use std::io::Write;
use std::path::Path;

use clap::Subcommand;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::store::{CallRecord, Direction, ListFilter, Store};

/// `kefu calls ...`: mounted in the top-level CLI as `#[command(subcommand)] Calls(CallsCommand)`.
#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// List recent and live calls, newest first.
    List {
        /// Print one JSON array of call records instead of a table.
        #[arg(long)]
        json: bool,
        /// Only calls still in progress.
        #[arg(long)]
        live: bool,
        /// Show at most this many calls.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Show one call with its timeline.
    Show {
        /// Call id, a unique prefix of it, or the SIP Call-ID.
        id: String,
        /// Print the call record as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `kefu calls ...` against `data_dir` and prints the result on stdout.
pub async fn run(cmd: CallsCommand, data_dir: &Path) -> anyhow::Result<()> {
    let store = Store::open_existing(data_dir).await?;
    let output = render(cmd, &store, &TimeZone::system()).await;
    store.close().await;
    let mut output = output?;
    output.push('\n');
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `kefu calls list | head` closing the pipe early is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The text `run` prints, without the final newline.
async fn render(cmd: CallsCommand, store: &Store, tz: &TimeZone) -> anyhow::Result<String> {
    match cmd {
        CallsCommand::List { json, live, limit } => {
            let filter = ListFilter {
                limit,
                live_only: live,
                since: None,
            };
            let calls = store.list_calls(&filter).await?;
            if json {
                Ok(serde_json::to_string_pretty(&calls)?)
            } else if calls.is_empty() {
                Ok(if live {
                    "no live calls"
                } else {
                    "no calls yet"
                }
                .to_owned())
            } else {
                Ok(call_table(&calls, tz))
            }
        }
        CallsCommand::Show { id, json } => {
            let call = store.get_call(&id).await?;
            if json {
                Ok(serde_json::to_string_pretty(&call)?)
            } else {
                Ok(call_detail(&call, tz))
            }
        }
    }
}

/// The `list` table: one row per call, columns padded to their widest cell.
pub fn call_table(calls: &[CallRecord], tz: &TimeZone) -> String {
    let header = [
        "ID", "STARTED", "DIR", "FROM", "TO", "DURATION", "END", "CODEC", "DIGITS",
    ];
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|call| {
            vec![
                call.id.clone(),
                local_time(&call.started_at, tz, "%Y-%m-%d %H:%M:%S"),
                direction_short(call).to_owned(),
                compact_uri(&call.from),
                compact_uri(&call.to),
                duration_or_live(call),
                or_dash(call.end_cause.as_deref()),
                or_dash(call.codec.as_deref()),
                or_dash(Some(call.digits.as_str())),
            ]
        })
        .collect();
    aligned(&header, &rows)
}

/// The `show` view: the call's fields, then its timeline with offsets from the start.
pub fn call_detail(call: &CallRecord, tz: &TimeZone) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("call", call.id.clone()),
        ("sip call-id", call.sip_call_id.clone()),
        ("direction", call.direction.as_str().to_owned()),
        ("from", call.from.clone()),
        ("to", call.to.clone()),
        ("node", call.node.clone()),
        (
            "started",
            local_time(&call.started_at, tz, "%Y-%m-%d %H:%M:%S%.3f %:z"),
        ),
        ("duration", duration_or_live(call)),
        ("end", or_dash(call.end_cause.as_deref())),
        ("codec", or_dash(call.codec.as_deref())),
        ("digits", or_dash(Some(call.digits.as_str()))),
    ];
    if !call.flow_path.is_empty() {
        fields.push(("flow", call.flow_path.join(" > ")));
    }
    if let Some(recording) = &call.recording {
        fields.push(("recording", recording.clone()));
    }
    if !call.intents.is_empty() {
        fields.push(("intents", call.intents.join(", ")));
    }
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in &fields {
        out.push_str(&format!("{name:<width$}  {value}\n"));
    }
    out.push_str("\ntimeline\n");
    let start = call.started_at.parse::<Timestamp>().ok();
    let rows: Vec<Vec<String>> = call
        .timeline()
        .into_iter()
        .map(|event| {
            let offset = match (start, event.at.parse::<Timestamp>()) {
                (Some(start), Ok(at)) => offset(at.as_millisecond() - start.as_millisecond()),
                _ => event.at.clone(),
            };
            vec![format!("  {offset}"), event.kind, event.detail]
        })
        .collect();
    out.push_str(&aligned_rows(&rows));
    out
}

/// Pads every column but the last to its widest cell, two spaces apart, header first.
fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut all = Vec::with_capacity(rows.len() + 1);
    all.push(header.iter().map(|h| (*h).to_owned()).collect());
    all.extend(rows.iter().cloned());
    aligned_rows(&all)
}

fn aligned_rows(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = widths[c].saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        lines.push(line.trim_end().to_owned());
    }
    lines.join("\n")
}

/// A stored UTC timestamp in `tz`, or the stored text if it does not parse.
fn local_time(stored: &str, tz: &TimeZone, format: &str) -> String {
    let Ok(at) = stored.parse::<Timestamp>() else {
        return stored.to_owned();
    };
    jiff::fmt::strtime::format(format, &at.to_zoned(tz.clone()))
        .unwrap_or_else(|_| stored.to_owned())
}

fn direction_short(call: &CallRecord) -> &'static str {
    match call.direction {
        Direction::Inbound => "in",
        Direction::Outbound => "out",
    }
}

/// `sip:+8613800000000@carrier.example;user=phone` -> `+8613800000000@carrier.example`:
/// drops a display name, angle brackets, the scheme and parameters, and shortens to 32 chars.
pub fn compact_uri(uri: &str) -> String {
    const MAX: usize = 32;
    let inner = match (uri.find('<'), uri.rfind('>')) {
        (Some(open), Some(close)) if open < close => &uri[open + 1..close],
        _ => uri,
    };
    let bare = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|scheme| inner.strip_prefix(scheme))
        .unwrap_or(inner);
    let bare = bare.split(';').next().unwrap_or(bare);
    if bare.chars().count() <= MAX {
        bare.to_owned()
    } else {
        let mut short: String = bare.chars().take(MAX - 1).collect();
        short.push('…');
        short
    }
}

/// `m:ss` (or `h:mm:ss`) from start to end, `live` while the call runs.
fn duration_or_live(call: &CallRecord) -> String {
    let Some(ended) = &call.ended_at else {
        return "live".to_owned();
    };
    match (
        call.started_at.parse::<Timestamp>(),
        ended.parse::<Timestamp>(),
    ) {
        (Ok(start), Ok(end)) => duration((end.as_millisecond() - start.as_millisecond()) / 1000),
        _ => "?".to_owned(),
    }
}

/// Whole seconds as `m:ss`, or `h:mm:ss` from an hour on.
pub fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    if s >= 3600 {
        format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{sign}{}:{:02}", s / 60, s % 60)
    }
}

/// Milliseconds from the call's start as `+m:ss.mmm` (or `+h:mm:ss.mmm`).
pub fn offset(millis: i64) -> String {
    let sign = if millis < 0 { '-' } else { '+' };
    let ms = millis.unsigned_abs();
    let s = ms / 1000;
    if s >= 3600 {
        format!(
            "{sign}{}:{:02}:{:02}.{:03}",
            s / 3600,
            s / 60 % 60,
            s % 60,
            ms % 1000
        )
    } else {
        format!("{sign}{}:{:02}.{:03}", s / 60, s % 60, ms % 1000)
    }
}

fn or_dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::store::{CallEvent, NewCall};

    fn ended_call() -> CallRecord {
        CallRecord {
            id: "7f3a9c01".into(),
            sip_call_id: "a84b4c76e66710@carrier.example".into(),
            direction: Direction::Inbound,
            from: "\"Alice\" <sip:+8613800000000@carrier.example;user=phone>".into(),
            to: "sip:400100@kefu.example".into(),
            started_at: "2026-11-21T09:00:00.000Z".into(),
            answered_at: Some("2026-11-21T09:00:00.820Z".into()),
            ended_at: Some("2026-11-21T09:02:05.400Z".into()),
            end_cause: Some("caller.hangup".into()),
            codec: Some("PCMU".into()),
            digits: "2#".into(),
            flow_path: vec!["hotline".into(), "menu".into(), "order".into()],
            recording: Some("data/recordings/7f3a9c01.wav".into()),
            node: "local".into(),
            events: vec![
                CallEvent {
                    at: "2026-11-21T09:00:00.820Z".into(),
                    kind: "node".into(),
                    detail: "menu".into(),
                },
                CallEvent {
                    at: "2026-11-21T09:00:06.250Z".into(),
                    kind: "digit".into(),
                    detail: "2".into(),
                },
                CallEvent {
                    at: "2026-11-21T09:01:10.000Z".into(),
                    kind: "transfer".into(),
                    detail: "sip:agent@pbx".into(),
                },
            ],
            transcript: vec![],
            intents: vec![],
        }
    }

    fn live_call() -> CallRecord {
        CallRecord {
            id: "b2".into(),
            sip_call_id: "x@y".into(),
            direction: Direction::Outbound,
            from: "sip:kefu@kefu.example".into(),
            to: "tel:+8613912345678".into(),
            started_at: "2026-11-21T09:05:00.000Z".into(),
            answered_at: None,
            ended_at: None,
            end_cause: None,
            codec: None,
            digits: String::new(),
            flow_path: Vec::new(),
            recording: None,
            node: "local".into(),
            events: Vec::new(),
            transcript: vec![],
            intents: vec![],
        }
    }

    #[test]
    fn table_aligns_columns_and_marks_live_calls() {
        let table = call_table(&[live_call(), ended_call()], &TimeZone::UTC);
        let expected = "\
ID        STARTED              DIR  FROM                            TO                   DURATION  END            CODEC  DIGITS
b2        2026-11-21 09:05:00  out  kefu@kefu.example               +8613912345678       live      -              -      -
7f3a9c01  2026-11-21 09:00:00  in   +8613800000000@carrier.example  400100@kefu.example  2:05      caller.hangup  PCMU   2#";
        assert_eq!(table, expected);
    }

    #[test]
    fn table_uses_the_given_time_zone() {
        let shanghai = TimeZone::fixed(jiff::tz::offset(8));
        let table = call_table(&[live_call()], &shanghai);
        assert!(table.contains("2026-11-21 17:05:00"), "{table}");
    }

    #[test]
    fn detail_lists_fields_then_the_timeline() {
        let detail = call_detail(&ended_call(), &TimeZone::UTC);
        let expected = "\
call         7f3a9c01
sip call-id  a84b4c76e66710@carrier.example
direction    inbound
from         \"Alice\" <sip:+8613800000000@carrier.example;user=phone>
to           sip:400100@kefu.example
node         local
started      2026-11-21 09:00:00.000 +00:00
duration     2:05
end          caller.hangup
codec        PCMU
digits       2#
flow         hotline > menu > order
recording    data/recordings/7f3a9c01.wav

timeline
  +0:00.000  started
  +0:00.820  answered  PCMU
  +0:00.820  node      menu
  +0:06.250  digit     2
  +1:10.000  transfer  sip:agent@pbx
  +2:05.400  ended     caller.hangup";
        assert_eq!(detail, expected);
    }

    #[test]
    fn detail_of_a_live_call() {
        let detail = call_detail(&live_call(), &TimeZone::UTC);
        assert!(detail.contains("duration     live\n"), "{detail}");
        assert!(!detail.contains("flow"), "{detail}");
        assert!(
            detail.ends_with("timeline\n  +0:00.000  started"),
            "{detail}"
        );
    }

    #[test]
    fn compact_uris() {
        assert_eq!(compact_uri("sip:alice@example.com"), "alice@example.com");
        assert_eq!(
            compact_uri("sips:bob@example.com;transport=tls"),
            "bob@example.com"
        );
        assert_eq!(compact_uri("<sip:100@kefu>;tag=abc"), "100@kefu");
        assert_eq!(compact_uri("tel:+861234"), "+861234");
        assert_eq!(compact_uri("anonymous"), "anonymous");
        assert_eq!(compact_uri(""), "");
        assert_eq!(compact_uri(">odd<"), ">odd<");
        let long = compact_uri("sip:a-very-long-user-name-indeed@a-very-long-host.example");
        assert_eq!(long.chars().count(), 32);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn durations_and_offsets() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(65), "1:05");
        assert_eq!(duration(3_600), "1:00:00");
        assert_eq!(duration(-5), "-0:05");
        assert_eq!(offset(0), "+0:00.000");
        assert_eq!(offset(6_250), "+0:06.250");
        assert_eq!(offset(3_723_004), "+1:02:03.004");
        assert_eq!(offset(-100), "-0:00.100");
        assert_eq!(duration(i64::MIN), "-2562047788015215:30:08");
    }

    #[test]
    fn unparsable_times_are_shown_as_stored() {
        let mut odd = ended_call();
        odd.started_at = "yesterday".into();
        let table = call_table(&[odd.clone()], &TimeZone::UTC);
        assert!(table.contains("yesterday"), "{table}");
        assert!(table.contains("  ?  "), "{table}");
        let detail = call_detail(&odd, &TimeZone::UTC);
        let first = detail
            .lines()
            .find(|l| l.contains("started") && l.starts_with("  "));
        let first = first.expect("the timeline has a start line");
        assert!(first.starts_with("  yesterday "), "{detail}");
        assert!(
            detail.contains("  2026-11-21T09:00:06.250Z  digit"),
            "{detail}"
        );
    }

    #[derive(Debug, Parser)]
    struct Kefu {
        #[command(subcommand)]
        command: Top,
    }

    /// Mounted as `src/main.rs` mounts it.
    #[derive(Debug, Subcommand)]
    enum Top {
        #[command(subcommand)]
        Calls(CallsCommand),
    }

    fn parse(args: &[&str]) -> Result<CallsCommand, clap::Error> {
        let Top::Calls(cmd) = Kefu::try_parse_from(args)?.command;
        Ok(cmd)
    }

    #[test]
    fn parses_the_documented_command_lines() {
        let list = parse(&["kefu", "calls", "list", "--json", "--live", "--limit", "5"]).unwrap();
        assert!(matches!(
            list,
            CallsCommand::List {
                json: true,
                live: true,
                limit: 5
            }
        ));
        let default = parse(&["kefu", "calls", "list"]).unwrap();
        assert!(matches!(
            default,
            CallsCommand::List {
                json: false,
                live: false,
                limit: 50
            }
        ));
        let show = parse(&["kefu", "calls", "show", "7f3a", "--json"]).unwrap();
        assert!(matches!(show, CallsCommand::Show { id, json: true } if id == "7f3a"));
        assert!(parse(&["kefu", "calls", "list", "--limit", "0"]).is_err());
        assert!(parse(&["kefu", "calls", "show"]).is_err());
    }

    #[tokio::test]
    async fn run_without_a_database_fails_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let cmd = CallsCommand::List {
            json: false,
            live: false,
            limit: 10,
        };
        let err = run(cmd, dir.path()).await.unwrap_err();
        let message = format!("{err:#}");
        assert!(message.starts_with("no call records in "), "{message}");
        assert!(!message.contains('\n'));
    }

    #[tokio::test]
    async fn render_reads_the_real_store() {
        let dir = tempfile::tempdir().unwrap();
        let server = Store::open(dir.path()).await.unwrap();
        let reader = Store::open_existing(dir.path()).await.unwrap();
        let list = || CallsCommand::List {
            json: false,
            live: false,
            limit: 10,
        };
        assert_eq!(
            render(list(), &reader, &TimeZone::UTC).await.unwrap(),
            "no calls yet"
        );

        let start = Timestamp::from_millisecond(1_795_251_600_000).unwrap();
        server
            .insert_call(&NewCall {
                id: "7f3a9c01".into(),
                sip_call_id: "sip-1".into(),
                direction: Direction::Inbound,
                from: "sip:alice@example.com".into(),
                to: "sip:100@kefu".into(),
                started_at: start,
            })
            .await
            .unwrap();
        let table = render(list(), &reader, &TimeZone::UTC).await.unwrap();
        assert_eq!(table.lines().count(), 2, "{table}");
        assert!(table.lines().nth(1).unwrap().contains("live"), "{table}");

        let json = CallsCommand::List {
            json: true,
            live: true,
            limit: 10,
        };
        let text = render(json, &reader, &TimeZone::UTC).await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value[0]["id"], "7f3a9c01");
        assert!(value[0]["ended_at"].is_null());

        let show = CallsCommand::Show {
            id: "7f3".into(),
            json: true,
        };
        let text = render(show, &reader, &TimeZone::UTC).await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object());
        assert_eq!(value["from"], "sip:alice@example.com");

        let missing = CallsCommand::Show {
            id: "nope".into(),
            json: false,
        };
        let err = render(missing, &reader, &TimeZone::UTC).await.unwrap_err();
        assert_eq!(format!("{err:#}"), "no call nope");
    }
}
