//! The report's charts as hand-written inline SVG: a line chart for monthly series and a
//! horizontal bar chart for categories. Written out here rather than with a plotting library
//! so the report needs no script, font or file from anywhere else, and so every label passes
//! through one escaping function.

use std::fmt::Write as _;

use super::{escape, thousands};

/// One cell as a chart shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value {
    Count(u64),
    /// Withheld to protect the cell's own contributors.
    Primary,
    /// Withheld so that another withheld cell cannot be worked out.
    Secondary,
    /// Not a cell of the table: drawn as nothing.
    Absent,
}

/// A named sequence of values, one per point of the chart's axis.
pub(super) struct Series {
    pub name: String,
    pub values: Vec<Value>,
}

/// What makes a chart accessible and addressable in the page.
pub(super) struct Caption<'a> {
    /// Unique in the page: prefixes the ids of the title and description.
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 76.0;
const LEGEND: f64 = 210.0;
const TOP: f64 = 16.0;
const PLOT_HEIGHT: f64 = 300.0;
/// Room under the plot for the axis labels and the two rows of withheld markers.
const BELOW: f64 = 92.0;
const BAR_ROW: f64 = 18.0;
const BAR_LABEL: f64 = 190.0;
const BAR_VALUE: f64 = 130.0;
/// Colour-blind-safe and distinguishable in greyscale with the dash patterns below.
const COLOURS: [&str; 8] = [
    "#1f5f99", "#d55e00", "#2a8c4a", "#b3238f", "#7a5c00", "#0b8ea8", "#6a3d9a", "#555555",
];
const DASHES: [&str; 4] = ["", "6 3", "2 3", "8 3 2 3"];
const PRIMARY_COLOUR: &str = "#b00020";
const SECONDARY_COLOUR: &str = "#6b6b6b";

/// How many series a line chart draws; the report keeps the rest to its table.
pub(super) const MAX_SERIES: usize = 8;

/// A line per series over `axis` (periods in order, at most [`MAX_SERIES`] series): a line is
/// broken where a value is withheld, and a strip under the axis marks each period where a
/// drawn series has a withheld value, primary and secondary on rows of their own.
pub(super) fn line_chart(caption: &Caption, axis: &[String], series: &[Series]) -> String {
    let plot_width = WIDTH - LEFT - LEGEND;
    let height = TOP + PLOT_HEIGHT + BELOW;
    let bottom = TOP + PLOT_HEIGHT;
    let scale = Scale::new(series.iter().flat_map(|s| counts(&s.values)));
    let x = |i: usize| match axis.len() {
        0 | 1 => LEFT + plot_width / 2.0,
        n => LEFT + plot_width * i as f64 / (n - 1) as f64,
    };
    let y = |v: u64| bottom - PLOT_HEIGHT * scale.fraction(v);
    let mut svg = open(caption, height);
    for tick in scale.ticks() {
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_width,
            LEFT - 6.0,
            y(tick) + 4.0,
            thousands(tick),
            y = y(tick),
        );
    }
    for (i, label) in axis_labels(axis, plot_width) {
        let _ = write!(
            svg,
            r##"<line class="axis" x1="{x:.1}" x2="{x:.1}" y1="{bottom}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            bottom + 5.0,
            bottom + 18.0,
            escape(&label),
            x = x(i),
        );
    }
    let _ = write!(
        svg,
        r##"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{bottom}" y2="{bottom}"/>"##,
        LEFT + plot_width
    );
    for (n, s) in series.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let dash = DASHES[n / 2 % DASHES.len()];
        let _ = write!(
            svg,
            r##"<g class="series" stroke="{colour}" fill="{colour}" stroke-dasharray="{dash}"><title>{}</title>"##,
            escape(&s.name)
        );
        for run in runs(&s.values) {
            if run.len() == 1 {
                let (i, v) = run[0];
                let _ = write!(
                    svg,
                    r##"<circle class="mark" cx="{:.1}" cy="{:.1}" r="2.5" stroke="none"/>"##,
                    x(i),
                    y(v)
                );
                continue;
            }
            let path: Vec<String> = run
                .iter()
                .map(|&(i, v)| format!("{:.1},{:.1}", x(i), y(v)))
                .collect();
            let _ = write!(
                svg,
                r##"<polyline class="mark" fill="none" stroke-width="2" points="{}"/>"##,
                path.join(" ")
            );
        }
        svg.push_str("</g>");
        let ly = TOP + 8.0 + 20.0 * n as f64;
        let lx = WIDTH - LEGEND + 16.0;
        let _ = write!(
            svg,
            r##"<line x1="{lx}" x2="{:.1}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"##,
            lx + 26.0,
            lx + 32.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    withheld_strip(&mut svg, axis, series, bottom + 40.0, &x);
    svg.push_str("</svg>");
    svg
}

