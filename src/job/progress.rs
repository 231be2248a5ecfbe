//! Progress of a long scan: a spinner on a terminal, a log line every 10 seconds otherwise, and
//! a closing line with the row count and rate.

use std::time::{Duration, Instant};

pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    rows: u64,
    start: Instant,
    last_log: Instant,
}

impl Progress {
    pub(super) fn new() -> Progress {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} scanned {human_pos} rows ({per_sec}) {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            rows: 0,
            start: Instant::now(),
            last_log: Instant::now(),
        }
    }

    pub(super) fn add(&mut self, n: u64) {
        self.rows += n;
        match &self.bar {
            Some(bar) => bar.set_position(self.rows),
            None if self.last_log.elapsed() >= Duration::from_secs(10) => {
                self.last_log = Instant::now();
                tracing::info!(rows = self.rows, rows_per_sec = self.rate(), "scanning");
            }
            None => {}
        }
    }

    fn rate(&self) -> u64 {
        (self.rows as f64 / self.start.elapsed().as_secs_f64().max(1e-3)) as u64
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(
            rows = self.rows,
            rows_per_sec = self.rate(),
            "scan finished"
        );
    }
}
