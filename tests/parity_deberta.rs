//! Parity of the candle DeBERTa-v2 against transformers 4.46.3 on the `deberta-v2-conv`
//! fixture (from `make_deberta_v2_fixture.py`: v2-xlarge-style config with the convolution,
//! absolute positions, separate position projections and an embedding projection), and of the
//! log-bucketed relative positions. The v3 configuration is covered in `tests/parity.rs`.
//!
//! Tolerance: 1e-4 absolute on logits and mean-pooled hidden states. Both sides compute in
//! fp32 but sum in different orders (candle's gemm and reductions vs torch/MKL), which moves
//! results by a few ulp per operation; through a few layers, LayerNorms and the softmax this
//! stays around 1e-6, so 1e-4 leaves room for other CPUs and BLAS builds while any real
//! mistake (a wrong index, scale or mask) moves logits by 1e-2 or more.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;
use stance::model::candle::deberta_v2::{
    make_log_bucket_position, Config, DebertaV2ForSequenceClassification,
};

const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

#[derive(Deserialize)]
struct BucketTable {
    bucket_size: i64,
    max_position: i64,
    relative_positions: Vec<i64>,
    buckets: Vec<i64>,
}

#[derive(Deserialize)]
struct Reference {
    input_ids: Vec<Vec<u32>>,
    token_type_ids: Vec<Vec<u32>>,
    attention_mask: Vec<Vec<u32>>,
    logits: Vec<Vec<f32>>,
    mean_pooled: Vec<Vec<f32>>,
    #[serde(default)]
    log_buckets: Vec<BucketTable>,
}

fn load_model(name: &str) -> DebertaV2ForSequenceClassification {
    let folder = fixtures().join("models").join(name);
    let config: Config =
        serde_json::from_str(&std::fs::read_to_string(folder.join("config.json")).unwrap()).unwrap();
    let weights = std::fs::read(folder.join("model.safetensors")).unwrap();
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).unwrap();
    DebertaV2ForSequenceClassification::load(vb, &config).unwrap()
}

fn tensor(rows: &[Vec<u32>]) -> Tensor {
    let flat: Vec<u32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

fn max_abs_diff(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .flat_map(|(g, w)| {
            assert_eq!(g.len(), w.len());
            g.iter().zip(w).map(|(a, b)| (a - b).abs())
        })
        .fold(0.0, f32::max)
}

/// Mean of the last hidden states over real tokens, as sentence-transformers pools.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Vec<Vec<f32>> {
    let mask = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
    let summed = hidden.broadcast_mul(&mask).unwrap().sum(1).unwrap();
    summed.broadcast_div(&mask.sum(1).unwrap()).unwrap().to_vec2().unwrap()
}

/// Checks logits and pooled embeddings; returns (max |Δ logit|, max |Δ pooled|).
fn check(name: &str, reference: &Reference) -> (f32, f32) {
    let model = load_model(name);
    let ids = tensor(&reference.input_ids);
    let types = tensor(&reference.token_type_ids);
    let mask = tensor(&reference.attention_mask);
    let logits: Vec<Vec<f32>> = model.forward(&ids, &types, &mask).unwrap().to_vec2().unwrap();
    let hidden = model.model().forward(&ids, &types, &mask).unwrap();
    let pooled = mean_pool(&hidden, &mask);
    let logit_diff = max_abs_diff(&logits, &reference.logits);
    let pooled_diff = max_abs_diff(&pooled, &reference.mean_pooled);
    eprintln!("{name}: max |Δ logit| = {logit_diff:e}, max |Δ mean-pooled| = {pooled_diff:e}");
    assert!(
        logit_diff <= TOLERANCE,
        "{name}: logits differ by {logit_diff}: {logits:?} vs {:?}",
        reference.logits
    );
    assert!(pooled_diff <= TOLERANCE, "{name}: mean-pooled hidden states differ by {pooled_diff}");
    (logit_diff, pooled_diff)
}

fn read_reference(name: &str) -> Reference {
    let path = fixtures().join("reference").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn v2_conv_matches_transformers() {
    check("deberta-v2-conv", &read_reference("deberta-v2-conv"));
}

#[test]
fn log_buckets_match_torch() {
    let reference = read_reference("deberta-v2-conv");
    assert!(!reference.log_buckets.is_empty());
    for table in &reference.log_buckets {
        assert_eq!(table.relative_positions.len(), table.buckets.len());
        for (&r, &want) in table.relative_positions.iter().zip(&table.buckets) {
            let got = make_log_bucket_position(r, table.bucket_size, table.max_position);
            assert_eq!(
                got, want,
                "bucket of {r} with {} buckets, max {}",
                table.bucket_size, table.max_position
            );
        }
    }
}
