//! The statistics report, `index.html` in every aggregates export: an overview of the release,
//! then per table a chart, its total, what it counts and what was withheld, with the numbers
//! behind the chart in a table beside it. Built from the published tables and the manifest, not
//! from the CSV text, and self-contained (no script, no file or font from elsewhere) so it opens
//! offline wherever the export is delivered.

mod dp;
mod svg;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::error::Result;
use crate::outputs::aggregate;
use crate::outputs::export::{self, Export};
use crate::outputs::manifest::{FileFacts, Manifest, TableFacts};
use crate::outputs::schema;
use crate::privacy::{Published, PublishedCell, TOTAL};
use svg::{Caption, Series, Value};

pub(crate) const FILE_NAME: &str = "index.html";

/// Time axes: a table with one is drawn as lines over it.
const MONTH: &str = "month";
const YEAR: &str = "year";
/// The code of a period or category the source did not give.
const UNKNOWN: &str = "unknown";

/// Writes `index.html` for the tables of an aggregates export whose manifest (files aside) is
/// `manifest`.
pub(crate) fn write(export: &mut Export, manifest: &Manifest, tables: &[Published]) -> Result<()> {
    export.write(FILE_NAME, render(manifest, tables).as_bytes())
}

fn render(manifest: &Manifest, tables: &[Published]) -> String {
    let mut html = String::with_capacity(1 << 18);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Certificate statistics, release {}</title><style>{STYLE}</style></head><body><main>",
        escape(&manifest.run_id)
    );
    match &manifest.policy.dp {
        Some(policy) => dp::overview(&mut html, manifest, policy, tables),
        None => overview(&mut html, manifest, tables),
    }
    contents(&mut html, tables);
    for (n, table) in tables.iter().enumerate() {
        section(&mut html, manifest, table, n);
    }
    match &manifest.policy.dp {
        Some(policy) => {
            let bound = manifest.privacy.values().find_map(|f| match f {
                FileFacts::DpTable(t) => Some(t),
                _ => None,
            });
            dp::method(&mut html, policy, bound);
        }
        None => method(&mut html, manifest),
    }
    html.push_str("</main></body></html>\n");
    html
}

/// The release at a glance: what it is, from when, under which rules and how to read it.
fn overview(html: &mut String, manifest: &Manifest, tables: &[Published]) {
    let (k, dominance) = rules(manifest);
    let _ = write!(
        html,
        "<header><p class=\"kicker\">certanon · aggregate statistics</p>\
         <h1>Certificate statistics</h1>\
         <p class=\"lead\">Counts of the certificates, revocations and subscribers in the \
         certificate authority's database, in {} tables. No person appears in them: every count \
         covers at least {k} subscribers, and counts that would say too much about a few are \
         withheld.</p><dl class=\"facts\">{}\
         <dt>Smallest published count (k)</dt><dd>{k}</dd>\
         <dt>Largest share of one subscriber</dt><dd>{}</dd>\
         <dt>Produced by</dt><dd>certanon {}</dd></dl></header>",
        tables.len(),
        release_facts(manifest, tables),
        dominance.map_or_else(|| "not recorded".to_owned(), percent),
        escape(&manifest.tool_version),
    );
    html.push_str(
        "<section class=\"howto\"><h2>How to read this release</h2><ul>\
         <li>Each section below is one table: a chart, its total, what it counts and how many of \
         its cells were withheld. Under each chart, <em>Numbers</em> opens the figures the chart \
         draws; the CSV file holds every cell, totals included.</li>\
         <li>A <strong>withheld</strong> count is not zero, it is not published. \
         <span class=\"primary\">▲ Primary</span>: the count itself would say too much about a \
         few subscribers. <span class=\"secondary\">○ Secondary</span>: the count is withheld \
         so that a primary one cannot be worked out from the totals. Lines break where a count \
         is withheld, and the markers under the axis show where.</li>\
         <li>Totals are counted before anything is withheld: a total is the full count even when \
         some of its parts are withheld, and the published parts then add up to less.</li>\
         <li>Months and years are calendar periods in UTC. <code>unknown</code> is a value the \
         database did not give or that fits no category.</li></ul></section>",
    );
}

