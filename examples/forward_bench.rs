//! Times `Backend::logits` on pre-tokenized pairs, the forward pass the side-by-side benchmark
//! (`scripts/bench/run.sh`) compares with PyTorch. Not part of the CLI.
//!
//! `forward_bench MODEL_DIR TOKENS_JSON [--batch N] [--repeats N] [--dtype f32|int8]
//! [--logits-out FILE]`: TOKENS_JSON is
//! `{"pad_token_id": n, "rows": [{"input_ids": [...], "type_ids": [...]}, ...]}`. Rows are
//! sorted by length and batched; after one untimed warm-up batch, one line per repeat reports
//! pairs/s. With `--logits-out` the logits of the last repeat are written there in the input
//! order, as JSON.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use serde::Deserialize;
use stance::model::{Dtype, Model, TokenBatch};

#[derive(Parser)]
struct Args {
    model: String,
    tokens: std::path::PathBuf,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    #[arg(long)]
    logits_out: Option<std::path::PathBuf>,
}

#[derive(Deserialize)]
struct Row {
    input_ids: Vec<u32>,
    type_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Tokens {
    pad_token_id: u32,
    rows: Vec<Row>,
}

fn main() -> Result<()> {
    stance::tune_allocator();
    let args = Args::parse();
    let tokens: Tokens = serde_json::from_slice(&std::fs::read(&args.tokens).context("reading tokens")?)?;
    let resolved = stance::model::resolve(&args.model, std::path::Path::new("/nonexistent"))?;
    let model = Model::load(resolved, "cpu", args.dtype)?;
    let mut order: Vec<usize> = (0..tokens.rows.len()).collect();
    order.sort_by_key(|&i| tokens.rows[i].input_ids.len());
    let batches: Vec<(Vec<usize>, TokenBatch)> = order
        .chunks(args.batch)
        .map(|chunk| {
            let rows: Vec<(&[u32], &[u32])> = chunk
                .iter()
                .map(|&i| (tokens.rows[i].input_ids.as_slice(), tokens.rows[i].type_ids.as_slice()))
                .collect();
            (chunk.to_vec(), TokenBatch::pad(&rows, tokens.pad_token_id))
        })
        .collect();
    // One untimed pass over the first batch: the weights are memory-mapped and would otherwise
    // be read from the page cache inside the timed loop (PyTorch copies them in at load).
    if let Some((_, first)) = batches.first() {
        model.backend.logits(first)?;
    }
    let mut logits = vec![Vec::new(); tokens.rows.len()];
    for repeat in 0..args.repeats {
        let start = Instant::now();
        for (indices, batch) in &batches {
            for (&i, row) in indices.iter().zip(model.backend.logits(batch)?) {
                logits[i] = row;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"repeat\": {repeat}, \"pairs\": {}, \"seconds\": {seconds:.4}, \"pairs_per_s\": {:.3}}}",
            tokens.rows.len(),
            tokens.rows.len() as f64 / seconds
        );
    }
    if let Some(path) = &args.logits_out {
        std::fs::write(path, serde_json::to_vec(&logits)?)?;
    }
    Ok(())
}
