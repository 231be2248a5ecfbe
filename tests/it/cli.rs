//! The command line as people meet it: help, usage errors, what commands print.

use crate::common::{TestDb, certanon_cmd};

const COMMANDS: [&[&str]; 9] = [
    &[],
    &["demo"],
    &["db", "init"],
    &["seed"],
    &["run"],
    &["status"],
    &["verify"],
    &["keygen"],
    &["schedule", "next"],
];

fn help(command: &[&str]) -> String {
    let mut args = command.to_vec();
    args.push("--help");
    let (code, stdout, stderr) = certanon_cmd(&args, &[]);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

#[test]
fn help_states_each_default_once() {
    for command in COMMANDS {
        let text = help(command);
        for line in text.lines() {
            assert!(
                line.matches("[default").count() <= 1,
                "{command:?}: {line}\n{text}"
            );
        }
    }
    assert!(help(&["demo"]).contains("[default: demo-output]"));
}

#[test]
fn only_commands_that_connect_take_a_database_url() {
    for command in [
        &["db", "init"][..],
        &["seed"],
        &["run"],
        &["status"],
        &["daemon"],
        &["verify"],
    ] {
        assert!(help(command).contains("--database-url"), "{command:?}");
    }
    for command in [&["demo"][..], &["keygen"], &["schedule", "next"]] {
        assert!(!help(command).contains("--database-url"), "{command:?}");
    }
    let url = "host=127.0.0.1 port=1 user=x dbname=x";
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let key = key.to_str().unwrap();
    let (code, _, stderr) = certanon_cmd(&["keygen", "--database-url", url, "--out", key], &[]);
    assert_eq!(code, 2, "{stderr}");
    for args in [
        &["--database-url", url, "keygen", "--out", key][..],
        &["--database-url", url, "schedule", "next", "@daily"],
    ] {
        let (code, _, stderr) = certanon_cmd(args, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert!(
        !dir.path().join("key").exists(),
        "a refused command did nothing"
    );
    // Before or after the command name, for the commands that connect: port 1 is unreachable.
    for args in [
        &["--database-url", url, "seed", "--rows", "1"][..],
        &["seed", "--rows", "1", "--database-url", url],
    ] {
        let (code, _, stderr) = certanon_cmd(args, &[]);
        assert_eq!(code, 69, "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_schedule_argument_is_a_usage_error() {
    let (code, stdout, stderr) = certanon_cmd(&["schedule", "next", "bogus"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
}

#[test]
fn verify_of_no_export_fails_in_one_line() {
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nonexistent");
    for dir in [&missing, &empty.path().to_path_buf()] {
        let (code, _, stderr) = certanon_cmd(&["verify", dir.to_str().unwrap()], &[]);
        assert_eq!(code, 65, "{dir:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{dir:?}: {stderr}");
        assert!(stderr.contains("not an export"), "{stderr}");
    }
    assert!(help(&["verify"]).contains("exit 65"));
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_prints_a_count_per_table() {
    let db = TestDb::reference().await;
    let (code, stdout, stderr) = db.certanon(&["seed", "--rows", "40"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains('{'), "no debug struct:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    let line = lines
        .iter()
        .find(|l| l.starts_with("certinfo.certificates "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.ends_with(" 40"), "{stdout}");
    let width = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == width), "aligned:\n{stdout}");

    let db = TestDb::reference().await;
    let (code, stdout, stderr) = db.certanon(&["--log-format", "json", "seed", "--rows", "40"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect(&stdout);
    assert_eq!(summary["certificates"], 40, "{stdout}");
    assert!(summary["subscribers"].as_u64().unwrap() > 0, "{stdout}");
}
