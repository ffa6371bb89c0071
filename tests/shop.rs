//! `kefu shop` and `kefu chat` through the built binary, against a real SQLite data directory.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::HttpStub;

fn kefu(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_new_data_dir_has_the_demo_shop() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = kefu(dir.path(), &["shop", "list", "orders"], "");
    assert!(ok, "{err}");
    assert!(out.contains("10023") && out.contains("shipped"), "{out}");
    let (ok, out, _) = kefu(dir.path(), &["shop", "list", "faq", "--json"], "");
    assert!(ok);
    let faq: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(faq.as_array().unwrap().len() >= 40);
}

#[test]
fn an_import_names_each_bad_line_and_keeps_the_good_ones_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("faq.csv");
    std::fs::write(
        &file,
        "id,language,questions,answer,tags\n\
         faq-900,en,Do you sell replacement lids? | Can I buy a spare lid,Yes. Spare lids for every kettle cost 6 dollars.,parts\n\
         faq-901,xx,Bad language?,No.,\n\
         faq-902,en,,No question.,\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, out, err) = kefu(
        dir.path(),
        &["shop", "import", path, "--all-or-nothing"],
        "",
    );
    assert!(!ok);
    assert!(
        err.contains("faq.csv:line 3: unknown variant `xx`"),
        "{err}"
    );
    assert!(
        err.contains("faq.csv:line 4: missing field `questions`"),
        "{err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
    assert!(out.is_empty());

    // The chat does not know it yet...
    let (_, before, _) = kefu(
        dir.path(),
        &["chat", "--json"],
        "can I buy a spare lid for the kettle\n",
    );
    assert!(!before.contains("6 dollars"), "{before}");
    let (ok, out, err) = kefu(dir.path(), &["shop", "import", path], "");
    assert!(ok, "{err}");
    assert!(
        out.contains("imported 1 faq") && out.contains("skipped 2 bad line(s)"),
        "{out}"
    );
    // ...and answers from it after the import.
    let (ok, after, err) = kefu(
        dir.path(),
        &["chat", "--json"],
        "can I buy a spare lid for the kettle\n",
    );
    assert!(ok, "{err}");
    let turn: serde_json::Value = serde_json::from_str(after.lines().next().unwrap()).unwrap();
    assert!(
        turn["reply"].as_str().unwrap().contains("6 dollars"),
        "{turn}"
    );
}

#[test]
fn chat_is_scriptable_one_json_object_per_turn_and_changes_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_, orders, _) = kefu(dir.path(), &["shop", "list", "orders", "--json"], "");
    let orders: serde_json::Value = serde_json::from_str(&orders).unwrap();
    let open = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "paid" && o["currency"] == "USD")
        .unwrap()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let script = format!("I'd like to cancel order {open}\nyes\n");
    let (ok, out, err) = kefu(dir.path(), &["chat", "--json"], &script);
    assert!(ok, "{err}");
    let turns: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(turns.len(), 2, "{out}");
    for key in ["reply", "intent", "slots", "actions", "sentiment"] {
        assert!(turns[0].get(key).is_some(), "{key} missing: {}", turns[0]);
    }
    assert_eq!(turns[0]["intent"], "cancel_order");
    assert_eq!(turns[0]["slots"]["order_number"], open.as_str());
    assert!(
        turns[1]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "cancel_order")
    );
    let (_, after, _) = kefu(dir.path(), &["shop", "list", "orders", "--json"], "");
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    let order = after
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["number"] == open.as_str())
        .unwrap();
    assert_eq!(order["status"], "cancelled");
}

