//! The candle backend (pure Rust; default). One file per architecture, each mirroring
//! transformers' modeling code in inference mode; this file finds the weights, picks the
//! architecture from `config.json`'s `model_type`, and implements [`Backend`].
//!
//! An architecture file provides a serde `Config`, a bare encoder (`load(vb, &Config)`,
//! `forward(..) -> last hidden states`) and a `…ForSequenceClassification` (`load` at the
//! checkpoint root, `forward(..) -> logits`, `model()` for its encoder).

mod attention;
pub mod bart;
pub mod bert;
mod cpu;
pub mod deberta_v2;
pub mod decoder;
pub mod distilbert;
mod fused;
pub mod int8;
pub mod linear;
mod packed;
mod pages;
pub mod roberta;

/// Deterministic values in [-`scale`, `scale`), a different sequence per seed, for the kernels'
/// tests.
#[cfg(test)]
fn test_values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2654435761) ^ seed) % 2001) as f32 / 1000.0 * scale - scale)
        .collect()
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, DeviceLocation, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;

use super::{Backend, CausalLm, CommonConfig, Dtype, ModelError, Prefix, TokenBatch};

/// `model_type` values this backend loads.
pub const SUPPORTED_MODEL_TYPES: &[&str] =
    &["bart", "bert", "deberta-v2", "distilbert", "llama", "qwen2", "qwen3", "roberta", "xlm-roberta"];

/// A tensor every supported encoder has, used to find where the encoder sits in a checkpoint.
const ENCODER_PROBE: &str = "embeddings.word_embeddings.weight";

/// Activation functions by the names transformers' `ACT2FN` gives them in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// The exact, erf-based GELU.
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation of GELU (`gelu_fast` is the same formula, factored).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(rename = "tanh")]
    Tanh,
    #[serde(rename = "sigmoid")]
    Sigmoid,
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    #[serde(rename = "linear")]
    Identity,
}

impl Activation {
    pub(super) fn forward(self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Gelu if xs.device().is_cpu() && xs.dtype() == DType::F32 => {
                xs.contiguous()?.apply_op1_no_bwd(&fused::Gelu)
            }
            Self::Gelu => xs.gelu_erf(),
            Self::GeluTanh => xs.gelu(),
            Self::Relu => xs.relu(),
            Self::Tanh => xs.tanh(),
            Self::Sigmoid => candle_nn::ops::sigmoid(xs),
            Self::Silu => xs.silu(),
            Self::Identity => Ok(xs.clone()),
        }
    }
}

/// Outputs of a classification head: transformers sets `num_labels` to the size of
/// `id2label` when the config has one, and defaults to 2.
fn label_count(id2label: &BTreeMap<usize, String>, num_labels: Option<usize>) -> usize {
    if id2label.is_empty() {
        num_labels.unwrap_or(2)
    } else {
        id2label.len()
    }
}

/// The first token's hidden state (`[CLS]` / `<s>`), `(batch, hidden)`. Made contiguous so
/// the head's matmul sees a plain row-major matrix on every device.
fn first_token(hidden: &Tensor) -> candle_core::Result<Tensor> {
    hidden.narrow(1, 0, 1)?.squeeze(1)?.contiguous()
}

/// Mean of `hidden` over the positions where `mask` is 1, `(batch, hidden)`.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    // sentence-transformers' clamp: a row without tokens pools to zeros instead of NaN.
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    summed.broadcast_div(&counts)
}

/// A loaded checkpoint: per architecture, the bare encoder or the encoder with its
/// sequence-classification head.
enum Architecture {
    Bert(bert::BertModel),
    BertClassifier(bert::BertForSequenceClassification),
    Roberta(roberta::RobertaModel),
    RobertaClassifier(roberta::RobertaForSequenceClassification),
    DistilBert(distilbert::DistilBertModel),
    DistilBertClassifier(distilbert::DistilBertForSequenceClassification),
    DebertaV2(deberta_v2::DebertaV2Model),
    DebertaV2Classifier(deberta_v2::DebertaV2ForSequenceClassification),
    /// Encoder-decoder; only checkpoints with the classification head are read.
    BartClassifier(bart::BartForSequenceClassification),
    /// A decoder-only language model (`--method llm` only).
    Decoder(decoder::DecoderModel),
}

/// A batch on the device: `(batch, seq)` `u32` tensors.
struct Inputs {
    input_ids: Tensor,
    type_ids: Tensor,
    attention_mask: Tensor,
}

