//! `kefu shop list orders|customers|faq|collectibles [--json]` and
//! `kefu shop import FILE [--kind K] [--all-or-nothing]`.
//!
//! An import checks every line first and names each bad one (line number and reason); the
//! good ones go in one transaction, or, with `--all-or-nothing`, nothing goes in when any line
//! is bad. A running server sees the change on its next turn.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};

use super::print_line;
use crate::shop::Shop;
use crate::shop::import::{Format, Kind, check_references, parse};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum ShopCommand {
    /// Show what the shop knows.
    List {
        what: Listing,
        /// One JSON array of records.
        #[arg(long)]
        json: bool,
    },
    /// Import a CSV, JSON or JSON Lines file of one kind of record (named by the file,
    /// e.g. orders.csv, or by --kind).
    Import {
        file: PathBuf,
        /// customers, products, orders, shipments, returns, policy, faq, promotions, collectibles.
        #[arg(long)]
        kind: Option<String>,
        /// Import nothing when any line is bad (default: import the good lines).
        #[arg(long)]
        all_or_nothing: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Listing {
    Orders,
    Customers,
    Faq,
    Collectibles,
    Products,
}

pub async fn run(cmd: ShopCommand, data_dir: &Path) -> anyhow::Result<()> {
    let store = Store::open(data_dir).await?;
    store.seed_demo_shop(jiff::Zoned::now().date()).await?;
    let result = match cmd {
        ShopCommand::List { what, json } => list(&store, what, json).await,
        ShopCommand::Import {
            file,
            kind,
            all_or_nothing,
        } => import(&store, &file, kind.as_deref(), all_or_nothing).await,
    };
    store.close().await;
    result
}

async fn list(store: &Store, what: Listing, json: bool) -> anyhow::Result<()> {
    let (_, data) = store.load_shop().await?;
    let shop = Shop::new(data);
    let data = shop.data();
    if json {
        let value = match what {
            Listing::Orders => serde_json::to_value(&data.orders),
            Listing::Customers => serde_json::to_value(&data.customers),
            Listing::Faq => serde_json::to_value(&data.faq),
            Listing::Collectibles => serde_json::to_value(&data.collectibles),
            Listing::Products => serde_json::to_value(&data.products),
        }?;
        print_line(value);
        return Ok(());
    }
    match what {
        Listing::Orders => {
            print_line(format!(
                "{:<8} {:<6} {:<10} {:<10} {:>10}  ITEMS",
                "NUMBER", "CUST", "STATUS", "PLACED", "TOTAL"
            ));
            for o in &data.orders {
                let items: Vec<String> = o
                    .items
                    .iter()
                    .map(|i| format!("{} x{}", i.sku, i.quantity))
                    .collect();
                print_line(format!(
                    "{:<8} {:<6} {:<10} {:<10} {:>10}  {}",
                    o.number,
                    o.customer_id,
                    o.status.as_str(),
                    o.placed_at,
                    format!("{} {}", o.total, o.currency),
                    items.join(", ")
                ));
            }
        }
        Listing::Customers => {
            print_line(format!("{:<6} {:<16} {:<4} NAME", "ID", "PHONE", "LANG"));
            for c in &data.customers {
                print_line(format!(
                    "{:<6} {:<16} {:<4} {}",
                    c.id,
                    c.phone,
                    c.language.code(),
                    c.name
                ));
            }
        }
        Listing::Faq => {
            print_line(format!("{:<10} {:<4} QUESTION", "ID", "LANG"));
            for f in &data.faq {
                print_line(format!(
                    "{:<10} {:<4} {}",
                    f.id,
                    f.language.code(),
                    f.questions.first().map(String::as_str).unwrap_or("")
                ));
            }
        }
        Listing::Collectibles => {
            print_line(format!(
                "{:<10} {:<6} {:<7} {:<9} NAME",
                "ASSET", "OWNER", "RESALE", "TRANSFERS"
            ));
            for c in &data.collectibles {
                print_line(format!(
                    "{:<10} {:<6} {:<7} {:<9} {}",
                    c.asset_id,
                    c.owner_customer_id,
                    if c.resale_allowed { "yes" } else { "no" },
                    c.transfers.len(),
                    c.name
                ));
            }
        }
        Listing::Products => {
            print_line(format!(
                "{:<12} {:>12} {:>6}  NAME",
                "SKU", "PRICE", "STOCK"
            ));
            for p in &data.products {
                print_line(format!(
                    "{:<12} {:>12} {:>6}  {}",
                    p.sku,
                    format!("{} {}", p.price, p.currency),
                    p.stock,
                    p.name
                ));
            }
        }
    }
    Ok(())
}

async fn import(
    store: &Store,
    file: &Path,
    kind: Option<&str>,
    all_or_nothing: bool,
) -> anyhow::Result<()> {
    let kind = match kind {
        Some(name) => Kind::parse(name)
            .with_context(|| format!("unknown kind {name} (one of: {})", kind_names()))?,
        None => Kind::of_file(file).with_context(|| {
            format!(
                "cannot tell what {} holds from its name; pass --kind ({})",
                file.display(),
                kind_names()
            )
        })?,
    };
    let format = Format::of_file(file)
        .with_context(|| format!("{}: not .csv, .json or .jsonl", file.display()))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut parsed = parse(kind, format, &text);
    let (_, existing) = store.load_shop().await?;
    check_references(&mut parsed, &Shop::new(existing));
    for error in &parsed.errors {
        eprintln!("{}:{error}", file.display());
    }
    let bad = parsed.errors.len();
    if bad > 0 && all_or_nothing {
        bail!(
            "{bad} bad line(s) in {}; nothing imported (--all-or-nothing)",
            file.display()
        );
    }
    let written = store.import_shop(&parsed.data).await?;
    print_line(format!(
        "imported {written} {} from {}{}",
        kind.name(),
        file.display(),
        if bad > 0 {
            format!("; skipped {bad} bad line(s)")
        } else {
            String::new()
        }
    ));
    if bad > 0 && written == 0 {
        bail!("no good lines in {}", file.display());
    }
    Ok(())
}

fn kind_names() -> String {
    Kind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}
