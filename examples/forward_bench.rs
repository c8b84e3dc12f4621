//! Times `Backend::logits` on pre-tokenized pairs, the forward pass the side-by-side benchmark
//! (`scripts/bench/run.sh`) compares with PyTorch. Not part of the CLI.
//!
//! `forward_bench MODEL_DIR TOKENS_JSON [BATCH] [REPEATS] [LOGITS_OUT]`: TOKENS_JSON is
//! `{"pad_token_id": n, "rows": [{"input_ids": [...], "type_ids": [...]}, ...]}`. Rows are
//! sorted by length and batched; after one untimed warm-up batch, one line per repeat reports
//! pairs/s. With LOGITS_OUT the
//! logits of the last repeat are written there in the input order, as JSON.

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Deserialize;
use stance::model::{Model, TokenBatch};

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
    let args: Vec<String> = std::env::args().collect();
    let [_, model, tokens, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: forward_bench MODEL_DIR TOKENS_JSON [BATCH] [REPEATS] [LOGITS_OUT]");
    };
    let batch: usize = rest.first().map_or(Ok(32), |s| s.parse()).context("BATCH")?;
    let repeats: usize = rest.get(1).map_or(Ok(1), |s| s.parse()).context("REPEATS")?;
    let tokens: Tokens = serde_json::from_slice(&std::fs::read(tokens).context("reading tokens")?)?;
    let resolved = stance::model::resolve(model, std::path::Path::new("/nonexistent"))?;
    let model = Model::load(resolved, "cpu")?;
    let mut order: Vec<usize> = (0..tokens.rows.len()).collect();
    order.sort_by_key(|&i| tokens.rows[i].input_ids.len());
    let batches: Vec<(Vec<usize>, TokenBatch)> = order
        .chunks(batch)
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
    for repeat in 0..repeats {
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
    if let Some(path) = rest.get(2) {
        std::fs::write(path, serde_json::to_vec(&logits)?)?;
    }
    Ok(())
}