impl Architecture {
    fn hidden_states(&self, x: &Inputs) -> candle_core::Result<Tensor> {
        match self {
            Self::Bert(m) => m.forward(&x.input_ids, &x.type_ids, &x.attention_mask),
            Self::BertClassifier(m) => m.model().forward(&x.input_ids, &x.type_ids, &x.attention_mask),
            Self::Roberta(m) => m.forward(&x.input_ids, &x.attention_mask),
            Self::RobertaClassifier(m) => m.model().forward(&x.input_ids, &x.attention_mask),
            Self::DistilBert(m) => m.forward(&x.input_ids, &x.attention_mask),
            Self::DistilBertClassifier(m) => m.model().forward(&x.input_ids, &x.attention_mask),
            Self::DebertaV2(m) => m.forward(&x.input_ids, &x.type_ids, &x.attention_mask),
            Self::DebertaV2Classifier(m) => m.model().forward(&x.input_ids, &x.type_ids, &x.attention_mask),
            Self::BartClassifier(m) => m.model().forward(&x.input_ids, &x.attention_mask),
            // `CandleBackend::embeddings` refuses decoders before asking.
            Self::Decoder(_) => candle_core::bail!("a decoder-only model has no encoder states"),
        }
    }

    /// `None` when the checkpoint has no classification head.
    fn logits(&self, x: &Inputs) -> Option<candle_core::Result<Tensor>> {
        match self {
            Self::BertClassifier(m) => Some(m.forward(&x.input_ids, &x.type_ids, &x.attention_mask)),
            Self::RobertaClassifier(m) => Some(m.forward(&x.input_ids, &x.attention_mask)),
            Self::DistilBertClassifier(m) => Some(m.forward(&x.input_ids, &x.attention_mask)),
            Self::DebertaV2Classifier(m) => Some(m.forward(&x.input_ids, &x.type_ids, &x.attention_mask)),
            Self::BartClassifier(m) => Some(m.forward(&x.input_ids, &x.attention_mask)),
            Self::Bert(_)
            | Self::Roberta(_)
            | Self::DistilBert(_)
            | Self::DebertaV2(_)
            | Self::Decoder(_) => None,
        }
    }
}

/// Where a checkpoint keeps its encoder, and whether it has a classification head.
enum Layout<'a> {
    /// A `…ForSequenceClassification` checkpoint: load it from the root.
    Classifier,
    /// A bare encoder, under its model prefix or (sentence-transformers) at the root.
    Encoder(VarBuilder<'a>),
}

struct Checkpoint<'a> {
    vb: VarBuilder<'a>,
    folder: &'a Path,
    /// What load errors name: the weights file, or the shard index.
    weights: PathBuf,
    model_type: &'a str,
}

impl<'a> Checkpoint<'a> {
    /// `prefix` is the encoder's key prefix in task checkpoints (`bert`, `roberta`, …) and
    /// `head` a tensor only the classification head has.
    fn layout(&self, prefix: &str, head: &str) -> Result<Layout<'a>, ModelError> {
        if self.vb.contains_tensor(head) {
            Ok(Layout::Classifier)
        } else if self.vb.contains_tensor(&format!("{prefix}.{ENCODER_PROBE}")) {
            Ok(Layout::Encoder(self.vb.pp(prefix)))
        } else if self.vb.contains_tensor(ENCODER_PROBE) {
            Ok(Layout::Encoder(self.vb.clone()))
        } else {
            Err(ModelError::MissingTensor {
                folder: self.folder.to_owned(),
                model_type: self.model_type.to_owned(),
                expected: format!("`{ENCODER_PROBE}` (or `{prefix}.{ENCODER_PROBE}`)"),
            })
        }
    }

    fn weights_error(&self, source: candle_core::Error) -> ModelError {
        ModelError::Weights { path: self.weights.clone(), source }
    }
}

/// A model loaded with candle, ready to run batches.
pub struct CandleBackend {
    architecture: Architecture,
    device: Device,
    dtype: Dtype,
    folder: PathBuf,
    max_sequence_length: usize,
}

impl std::fmt::Debug for CandleBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleBackend")
            .field("folder", &self.folder)
            .field("device", &self.device())
            .field("has_classifier", &self.has_classifier())
            .finish()
    }
}