/// What every release states of itself: run, task, time, period and snapshot.
fn release_facts(manifest: &Manifest, tables: &[Published]) -> String {
    format!(
        "<dt>Release</dt><dd><code>{}</code></dd><dt>Task</dt><dd>{}</dd>\
         <dt>Created</dt><dd>{}</dd><dt>Period</dt><dd>{}</dd>\
         <dt>Database snapshot</dt><dd><code>{}</code></dd>",
        escape(&manifest.run_id),
        escape(&manifest.task),
        escape(&manifest.created.replacen('T', " ", 1).replace('Z', " UTC")),
        escape(&period(tables)),
        escape(&manifest.snapshot),
    )
}

/// The tables and the other files of the release.
fn contents(html: &mut String, tables: &[Published]) {
    html.push_str(
        "<nav><h2>Contents and files</h2><table class=\"files\"><thead><tr><th>table</th>\
         <th>interior cells</th><th>totals</th></tr></thead><tbody>",
    );
    for (n, table) in tables.iter().enumerate() {
        let _ = write!(
            html,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            anchor(n),
            escape(&title(table)),
            link(&aggregate::file_name(&table.name)),
            link(&aggregate::totals_file_name(&table.name)),
        );
    }
    let _ = write!(
        html,
        "</tbody></table><p>A table's interior cells can be summed; its totals file holds the \
         margins and the grand total. Also in this release: {} (every column and the rule it \
         meets), {} (the same columns for software: types, missing values, keys), {} (what was \
         released, from which snapshot, under which rules) and {} (checksums; \
         <code>certanon verify</code> re-checks the whole release). How the tables are \
         protected: <a href=\"#method\">method</a>.</p></nav>",
        link(export::DICTIONARY),
        link(schema::DATA_PACKAGE),
        link(export::MANIFEST),
        link(export::SUMS),
    );
}

/// One table: heading, chart, total, what it counts, what was withheld, and its numbers.
fn section(html: &mut String, manifest: &Manifest, table: &Published, n: usize) {
    let grid = Grid::new(table);
    let title = title(table);
    let file = aggregate::file_name(&table.name);
    let _ = write!(
        html,
        "<section id=\"{}\"><h2>{}</h2><p class=\"file\">{} · {}</p>",
        anchor(n),
        escape(&title),
        link(&file),
        link(&aggregate::totals_file_name(&table.name)),
    );
    if let Some(what) = aggregate::description(&table.name) {
        let _ = write!(html, "<p>{}</p>", inline_code(what));
    }
    html.push_str("<figure>");
    let running = manifest.created.get(..7).unwrap_or_default();
    let note = chart(html, &grid, &title, &anchor(n), running);
    let _ = write!(html, "<figcaption>{}</figcaption></figure>", escape(&note));
    let _ = write!(
        html,
        "<p class=\"total\">Total: <strong>{}</strong></p>",
        describe(grid.value(TOTAL, grid.columns.len() - 1))
    );
    match manifest.privacy.get(&file) {
        Some(FileFacts::Table(facts)) => withheld(html, facts),
        Some(FileFacts::DpTable(facts)) => dp::table_facts(html, facts),
        _ => {}
    }
    numbers(html, &grid);
    html.push_str("</section>");
}

/// Draws the table's chart into `html` and returns the caption that says what it shows;
/// `running` is the month the run started in, which a monthly table counts only in part.
fn chart(html: &mut String, grid: &Grid, title: &str, id: &str, running: &str) -> String {
    let total = grid.columns.len() - 1;
    let (chart, note) = if grid.is_time {
        lines(grid, total, running)
    } else {
        bars(grid, total)
    };
    let caption = Caption {
        id,
        title,
        desc: &note,
    };
    match chart {
        Chart::Lines(axis, series) => html.push_str(&svg::line_chart(&caption, &axis, &series)),
        Chart::Bars(bars) => html.push_str(&svg::bar_chart(&caption, &bars)),
    }
    note
}

