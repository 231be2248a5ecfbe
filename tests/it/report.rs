//! The statistics report of a real aggregates export, opened the way a recipient opens it: in a
//! browser (headless Chromium), which must show a chart with data for every table and run no
//! script.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Setup, TestDb, external_tool};

const STATISTICS: &str =
    "[tasks.monthly_statistics]\nkind = \"aggregates\"\nschedule = \"30 2 1 * *\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn the_report_renders_a_chart_with_data_for_every_table_in_chromium() {
    let db = TestDb::seeded().await;
    let setup = Setup::new(STATISTICS);
    let (code, _, stderr) = setup.certanon(&db, &["run", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = &setup.exports_of("monthly_statistics")[0];
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let tables = manifest["privacy"].as_object().unwrap().len();
    assert!(tables >= 10, "{manifest}");
    let listed = manifest["files"].as_array().unwrap();
    assert!(
        listed.iter().any(|f| f["name"] == "index.html"),
        "{manifest}"
    );
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  index.html\n"), "{sums}");

    if !external_tool("chromium", false) {
        return;
    }
    let page = dir.join("index.html");
    let scratch = tempfile::tempdir().unwrap();

    let dom = chromium(&page, scratch.path(), &["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert_no_script_ran(&dom);
    let dom = String::from_utf8(dom.stdout).unwrap();
    let charts: Vec<&str> = dom.split("<svg class=\"chart\"").skip(1).collect();
    assert_eq!(charts.len(), tables, "one chart per table");
    for (n, chart) in charts.iter().enumerate() {
        let chart = &chart[..chart.find("</svg>").expect("a closed chart")];
        assert!(
            chart.contains("class=\"mark\""),
            "chart {n} has no data marks"
        );
        assert!(chart.contains("<title id="), "chart {n} has no title");
    }

    let png = scratch.path().join("report.png");
    let shot = chromium(
        &page,
        scratch.path(),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    assert_no_script_ran(&shot);
    let (inked, drawn) = ink(&png);
    assert!(
        inked > 0.02,
        "the page is nearly blank: {inked:.4} of its pixels are not white"
    );
    assert!(
        drawn > 500,
        "the first chart's lines are not drawn: {drawn} pixels of its colour"
    );
    if let Some(keep) = std::env::var_os("CERTANON_KEEP_REPORT_PNG") {
        std::fs::copy(&png, keep).unwrap();
    }
}

/// The check below fails on a page whose script errors, so a report that ever gains a broken
/// script fails the test above.
#[test]
fn a_script_error_in_the_page_is_caught() {
    if !external_tool("chromium", false) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let page = scratch.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><p>x</p><script>undefined_function();</script>",
    )
    .unwrap();
    let out = chromium(&page, scratch.path(), &["--dump-dom"]);
    assert!(
        script_errors(&out).next().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Headless Chromium on `page` with its own profile and console messages on stderr, killed if
/// it hangs.
fn chromium(page: &Path, scratch: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// Console lines Chromium logs for a script's errors.
fn script_errors(out: &Output) -> impl Iterator<Item = String> + '_ {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

fn assert_no_script_ran(out: &Output) {
    let errors: Vec<String> = script_errors(out).collect();
    assert!(errors.is_empty(), "console: {errors:?}");
}

/// The share of the screenshot's pixels that are not white, and how many carry the colour of a
/// chart's second series (#d55e00), which nothing else on the page uses.
fn ink(png: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let near = |p: &[u8], rgb: [u8; 3]| (0..3).all(|i| p[i].abs_diff(rgb[i]) < 40);
    let inked = pixels.iter().filter(|p| !near(p, [255, 255, 255])).count();
    let drawn = pixels
        .iter()
        .filter(|p| near(p, [0xd5, 0x5e, 0x00]))
        .count();
    (inked as f64 / pixels.len() as f64, drawn)
}
