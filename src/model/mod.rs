//! Models: where they come from (local folder, Hugging Face cache, presets), their config and
//! labels, their tokenizer, and the inference [`Backend`] that runs them.

pub mod backend;
pub mod candle;
pub mod config;
pub mod hub;
pub mod presets;
pub mod weights;

use std::path::{Path, PathBuf};

pub use backend::{Backend, CausalLm, Prefix, TokenBatch};
pub use config::CommonConfig;
pub use hub::HubId;
pub use presets::Preset;

use crate::provenance::Provenance;

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
    #[error(
        "{path} is truncated: it should have at least {expected} bytes but has {actual}; download or copy it \
         again"
    )]
    TruncatedWeights { path: PathBuf, expected: u64, actual: u64 },
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
    #[error(
        "`{spec}` is neither a model folder, a preset ({presets}) nor a hub id like org/name[@revision]"
    )]
    UnknownModel { spec: String, presets: String },
    #[error("preset `{name}` ({hub_id}) is not supported yet: {description}")]
    UnsupportedPreset { name: String, hub_id: String, description: String },
    #[error("model {id} is not in the local cache {cache}; download it once with `stance models pull {id}`")]
    NotCached { id: String, cache: PathBuf },
    #[error("downloading {id} failed")]
    Download {
        id: String,
        #[source]
        source: Box<hf_hub::api::sync::ApiError>,
    },
    #[error(
        "`{revision}` is not a revision stance accepts: give a branch or tag, a ref like refs/pr/1, or a \
         commit (letters, digits, `.`, `_` and `-`, in `/`-separated parts that do not start with `.`)"
    )]
    InvalidRevision { revision: String },
    #[error("refusing {what} {value:?} from the hub for {id}: expected {expected}")]
    UnsafeHubValue { id: String, what: String, value: String, expected: String },
    #[error("{file} from {id} does not match the hub's listing ({what} {actual}, expected {expected}); discarded it")]
    DownloadMismatch { id: String, file: String, what: &'static str, expected: String, actual: String },
    #[error("cannot write {path}")]
    CacheWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{id} has no model.safetensors weights (PyTorch .bin checkpoints are not read)")]
    NoSafetensors { id: String },
    #[error("{id} has no {file} on the hub")]
    MissingRemoteFile { id: String, file: String },
    #[error("{path} is not a valid safetensors index (expected a `weight_map` of tensor name to file)")]
    WeightIndex {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} lists the shard {file:?}, which is not a plain file name beside the index")]
    UnsafeShardName { path: PathBuf, file: String },
    #[error("the weights in {folder} have no {expected} tensor: not a {model_type} checkpoint?")]
    MissingTensor { folder: PathBuf, model_type: String, expected: String },
    #[error(
        "the model in {folder} has no sequence-classification head (an encoder-only checkpoint); \
         use it with the embedding method"
    )]
    NoClassifier { folder: PathBuf },
    #[error("a sequence of {len} tokens is longer than the model's limit of {max}; lower --max-length")]
    SequenceTooLong { len: usize, max: usize },
    #[error(
        "the model in {folder} is a decoder-only language model ({model_type}): score with --method llm"
    )]
    DecoderOnly { folder: PathBuf, model_type: String },
    #[error("the model in {folder} is not a decoder-only language model (llama, qwen2, qwen3): --method llm needs one")]
    NotDecoder { folder: PathBuf },
    #[error("malformed token batch: {reason}")]
    InvalidBatch { reason: String },
    #[error("unknown device `{name}` (expected `cpu`, `cuda` or `cuda:N`)")]
    UnknownDevice { name: String },
    #[error("device `{name}` needs a build with CUDA support (cargo build --release --features cuda)")]
    CudaUnavailable { name: String },
    #[error("--dtype int8 runs on the CPU only, not on `{device}`")]
    Int8NeedsCpu { device: String },
    #[error("cannot open device `{name}`")]
    Device {
        name: String,
        #[source]
        source: candle_core::Error,
    },
}

