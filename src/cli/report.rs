//! `kefu report [--since WHEN] [--json]`: how the shop assistant did: calls, bot resolution and
//! handoff rates, top intents, handoffs per queue and the callers' average sentiment.

use std::path::Path;

use anyhow::{Context, bail};
use jiff::{Span, Timestamp, Zoned};

use super::print_line;
use crate::store::{Report, Store};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Only calls started since then: `24h`, `7d`, a date (`2026-11-01`, local midnight) or an
    /// RFC 3339 instant. Default: every call.
    #[arg(long)]
    pub since: Option<String>,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ReportArgs, data_dir: &Path) -> anyhow::Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, &Zoned::now()))
        .transpose()?;
    let store = Store::open(data_dir)
        .await
        .with_context(|| format!("opening {}", data_dir.display()))?;
    let report = store.report(since).await?;
    store.close().await;
    if args.json {
        print_line(serde_json::to_string(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// `24h`, `7d`, `30m`, a civil date in the local zone, or an instant.
fn parse_since(text: &str, now: &Zoned) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if let Some((number, unit)) = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&at| at > 0)
        .map(|at| text.split_at(at))
        && unit.chars().all(|c| c.is_ascii_alphabetic())
        && let Ok(n) = number.parse::<i64>()
    {
        let span = match unit {
            "m" => Span::new().try_minutes(n),
            "h" => Span::new().try_hours(n),
            "d" => Span::new().try_hours(n.saturating_mul(24)),
            _ => bail!("--since {text:?}: the unit must be m, h or d (e.g. 24h, 7d)"),
        }
        .with_context(|| format!("--since {text:?} is too far back"))?;
        return Ok(now.timestamp().checked_sub(span)?);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return Ok(date.to_zoned(now.time_zone().clone())?.timestamp());
    }
    text.parse::<Timestamp>().map_err(|_| {
        anyhow::anyhow!(
            "--since {text:?} is not 24h, 7d, a date (2026-11-01) or an RFC 3339 instant"
        )
    })
}

fn print_table(r: &Report) {
    let percent = |x: f64| format!("{:.0} %", x * 100.0);
    let period = r
        .since
        .as_deref()
        .map_or("all calls".to_string(), |s| format!("calls since {s}"));
    print_line(format!("{period}: {}", r.calls));
    print_line(format!("  with the assistant: {}", r.conversations));
    print_line(format!(
        "  resolved by the bot: {} ({})",
        r.resolved,
        percent(r.resolution_rate)
    ));
    print_line(format!(
        "  handed to a person: {} ({})",
        r.handed_over,
        percent(r.handoff_rate)
    ));
    print_line(format!("  left before an answer: {}", r.abandoned));
    print_line(format!("  average sentiment: {:+.2}", r.average_sentiment));
    if !r.top_intents.is_empty() {
        print_line("top intents:");
        for (intent, n) in r.top_intents.iter().take(10) {
            print_line(format!("  {intent:<18} {n}"));
        }
    }
    if !r.handoffs_by_skill.is_empty() {
        print_line("handoffs by queue:");
        for (skill, n) in &r.handoffs_by_skill {
            print_line(format!("  {skill:<18} {n}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Zoned {
        "2026-11-22T10:00:00+00:00[UTC]"
            .parse()
            .expect("a zoned time")
    }

    #[test]
    fn since_takes_spans_dates_and_instants() {
        let at = |s: &str| parse_since(s, &now()).expect(s).to_string();
        assert_eq!(at("24h"), "2026-11-21T10:00:00Z");
        assert_eq!(at("7d"), "2026-11-15T10:00:00Z");
        assert_eq!(at("30m"), "2026-11-22T09:30:00Z");
        assert_eq!(at("2026-11-01"), "2026-11-01T00:00:00Z");
        assert_eq!(at("2026-11-20T08:00:00Z"), "2026-11-20T08:00:00Z");
    }

    #[test]
    fn a_bad_since_says_what_it_takes() {
        for bad in ["yesterday", "5w", "h", ""] {
            let e = parse_since(bad, &now()).expect_err(bad).to_string();
            assert!(e.contains("--since"), "{bad}: {e}");
        }
    }
}
