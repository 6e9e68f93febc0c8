//! Passes split over the cores: contiguous runs of a range, each on its own thread, with the
//! results handed back in run order, so that a pass whose runs are concatenated or added in
//! that order gives exactly its sequential result.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads worth starting: the available cores, at most 4.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |c| c.get().clamp(1, 4))
}

/// `0..n` cut into runs of about equal length (at least `min_run` each, 16 per core, so that a
/// core finishing early takes another), `f` applied to each run on one thread per core (on
/// this thread when there is a single run); the results in run order. Runs are taken from the
/// last one back: over the slots, the latest runs hold most of the work (the report's window
/// is at the end), and a heavy run taken last would leave the other cores idle until it ends.
pub fn runs<T: Send>(n: usize, min_run: usize, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    // Tests split even small communities, so that they check the split against the models.
    let min_run = if cfg!(test) { 1 } else { min_run.max(1) };
    let threads = cores();
    let k = (16 * threads).min(n / min_run).max(1);
    if k == 1 || threads == 1 {
        return vec![f(0..n)];
    }
    let per = n.div_ceil(k);
    let next = AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(k))
            .map(|_| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= k {
                            break out;
                        }
                        let i = k - 1 - i;
                        out.push((i, f((i * per).min(n)..((i + 1) * per).min(n))));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_range_in_order() {
        for n in [0, 1, 7, 1000, 1001] {
            let parts = runs(n, 1000, |r| r.collect::<Vec<_>>());
            let all: Vec<usize> = parts.into_iter().flatten().collect();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
    }
}