/// A model reference resolved to a local folder, with what identifies it for replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    pub folder: PathBuf,
    /// Hub id, or the folder path as given.
    pub id: String,
    /// The resolved commit for hub models.
    pub revision: Option<String>,
    pub preset: Option<Preset>,
}

/// Resolves `spec`: an existing folder, a preset name, or a hub id found in the local cache.
/// Never uses the network.
pub fn resolve(spec: &str, cache: &Path) -> Result<ResolvedModel, ModelError> {
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(ResolvedModel {
            folder: path.to_owned(),
            id: spec.to_owned(),
            revision: None,
            preset: None,
        });
    }
    let (id, preset) = if let Some(preset) = presets::find(spec) {
        if !preset.supported {
            return Err(ModelError::UnsupportedPreset {
                name: preset.name,
                hub_id: preset.hub_id,
                description: preset.description,
            });
        }
        let id = HubId { repo_id: preset.hub_id.clone(), revision: preset.revision.clone() };
        (id, Some(preset))
    } else if let Some(id) = HubId::parse(spec) {
        (id, None)
    } else {
        let presets = presets::all().into_iter().map(|p| p.name).collect::<Vec<_>>().join(", ");
        return Err(ModelError::UnknownModel { spec: spec.to_owned(), presets });
    };
    let snapshot = hub::find_snapshot(cache, &id)?;
    Ok(ResolvedModel { folder: snapshot.folder, id: id.repo_id, revision: Some(snapshot.commit), preset })
}

/// The weight files of a model folder: one `model.safetensors` or the shards of an index.
pub fn weight_files(folder: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let single = folder.join(hub::WEIGHTS_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = folder.join(hub::WEIGHTS_INDEX_FILE);
    if index.is_file() {
        let shards = hub::shard_files(&index)?;
        let paths: Vec<PathBuf> = shards.iter().map(|s| folder.join(s)).collect();
        if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
            return Err(ModelError::MissingFile {
                folder: folder.to_owned(),
                file: missing.file_name().unwrap_or_default().to_string_lossy().into_owned(),
            });
        }
        return Ok(paths);
    }
    Err(ModelError::MissingFile { folder: folder.to_owned(), file: hub::WEIGHTS_FILE.to_owned() })
}

/// `max_seq_length` from a sentence-transformers `sentence_bert_config.json`, if present.
fn sentence_transformers_max_length(folder: &Path) -> Result<Option<usize>, ModelError> {
    let limit = json_file_field(folder, "sentence_bert_config.json", "max_seq_length")?;
    Ok(limit.and_then(|v| v.as_u64()).map(|n| n as usize))
}

/// `model_max_length` of `tokenizer_config.json`, if there is one: none where it is absent or
/// transformers' "no limit" (`int(1e30)`, beyond any integer type).
fn tokenizer_max_length(folder: &Path) -> Result<Option<usize>, ModelError> {
    let limit = json_file_field(folder, "tokenizer_config.json", "model_max_length")?;
    Ok(limit.and_then(|v| v.as_u64()).filter(|&n| n > 0).and_then(|n| usize::try_from(n).ok()))
}

/// The value of `key` in the JSON object of `folder/file`; none where the file or the key is
/// absent.
fn json_file_field(folder: &Path, file: &str, key: &str) -> Result<Option<serde_json::Value>, ModelError> {
    let path = folder.join(file);
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).map_err(|source| ModelError::Io { path: path.clone(), source })?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| ModelError::Config { path: path.clone(), source })?;
    Ok(value.get_mut(key).map(serde_json::Value::take))
}

