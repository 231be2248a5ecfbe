//! Where a run's time goes: the stages after the scan log, at debug level (`-v`), their wall
//! time and the CPU time the whole process used meanwhile, so a slow run can be taken apart
//! without a profiler. CPU rather than wall time is the figure to compare on a shared machine.

use std::time::Instant;

/// Runs `work` and logs how long the phase took.
pub(crate) fn timed<T>(phase: &'static str, work: impl FnOnce() -> T) -> T {
    let wall = Instant::now();
    let cpu = process_cpu_seconds();
    let out = work();
    tracing::debug!(
        phase,
        wall_ms = wall.elapsed().as_millis() as u64,
        process_cpu_ms = ((process_cpu_seconds() - cpu) * 1e3) as u64,
        "phase finished"
    );
    out
}

/// CPU seconds (user and system) of every thread of the process so far.
pub(crate) fn process_cpu_seconds() -> f64 {
    cpu_seconds(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU seconds the calling thread has used, for the performance checks of tests.
#[cfg(test)]
pub(crate) fn thread_cpu_seconds() -> f64 {
    cpu_seconds(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn cpu_seconds(clock: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(clock, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}