/// Size fields of every architecture's `config.json`, with the largest value a real checkpoint
/// could have: a zero divides by zero in the attention, a huge value asks for absurd memory.
const SIZE_FIELDS: &[(&str, u64)] = &[
    ("vocab_size", 1 << 22),
    ("hidden_size", 1 << 16),
    ("dim", 1 << 16),
    ("num_hidden_layers", 1024),
    ("n_layers", 1024),
    ("num_attention_heads", 1024),
    ("n_heads", 1024),
    ("intermediate_size", 1 << 18),
    ("hidden_dim", 1 << 18),
    ("max_position_embeddings", 1 << 20),
    ("attention_head_size", 1 << 16),
    ("d_model", 1 << 16),
    ("encoder_layers", 1024),
    ("decoder_layers", 1024),
    ("encoder_attention_heads", 1024),
    ("decoder_attention_heads", 1024),
    ("encoder_ffn_dim", 1 << 18),
    ("decoder_ffn_dim", 1 << 18),
    ("num_key_value_heads", 1024),
    ("head_dim", 1 << 16),
];

/// Refuses size fields that are not whole numbers in range, and a hidden size the heads do not
/// divide, before any tensor is built from them.
fn check_sizes(config: &serde_json::Value) -> Result<(), serde_json::Error> {
    use serde::de::Error;
    for &(key, max) in SIZE_FIELDS {
        if let Some(value) = config.get(key) {
            if !value.as_u64().is_some_and(|v| (1..=max).contains(&v)) {
                return Err(serde_json::Error::custom(format!(
                    "`{key}` is {value}; expected a whole number from 1 to {max}"
                )));
            }
        }
    }
    for (hidden, heads) in [
        ("hidden_size", "num_attention_heads"),
        ("dim", "n_heads"),
        ("d_model", "encoder_attention_heads"),
        ("d_model", "decoder_attention_heads"),
    ] {
        let (Some(h), Some(n)) =
            (config.get(hidden).and_then(|v| v.as_u64()), config.get(heads).and_then(|v| v.as_u64()))
        else {
            continue;
        };
        let explicit_head_size = config.get("attention_head_size").or_else(|| config.get("head_dim"));
        if explicit_head_size.is_none() && h % n != 0 {
            return Err(serde_json::Error::custom(format!(
                "`{hidden}` {h} is not a multiple of `{heads}` {n}"
            )));
        }
    }
    Ok(())
}

