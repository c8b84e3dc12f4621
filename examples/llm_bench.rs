//! Times `--method llm`'s forward passes on prompts tokenized by transformers
//! (`scripts/bench/llm_bench.py prompts`), with and without the per-target prefix cache. Not part
//! of the CLI.
//!
//! `llm_bench MODEL_DIR PROMPTS_JSON [--batch N] [--dtype f32|int8] [--reference PROBS_JSON]`:
//! PROMPTS_JSON is `{"rows": [{"target": "...", "input_ids": [...], "labels": [f, a, n]}, ...]}`.
//! Per target, rows run in length-sorted batches after one untimed warm-up batch; one JSON line
//! per mode reports pairs/s. With `--reference` (the label probabilities transformers gave, in
//! row order) the largest difference is reported too.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use serde::Deserialize;
use stance::model::{Dtype, Model};
use stance::progress::Silent;
use stance::score::llm;

#[derive(Parser)]
struct Args {
    model: String,
    prompts: std::path::PathBuf,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    #[arg(long)]
    reference: Option<std::path::PathBuf>,
}

#[derive(Deserialize)]
struct Row {
    target: String,
    input_ids: Vec<u32>,
    labels: [u32; 3],
}

#[derive(Deserialize)]
struct Prompts {
    rows: Vec<Row>,
}

fn main() -> Result<()> {
    stance::tune_allocator();
    let args = Args::parse();
    let prompts: Prompts = serde_json::from_slice(&std::fs::read(&args.prompts).context("reading prompts")?)?;
    let resolved = stance::model::resolve(&args.model, std::path::Path::new("/nonexistent"))?;
    let model = Model::load(resolved, "cpu", args.dtype)?;
    let lm = model.backend.causal_lm().context("not a decoder model")?;
    let reference: Option<Vec<[f32; 3]>> = match &args.reference {
        Some(path) => Some(serde_json::from_slice(&std::fs::read(path)?)?),
        None => None,
    };
    let mut targets: Vec<&str> = prompts.rows.iter().map(|r| r.target.as_str()).collect();
    targets.dedup();
    let warm: Vec<&[u32]> = prompts.rows.iter().take(args.batch).map(|r| r.input_ids.as_slice()).collect();
    lm.next_token_logits(None, &warm)?;
    for target in &targets {
        let ids: Vec<&[u32]> =
            prompts.rows.iter().filter(|r| r.target == *target).map(|r| r.input_ids.as_slice()).collect();
        let mean = ids.iter().map(|i| i.len()).sum::<usize>() as f64 / ids.len() as f64;
        let shared = llm::shared_prefix_len(&ids);
        println!(
            "{}",
            serde_json::json!({ "target": target, "mean_prompt_tokens": mean, "shared_prefix_tokens": shared })
        );
    }
    let mut results: Vec<Vec<[f32; 3]>> = Vec::new();
    for prefix_cache in [false, true] {
        let mut probs = vec![[0f32; 3]; prompts.rows.len()];
        let start = Instant::now();
        for target in &targets {
            let rows: Vec<usize> =
                (0..prompts.rows.len()).filter(|&i| prompts.rows[i].target == *target).collect();
            let ids: Vec<&[u32]> = rows.iter().map(|&i| prompts.rows[i].input_ids.as_slice()).collect();
            let (logits, _) = llm::next_token_logits(lm, &ids, args.batch, prefix_cache, &Silent)?;
            for (&i, logits) in rows.iter().zip(&logits) {
                probs[i] = llm::label_probs(logits, prompts.rows[i].labels).context("non-finite logits")?.0;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let off_reference = reference.as_ref().map(|want| max_difference(&probs, want));
        println!(
            "{}",
            serde_json::json!({
                "system": "stance", "prefix_cache": prefix_cache, "dtype": args.dtype.as_str(),
                "pairs": prompts.rows.len(), "seconds": seconds,
                "pairs_per_s": prompts.rows.len() as f64 / seconds, "max_diff_vs_reference": off_reference,
            })
        );
        results.push(probs);
    }
    println!("{}", serde_json::json!({ "max_diff_cache_vs_none": max_difference(&results[0], &results[1]) }));
    Ok(())
}

fn max_difference(a: &[[f32; 3]], b: &[[f32; 3]]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
