//! Cell suppression against differential privacy on the demo's synthetic data: per statistics
//! table, the share of interior cells suppression publishes (and of the total it hides), and
//! the error of the DP counts on the same cells at each ε. Prints a Markdown table.
//!
//! `cargo run --example dp_compare -- --rows 100000 --epsilon 1 --epsilon 4`

use clap::Parser;

use certanon::demo::compare::{Settings, compare};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    #[arg(long, default_value_t = 5)]
    k: u64,
    /// ε of a whole release (split evenly over the ten tables); repeat for several.
    #[arg(long = "epsilon", default_values_t = [1.0, 4.0])]
    epsilons: Vec<f64>,
    #[arg(long, default_value_t = 10)]
    max_certificates: u32,
    #[arg(long, default_value_t = 24)]
    max_months: u32,
    #[arg(long, default_value_t = 14)]
    max_certificate_months: u32,
    #[arg(long, default_value_t = 24)]
    window_months: u32,
}

fn main() {
    certanon::commands::init_logging("warn", false);
    let args = Args::parse();
    let settings = Settings {
        rows: args.rows,
        k: args.k,
        epsilons: args.epsilons,
        max_certificates: args.max_certificates,
        max_months: args.max_months,
        max_certificate_months: args.max_certificate_months,
        window_months: args.window_months,
    };
    let rows = match compare(&settings) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("dp_compare: {e}");
            std::process::exit(e.exit_code());
        }
    };
    let mut header = format!(
        "| table | cells | suppression k={}: published / total hidden |",
        settings.k
    );
    let mut rule = String::from("|---|---:|---:|");
    for e in &settings.epsilons {
        header.push_str(&format!(" DP ε={e}: mean abs error / relative / ±95 % |"));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for r in rows {
        let mut line = format!(
            "| {} | {} | {:.0} % / {:.1} % |",
            r.table,
            r.cells,
            100.0 * r.published,
            100.0 * r.hidden
        );
        for d in &r.dp {
            line.push_str(&format!(
                " {:.1} / {:.1} % / ±{} |",
                d.mean_abs_error,
                100.0 * d.relative_error,
                d.margin
            ));
        }
        println!("{line}");
    }
}
