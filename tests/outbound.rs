//! Calls leaving kefu: an outbound INVITE through a configured trunk with digest authentication
//! (SIPp plays the carrier, challenges kefu and checks its answer), and a blind transfer by REFER.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Kefu, REPO, RtpPeer, free_udp_port, newest_call, sipp};

/// A config folder of its own: the trunk in kefu.toml, one flow that transfers at once (by
/// REFER when `refer`).
fn config(dir: &Path, trunk_port: u16, refer: bool) -> String {
    let sip = dir.join("sip-config");
    std::fs::create_dir_all(sip.join("flows")).expect("config dir");
    std::fs::write(
        sip.join("kefu.toml"),
        format!(
            "[[trunks]]\nname = \"carrier\"\nproxy = \"sip:127.0.0.1:{trunk_port}\"\n\
             username = \"shop\"\npassword = \"s3cret\"\nfrom_user = \"+15557654321\"\n"
        ),
    )
    .expect("kefu.toml");
    std::fs::write(sip.join("dialplan.toml"), "[routes]\n\"*\" = \"out\"\n").expect("dialplan");
    std::fs::write(
        sip.join("flows/out.toml"),
        format!(
            "start = \"connect\"\n\n[nodes.connect]\nkind = \"transfer\"\n\
             target = \"sip:+15550001111@127.0.0.1:{trunk_port}\"\ntimeout_ms = 10000\n\
             refer = {refer}\non_failure = \"bye\"\n\n[nodes.bye]\nkind = \"hangup\"\ncause = \"flow.hangup\"\n"
        ),
    )
    .expect("flow");
    std::os::unix::fs::symlink(Path::new(REPO).join("voices"), dir.join("voices")).expect("voices");
    sip.join("kefu.toml").display().to_string()
}

#[test]
fn transfer_to_a_number_goes_out_through_the_trunk_with_digest_auth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trunk_port = free_udp_port();
    let config = config(dir.path(), trunk_port, false);
    let kefu = Kefu::start_with(&["--config", &config]);
    let scenario = format!("{REPO}/tests/sipp/uas_trunk_auth.xml");
    let trunk = std::process::Command::new("sipp")
        .args([
            "-sf",
            &scenario,
            "-i",
            "127.0.0.1",
            "-p",
            &trunk_port.to_string(),
        ])
        .args([
            "-mp",
            &free_udp_port().to_string(),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sipp runs");
    std::thread::sleep(Duration::from_millis(300));

    let peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let keys = [
        ("rtp_port", port.as_str()),
        ("codec_pt", "0"),
        ("codec_name", "PCMU/8000"),
        ("te_pt", "101"),
    ];
    let (ok, out) = sipp(&kefu, "uac_call.xml", &keys, &["-d", "4000"]);
    assert!(ok, "caller: {out}\n{}", kefu.log_text());

    let trunk = trunk.wait_with_output().expect("trunk sipp ends");
    assert!(
        trunk.status.success(),
        "the trunk refused kefu's digest or saw no BYE:\n{}\n{}",
        String::from_utf8_lossy(&trunk.stdout),
        kefu.log_text()
    );
    let record = newest_call(&kefu);
    let transfers: Vec<&str> = record["events"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "transfer")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        transfers.contains(&"connected"),
        "{transfers:?}\n{record:#}"
    );
    assert_eq!(record["end_cause"], "caller.hangup");
}

#[test]
fn a_refer_transfer_hands_the_caller_over_and_leaves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), free_udp_port(), true);
    let kefu = Kefu::start_with(&["--config", &config]);
    let peer = RtpPeer::bind();
    let port = peer.port().to_string();
    let keys = [
        ("rtp_port", port.as_str()),
        ("codec_pt", "0"),
        ("codec_name", "PCMU/8000"),
        ("te_pt", "101"),
    ];
    let (ok, out) = sipp(&kefu, "uac_referred.xml", &keys, &[]);
    assert!(
        ok,
        "the caller saw no REFER or no BYE after its NOTIFY: {out}\n{}",
        kefu.log_text()
    );
    let record = newest_call(&kefu);
    assert_eq!(record["end_cause"], "transfer.refer", "{record:#}");
}
