//! Progress reporting. The library reports through [`Reporter`]; only the binary draws bars.

/// Receives progress from long-running library work, and can ask it to stop (Ctrl-C).
pub trait Reporter: Send + Sync {
    /// A new phase starts; `total` is the number of units when known.
    fn start(&self, phase: &str, total: Option<u64>);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
    /// The current phase is finished.
    fn finish(&self);
    /// A message worth showing to the user (counts of skipped rows, etc.).
    fn note(&self, message: &str);
    /// Whether the user asked to stop: long work checks between batches and stops cleanly.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A reporter that ignores everything (library use, tests, `--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {
    fn start(&self, _phase: &str, _total: Option<u64>) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
    fn note(&self, _message: &str) {}
}
