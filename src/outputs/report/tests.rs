//! Tests of the statistics report's page: what each table shows, withheld cells, escaping and
//! self-containment.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::privacy::{Rules, Table, suppress_tables};

/// A table of `dims` with these interior counts, suppressed as a run suppresses it.
fn table(name: &str, dims: &[&str], cells: &[(&[&str], u64)]) -> Table {
    Table {
        name: name.to_owned(),
        population: "issued_certificates".to_owned(),
        dims: dims.iter().map(|d| d.to_string()).collect(),
        cells: cells
            .iter()
            .map(|(key, n)| (key.iter().map(|k| k.to_string()).collect(), *n))
            .collect(),
        contributors: BTreeMap::new(),
    }
}

fn months(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{}-{:02}", 2020 + i / 12, i % 12 + 1))
        .collect()
}

/// Monthly counts by channel over 18 months, one of them small in one month.
fn monthly(channels: &[&str]) -> Table {
    let months = months(18);
    let mut cells: Vec<(Vec<&str>, u64)> = Vec::new();
    for (i, m) in months.iter().enumerate() {
        for (c, channel) in channels.iter().enumerate() {
            let n = if i == 7 && c == 0 {
                2
            } else {
                40 + 10 * c as u64 + i as u64
            };
            cells.push((vec![m.as_str(), channel], n));
        }
    }
    let cells: Vec<(&[&str], u64)> = cells.iter().map(|(k, n)| (k.as_slice(), *n)).collect();
    table("issued_by_month_channel", &["month", "channel"], &cells)
}

/// Counts by year, prefecture and type, of a population of their own so that they need not
/// agree with the monthly tables' totals.
fn by_prefecture() -> Table {
    let mut t = table(
        "issued_by_year_prefecture_type",
        &["year", "prefecture", "validation_type"],
        &[
            (&["2024", "13", "DV"], 900),
            (&["2024", "13", "OV"], 300),
            (&["2024", "31", "DV"], 3),
            (&["2024", "31", "OV"], 20),
            (&["2025", "13", "DV"], 1000),
            (&["2025", "13", "OV"], 250),
            (&["2025", "31", "DV"], 30),
            (&["2025", "31", "OV"], 25),
        ],
    );
    t.population = "subscriber_certificates".to_owned();
    t
}

fn page(tables: &[Table]) -> (String, Vec<Published>) {
    let published = suppress_tables(tables, Rules::K5).unwrap();
    let mut manifest = Manifest::example();
    manifest.run_id = "20261130T023000Z-ab12".into();
    manifest.task = "monthly_statistics".into();
    manifest.privacy = aggregate::privacy_facts(&published, Rules::K5);
    (render(&manifest, &published), published)
}

fn charts(html: &str) -> Vec<&str> {
    html.split("<svg class=\"chart\"")
        .skip(1)
        .map(|s| &s[..s.find("</svg>").unwrap()])
        .collect()
}

#[test]
fn every_table_gets_one_titled_chart_with_data_marks() {
    let (html, _) = page(&[monthly(&["acme", "operator"]), by_prefecture()]);
    let charts = charts(&html);
    assert_eq!(charts.len(), 2);
    for (n, chart) in charts.iter().enumerate() {
        let id = anchor(n);
        assert!(chart.contains(&format!("aria-labelledby=\"{id}-title {id}-desc\"")));
        assert!(chart.contains(&format!("<title id=\"{id}-title\">")));
        assert!(chart.contains(&format!("<desc id=\"{id}-desc\">")));
        assert!(chart.contains("class=\"mark\""), "chart {n} draws nothing");
    }
    assert!(
        charts[0].contains("<polyline"),
        "a monthly table is drawn as lines"
    );
    assert!(
        !charts[1].contains("<polyline"),
        "a table without months as bars"
    );
    assert_eq!(charts[0].matches("<g class=\"series\"").count(), 2);
    assert!(
        charts[1].contains(">Tokyo</text>") && charts[1].contains(">Tottori</text>"),
        "prefectures are named in English on the chart"
    );
    assert!(html.contains(
        "<th scope=\"row\">13 <span lang=\"en\">Tokyo</span> <span lang=\"ja\">東京都</span></th>"
    ));
    assert!(html.contains("Issued certificates by month and channel"));
}

#[test]
fn withheld_cells_are_marked_on_the_chart_and_in_the_numbers_by_rule() {
    let (html, published) = page(&[monthly(&["acme", "operator"])]);
    let cells = &published[0].cells;
    let small = cells.iter().find(|c| c.key == ["2020-08", "acme"]).unwrap();
    assert!(small.primary && small.count.is_none());
    let secondary = cells.iter().filter(|c| c.secondary).count();
    assert!(secondary > 0, "the small cell needs a partner");
    let chart = charts(&html)[0];
    assert!(chart.contains("<title>2020-08: withheld, primary: acme</title>"));
    assert!(chart.contains("withheld secondary"));
    assert!(html.contains("<td class=\"primary\">withheld, primary</td>"));
    assert!(html.contains("<td class=\"secondary\">withheld, secondary</td>"));
    assert!(html.contains(&format!("{} secondary</span>", published[0].secondary)));
    assert!(html.contains("1 primary</span> (1 below k, 0 from fewer than k subscribers"));
}

