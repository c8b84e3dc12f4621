//! The candle backend (pure Rust; default). One file per architecture.
pub mod deberta_v2;
