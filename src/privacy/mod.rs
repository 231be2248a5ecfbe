//! Privacy gate: k-anonymity level search for microdata, primary and secondary cell suppression for tables.
//!
//! Pure computation, no I/O: the extract and aggregate modules feed it histograms and tables,
//! `verify` feeds it tables read back from disk.

mod audit;
mod cells;
mod disclosure;
pub(crate) mod dp;
mod grid;
mod kanon;
mod subjects;
mod table;

pub(crate) use audit::audit_linked;
pub(crate) use cells::suppress_tables;
pub(crate) use kanon::{Choice, Dimension, Release, Tally, choose_levels, released_classes};
pub(crate) use subjects::{Profiles, SubjectFigures};
pub(crate) use table::{Contributors, Problem, Published, PublishedCell, Rules, TOTAL, Table};

/// CPU seconds the calling thread has used, for the performance checks of the gate's tests.
#[cfg(test)]
pub(crate) fn thread_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}