/// Loads the model in `folder` (`config.json` already read into `config_json` and `common`)
/// onto `device`, its encoder's linear layers in `dtype` and the rest in f32, from `weights`
/// (`model.safetensors`, or the shards a `model.safetensors.index.json` lists: see
/// [`super::weight_files`]), mapped and hashed once.
pub fn load(
    folder: &Path,
    weights: super::weights::MappedWeights,
    config_json: &serde_json::Value,
    common: &CommonConfig,
    device: &Device,
    dtype: Dtype,
) -> Result<CandleBackend, ModelError> {
    let config_path = folder.join("config.json");
    let config_error = |source| ModelError::Config { path: config_path.clone(), source };
    // Load errors name the weights file, or the index of a sharded checkpoint.
    let weights_path = match weights.paths() {
        [single] => single.clone(),
        _ => folder.join(super::hub::WEIGHTS_INDEX_FILE),
    };
    let vb = VarBuilder::from_backend(Box::new(weights), DType::F32, device.clone());
    check_sizes(config_json).map_err(config_error)?;
    let checkpoint = Checkpoint { vb, folder, weights: weights_path, model_type: &common.model_type };
    let root = checkpoint.vb.clone();
    let (architecture, max_sequence_length) = match common.model_type.as_str() {
        "bert" => {
            let config =
                bert::Config { dtype, ..bert::Config::deserialize(config_json).map_err(config_error)? };
            let model = match checkpoint.layout("bert", "classifier.weight")? {
                Layout::Classifier => {
                    bert::BertForSequenceClassification::load(root, &config).map(Architecture::BertClassifier)
                }
                Layout::Encoder(vb) => bert::BertModel::load(vb, &config).map(Architecture::Bert),
            };
            (model.map_err(|e| checkpoint.weights_error(e))?, config.max_position_embeddings)
        }
        "roberta" | "xlm-roberta" => {
            let mut config = roberta::Config::from_json(config_json).map_err(config_error)?;
            config.encoder.dtype = dtype;
            let model = match checkpoint.layout("roberta", "classifier.out_proj.weight")? {
                Layout::Classifier => roberta::RobertaForSequenceClassification::load(root, &config)
                    .map(Architecture::RobertaClassifier),
                Layout::Encoder(vb) => roberta::RobertaModel::load(vb, &config).map(Architecture::Roberta),
            };
            (model.map_err(|e| checkpoint.weights_error(e))?, config.max_sequence_length())
        }
        "distilbert" => {
            let config = distilbert::Config {
                dtype,
                ..distilbert::Config::deserialize(config_json).map_err(config_error)?
            };
            let model = match checkpoint.layout("distilbert", "classifier.weight")? {
                Layout::Classifier => distilbert::DistilBertForSequenceClassification::load(root, &config)
                    .map(Architecture::DistilBertClassifier),
                Layout::Encoder(vb) => {
                    distilbert::DistilBertModel::load(vb, &config).map(Architecture::DistilBert)
                }
            };
            (model.map_err(|e| checkpoint.weights_error(e))?, config.max_position_embeddings)
        }
        "deberta-v2" => {
            let config = deberta_v2::Config {
                dtype,
                ..deberta_v2::Config::deserialize(config_json).map_err(config_error)?
            };
            let model = match checkpoint.layout("deberta", "classifier.weight")? {
                Layout::Classifier => deberta_v2::DebertaV2ForSequenceClassification::load(root, &config)
                    .map(Architecture::DebertaV2Classifier),
                Layout::Encoder(vb) => {
                    deberta_v2::DebertaV2Model::load(vb, &config).map(Architecture::DebertaV2)
                }
            };
            (model.map_err(|e| checkpoint.weights_error(e))?, config.max_position_embeddings)
        }
        "bart" => {
            let config =
                bart::Config { dtype, ..bart::Config::from_json(config_json).map_err(config_error)? };
            const HEAD: &str = "classification_head.out_proj.weight";
            if !root.contains_tensor(HEAD) {
                return Err(ModelError::MissingTensor {
                    folder: folder.to_owned(),
                    model_type: common.model_type.clone(),
                    expected: format!("`{HEAD}` (only BartForSequenceClassification checkpoints are read)"),
                });
            }
            let model = bart::BartForSequenceClassification::load(root, &config)
                .map(Architecture::BartClassifier)
                .map_err(|e| checkpoint.weights_error(e))?;
            (model, config.max_position_embeddings)
        }
        other => match decoder::Family::from_model_type(other) {
            Some(family) => {
                let config = decoder::Config {
                    dtype,
                    ..decoder::Config::from_json(config_json, family).map_err(config_error)?
                };
                let model =
                    decoder::DecoderModel::load(root, &config).map_err(|e| checkpoint.weights_error(e))?;
                (Architecture::Decoder(model), config.max_position_embeddings)
            }
            None => {
                return Err(ModelError::UnsupportedArchitecture {
                    model_type: other.to_owned(),
                    path: config_path,
                    supported: SUPPORTED_MODEL_TYPES.join(", "),
                })
            }
        },
    };
    Ok(CandleBackend {
        architecture,
        device: device.clone(),
        dtype,
        folder: folder.to_owned(),
        max_sequence_length,
    })
}

/// The name [`device_from_name`] parses back: `cpu`, `cuda:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".to_owned(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// Parses a device name: `cpu`, `cuda` (the first GPU) or `cuda:N`.
pub fn device_from_name(name: &str) -> Result<Device, ModelError> {
    let ordinal = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| ModelError::UnknownDevice { name: name.to_owned() })?,
    };
    if !cfg!(feature = "cuda") {
        return Err(ModelError::CudaUnavailable { name: name.to_owned() });
    }
    Device::new_cuda(ordinal).map_err(|source| ModelError::Device { name: name.to_owned(), source })
}

impl CandleBackend {
    /// Whether the checkpoint has a sequence-classification head (else only embeddings work).
    pub fn has_classifier(&self) -> bool {
        !matches!(
            self.architecture,
            Architecture::Bert(_)
                | Architecture::Roberta(_)
                | Architecture::DistilBert(_)
                | Architecture::DebertaV2(_)
                | Architecture::Decoder(_)
        )
    }

    fn decoder(&self) -> Option<&decoder::DecoderModel> {
        match &self.architecture {
            Architecture::Decoder(model) => Some(model),
            _ => None,
        }
    }

