//! Models: where they come from (local folder, Hugging Face cache, presets), their config and
//! labels, their tokenizer, and the inference [`Backend`] that runs them.

pub mod backend;
pub mod candle;
pub mod config;

use std::path::PathBuf;

pub use backend::{Backend, TokenBatch};
pub use config::CommonConfig;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model folder {folder} has no {file}")]
    MissingFile { folder: PathBuf, file: String },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid model config")]
    Config {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("model type `{model_type}` in {path} is not supported (supported: {supported})")]
    UnsupportedArchitecture { model_type: String, path: PathBuf, supported: String },
    #[error("cannot load the weights in {path}")]
    Weights {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
    #[error("cannot load the tokenizer {path}")]
    Tokenizer {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("tokenization failed")]
    Tokenize(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("inference failed")]
    Inference(#[source] candle_core::Error),
    #[error("{path} is not a valid safetensors index (expected a `weight_map` of tensor name to file)")]
    WeightIndex {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the weights in {folder} have no {expected} tensor: not a {model_type} checkpoint?")]
    MissingTensor { folder: PathBuf, model_type: String, expected: String },
    #[error(
        "the model in {folder} has no sequence-classification head (an encoder-only checkpoint); \
         use it with the embedding method"
    )]
    NoClassifier { folder: PathBuf },
    #[error("a sequence of {len} tokens is longer than the model's limit of {max}; lower --max-length")]
    SequenceTooLong { len: usize, max: usize },
    #[error("malformed token batch: {reason}")]
    InvalidBatch { reason: String },
    #[error("unknown device `{name}` (expected `cpu`, `cuda` or `cuda:N`)")]
    UnknownDevice { name: String },
    #[error("device `{name}` needs a build with CUDA support (cargo build --release --features cuda)")]
    CudaUnavailable { name: String },
    #[error("cannot open device `{name}`")]
    Device {
        name: String,
        #[source]
        source: candle_core::Error,
    },
}
