//! One dialogue turn without an LLM — classify, extract slots, score sentiment, search the
//! FAQ, answer — with the demo shop plus 10,000 generated FAQ entries (English and Chinese).
//! Target: p95 ≤ 5 ms.
//!
//! `cargo bench --bench dialogue_turn`. Prints p50/p95/max over 2,000 turns of a mixed script
//! (order questions, confirmations, FAQ questions in both languages, misses), then criterion's
//! figures for the two heaviest kinds of turn, and for laying an order from the merchant's
//! live system over the shop.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu::dialogue::assistant::{Conversation, Knowledge};
use kefu::dialogue::understand::intent::Classifier;
use kefu::shop::{FaqEntry, Lang, Shop, demo};

const FAQ_ENTRIES: usize = 10_000;

/// A shop whose FAQ has `FAQ_ENTRIES` entries: the demo's, then generated ones about made-up
/// products and topics, so the index has a realistic vocabulary and realistic posting lists.
fn knowledge() -> Knowledge {
    let mut data = demo::data(demo::ANCHOR);
    let topics = [
        "warranty",
        "cleaning",
        "assembly",
        "batteries",
        "spare parts",
        "colours",
        "sizes",
        "materials",
        "care",
        "delivery",
    ];
    let things = [
        "kettle", "toaster", "blender", "skillet", "knife", "board", "mug", "scale", "candle",
        "blanket", "teapot", "wok", "lamp", "rug", "chair",
    ];
    let zh_topics = [
        "保修", "清洁", "安装", "电池", "配件", "颜色", "尺寸", "材质", "保养", "配送",
    ];
    let zh_things = [
        "水壶",
        "烤面包机",
        "搅拌机",
        "炒锅",
        "菜刀",
        "砧板",
        "杯子",
        "电子秤",
        "蜡烛",
        "毯子",
        "茶壶",
        "台灯",
    ];
    let mut n = 0;
    while data.faq.len() < FAQ_ENTRIES {
        n += 1;
        let (language, questions, answer) = if n % 3 == 0 {
            let t = zh_topics[n % zh_topics.len()];
            let p = zh_things[(n / 7) % zh_things.len()];
            (
                Lang::Zh,
                vec![
                    format!("{p}{n}号的{t}怎么样？"),
                    format!("请问{p}{t}的问题"),
                    format!("{t}：{p}型号{n}"),
                ],
                format!("{p}型号{n}的{t}说明见说明书第{n}页。"),
            )
        } else {
            let t = topics[n % topics.len()];
            let p = things[(n / 7) % things.len()];
            (
                Lang::En,
                vec![
                    format!("What about {t} for the {p} model {n}?"),
                    format!("Tell me about {p} {t}"),
                    format!("{t} of the model {n} {p}"),
                ],
                format!("The {p} model {n} {t} details are on page {n} of its manual."),
            )
        };
        data.faq.push(FaqEntry {
            id: format!("gen-{n}"),
            language,
            questions,
            answer,
            tags: vec![],
        });
    }
    Knowledge::new(Arc::new(Shop::new(data)), Arc::new(Classifier::shipped()))
}

const SCRIPT: [&str; 14] = [
    "where's my parcel",
    "yes",
    "and when will it arrive",
    "I want to return order 10004",
    "it arrived broken",
    "no",
    "how long does shipping take",
    "do you take paypal",
    "what's the warranty on the toaster model 512",
    "我的快递到哪了",
    "发票怎么开",
    "blah blah something odd",
    "is the blue kettle in stock",
    "who owns art 0007",
];

fn percentiles(k: &Knowledge) {
    let today = demo::ANCHOR;
    let mut times = Vec::new();
    let mut conversation = Conversation::new(k, Lang::En, Some("+15551230001"));
    for i in 0..2_000 {
        if i % SCRIPT.len() == 0 {
            conversation = Conversation::new(k, Lang::En, Some("+15551230001"));
        }
        let said = SCRIPT[i % SCRIPT.len()];
        let start = Instant::now();
        black_box(conversation.turn(k, said, today));
        times.push(start.elapsed());
    }
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "dialogue turn, {} FAQ entries, {} turns: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        k.shop.faq().len(),
        times.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
}

fn turns(c: &mut Criterion) {
    let started = Instant::now();
    let k = knowledge();
    println!(
        "built the knowledge (10,000-entry FAQ index, classifier) in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    percentiles(&k);
    let today = demo::ANCHOR;
    c.bench_function("turn: FAQ question (en)", |b| {
        b.iter(|| {
            let mut conversation = Conversation::new(&k, Lang::En, None);
            black_box(conversation.turn(&k, "how long does shipping take", today))
        })
    });
    c.bench_function("turn: order question from a known caller", |b| {
        b.iter(|| {
            let mut conversation = Conversation::new(&k, Lang::En, Some("+15551230001"));
            black_box(conversation.turn(&k, "where's my parcel", today))
        })
    });
    c.bench_function("turn: Chinese FAQ question", |b| {
        b.iter(|| {
            let mut conversation = Conversation::new(&k, Lang::Zh, None);
            black_box(conversation.turn(&k, "发票怎么开", today))
        })
    });
    // With `[merchant]`: what a call pays, besides the HTTP request, for an order the shop lacks.
    let live = kefu::shop::merchant::records(include_str!("../tests/data/merchant-77001.json"))
        .expect("valid records");
    let mut looking = k.with_records(&Default::default());
    looking.lookups.orders = true;
    c.bench_function("merchant order: find the lookup a turn needs", |b| {
        b.iter(|| black_box(looking.lookup_for("where is my order 77001")))
    });
    c.bench_function("merchant order: lay it over the shop", |b| {
        b.iter(|| black_box(k.with_records(&live)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = turns
}
criterion_main!(benches);
