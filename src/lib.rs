//! `stance`: score official statements for stance toward targets with transformer models,
//! and turn the scores into trends, shifts and comparisons over time.
//!
//! The modules follow the data's path: [`corpus`] → [`targets`] → [`model`] → [`score`] →
//! [`analysis`] → [`output`]. The `stance` binary is a thin layer over this library.

// Errors carry paths and sources for good messages; they only travel the cold path, so their
// size does not matter.
#![allow(clippy::result_large_err)]

pub mod analysis;
pub mod cache;
pub mod checkpoint;
pub mod corpus;
pub mod error;
pub mod eval;
pub mod extract;
pub mod merge;
pub mod model;
pub mod output;
pub mod progress;
pub mod provenance;
pub mod score;
pub mod shard;
pub mod targets;

pub use error::{Error, Result};

pub mod pipeline;

/// Keeps freed memory in the process instead of handing it back to the kernel. candle
/// allocates a fresh buffer for every tensor operation, and with glibc's defaults the large
/// ones are mmapped or trimmed on free, so every batch pays page faults and page clearing
/// again (15–25% of CPU time in profiles). Peak memory is unchanged: it is reused, not grown.
/// Call once at start, before other threads run.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before threads start.
    unsafe {
        // Fixed at glibc's maximum, which also turns off its dynamic adjustment.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// Worker threads inference uses: `RAYON_NUM_THREADS` when set (the binary's `--threads`
/// sets it), else every core.
pub fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