/// The two rows of withheld markers under a line chart, each marker titled with its period and
/// the series withheld there.
fn withheld_strip(
    svg: &mut String,
    axis: &[String],
    series: &[Series],
    top: f64,
    x: &impl Fn(usize) -> f64,
) {
    for (row, (rule, colour, class)) in [
        (Value::Primary, PRIMARY_COLOUR, "primary"),
        (Value::Secondary, SECONDARY_COLOUR, "secondary"),
    ]
    .into_iter()
    .enumerate()
    {
        if !series.iter().any(|s| s.values.contains(&rule)) {
            continue;
        }
        let y = top + 18.0 * row as f64;
        let _ = write!(
            svg,
            r##"<text class="{class}" x="{:.1}" y="{:.1}">withheld, {class}</text>"##,
            WIDTH - LEGEND + 16.0,
            y + 4.0
        );
        for (i, period) in axis.iter().enumerate() {
            let hidden: Vec<&str> = series
                .iter()
                .filter(|s| s.values.get(i) == Some(&rule))
                .map(|s| s.name.as_str())
                .collect();
            if hidden.is_empty() {
                continue;
            }
            let title = escape(&format!(
                "{period}: withheld, {class}: {}",
                hidden.join(", ")
            ));
            let (cx, cy) = (x(i), y);
            match rule {
                Value::Primary => {
                    let _ = write!(
                        svg,
                        r##"<path class="withheld primary" d="M{:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z" fill="{colour}"><title>{title}</title></path>"##,
                        cx - 4.0,
                        cy + 4.0,
                        cx + 4.0,
                        cy + 4.0,
                        cx,
                        cy - 4.0
                    );
                }
                _ => {
                    let _ = write!(
                        svg,
                        r##"<circle class="withheld secondary" cx="{cx:.1}" cy="{cy:.1}" r="3.5" fill="none" stroke="{colour}" stroke-width="1.5"><title>{title}</title></circle>"##
                    );
                }
            }
        }
    }
}