/// What a chart draws.
enum Chart {
    Lines(Vec<String>, Vec<Series>),
    Bars(Vec<(String, Value)>),
}

/// The largest columns before `total` as lines over the known periods, or the total column
/// alone when it is the only one.
fn lines(grid: &Grid, total: usize, running: &str) -> (Chart, String) {
    let periods: Vec<String> = grid
        .rows
        .iter()
        .filter(|r| *r != TOTAL && *r != UNKNOWN)
        .cloned()
        .collect();
    let drawn = if total == 0 {
        vec![total]
    } else {
        grid.largest(total, svg::MAX_SERIES)
    };
    let series: Vec<Series> = drawn
        .iter()
        .map(|&c| Series {
            name: grid.columns[c].name.clone(),
            values: periods.iter().map(|p| grid.value(p, c)).collect(),
        })
        .collect();
    let by = &grid.table.dims[grid.row_dim];
    let mut note = if total == 0 {
        format!("{} by {by}.", grid.columns[total].name)
    } else {
        format!("One line per {}, by {by}.", grid.column_dims())
    };
    if drawn.len() < total {
        let _ = write!(
            note,
            " The {} largest of {total} are drawn; the others are in the numbers below.",
            drawn.len(),
        );
    }
    if periods.last().is_some_and(|p| p == running) {
        let _ = write!(
            note,
            " {running} had not ended when the run started: its counts are partial."
        );
    }
    if grid.rows.iter().any(|r| r == UNKNOWN) {
        note.push_str(" Counts whose period is unknown are in the numbers, not on the chart.");
    }
    (Chart::Lines(periods, series), note)
}

/// One bar per row, the row's total over every other dimension.
fn bars(grid: &Grid, total: usize) -> (Chart, String) {
    let bars = grid
        .rows
        .iter()
        .filter(|r| *r != TOTAL)
        .map(|r| (grid.row_label(r), grid.value(r, total)))
        .collect();
    let note = format!(
        "One bar per {}, each the total over every other dimension.",
        grid.table.dims[grid.row_dim]
    );
    (Chart::Bars(bars), note)
}

/// The manifest's privacy facts of one table, in words.
fn withheld(html: &mut String, facts: &TableFacts) {
    let _ = write!(
        html,
        "<p class=\"withheld-facts\">{} cells, totals included; withheld: \
         <span class=\"primary\">{} primary</span>",
        thousands(facts.cells as u64),
        thousands(facts.primary_suppressed as u64)
    );
    if let Some(by) = facts.suppressed_by_rule {
        let _ = write!(
            html,
            " ({} below k, {} from fewer than k subscribers, {} with one subscriber over the \
             share limit)",
            by.small_count, by.few_subscribers, by.dominance
        );
    }
    let _ = write!(
        html,
        ", <span class=\"secondary\">{} secondary</span>.</p>",
        thousands(facts.secondary_suppressed as u64)
    );
}