/// Numbers the encoder's linear layers compute with.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// The checkpoint's weights in f32: parity with transformers.
    #[default]
    F32,
    /// CPU only: encoder linear layers in int8, quantized at load per output channel, inputs
    /// per token. Embeddings, layer norms, attention and the heads stay f32.
    Int8,
    /// candle's GGML q8_0 (blocks of 32 weights with one scale), quantized at load: the linear
    /// layers, an LLM's head included; meant for decoder LLMs, whose weights dominate memory.
    #[serde(rename = "q8_0")]
    #[value(name = "q8_0")]
    Q8_0,
}

impl Dtype {
    pub fn is_f32(&self) -> bool {
        *self == Self::F32
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
            Self::Q8_0 => "q8_0",
        }
    }
}

/// A loaded model: labels, tokenizer and the backend that runs it.
pub struct Model {
    pub resolved: ResolvedModel,
    pub config: CommonConfig,
    /// Tokens one input may have: the architecture's limit, or a sentence-transformers
    /// `max_seq_length` or the tokenizer's `model_max_length` when lower.
    pub max_positions: usize,
    pub pad_token_id: u32,
    pub tokenizer: tokenizers::Tokenizer,
    pub weights_sha256: String,
    pub backend: Box<dyn Backend>,
}

impl Model {
    /// Loads the folder of `resolved` onto `device` ("cpu", "cuda:0") in `dtype`.
    pub fn load(resolved: ResolvedModel, device: &str, dtype: Dtype) -> Result<Self, ModelError> {
        let folder = &resolved.folder;
        for file in hub::REQUIRED_FILES {
            if !folder.join(file).is_file() {
                return Err(ModelError::MissingFile { folder: folder.clone(), file: file.to_owned() });
            }
        }
        let config_path = folder.join("config.json");
        let (config, config_json) = CommonConfig::from_file(&config_path)?;
        let tokenizer_path = folder.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path)
            .map_err(|source| ModelError::Tokenizer { path: tokenizer_path.clone(), source })?;
        let files = weight_files(folder)?;
        let weights = weights::MappedWeights::open(&files)?;
        let hashing = weights.sha256_in_background();
        let device = candle::device_from_name(device)?;
        if dtype == Dtype::Int8 && !device.is_cpu() {
            return Err(ModelError::Int8NeedsCpu { device: self::candle::device_name(&device) });
        }
        if dtype == Dtype::Int8 && !candle::int8::fast_kernel_available() {
            tracing::warn!(
                "this CPU has neither AVX2 nor AVX-512 VNNI: int8 runs the portable kernel, far slower than f32"
            );
        }
        let backend = candle::load(folder, weights, &config_json, &config, &device, dtype)?;
        let weights_sha256 = hashing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // Sentence-transformers models declare the length they were trained with (256 for
        // all-MiniLM-L6-v2); their embeddings are only comparable at that truncation. The
        // transformers pipeline cuts inputs to the tokenizer's `model_max_length`, which can be
        // below the position limit: the same cut, for the same numbers.
        let max_positions = [sentence_transformers_max_length(folder)?, tokenizer_max_length(folder)?]
            .into_iter()
            .flatten()
            .fold(backend.max_sequence_length(), usize::min);
        let pad_token_id = config_json.get("pad_token_id").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        Ok(Self {
            resolved,
            config,
            max_positions,
            pad_token_id,
            tokenizer,
            weights_sha256,
            backend: Box::new(backend),
        })
    }

    /// Records what identifies this model in `provenance`.
    pub fn record(&self, provenance: &mut Provenance) {
        provenance.set("model.id", &self.resolved.id);
        if let Some(revision) = &self.resolved.revision {
            provenance.set("model.revision", revision);
        }
        if let Some(preset) = &self.resolved.preset {
            provenance.set("model.preset", &preset.name);
        }
        provenance.set("model.type", &self.config.model_type);
        provenance.set("model.weights_sha256", &self.weights_sha256);
        provenance.set_json("model.id2label", &self.config.id2label);
        provenance.set("backend", "candle");
        provenance.set("device", self.backend.device());
        provenance.set("dtype", self.backend.dtype());
    }
}