    fn decoder_only(&self) -> ModelError {
        let model_type = self.decoder().map_or("", |m| m.config().family.as_str()).to_owned();
        ModelError::DecoderOnly { folder: self.folder.clone(), model_type }
    }

    /// Checks the batch's shape and moves it to the device; `None` for an empty batch.
    fn inputs(&self, batch: &TokenBatch) -> Result<Option<Inputs>, ModelError> {
        let cells = batch.batch_size * batch.seq_len;
        for (name, values) in [
            ("input_ids", &batch.input_ids),
            ("type_ids", &batch.type_ids),
            ("attention_mask", &batch.attention_mask),
        ] {
            if values.len() != cells {
                return Err(ModelError::InvalidBatch {
                    reason: format!(
                        "{name} has {} values, expected {} rows × {} tokens",
                        values.len(),
                        batch.batch_size,
                        batch.seq_len
                    ),
                });
            }
        }
        if batch.batch_size == 0 {
            return Ok(None);
        }
        if batch.seq_len == 0 {
            return Err(ModelError::InvalidBatch { reason: "rows have no tokens".to_owned() });
        }
        if batch.seq_len > self.max_sequence_length {
            return Err(ModelError::SequenceTooLong { len: batch.seq_len, max: self.max_sequence_length });
        }
        let shape = (batch.batch_size, batch.seq_len);
        let tensor =
            |values: &[u32]| Tensor::from_slice(values, shape, &self.device).map_err(ModelError::Inference);
        Ok(Some(Inputs {
            input_ids: tensor(&batch.input_ids)?,
            type_ids: tensor(&batch.type_ids)?,
            attention_mask: tensor(&batch.attention_mask)?,
        }))
    }
}

impl Backend for CandleBackend {
    fn max_sequence_length(&self) -> usize {
        self.max_sequence_length
    }

