//! How often the address rule finds the right prefecture on a corpus of real addresses that the
//! tests do not contain: each line of the TSV is `prefecture code<TAB>postal code<TAB>prefecture
//! name<TAB>address without its prefecture` (`#` lines are comments). Every address is read as
//! written and as people shorten it (county or designated city left out), with and without its
//! postal code, and with its prefecture in front; prints resolved, unknown and wrong for each.
//!
//! `cargo run --release --example address_eval -- corpus.tsv [more.tsv …]`; exits 1 on any wrong
//! answer or unreadable corpus.

use std::collections::BTreeMap;
use std::process::ExitCode;

use certanon::transform::geography::region_code;

#[derive(Default)]
struct Tally {
    n: usize,
    right: usize,
    unknown: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn add(&mut self, got: u16, truth: u16, postal: Option<&str>, address: &str) {
        self.n += 1;
        match got {
            0 => self.unknown += 1,
            g if g == truth => self.right += 1,
            g => self.wrong.push(format!(
                "{address} (postal {}): {g}, not {truth}",
                postal.unwrap_or("none")
            )),
        }
    }
}

/// `石狩郡当別町…` → `当別町…`: the county left out, as many write a town.
fn without_county(address: &str) -> Option<&str> {
    let (county, rest) = address.split_once('郡')?;
    let plain = !county.is_empty()
        && county.chars().count() <= 5
        && !county.contains(['市', '区', '町', '村']);
    plain.then_some(rest)
}

/// `札幌市北区…` → `北区…`: a designated city left out before its ward.
fn without_city(address: &str) -> Option<&str> {
    let (_, rest) = address.split_once('市')?;
    let ward = rest.split_once('区')?.0;
    let plain = (1..=4).contains(&ward.chars().count()) && !ward.contains(['市', '町', '村']);
    plain.then_some(rest)
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: address_eval CORPUS.tsv [MORE.tsv …]");
        return ExitCode::from(2);
    }
    let mut wrong = 0;
    for path in &paths {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [truth, postal, prefecture, address, ..] = fields[..] else {
                eprintln!("{path}: not four fields: {line}");
                return ExitCode::FAILURE;
            };
            let Ok(truth) = truth.parse::<u16>() else {
                eprintln!("{path}: not a prefecture code: {line}");
                return ExitCode::FAILURE;
            };
            let with_prefecture = format!("{prefecture}{address}");
            let mut forms = vec![
                ("1 as written", address),
                ("4 prefecture first", with_prefecture.as_str()),
            ];
            forms.extend(without_county(address).map(|a| ("2 county left out", a)));
            forms.extend(without_city(address).map(|a| ("3 designated city left out", a)));
            for (form, address) in forms {
                for (postal, label) in [(None, "no postal code"), (Some(postal), "postal code")] {
                    let key = format!("{form}, {label}").leak();
                    let got = region_code(postal, Some(address), None);
                    tallies
                        .entry(key)
                        .or_default()
                        .add(got, truth, postal, address);
                }
            }
        }
        println!("{path}");
        for (key, t) in &tallies {
            let share = |x: usize| 100.0 * x as f64 / t.n as f64;
            println!(
                "  {:<44} n={:5}  resolved {:6.2}%  unknown {:6.2}%  wrong {}",
                &key[2..],
                t.n,
                share(t.right + t.wrong.len()),
                share(t.unknown),
                t.wrong.len()
            );
            for w in t.wrong.iter().take(5) {
                println!("      wrong: {w}");
            }
            wrong += t.wrong.len();
        }
    }
    if wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
