//! `kefu serve` refuses a broken configuration at start, naming the file, the line and the reason,
//! before it answers a single call.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{REPO, free_udp_port};

/// A config folder with `kefu.toml` text and one flow `main.toml`; prompts from the repository.
fn config(dir: &Path, kefu_toml: &str, flow: &str) -> String {
    let sip = dir.join("sip-config");
    std::fs::create_dir_all(sip.join("flows")).expect("config dir");
    std::fs::write(sip.join("kefu.toml"), kefu_toml).expect("kefu.toml");
    std::fs::write(sip.join("dialplan.toml"), "[routes]\n\"*\" = \"main\"\n").expect("dialplan");
    std::fs::write(sip.join("flows/main.toml"), flow).expect("flow");
    std::os::unix::fs::symlink(Path::new(REPO).join("voices"), dir.join("voices")).expect("voices");
    sip.join("kefu.toml").display().to_string()
}

/// Runs `kefu serve` and expects it to exit with an error; returns its stderr.
fn refused(config: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "serve",
            "--config",
            config,
            "--data-dir",
            &dir.path().display().to_string(),
        ])
        .args(["--sip-listen", &format!("127.0.0.1:{}", free_udp_port())])
        .args(["--http-listen", &format!("127.0.0.1:{}", free_udp_port())])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kefu runs");
    for _ in 0..100 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = child.try_wait().expect("wait") else {
        let _ = child.kill();
        panic!("kefu started with a broken configuration");
    };
    assert!(!status.success());
    let out = child.wait_with_output().expect("output");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const GOOD_FLOW: &str = "start = \"hello\"\n\n[nodes.hello]\nkind = \"play\"\nprompt = \"greeting\"\nnext = \"bye\"\n\n[nodes.bye]\nkind = \"hangup\"\n";

#[test]
fn a_flow_pointing_at_an_unknown_node_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = GOOD_FLOW.replace("next = \"bye\"", "next = \"by\"");
    let err = refused(&config(dir.path(), "", &flow));
    assert!(err.contains("flows/main.toml:6: "), "{err}");
    assert!(err.contains("\"by\""), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn a_missing_prompt_is_named_with_the_paths_tried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = GOOD_FLOW.replace("prompt = \"greeting\"", "prompt = \"no-such-prompt\"");
    let err = refused(&config(dir.path(), "", &flow));
    assert!(err.contains("no-such-prompt"), "{err}");
    assert!(err.contains("no-such-prompt.wav"), "the paths tried: {err}");
}

#[test]
fn a_bad_server_setting_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = refused(&config(
        dir.path(),
        "[limits]\nmax_calls = \"many\"\n",
        GOOD_FLOW,
    ));
    assert!(err.contains("kefu.toml:2: "), "{err}");
}