#[test]
fn chat_looks_up_what_the_shop_lacks_in_the_merchants_system() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kefu.toml");
    let write_config = |base: &str| {
        std::fs::write(
            &config,
            format!(
                "[merchant]\norder_url = \"{base}/orders/{{order}}\"\ncustomer_url = \"{base}/customers?phone={{phone}}\"\ntimeout_ms = 1000\n"
            ),
        )
        .unwrap();
    };
    let records = include_str!("data/merchant-77001.json");
    let api = HttpStub::start(&[
        ("/orders/77001", records),
        ("/customers?phone=%2B15559990000", records),
    ]);
    write_config(&api.url);
    let config_arg = config.to_str().unwrap();
    let (ok, out, err) = kefu(
        dir.path(),
        &["chat", "--config", config_arg],
        "where is order 77001\nand order 12345\n",
    );
    assert!(ok, "{err}");
    let replies: Vec<&str> = out.lines().collect();
    assert!(
        replies[0].contains("77001") && replies[0].contains("shipped"),
        "{out}"
    );
    assert!(replies[1].contains("can't find order 12345"), "{out}");

    // The caller is recognised by their number from the merchant's customers.
    let (ok, out, err) = kefu(
        dir.path(),
        &[
            "chat",
            "--json",
            "--config",
            config_arg,
            "--from",
            "+15559990000",
        ],
        "where is my order\n",
    );
    assert!(ok, "{err}");
    let turn: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(turn["reply"].as_str().unwrap().contains("Kettle"), "{turn}");

    // The system does not answer: an apology, a handoff, and the failure named on stderr.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    write_config(&base);
    let (ok, out, err) = kefu(
        dir.path(),
        &["chat", "--json", "--config", config_arg],
        "where is order 77001\n",
    );
    assert!(ok, "{err}");
    let turn: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(
        turn["reply"].as_str().unwrap().contains("order system"),
        "{turn}"
    );
    assert!(
        turn["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "transfer" && a["summary"].as_str().unwrap().contains("77001")),
        "{turn}"
    );
    assert!(err.contains(&format!("{base}/orders/77001")), "{err}");
}

/// An OpenAI-compatible chat answer whose message is `content`.
fn completion(content: &str) -> String {
    serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
        .to_string()
}

#[test]
fn chat_says_a_language_models_rephrasing_only_when_it_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kefu.toml");
    let run = |content: Option<&str>| {
        let answer = content.map(completion).unwrap_or_default();
        let stub = HttpStub::start(&[("/v1/chat/completions", answer.as_str())]);
        let base = match content {
            Some(_) => format!("{}/v1", stub.url),
            None => format!("{}/down", stub.url),
        };
        std::fs::write(
            &config,
            format!("[llm]\nurl = \"{base}\"\nmodel = \"qwen-small\"\ntimeout_ms = 2000\n"),
        )
        .unwrap();
        let (ok, out, err) = kefu(
            dir.path(),
            &["chat", "--config", config.to_str().unwrap()],
            "where is my order\nit's 10023\n",
        );
        assert!(ok, "{err}");
        (out, err, stub.requests())
    };

    let (out, err, requests) = run(Some("Good news: order 10023 is on its way with UPS."));
    let replies: Vec<&str> = out.lines().collect();
    // A question waiting for an answer keeps its words: the model is asked once.
    assert!(replies[0].contains("order number"), "{out}");
    assert_eq!(
        replies[1], "Good news: order 10023 is on its way with UPS.",
        "{err}"
    );
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body: serde_json::Value = serde_json::from_str(&requests[0].1).unwrap();
    assert_eq!(body["model"], "qwen-small");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("10023"),
        "{body}"
    );

    // A rephrasing that invents a carrier, and a model that is not there: the reply as written.
    let (plain, _, _) = run(None);
    let plain = plain.lines().nth(1).unwrap().to_owned();
    assert!(plain.contains("10023") && plain.contains("UPS"), "{plain}");
    let (out, err, _) = run(Some("Order 10023 is on its way with FedEx."));
    assert_eq!(out.lines().nth(1).unwrap(), plain);
    assert!(
        err.contains("rephrasing rejected") && err.contains("fedex"),
        "{err}"
    );
}