/// The figures behind the chart, as a table a screen reader or a copy-paste can use.
fn numbers(html: &mut String, grid: &Grid) {
    let _ = write!(
        html,
        "<details><summary>Numbers</summary><div class=\"scroll\"><table class=\"numbers\">\
         <thead><tr><th scope=\"col\">{}</th>",
        escape(&grid.table.dims[grid.row_dim])
    );
    for column in &grid.columns {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(&column.name));
    }
    html.push_str("</tr></thead><tbody>");
    for row in &grid.rows {
        let class = if row == TOTAL { " class=\"sum\"" } else { "" };
        let _ = write!(
            html,
            "<tr{class}><th scope=\"row\">{}</th>",
            heading(&grid.table.dims[grid.row_dim], row)
        );
        for c in 0..grid.columns.len() {
            let value = grid.value(row, c);
            let class = match value {
                Value::Primary => "primary",
                Value::Secondary => "secondary",
                Value::Count(_) | Value::Absent => "",
            };
            let _ = write!(html, "<td class=\"{class}\">{}</td>", describe(value));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div></details>");
}

/// How the tables are protected, for a reader who wants the rules behind "withheld".
fn method(html: &mut String, manifest: &Manifest) {
    let (k, dominance) = rules(manifest);
    let share = dominance.map_or_else(|| "the configured share".to_owned(), percent);
    let _ = write!(
        html,
        "<section id=\"method\"><h2>Method</h2>\
         <p>The tables count certificates, revocations and subscribers read from one consistent \
         snapshot of the database. Subscribers are counted as distinct keyed pseudonyms, never \
         by name or address; names, addresses, e-mail addresses, domain names, serial numbers \
         and exact times are not published, only the categories above.</p>\
         <p>A count is published when it is 0, or when it is at least {k}, comes from at least \
         {k} distinct subscribers and no one subscriber holds more than {share} of it. Any other \
         count is withheld: this is <span class=\"primary\">primary</span> suppression, and it \
         applies to totals as much as to the cells inside them.</p>\
         <p>A withheld cell could still be worked out by subtracting the published cells of its \
         row or column from their total. So further cells are withheld \
         (<span class=\"secondary\">secondary</span> suppression) until a linear-programming \
         audit finds that every withheld cell could take a range of values given everything \
         published, across all tables that count the same population.</p></section>",
    );
}

/// A table laid out for the page: one dimension down the rows (periods, or the categories of
/// a bar chart) with its `TOTAL` last, and chosen cells across, the last column the total over
/// every other dimension.
struct Grid<'a> {
    table: &'a Published,
    row_dim: usize,
    /// Drawn as lines over the rows, else as one bar per row.
    is_time: bool,
    rows: Vec<String>,
    columns: Vec<Column>,
    cells: HashMap<&'a [String], &'a PublishedCell>,
}

/// A column of a [`Grid`]: the codes of a cell but for the row dimension's.
struct Column {
    name: String,
    key: Vec<String>,
}

