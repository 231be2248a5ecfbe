//! `certanon verify` run as a recipient runs it, on exports crafted so that every file, the
//! manifest and the checksums agree: the exit code, what reaches the terminal, and how much
//! time and memory the hostile input can make it take.

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

fn sha256(path: &Path) -> (String, u64) {
    let contents = fs::read(path).unwrap();
    (
        hex::encode(Sha256::digest(&contents)),
        contents.len() as u64,
    )
}

/// Writes datapackage.json (each CSV file with the columns of its header row), manifest.json
/// (k = 5, each CSV a table with `dims`, its totals in `<name>_totals.csv`) and SHA256SUMS over
/// whatever the directory holds.
fn seal(dir: &Path, dims: &[&str]) {
    let mut resources = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mut header = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(fs::File::open(&path).unwrap()),
            &mut header,
        )
        .unwrap();
        let fields: Vec<_> = header
            .trim_end()
            .split(',')
            .map(|f| json!({"name": f}))
            .collect();
        let path = path.file_name().unwrap().to_str().unwrap().to_owned();
        resources.push(json!({"path": path, "schema": {"fields": fields}}));
    }
    fs::write(
        dir.join("datapackage.json"),
        json!({ "resources": resources }).to_string(),
    )
    .unwrap();
    let mut files = Vec::new();
    let mut privacy = serde_json::Map::new();
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in &names {
        let (sha256, bytes) = sha256(&dir.join(name));
        files.push(json!({"name": name, "rows": null, "bytes": bytes, "sha256": sha256}));
        if !name.ends_with(".csv") || name.ends_with("_totals.csv") {
            continue;
        }
        privacy.insert(
            name.clone(),
            json!({"cells": 0, "dims": dims, "k": 5, "kind": "table", "population": "p",
                   "primary_suppressed": 0, "secondary_suppressed": 0,
                   "totals": name.replace(".csv", "_totals.csv")}),
        );
    }
    let manifest = json!({
        "run_id": "r1", "task": "stats", "kind": "statistics", "created": "2026-11-01T03:00:00Z",
        "snapshot": "1:1:", "tool_version": "0",
        "policy": {"k": 5, "max_suppression": 0.05, "key_id": "none", "mode": "statistics",
                   "config_sha256": "00"},
        "privacy": privacy, "files": files,
    });
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let mut sums = String::new();
    names.push("manifest.json".into());
    for name in &names {
        sums.push_str(&format!("{}  {name}\n", sha256(&dir.join(name)).0));
    }
    fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// The address space `certanon verify` runs in: an allocation beyond it aborts the process.
const ADDRESS_SPACE: libc::rlim_t = 64 << 20;

/// Runs `certanon verify` in [`ADDRESS_SPACE`] bytes of memory.
fn verify(dir: &Path, extra: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_certanon"));
    command.arg("verify").args(extra).arg(dir);
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: setrlimit is async-signal-safe and touches only the child about to exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let start = Instant::now();
    let out = command.output().unwrap();
    Run {
        code: out
            .status
            .code()
            .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}

/// The failure lines under the `certanon: N verification failure(s):` line.
fn failure_lines(run: &Run) -> Vec<&str> {
    let mut lines = run.stderr.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("certanon: ") && first.ends_with("verification failure(s):"),
        "{}",
        run.stderr
    );
    lines.collect()
}

/// Exit 65 (not an abort for want of memory) with `line` the only failure, within `time`.
fn fails_cheaply_with(run: &Run, line: &str, time: Duration) {
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert_eq!(failure_lines(run), [line]);
    assert!(run.took < time, "{:?}", run.took);
}

/// A valid one-dimensional table, k = 5, in a sealed export.
fn small_export() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("t.csv"),
        "month,count,status\n2026-01,10,published\n2026-02,12,published\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("t_totals.csv"),
        "month,count,status\nTOTAL,22,published\n",
    )
    .unwrap();
    seal(dir.path(), &["month"]);
    dir
}

#[test]
fn a_table_whose_labels_combine_into_billions_of_cells_fails_fast_in_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [
        "month",
        "year",
        "validation_type",
        "channel",
        "key_type",
        "domain_class",
    ];
    // 40 cells on the diagonal, each with all its margins: every line adds up, and the 41^6
    // combinations of the labels would take tens of gigabytes to lay out.
    let n = 40;
    let header = format!("{},count,status\n", dims.join(","));
    let mut interior = header.clone();
    let mut totals = header;
    totals.push_str(&format!(
        "{}{},published\n",
        "TOTAL,".repeat(dims.len()),
        5 * n
    ));
    for i in 0..n {
        for mask in 0..(1u32 << dims.len()) - 1 {
            let body = if mask == 0 {
                &mut interior
            } else {
                &mut totals
            };
            for d in 0..dims.len() {
                if mask >> d & 1 == 1 {
                    body.push_str("TOTAL,");
                } else {
                    body.push_str(&format!("l{i},"));
                }
            }
            body.push_str("5,published\n");
        }
    }
    fs::write(dir.path().join("t.csv"), interior).unwrap();
    fs::write(dir.path().join("t_totals.csv"), totals).unwrap();
    seal(dir.path(), &dims);
    let run = verify(dir.path(), &[]);
    let line = format!(
        "t.csv: {} rows, but its labels and totals combine into {} cells, each of which needs \
         a row",
        63 * n + 1,
        41u64.pow(6)
    );
    fails_cheaply_with(&run, &line, Duration::from_secs(10));
}

#[test]
fn a_sparse_gigabyte_csv_fails_in_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    fs::write(&path, "month,count,status\n").unwrap();
    fs::write(dir.path().join("t_totals.csv"), "month,count,status\n").unwrap();
    // A hole: no disk used, a gigabyte of zero bytes to read, none of them a line break.
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    seal(dir.path(), &["month"]);
    let run = verify(dir.path(), &[]);
    // Hashing the gigabyte is most of the time this takes.
    fails_cheaply_with(
        &run,
        "t.csv row 1: a record is longer than 1 MiB",
        Duration::from_secs(60),
    );
}

#[test]
fn a_crafted_file_name_cannot_fake_a_verdict_or_drive_the_terminal() {
    let dir = small_export();
    assert_eq!(verify(dir.path(), &[]).code, 0);
    fs::write(
        dir.path()
            .join("x\u{1b}[1A\u{1b}[2K\nverify: ok: 9 files match\u{1b}[8m.csv"),
        "",
    )
    .unwrap();
    let run = verify(dir.path(), &[]);
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(
        run.stderr.lines().all(|l| !l.starts_with("verify: ok")),
        "{:?}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("x\\u{1b}[1A\\u{1b}[2K\\nverify: ok: 9 files match\\u{1b}[8m.csv: not listed in manifest.json"),
        "{:?}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn min_k_lets_the_recipient_insist_on_their_own_k() {
    let dir = small_export();
    let run = verify(dir.path(), &["--min-k", "5"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("verify: ok"), "{}", run.stdout);
    let run = verify(dir.path(), &["--min-k", "11"]);
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert_eq!(
        failure_lines(&run),
        [
            "manifest.json: policy.k is 5, below --min-k 11",
            "t.csv: k is 5, below --min-k 11",
            "t.csv: 1 row publish a count between 1 and k-1=10 (first: row 1)",
        ]
    );
    assert_eq!(verify(dir.path(), &["--min-k", "0"]).code, 2);
}
