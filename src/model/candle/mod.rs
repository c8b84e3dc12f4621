//! The candle backend (pure Rust; default). One file per architecture.