impl<'a> Grid<'a> {
    /// Monthly tables put the months down the rows and every combination of their other
    /// dimensions across; other tables the dimension with the most categories down the rows
    /// and each other dimension's totals across.
    fn new(table: &'a Published) -> Grid<'a> {
        let dims = table.dims.len();
        // Each dimension's codes in the order the cells first show them.
        let axes: Vec<Vec<String>> = (0..dims)
            .map(|d| {
                let mut seen = HashSet::new();
                table
                    .cells
                    .iter()
                    .map(|cell| &cell.key[d])
                    .filter(|code| *code != TOTAL && seen.insert(*code))
                    .cloned()
                    .collect()
            })
            .collect();
        let month = table.dims.iter().position(|d| d == MONTH);
        let row_dim = month.unwrap_or_else(|| {
            (0..dims)
                .filter(|&d| table.dims[d] != YEAR || dims == 1)
                .max_by_key(|&d| (axes[d].len(), std::cmp::Reverse(d)))
                .unwrap_or(0)
        });
        let totals = vec![TOTAL.to_owned(); dims];
        let mut columns = Vec::new();
        if month.is_some() {
            let mut combos: Vec<Vec<String>> = Vec::new();
            let mut seen = HashSet::new();
            for cell in &table.cells {
                let interior = cell.key.iter().all(|c| c != TOTAL);
                let mut key = cell.key.clone();
                key[row_dim] = TOTAL.to_owned();
                if interior && seen.insert(key.clone()) {
                    combos.push(key);
                }
            }
            columns.extend(combos.into_iter().filter(|_| dims > 1).map(|key| {
                Column {
                    name: (0..dims)
                        .filter(|&d| d != row_dim)
                        .map(|d| label(&table.dims[d], &key[d]))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    key,
                }
            }));
        } else {
            for d in (0..dims).filter(|&d| d != row_dim) {
                columns.extend(axes[d].iter().map(|code| {
                    let mut key = totals.clone();
                    key[d] = code.clone();
                    Column {
                        name: label(&table.dims[d], code),
                        key,
                    }
                }));
            }
        }
        let total_name = if dims == 1 {
            humanize(&table.population)
        } else {
            "total".to_owned()
        };
        columns.push(Column {
            name: total_name,
            key: totals,
        });
        let mut rows = axes.get(row_dim).cloned().unwrap_or_default();
        rows.push(TOTAL.to_owned());
        Grid {
            table,
            row_dim,
            is_time: month.is_some(),
            rows,
            columns,
            cells: table.cells.iter().map(|c| (c.key.as_slice(), c)).collect(),
        }
    }

    fn value(&self, row: &str, column: usize) -> Value {
        let mut key = self.columns[column].key.clone();
        key[self.row_dim] = row.to_owned();
        match self.cells.get(key.as_slice()) {
            Some(PublishedCell { count: Some(c), .. }) => Value::Count(*c),
            Some(PublishedCell { primary: true, .. }) => Value::Primary,
            Some(_) => Value::Secondary,
            None => Value::Absent,
        }
    }

    fn row_label(&self, code: &str) -> String {
        label(&self.table.dims[self.row_dim], code)
    }

    /// The names of the dimensions across, for a caption.
    fn column_dims(&self) -> String {
        let names: Vec<String> = (0..self.table.dims.len())
            .filter(|&d| d != self.row_dim)
            .map(|d| humanize(&self.table.dims[d]).to_lowercase())
            .collect();
        names.join(" and ")
    }

    /// The `most` columns before `end` with the largest totals, largest first: the published
    /// total where there is one, else the sum of the column's published cells.
    fn largest(&self, end: usize, most: usize) -> Vec<usize> {
        let mut ranked: Vec<(u64, usize)> = (0..end)
            .map(|c| match self.value(TOTAL, c) {
                Value::Count(t) => (t, c),
                _ => {
                    let sum = self
                        .rows
                        .iter()
                        .filter_map(|r| match self.value(r, c) {
                            Value::Count(v) => Some(v),
                            _ => None,
                        })
                        .sum();
                    (sum, c)
                }
            })
            .collect();
        ranked.sort_by_key(|&(total, c)| (std::cmp::Reverse(total), c));
        ranked.into_iter().take(most).map(|(_, c)| c).collect()
    }
}

/// The label a reader sees for a code of dimension `dim`: its English name where the code is
/// not a word itself (`13` → `Tokyo`).
fn label(dim: &str, code: &str) -> String {
    if code == TOTAL {
        return "total".to_owned();
    }
    match aggregate::names(dim, code).as_deref() {
        Some([english, ..]) => (*english).to_owned(),
        _ => code.to_owned(),
    }
}

/// A code with all its names, as a row heading of the numbers: `13 Tokyo 東京都`.
fn heading(dim: &str, code: &str) -> String {
    let names = aggregate::names(dim, code).unwrap_or_default();
    if code == TOTAL || names.is_empty() {
        return escape(&label(dim, code));
    }
    let mut html = escape(code);
    for (column, name) in aggregate::name_columns(dim).iter().zip(names) {
        let lang = if column.ends_with("_ja") { "ja" } else { "en" };
        let _ = write!(html, " <span lang=\"{lang}\">{}</span>", escape(name));
    }
    html
}

/// `k` and the dominance share the tables were published under, from the manifest.
fn rules(manifest: &Manifest) -> (u64, Option<f64>) {
    let dominance = manifest.privacy.values().find_map(|f| match f {
        FileFacts::Table(t) => t.dominance,
        FileFacts::Microdata(_) | FileFacts::DpTable(_) => None,
    });
    (manifest.policy.k, dominance)
}

/// The first and last month any table covers.
fn period(tables: &[Published]) -> String {
    let months = tables
        .iter()
        .filter_map(|t| Some((t, t.dims.iter().position(|d| d == MONTH)?)))
        .flat_map(|(t, d)| t.cells.iter().map(move |c| c.key[d].as_str()))
        .filter(|m| *m != TOTAL && *m != UNKNOWN);
    match (months.clone().min(), months.max()) {
        (Some(first), Some(last)) => format!("{first} to {last}"),
        _ => "no months counted".to_owned(),
    }
}

/// "issued_certificates by month, validation_type and channel", in words.
fn title(table: &Published) -> String {
    let dims: Vec<String> = table
        .dims
        .iter()
        .map(|d| humanize(d).to_lowercase())
        .collect();
    let dims = match dims.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    format!("{} by {dims}", humanize(&table.population))
}

/// `issued_certificates` → `Issued certificates`.
fn humanize(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn describe(value: Value) -> String {
    match value {
        Value::Count(c) => thousands(c),
        Value::Primary => "withheld, primary".to_owned(),
        Value::Secondary => "withheld, secondary".to_owned(),
        Value::Absent => "–".to_owned(),
    }
}

fn percent(share: f64) -> String {
    format!("{}%", (share * 1000.0).round() / 10.0)
}

/// A link to a file of the export, named by its file name.
fn link(file: &str) -> String {
    let file = escape(file);
    format!("<a href=\"{file}\">{file}</a>")
}

fn anchor(n: usize) -> String {
    format!("table-{}", n + 1)
}

/// Text with `code` spans in backticks, as the table descriptions write them, made HTML.
fn inline_code(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

/// Text made safe inside HTML or SVG content and attribute values: labels reach the page from
/// the database, and none of them may open an element or leave an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#1d1d1f;--muted:#5b5b60;--rule:#d9d9de;--primary:#b00020;--secondary:#6b6b6b}\
*{box-sizing:border-box}\
body{margin:0;background:#fff;color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI','Noto Sans','Noto Sans CJK JP','Noto Sans JP','Hiragino Sans','Yu Gothic',Meiryo,IPAGothic,'DejaVu Sans',sans-serif}\
main{max-width:1000px;margin:0 auto;padding:24px 20px 64px}\
header{border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:20px}\
.kicker{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}\
h1{font-size:30px;margin:2px 0 8px}\
h2{font-size:20px;margin:0 0 6px}\
.lead{font-size:17px;max-width:760px}\
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0 0}\
.facts dt{color:var(--muted)}.facts dd{margin:0}\
section{border-top:1px solid var(--rule);padding:18px 0 10px}\
section .file{margin:0;font-size:13px}\
figure{margin:10px 0}\
figcaption{color:var(--muted);font-size:13px}\
svg.chart{display:block;max-width:100%;height:auto}\
svg.chart text{font-size:12px;fill:#333;font-family:inherit}\
svg .grid{stroke:#e6e6ea}svg .axis{stroke:#8a8a90}\
svg text.primary{fill:var(--primary)}svg text.secondary{fill:var(--secondary)}\
.total{font-size:16px;margin:4px 0}\
.primary{color:var(--primary)}.secondary{color:var(--secondary)}\
.withheld-facts{font-size:14px}\
details{margin:6px 0}summary{cursor:pointer;font-weight:600}\
.scroll{overflow-x:auto;max-height:520px;overflow-y:auto}\
table{border-collapse:collapse;font-size:13px}\
th,td{padding:3px 8px;border-bottom:1px solid var(--rule);text-align:right;white-space:nowrap}\
thead th{position:sticky;top:0;background:#f5f5f7}\
th[scope=row]{text-align:left;font-weight:normal}\
tr.sum th,tr.sum td{font-weight:600;border-top:2px solid var(--ink)}\
table.numbers td{font-variant-numeric:tabular-nums}\
table.files th,table.files td{text-align:left}\
code{font-size:90%;background:#f3f3f5;padding:0 3px;border-radius:3px}\
a{color:#1f5f99}\
";