#[test]
fn the_numbers_hold_every_drawn_value_and_the_totals() {
    let (html, published) = page(&[monthly(&["acme", "operator"])]);
    let grand = published[0]
        .cells
        .iter()
        .find(|c| c.key.iter().all(|k| k == TOTAL))
        .and_then(|c| c.count)
        .unwrap();
    assert!(html.contains(&format!("Total: <strong>{}</strong>", thousands(grand))));
    let numbers = &html[html.find("<details>").unwrap()..];
    for cell in published[0].cells.iter().filter(|c| c.key[0] != TOTAL) {
        if let Some(n) = cell.count.filter(|_| cell.key[1] != TOTAL) {
            assert!(numbers.contains(&format!("<td class=\"\">{}</td>", thousands(n))));
        }
    }
    assert!(numbers.contains("<tr class=\"sum\"><th scope=\"row\">total</th>"));
}

#[test]
fn a_chart_draws_the_largest_series_and_says_it_leaves_others_out() {
    let channels: Vec<String> = (0..12).map(|i| format!("c{i:02}")).collect();
    let names: Vec<&str> = channels.iter().map(String::as_str).collect();
    let (html, _) = page(&[monthly(&names)]);
    let chart = charts(&html)[0];
    assert_eq!(
        chart.matches("<g class=\"series\"").count(),
        svg::MAX_SERIES
    );
    // The counts grow with the channel's index: the largest are c11 down to c04.
    assert!(chart.contains("<title>c11</title>") && !chart.contains("<title>c03</title>"));
    assert!(html.contains("The 8 largest of 12 are drawn"));
    assert!(
        html.contains("<th scope=\"col\">c03</th>"),
        "the others are in the numbers"
    );
}

#[test]
fn a_label_from_the_database_cannot_open_an_element_or_leave_an_attribute() {
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let months = months(3);
    let cells: Vec<(Vec<&str>, u64)> = months
        .iter()
        .flat_map(|m| {
            [
                (vec![m.as_str(), hostile], 50),
                (vec![m.as_str(), "acme"], 60),
            ]
        })
        .collect();
    let cells: Vec<(&[&str], u64)> = cells.iter().map(|(k, n)| (k.as_slice(), *n)).collect();
    let mut bars = by_prefecture();
    bars.cells
        .insert(vec!["2025".into(), hostile.into(), "DV".into()], 70);
    let (html, _) = page(&[table("t", &["month", "channel"], &cells), bars]);
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"));
}

#[test]
fn the_page_loads_nothing_from_elsewhere() {
    let (html, _) = page(&[monthly(&["acme"]), by_prefecture()]);
    for outside in [
        "http:", "https:", "//", "<script", "<link", "<img", "url(", "@import", "src=",
    ] {
        assert!(!html.contains(outside), "{outside}");
    }
    for link in html.split("href=\"").skip(1) {
        let target = &link[..link.find('"').unwrap()];
        assert!(
            target.starts_with('#') || !target.contains('/'),
            "{target} is not inside the export"
        );
    }
}

#[test]
fn the_overview_names_the_release_and_links_every_file() {
    let (html, published) = page(&[monthly(&["acme"]), by_prefecture()]);
    let overview = &html[..html.find("id=\"table-1\"").unwrap()];
    assert!(overview.contains("<code>20261130T023000Z-ab12</code>"));
    assert!(overview.contains("<dd>monthly_statistics</dd>"));
    assert!(overview.contains("<dd>2026-11-01 03:00:00 UTC</dd>"));
    assert!(overview.contains("<code>1:1:</code>"));
    assert!(overview.contains("<dd>2020-01 to 2021-06</dd>"));
    assert!(overview.contains("<dd>50%</dd>"), "the dominance share");
    for t in &published {
        for file in [
            aggregate::file_name(&t.name),
            aggregate::totals_file_name(&t.name),
        ] {
            assert!(overview.contains(&format!("<a href=\"{file}\">")), "{file}");
        }
    }
    for file in [
        export::DICTIONARY,
        schema::DATA_PACKAGE,
        export::MANIFEST,
        export::SUMS,
    ] {
        assert!(overview.contains(&format!("<a href=\"{file}\">")), "{file}");
    }
    assert!(html.contains("id=\"method\""));
}

#[test]
fn a_monthly_table_with_one_dimension_is_one_line_named_after_its_population() {
    // Manifest::example's run started in 2026-11.
    let months = ["2026-08", "2026-09", "2026-10", "2026-11"];
    let cells: Vec<(&[&str], u64)> = months
        .iter()
        .map(|m| (std::slice::from_ref(m), 30))
        .collect();
    let (html, _) = page(&[table("subscribers_new_by_month", &["month"], &cells)]);
    let chart = charts(&html)[0];
    assert_eq!(chart.matches("<g class=\"series\"").count(), 1);
    assert!(chart.contains("<title>Issued certificates</title>"));
    assert!(html.contains(
        "<figcaption>Issued certificates by month. 2026-11 had not ended when the run started: \
         its counts are partial.</figcaption>"
    ));
}

proptest! {
    #[test]
    fn thousands_groups_digits_by_three(n in any::<u64>()) {
        let s = thousands(n);
        prop_assert_eq!(s.replace(',', "").parse::<u64>().unwrap(), n);
        let groups: Vec<&str> = s.split(',').collect();
        prop_assert!((1..=3).contains(&groups[0].len()));
        prop_assert!(groups[1..].iter().all(|g| g.len() == 3));
    }

    #[test]
    fn escaped_text_holds_no_markup(text in ".*") {
        let e = escape(&text);
        prop_assert!(!e.contains(['<', '>', '"', '\'']));
        prop_assert_eq!(
            e.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
                .replace("&#39;", "'").replace("&amp;", "&"),
            text
        );
    }
}
