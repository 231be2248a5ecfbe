//! The scan: one read of the contract views in a snapshot of its own, turned into records on
//! worker threads that yield the CPU, and fed to every sink of the tasks it serves.

use crate::db::{self, ConnectOptions};
use crate::error::{DbContext, Error, Result};
use crate::job::progress::Progress;
use crate::outputs::aggregate::Aggregates;
use crate::outputs::extract::ExtractSpill;
use crate::source::{Batch, Snapshot};
use crate::transform::pseudonymize::Pseudonymizer;
use crate::transform::record::{Mapped, SubscriberCache, map_batch};

/// What one scan feeds.
pub(crate) struct Sinks {
    pub(crate) extract: Option<ExtractSpill>,
    pub(crate) aggregates: Option<Aggregates>,
}

/// What a scan read: how many rows, in which snapshot, into which sinks.
pub(crate) struct Scanned {
    pub(crate) rows: u64,
    pub(crate) snapshot: String,
    pub(crate) sinks: Sinks,
}

/// Scans the contract views once, in a read-only snapshot on a connection of its own.
pub(crate) async fn scan_snapshot(
    connect: &ConnectOptions,
    pseudonymizer: Pseudonymizer,
    sinks: Sinks,
    yield_cpu: bool,
) -> Result<Scanned> {
    let mut client = db::connect(connect).await?;
    let snapshot = Snapshot::begin(&mut client).await?;
    let (rows, sinks) = scan(&snapshot, pseudonymizer, sinks, yield_cpu).await?;
    snapshot.tx.commit().await.during("closing the snapshot")?;
    Ok(Scanned {
        rows,
        snapshot: snapshot.id,
        sinks,
    })
}

/// The scan: PostgreSQL streams batches to a worker thread, which turns rows into records on
/// the scan's own rayon pool (order kept) and feeds every sink in scan order.
async fn scan(
    snapshot: &Snapshot<'_>,
    pseudonymizer: Pseudonymizer,
    mut sinks: Sinks,
    yield_cpu: bool,
) -> Result<(u64, Sinks)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    // Three stages overlap: PostgreSQL's COPY decoded on the runtime, rows turned into records
    // on rayon's pool, records fed to the sinks (spill files, counters) on their own thread.
    let (records_tx, records_rx) = std::sync::mpsc::sync_channel::<Mapped>(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("certanon-map-{i}"))
        .start_handler(move |_| lower_priority(yield_cpu))
        .build()
        .map_err(|e| Error::Other(format!("cannot start the scan's worker threads: {e}")))?;
    let mapper = std::thread::spawn(move || {
        lower_priority(yield_cpu);
        let mut caches: Vec<SubscriberCache> = (0..pool.current_num_threads())
            .map(|_| SubscriberCache::default())
            .collect();
        while let Some(batch) = rx.blocking_recv() {
            let records = pool.install(|| map_batch(&batch, &pseudonymizer, &mut caches));
            drop(batch);
            if records_tx.send(records).is_err() {
                break;
            }
        }
    });
    let feeder = std::thread::spawn(move || -> Result<Sinks> {
        lower_priority(yield_cpu);
        let mut progress = Progress::new();
        for records in records_rx {
            for r in records.iter() {
                if let Some(e) = sinks.extract.as_mut() {
                    e.add(r)?;
                }
                if let Some(a) = sinks.aggregates.as_mut() {
                    a.add(r)?;
                }
            }
            progress.add(records.len() as u64);
        }
        progress.finish();
        Ok(sinks)
    });
    let scanned = snapshot.scan(tx).await;
    let panicked = |_| Error::Other("the processing stage panicked".into());
    mapper.join().map_err(panicked)?;
    // The feeder's own error explains a scan that stopped because the feeder did.
    let sinks = feeder.join().map_err(panicked)??;
    Ok((scanned?, sinks))
}

/// With `yield_cpu` (`database.yield_cpu`, on by default), moves the calling thread to the
/// SCHED_IDLE class: it runs on CPU time no other thread of the host wants. The scan's record
/// work runs there because, where certanon shares a host with PostgreSQL, the backend that
/// produces the rows is the scan's bottleneck, and every time a worker preempts it the whole
/// scan waits. A refusal (a seccomp filter) leaves the thread as it was.
fn lower_priority(yield_cpu: bool) {
    if !yield_cpu {
        return;
    }
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid parameter block for SCHED_IDLE.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "a scan thread keeps its scheduling class"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_after(yield_cpu: bool) -> i32 {
        std::thread::spawn(move || {
            lower_priority(yield_cpu);
            // SAFETY: pid 0 is the calling thread.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn scan_threads_yield_the_cpu_unless_told_not_to() {
        // SAFETY: pid 0 is the calling thread.
        let inherited = unsafe { libc::sched_getscheduler(0) };
        assert_ne!(
            inherited,
            libc::SCHED_IDLE,
            "the test itself runs at idle priority"
        );
        assert_eq!(policy_after(true), libc::SCHED_IDLE);
        assert_eq!(policy_after(false), inherited);
    }
}
