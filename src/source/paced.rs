//! Reading the scan's COPY stream without being woken for every write PostgreSQL makes.
//!
//! The server sends a COPY in writes of about 8 kB. The scan's reader, which decodes as it
//! goes, still drains the socket faster than the server fills it and then waits in the
//! runtime's poll, so the kernel wakes it for nearly every write: some 47,000 wake-ups in a
//! scan of a million rows, each a context switch that on a 2-core machine also pre-empts a
//! worker. Once it has read at least 64 kB since its last nap and finds nothing more, the
//! reader naps instead, for as long as the server takes to send another 64 kB at the rate it
//! has been sending (at most half a millisecond, far less than a socket buffers), and then
//! reads what arrived in one go.
//!
//! Measured on the 1M benchmark database, alternating with the reader that waits (four runs
//! each): about 47,000 → 11,000 voluntary context switches, about 0.7 s less system CPU time,
//! the scan at 260–340k rows/s against 220–240k. A reader with no work of its own (the
//! benchmark's floor) measured slower with naps, which is why the floor reads plainly.

use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// What the server should send, at the rate it has been sending, while the reader naps.
const NAP_BYTES: u64 = 64 << 10;

/// The longest nap: a Unix socket buffers about 200 kB, which a server sending 100 MB/s fills
/// in 2 ms; a nap that long would make the server wait for the reader.
const MAX_NAP: Duration = Duration::from_micros(500);

/// A COPY stream read in bursts.
pub(super) struct Paced<S> {
    stream: Pin<Box<S>>,
    /// Since the last nap began (what arrived during it counts): when, and how many bytes
    /// have arrived.
    since: Instant,
    bytes: u64,
}

impl<S, E> Paced<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    pub(super) fn new(stream: S) -> Self {
        Paced {
            stream: Box::pin(stream),
            since: Instant::now(),
            bytes: 0,
        }
    }

    /// The stream's next chunk, as `StreamExt::next` gives it.
    pub(super) async fn next(&mut self) -> Option<Result<Bytes, E>> {
        let next = match self.ready().await {
            Poll::Ready(next) => next,
            Poll::Pending => {
                // Nothing decoded is waiting; let the connection's task read what the socket
                // holds before deciding that it is empty.
                tokio::task::yield_now().await;
                match self.ready().await {
                    Poll::Ready(next) => next,
                    Poll::Pending if self.bytes >= NAP_BYTES => {
                        // A blocking sleep, not a timer: a runtime parked on a timer is still
                        // woken by the socket, and that wake-up is what the nap avoids.
                        let nap = nap(self.bytes, self.since.elapsed());
                        (self.since, self.bytes) = (Instant::now(), 0);
                        std::thread::sleep(nap);
                        self.stream.next().await
                    }
                    Poll::Pending => self.stream.next().await,
                }
            }
        };
        if let Some(Ok(chunk)) = &next {
            self.bytes += chunk.len() as u64;
        }
        next
    }

    /// The next chunk if one is ready now, without waiting.
    async fn ready(&mut self) -> Poll<Option<Result<Bytes, E>>> {
        std::future::poll_fn(|cx| Poll::Ready(self.stream.as_mut().poll_next(cx))).await
    }
}

/// How long to nap after `bytes` arrived in `elapsed`: the time the server takes to send
/// `NAP_BYTES` at that rate, at most `MAX_NAP` (also when nothing arrived).
fn nap(bytes: u64, elapsed: Duration) -> Duration {
    if bytes == 0 {
        return MAX_NAP;
    }
    let nanos = u128::from(NAP_BYTES) * elapsed.as_nanos() / u128::from(bytes);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)).min(MAX_NAP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_fast_server_gets_short_naps_and_a_slow_or_silent_one_the_longest() {
        // 1 GiB/s: 64 KiB take 61 µs.
        assert_eq!(
            nap(1 << 30, Duration::from_secs(1)),
            Duration::from_nanos(61_035)
        );
        assert_eq!(nap(1 << 20, Duration::from_secs(1)), MAX_NAP);
        assert_eq!(nap(0, Duration::from_secs(1)), MAX_NAP);
        assert_eq!(nap(u64::MAX, Duration::ZERO), Duration::ZERO);
    }

    proptest! {
        #[test]
        fn naps_are_bounded(bytes: u64, nanos: u64) {
            prop_assert!(nap(bytes, Duration::from_nanos(nanos)) <= MAX_NAP);
        }
    }

    /// A stream that is not ready `stutter` polls out of every `stutter + 1`, as a COPY
    /// stream is not while its socket is empty.
    struct Stuttering {
        chunks: Vec<Bytes>,
        stutter: usize,
        polls: usize,
    }

    impl Stream for Stuttering {
        type Item = Result<Bytes, ()>;
        fn poll_next(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<Option<Self::Item>> {
            self.polls += 1;
            if !self.polls.is_multiple_of(self.stutter + 1) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready((!self.chunks.is_empty()).then(|| Ok(self.chunks.remove(0))))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn every_chunk_comes_through_in_order_then_the_end() {
        // Up to 98 kB each, so that the reader naps along the way.
        let chunks: Vec<Bytes> = (0..50u8)
            .map(|i| Bytes::from(vec![i; 2000 * i as usize]))
            .collect();
        // Not ready once: read after the connection's turn; twice: read after a nap.
        for stutter in 0..3 {
            let mut paced = Paced::new(Stuttering {
                chunks: chunks.clone(),
                stutter,
                polls: 0,
            });
            let mut read = Vec::new();
            while let Some(chunk) = paced.next().await {
                read.push(chunk.unwrap());
            }
            assert_eq!(read, chunks, "stutter {stutter}");
            let total: u64 = chunks.iter().map(|c| c.len() as u64).sum();
            assert_eq!(
                paced.bytes < total,
                stutter == 2,
                "a nap, which restarts the count, only when the stream is not ready twice"
            );
        }
    }
}