/// One horizontal bar per category; a withheld category gets a dashed outline in place of its
/// bar and says which rule withheld it.
pub(super) fn bar_chart(caption: &Caption, bars: &[(String, Value)]) -> String {
    let height = TOP + BAR_ROW * bars.len() as f64 + 40.0;
    let plot_width = WIDTH - BAR_LABEL - BAR_VALUE;
    let scale = Scale::new(bars.iter().filter_map(|(_, v)| match v {
        Value::Count(c) => Some(*c),
        _ => None,
    }));
    let bottom = TOP + BAR_ROW * bars.len() as f64;
    let x = |v: u64| BAR_LABEL + plot_width * scale.fraction(v);
    let mut svg = open(caption, height);
    for tick in scale.ticks() {
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{bottom:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            bottom + 16.0,
            thousands(tick),
            x = x(tick),
        );
    }
    for (n, (label, value)) in bars.iter().enumerate() {
        let top = TOP + BAR_ROW * n as f64;
        let mid = top + BAR_ROW / 2.0 + 4.0;
        let _ = write!(
            svg,
            r##"<text class="tick" x="{:.1}" y="{mid:.1}" text-anchor="end">{}</text>"##,
            BAR_LABEL - 8.0,
            escape(label)
        );
        let (mark, text) = match value {
            Value::Count(c) => (
                format!(
                    r##"<rect class="mark" x="{BAR_LABEL}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"##,
                    top + 2.0,
                    x(*c) - BAR_LABEL,
                    BAR_ROW - 4.0,
                    COLOURS[0],
                    escape(label),
                    thousands(*c)
                ),
                (thousands(*c), "value"),
            ),
            Value::Absent => (String::new(), ("–".to_owned(), "value")),
            Value::Primary | Value::Secondary => {
                let (rule, colour) = if *value == Value::Primary {
                    ("primary", PRIMARY_COLOUR)
                } else {
                    ("secondary", SECONDARY_COLOUR)
                };
                (
                    format!(
                        r##"<rect class="withheld {rule}" x="{BAR_LABEL}" y="{:.1}" width="36" height="{:.1}" fill="none" stroke="{colour}" stroke-dasharray="3 2"><title>{}: withheld, {rule}</title></rect>"##,
                        top + 2.0,
                        BAR_ROW - 4.0,
                        escape(label)
                    ),
                    (format!("withheld, {rule}"), rule),
                )
            }
        };
        let end = match value {
            Value::Count(c) => x(*c),
            Value::Absent => BAR_LABEL,
            Value::Primary | Value::Secondary => BAR_LABEL + 36.0,
        };
        let _ = write!(
            svg,
            r##"{mark}<text class="{}" x="{:.1}" y="{mid:.1}">{}</text>"##,
            text.1,
            end + 6.0,
            text.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The opening of a chart: its size, role and the title and description screen readers read.
fn open(caption: &Caption, height: f64) -> String {
    let id = escape(caption.id);
    format!(
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"##,
        escape(caption.title),
        escape(caption.desc)
    )
}

fn counts(values: &[Value]) -> impl Iterator<Item = u64> + '_ {
    values.iter().filter_map(|v| match v {
        Value::Count(c) => Some(*c),
        _ => None,
    })
}

/// The stretches of consecutive published values, with their positions.
fn runs(values: &[Value]) -> Vec<Vec<(usize, u64)>> {
    let mut runs: Vec<Vec<(usize, u64)>> = Vec::new();
    let mut open = false;
    for (i, v) in values.iter().enumerate() {
        match (v, open) {
            (Value::Count(c), true) => runs.last_mut().into_iter().for_each(|r| r.push((i, *c))),
            (Value::Count(c), false) => runs.push(vec![(i, *c)]),
            _ => {}
        }
        open = matches!(v, Value::Count(_));
    }
    runs
}

/// The axis positions to label and their text: every period when they fit, else the first
/// month of every year (or of every few years) as the year alone.
fn axis_labels(axis: &[String], plot_width: f64) -> Vec<(usize, String)> {
    const ROOM: f64 = 52.0;
    let fits = |n: usize| n as f64 * ROOM <= plot_width;
    if fits(axis.len()) {
        return axis.iter().cloned().enumerate().collect();
    }
    let years: Vec<(usize, String)> = axis
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.strip_suffix("-01").map(|y| (i, y.to_owned())))
        .collect();
    let stride = (1..).find(|s| fits(years.len().div_ceil(*s))).unwrap_or(1);
    years.into_iter().step_by(stride).collect()
}

/// A value axis from 0 to a round number at or above the largest value.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    step: u64,
    max: u64,
}