    fn logits(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, ModelError> {
        if self.decoder().is_some() {
            return Err(self.decoder_only());
        }
        if !self.has_classifier() {
            return Err(ModelError::NoClassifier { folder: self.folder.clone() });
        }
        let Some(inputs) = self.inputs(batch)? else {
            return Ok(Vec::new());
        };
        let logits = self
            .architecture
            .logits(&inputs)
            .ok_or_else(|| ModelError::NoClassifier { folder: self.folder.clone() })?
            .map_err(ModelError::Inference)?;
        logits.to_vec2().map_err(ModelError::Inference)
    }

    fn embeddings(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, ModelError> {
        if self.decoder().is_some() {
            return Err(self.decoder_only());
        }
        let Some(inputs) = self.inputs(batch)? else {
            return Ok(Vec::new());
        };
        let pooled = self
            .architecture
            .hidden_states(&inputs)
            .and_then(|hidden| mean_pool(&hidden, &inputs.attention_mask))
            .map_err(ModelError::Inference)?;
        pooled.to_vec2().map_err(ModelError::Inference)
    }

    fn device(&self) -> String {
        device_name(&self.device)
    }

    fn dtype(&self) -> String {
        self.dtype.as_str().to_owned()
    }

    fn causal_lm(&self) -> Option<&dyn CausalLm> {
        self.decoder().map(|_| self as &dyn CausalLm)
    }
}

impl CausalLm for CandleBackend {
    fn prefill(&self, ids: &[u32]) -> Result<Prefix, ModelError> {
        let model = self.decoder().ok_or_else(|| ModelError::NotDecoder { folder: self.folder.clone() })?;
        let cache = model.prefill(ids).map_err(ModelError::Inference)?;
        Ok(Prefix::new(cache.len(), Box::new(cache)))
    }

    fn next_token_logits(
        &self,
        prefix: Option<&Prefix>,
        rows: &[&[u32]],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let model = self.decoder().ok_or_else(|| ModelError::NotDecoder { folder: self.folder.clone() })?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let cache = match prefix {
            Some(prefix) => {
                Some(prefix.state::<decoder::KvCache>().ok_or_else(|| ModelError::InvalidBatch {
                    reason: "the prefix state was not made by this backend".to_owned(),
                })?)
            }
            None => None,
        };
        let seq_len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        if rows.iter().any(|r| r.is_empty()) {
            return Err(ModelError::InvalidBatch { reason: "a row has no tokens".to_owned() });
        }
        let total = seq_len + cache.map_or(0, |c| c.len());
        if total > self.max_sequence_length {
            return Err(ModelError::SequenceTooLong { len: total, max: self.max_sequence_length });
        }
        // Right padding: the pad tokens come after each row's last real token, which the causal
        // mask keeps them from influencing.
        let mut ids = vec![0u32; rows.len() * seq_len];
        for (row, tokens) in ids.chunks_mut(seq_len).zip(rows) {
            row[..tokens.len()].copy_from_slice(tokens);
        }
        let last: Vec<u32> = rows.iter().map(|r| r.len() as u32 - 1).collect();
        let logits = Tensor::from_vec(ids, (rows.len(), seq_len), &self.device)
            .and_then(|ids| model.next_token_logits(&ids, cache, &last))
            .map_err(ModelError::Inference)?;
        logits.to_vec2().map_err(ModelError::Inference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert!(matches!(device_from_name("cpu"), Ok(Device::Cpu)));
        for bad in ["gpu", "cuda:", "cuda:x", "CPU", ""] {
            assert!(
                matches!(device_from_name(bad), Err(ModelError::UnknownDevice { ref name }) if name == bad),
                "{bad}"
            );
        }
        if !cfg!(feature = "cuda") {
            assert!(matches!(device_from_name("cuda:1"), Err(ModelError::CudaUnavailable { .. })));
        }
    }

    #[test]
    fn activations_follow_transformers() -> candle_core::Result<()> {
        let xs = Tensor::new(&[-2.0f32, -0.5, 0.0, 1.0, 3.0], &Device::Cpu)?;
        let apply = |name: &str| -> candle_core::Result<Vec<f32>> {
            let act: Activation = serde_json::from_value(serde_json::json!(name)).unwrap();
            act.forward(&xs)?.to_vec1()
        };
        // Reference values from torch.nn.functional.gelu (exact and approximate="tanh") and relu.
        let gelu = [-0.045_500_28_f32, -0.154_268_77, 0.0, 0.841_344_7, 2.995_949_7];
        let tanh = [-0.045_402_29_f32, -0.154_286, 0.0, 0.841_192, 2.996_362_7];
        let relu = [0.0f32, 0.0, 0.0, 1.0, 3.0];
        for (name, want) in [("gelu", gelu), ("gelu_new", tanh), ("gelu_pytorch_tanh", tanh), ("relu", relu)]
        {
            for (got, want) in apply(name)?.iter().zip(want) {
                assert!((got - want).abs() < 1e-6, "{name}: {got} vs {want}");
            }
        }
        assert!(serde_json::from_value::<Activation>(serde_json::json!("mish")).is_err());
        Ok(())
    }

    #[test]
    fn cpu_gelu_is_candles_gelu() -> candle_core::Result<()> {
        // More values than one task takes, a transposed (non-contiguous) view, and non-finite
        // inputs. candle's formula loses the negative side's relative precision in
        // `1 + erf(x / √2)`: compared within its absolute error (fused.rs tests ours exactly).
        let mut values: Vec<f32> = (0..40_000).map(|i| (i as f32 - 20_000.0) / 1_000.0).collect();
        values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]);
        let xs = Tensor::from_vec(values, (2, 20_002), &Device::Cpu)?.t()?;
        let got = Activation::Gelu.forward(&xs)?.flatten_all()?.to_vec1::<f32>()?;
        let want = xs.gelu_erf()?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(got.len(), want.len());
        for (got, want) in got.iter().zip(&want) {
            let close = got == want || (got - want).abs() <= 1e-6 * want.abs().max(1.0);
            assert!(close || (got.is_nan() && want.is_nan()), "{got} vs {want}");
        }
        Ok(())
    }

    #[test]
    fn mean_pool_ignores_padding() -> candle_core::Result<()> {
        let hidden = Tensor::new(&[[[1.0f32, 2.0], [3.0, 4.0], [100.0, 100.0]]], &Device::Cpu)?;
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu)?;
        assert_eq!(mean_pool(&hidden, &mask)?.to_vec2::<f32>()?, vec![vec![2.0, 3.0]]);
        Ok(())
    }

    #[test]
    fn labels_counted_like_transformers() {
        let labels: BTreeMap<usize, String> =
            [(0, "a".to_owned()), (1, "b".to_owned()), (2, "c".to_owned())].into();
        assert_eq!(label_count(&labels, None), 3);
        assert_eq!(label_count(&labels, Some(5)), 3);
        assert_eq!(label_count(&BTreeMap::new(), Some(5)), 5);
        assert_eq!(label_count(&BTreeMap::new(), None), 2);
    }
}
