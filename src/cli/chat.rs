//! `kefu chat [--lang en|zh] [--from PHONE] [--debug] [--json]`: talk to the shop assistant by
//! typing, one turn per line on stdin, one reply per line on stdout.
//!
//! It uses the data directory's shop (the demo shop on a new one), carries out what the
//! assistant decides (a cancelled order, a new return) in that database like a call would, and
//! reloads the shop when another process imports into it, so FAQ changes reach the next turn.
//! With a `[merchant]` section in kefu.toml it looks orders and the caller up in the
//! merchant's live system as a call does, and with `[llm]` has plain answers rephrased.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::print_line;
use crate::config::Config;
use crate::dialogue::assistant::{Conversation, Turn, phrasing};
use crate::runtime::llm::{self, Llm};
use crate::runtime::server::merchant_api;
use crate::runtime::shop::LiveShop;
use crate::shop::Lang;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The language the assistant starts in (it follows the caller's after).
    #[arg(long, default_value = "en", value_parser = ["en", "zh"])]
    pub lang: String,
    /// The caller's phone number: a known customer is recognised by it.
    #[arg(long)]
    pub from: Option<String>,
    /// After each reply, show the intent, scores, slots, sentiment and actions.
    #[arg(long)]
    pub debug: bool,
    /// One JSON object per turn: {"reply", "intent", "slots", "actions", "sentiment"}.
    #[arg(long)]
    pub json: bool,
    /// kefu.toml, for its `[merchant]` and `[llm]` sections (default: sip-config/kefu.toml if
    /// present).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub async fn run(args: ChatArgs, data_dir: &Path) -> anyhow::Result<()> {
    let today = jiff::Zoned::now().date();
    let config = Config::server_only(args.config.as_deref())?;
    let llm = Llm::from_config(&config.llm);
    let mut shop = LiveShop::open(
        data_dir,
        today,
        merchant_api(&config.merchant),
        llm.is_some(),
    )
    .await
    .context("opening the shop")?;
    let lang = Lang::parse(&args.lang).unwrap_or(Lang::En);
    if let Some(lookup) = shop.knowledge.lookup_caller(args.from.as_deref())
        && let Err(e) = shop.look_up(lookup).await
    {
        eprintln!("kefu chat: the caller could not be looked up: {e}");
    }
    let mut conversation = Conversation::new(&shop.knowledge, lang, args.from.as_deref());
    let stdin = std::io::stdin();
    if stdin.is_terminal() && !args.json {
        eprintln!("kefu chat: type as a caller; an empty line or Ctrl-D ends the chat.");
        eprintln!("{}", conversation.greeting(&shop.knowledge));
    }
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        let said = line.trim();
        if said.is_empty() {
            if stdin.is_terminal() {
                break;
            }
            continue;
        }
        shop.refresh().await?;
        let turn = match shop.knowledge.lookup_for(said) {
            Some(lookup) => match shop.look_up(lookup).await {
                Ok(()) => conversation.turn(&shop.knowledge, said, today),
                Err(e) => {
                    eprintln!("kefu chat: {e}");
                    conversation.turn_without_records(&shop.knowledge, said, today)
                }
            },
            None => conversation.turn(&shop.knowledge, said, today),
        };
        let mut reply = turn.reply.clone();
        if !shop.apply(&turn, today).await {
            reply = conversation.action_failed();
        } else if let Some(llm) = &llm
            && let Some(request) = phrasing::request(&turn, said)
        {
            match llm::phrase(llm.clone(), request).await {
                Ok(text) => reply = text,
                Err(why) => eprintln!("kefu chat: reply said as written: {why}"),
            }
        }
        if args.json {
            print_line(json!({
                "reply": reply,
                "intent": turn.intent,
                "slots": turn.slots,
                "actions": turn.actions,
                "sentiment": turn.sentiment,
                "lang": turn.lang,
                "confidence": turn.confidence,
            }));
        } else {
            print_line(&reply);
        }
        if args.debug {
            debug(&turn);
        }
        if turn.hangs_up() || turn.transfer().is_some() {
            break;
        }
    }
    shop.close().await;
    Ok(())
}

/// What the assistant made of a turn, on stderr so stdout stays one reply per line.
fn debug(turn: &Turn) {
    let scores: Vec<String> = turn
        .scores
        .iter()
        .map(|s| format!("{} {:.2}", s.intent, s.score))
        .collect();
    eprintln!("  intent: {} ({})", turn.intent, scores.join(", "));
    eprintln!("  slots: {:?}", turn.slots.to_map());
    if let Some((id, score)) = &turn.faq {
        eprintln!("  faq: {id} {score:.2}");
    }
    eprintln!(
        "  sentiment: {:+.2}, frustration {:.2}",
        turn.sentiment, turn.frustration
    );
    let actions: Vec<String> = turn
        .actions
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    eprintln!("  actions: {}", actions.join(" "));
}
