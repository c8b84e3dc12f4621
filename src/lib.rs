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
pub mod model;
pub mod output;
pub mod progress;
pub mod provenance;
pub mod score;
pub mod targets;

pub use error::{Error, Result};

pub mod pipeline;

/// Worker threads inference uses: `RAYON_NUM_THREADS` when set (the binary's `--threads`
/// sets it), else every core.
pub fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