impl Scale {
    fn new(values: impl Iterator<Item = u64>) -> Scale {
        let largest = values.max().unwrap_or(0).max(1);
        let rough = (largest as f64 / 6.0).max(1.0);
        let magnitude = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= rough)
            .unwrap_or(10.0 * magnitude)
            .round()
            .max(1.0) as u64;
        Scale {
            step,
            max: largest.div_ceil(step) * step,
        }
    }

    /// Where `v` sits between 0 and the top of the axis.
    fn fraction(self, v: u64) -> f64 {
        v as f64 / self.max as f64
    }

    fn ticks(self) -> impl Iterator<Item = u64> {
        (0..=self.max / self.step).map(move |i| i * self.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_line_breaks_at_a_withheld_value_and_the_strip_marks_it() {
        let axis: Vec<String> = ["2020-01", "2020-02", "2020-03", "2020-04"]
            .map(String::from)
            .to_vec();
        let series = [Series {
            name: "acme".into(),
            values: vec![
                Value::Count(10),
                Value::Count(12),
                Value::Primary,
                Value::Count(9),
            ],
        }];
        let caption = Caption {
            id: "t",
            title: "T",
            desc: "D",
        };
        let svg = line_chart(&caption, &axis, &series);
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle class=\"mark\"").count(), 1);
        assert_eq!(svg.matches("withheld primary").count(), 1);
        assert!(svg.contains("<title>2020-03: withheld, primary: acme</title>"));
        assert_eq!(svg.matches("withheld secondary").count(), 0);
        assert!(
            !svg.contains("withheld, secondary"),
            "a row with no marker is left out"
        );
    }

    #[test]
    fn a_long_axis_is_labelled_by_year_and_thinned_to_fit() {
        let axis: Vec<String> = (2000..2026)
            .flat_map(|y| (1..=12).map(move |m| format!("{y}-{m:02}")))
            .collect();
        let labels = axis_labels(&axis, WIDTH - LEFT - LEGEND);
        assert!(labels.len() > 5 && labels.len() as f64 * 52.0 <= WIDTH - LEFT - LEGEND);
        assert_eq!(labels[0], (0, "2000".to_owned()));
        let short: Vec<String> = ["2020-11", "2020-12", "2021-01"].map(String::from).to_vec();
        assert_eq!(axis_labels(&short, 600.0).len(), 3);
    }

    #[test]
    fn a_withheld_bar_says_which_rule_withheld_it() {
        let caption = Caption {
            id: "b",
            title: "B",
            desc: "D",
        };
        let bars = [
            ("Tokyo".to_owned(), Value::Count(1200)),
            ("Tottori".to_owned(), Value::Secondary),
        ];
        let svg = bar_chart(&caption, &bars);
        assert_eq!(svg.matches("class=\"mark\"").count(), 1);
        assert!(svg.contains(">withheld, secondary</text>"));
        assert!(svg.contains(">1,200</text>"));
    }

    proptest! {
        /// The axis reaches every value with a handful of round ticks, and no mark leaves the
        /// plot.
        #[test]
        fn the_scale_covers_every_value(values in proptest::collection::vec(0u64..10_000_000, 0..40)) {
            let scale = Scale::new(values.iter().copied());
            prop_assert!(values.iter().all(|&v| scale.fraction(v) <= 1.0));
            let ticks = scale.ticks().count();
            prop_assert!((2..=11).contains(&ticks), "{scale:?}");
            let magnitude = 10u64.pow(scale.step.ilog10());
            prop_assert!(scale.step.is_multiple_of(magnitude) && [1, 2, 5].contains(&(scale.step / magnitude)));
        }

        #[test]
        fn runs_keep_every_published_value_once(values in proptest::collection::vec(
            prop_oneof![ (0u64..100).prop_map(Value::Count), Just(Value::Primary), Just(Value::Secondary)],
            0..60,
        )) {
            let runs = runs(&values);
            let flat: Vec<(usize, u64)> = runs.iter().flatten().copied().collect();
            let want: Vec<(usize, u64)> = values.iter().enumerate().filter_map(|(i, v)| match v {
                Value::Count(c) => Some((i, *c)),
                _ => None,
            }).collect();
            prop_assert_eq!(flat, want);
            prop_assert!(runs.iter().all(|r| r.windows(2).all(|w| w[1].0 == w[0].0 + 1)));
        }
    }
}
