//! A trained stance head for the embedding method: multinomial logistic regression on
//! sentence embeddings (trained by `stance train`, see [`crate::eval::train`]).
//!
//! **Features** (recipe `statement+target+product/v1`): with `s` the statement's embedding and
//! `t` the target name's embedding, each mean-pooled as the embedding method pools them and
//! scaled to unit length, the features are `[s, t, √d · (s ⊙ t)]` (3·d values). One head
//! serves every target: `t` lets the class scores shift per target, and the element-wise
//! product lets the direction that means "favor" depend on the target (a linear model on
//! `[s, t]` alone could only add a per-target offset). The `√d` brings the product's entries
//! to the scale of `s`'s, so one L2 penalty treats the three blocks alike.
//!
//! **File**: safetensors with `weight` (classes × 3·d, f64) and `bias` (classes, f64), and
//! string metadata: `format` = `stance-head`, `format_version`, `labels` (JSON list of the
//! stances the rows stand for, e.g. `["favor","against"]` for a set without `none`),
//! `features`, `embedding_dim`, the embedding model's `model.id`, `model.type` and
//! `model.weights_sha256`, the `embedding.max_length` and `embedding.long` statements were
//! embedded with, `training` (JSON: options, data and cross-validation) and `tool_version`.
//! A head refuses to score with a model whose weights hash differs from the one it was
//! trained on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::encode::{chunk_ranges, Encoder};
use super::{
    run_model, LongText, Method, ScoreError, ScoreOptions, ScoreRun, SequenceSet, StanceScore, Tokenized,
};
use crate::model::Model;
use crate::output::{write_file, OutputError};
use crate::progress::Reporter;
use crate::targets::{Stance, TargetSet};

pub const FORMAT: &str = "stance-head";
pub const FORMAT_VERSION: &str = "1";
/// The feature recipe of this version (see the module documentation).
pub const FEATURES: &str = "statement+target+product/v1";

#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    #[error("cannot read the stance head {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a safetensors file")]
    Safetensors {
        path: PathBuf,
        #[source]
        source: SafeTensorError,
    },
    #[error("{path} is not a stance head written by `stance train`: {problem}")]
    NotAHead { path: PathBuf, problem: String },
    #[error(
        "the stance head {path} was trained on the embeddings of {head_model} (weights sha256 {head_sha256}); \
         the model given, {model}, has weights sha256 {model_sha256}: score with the model the head was trained on"
    )]
    ModelMismatch {
        path: PathBuf,
        head_model: String,
        head_sha256: String,
        model: String,
        model_sha256: String,
    },
    #[error(
        "the stance head {path} changed during the run (sha256 {expected} when it started, {found} later); \
         rerun once the file stays as it is"
    )]
    Changed { path: PathBuf, expected: String, found: String },
    #[error("the stance head {path} expects {expected}-dimensional embeddings; the model gives {got}")]
    Dimension { path: PathBuf, expected: usize, got: usize },
    #[error("cannot serialize the stance head for {path}")]
    Serialize {
        path: PathBuf,
        #[source]
        source: SafeTensorError,
    },
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// What the head was trained on, beyond its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadInfo {
    pub model_id: String,
    pub model_type: String,
    pub weights_sha256: String,
    /// Tokens per input the statements were embedded with.
    pub max_length: usize,
    pub long: LongText,
    /// Training options, data and cross-validation, as `stance train` recorded them.
    pub training: serde_json::Value,
}

/// A multinomial logistic-regression head over [`features`].
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The stance of each row of `weight`, in [`Stance::ALL`] order.
    pub classes: Vec<Stance>,
    /// `classes.len() × 3·embedding_dim`, row-major.
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub embedding_dim: usize,
    pub info: HeadInfo,
}

/// The head's input for one statement × target (see the module documentation).
pub fn features(statement: &[f32], target: &[f32]) -> Vec<f64> {
    let unit = |v: &[f32]| -> Vec<f64> {
        let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        v.iter().map(|&x| f64::from(x) * scale).collect()
    };
    let (s, t) = (unit(statement), unit(target));
    let root = (s.len() as f64).sqrt();
    let mut out = Vec::with_capacity(3 * s.len());
    out.extend_from_slice(&s);
    out.extend_from_slice(&t);
    out.extend(s.iter().zip(&t).map(|(a, b)| root * a * b));
    out
}

impl Head {
    pub fn feature_len(&self) -> usize {
        3 * self.embedding_dim
    }

    /// Class probabilities for one feature vector, in [`Stance::ALL`] order; stances the head
    /// was not trained on get 0.
    pub fn probs(&self, features: &[f64]) -> [f64; 3] {
        let d = self.feature_len();
        let logits: Vec<f64> = self
            .classes
            .iter()
            .enumerate()
            .map(|(c, _)| {
                let row = &self.weight[c * d..(c + 1) * d];
                self.bias[c] + row.iter().zip(features).map(|(w, x)| w * x).sum::<f64>()
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        let mut probs = [0.0; 3];
        for (&stance, e) in self.classes.iter().zip(exps) {
            probs[stance as usize] = e / total;
        }
        probs
    }

    /// Writes the head (atomically) as safetensors with its metadata.
    pub fn save(&self, path: &Path) -> Result<(), HeadError> {
        let serialize_error = |source| HeadError::Serialize { path: path.to_owned(), source };
        let weight_bytes: Vec<u8> = self.weight.iter().flat_map(|v| v.to_le_bytes()).collect();
        let bias_bytes: Vec<u8> = self.bias.iter().flat_map(|v| v.to_le_bytes()).collect();
        let weight = TensorView::new(Dtype::F64, vec![self.classes.len(), self.feature_len()], &weight_bytes)
            .map_err(serialize_error)?;
        let bias =
            TensorView::new(Dtype::F64, vec![self.classes.len()], &bias_bytes).map_err(serialize_error)?;
        let labels: Vec<&str> = self.classes.iter().map(|s| s.as_str()).collect();
        let metadata: HashMap<String, String> = [
            ("format", FORMAT.to_owned()),
            ("format_version", FORMAT_VERSION.to_owned()),
            ("labels", json(&labels)),
            ("features", FEATURES.to_owned()),
            ("embedding_dim", self.embedding_dim.to_string()),
            ("model.id", self.info.model_id.clone()),
            ("model.type", self.info.model_type.clone()),
            ("model.weights_sha256", self.info.weights_sha256.clone()),
            ("embedding.max_length", self.info.max_length.to_string()),
            ("embedding.long", json(&self.info.long)),
            ("training", json(&self.info.training)),
            ("tool_version", env!("CARGO_PKG_VERSION").to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let bytes = safetensors::serialize([("bias", bias), ("weight", weight)], Some(metadata))
            .map_err(serialize_error)?;
        write_file(path, &bytes)?;
        Ok(())
    }

    /// Reads a head written by [`Head::save`], checking its layout.
    pub fn load(path: &Path) -> Result<Self, HeadError> {
        let bytes = std::fs::read(path).map_err(|source| HeadError::Io { path: path.to_owned(), source })?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses the bytes of a head file read from `path` (named in errors).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self, HeadError> {
        let safetensors_error = |source| HeadError::Safetensors { path: path.to_owned(), source };
        let not_a_head = |problem: String| HeadError::NotAHead { path: path.to_owned(), problem };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(safetensors_error)?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let get = |key: &str| {
            metadata.get(key).cloned().ok_or_else(|| not_a_head(format!("its metadata has no `{key}`")))
        };
        if get("format")? != FORMAT {
            return Err(not_a_head(format!("its `format` is not `{FORMAT}`")));
        }
        let version = get("format_version")?;
        if version != FORMAT_VERSION {
            return Err(not_a_head(format!(
                "it has format version {version}; this build reads version {FORMAT_VERSION}"
            )));
        }
        let features = get("features")?;
        if features != FEATURES {
            return Err(not_a_head(format!("its feature recipe `{features}` is not `{FEATURES}`")));
        }
        let labels: Vec<String> = serde_json::from_str(&get("labels")?)
            .map_err(|_| not_a_head("`labels` is not a JSON list of stances".to_owned()))?;
        let mut classes = Vec::with_capacity(labels.len());
        for label in &labels {
            let stance =
                Stance::parse(label).ok_or_else(|| not_a_head(format!("label `{label}` is not a stance")))?;
            if classes.contains(&stance) || classes.last().is_some_and(|&last| last > stance) {
                return Err(not_a_head(
                    "`labels` must list distinct stances in favor, against, none order".into(),
                ));
            }
            classes.push(stance);
        }
        if classes.len() < 2 {
            return Err(not_a_head("it has fewer than two labels".to_owned()));
        }
        let embedding_dim: usize = get("embedding_dim")?
            .parse()
            .map_err(|_| not_a_head("`embedding_dim` is not a number".into()))?;
        let max_length: usize = get("embedding.max_length")?
            .parse()
            .map_err(|_| not_a_head("`embedding.max_length` is not a number".into()))?;
        let long: LongText = serde_json::from_str(&get("embedding.long")?)
            .map_err(|_| not_a_head("`embedding.long` is not \"truncate\" or \"window\"".into()))?;
        let training: serde_json::Value = serde_json::from_str(&get("training")?)
            .map_err(|_| not_a_head("`training` is not JSON".into()))?;
        let info = HeadInfo {
            model_id: get("model.id")?,
            model_type: get("model.type")?,
            weights_sha256: get("model.weights_sha256")?,
            max_length,
            long,
            training,
        };

        let tensors = SafeTensors::deserialize(bytes).map_err(safetensors_error)?;
        let read = |name: &str, shape: &[usize]| -> Result<Vec<f64>, HeadError> {
            let view = tensors.tensor(name).map_err(|_| not_a_head(format!("it has no `{name}` tensor")))?;
            if view.dtype() != Dtype::F64 || view.shape() != shape {
                return Err(not_a_head(format!(
                    "`{name}` is {:?} {:?}; expected F64 {shape:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect())
        };
        let weight = read("weight", &[classes.len(), 3 * embedding_dim])?;
        let bias = read("bias", &[classes.len()])?;
        Ok(Self { classes, weight, bias, embedding_dim, info })
    }

    /// Refuses a model other than the one the head was trained on.
    pub fn check_model(&self, path: &Path, model: &Model) -> Result<(), HeadError> {
        if self.info.weights_sha256 != model.weights_sha256 {
            return Err(HeadError::ModelMismatch {
                path: path.to_owned(),
                head_model: self.info.model_id.clone(),
                head_sha256: self.info.weights_sha256.clone(),
                model: model.resolved.id.clone(),
                model_sha256: model.weights_sha256.clone(),
            });
        }
        Ok(())
    }
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("head metadata serializes to JSON")
}

/// Embeddings of texts, computed the way the embedding method computes them.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// One vector per input text: the token-weighted mean of its windows' mean-pooled
    /// embeddings (one window unless `long = window`).
    pub vectors: Vec<Vec<f32>>,
    pub truncated: Vec<bool>,
    pub n_chunks: Vec<u32>,
    pub max_length: usize,
    /// Distinct token sequences the model ran on.
    pub sequences: usize,
    pub batches: usize,
}

/// Embeds every text once (identical texts and token sequences run once).
pub fn embed_texts(
    texts: &[&str],
    model: &Model,
    options: &ScoreOptions,
    reporter: &dyn Reporter,
) -> Result<Embedded, ScoreError> {
    if options.batch_size == 0 {
        return Err(ScoreError::ZeroBatchSize);
    }
    let model_limit = model.max_positions.min(512);
    let max_length = options.max_length.unwrap_or(model_limit).min(model_limit);
    let encoder = Encoder::new(&model.tokenizer);
    let (tokenized, position) = Tokenized::new(&encoder, texts.iter().copied(), None)?;
    let budget = max_length.saturating_sub(encoder.added_tokens(false)).max(1);
    let mut set = SequenceSet::default();
    let mut plans: Vec<(Vec<usize>, bool)> = Vec::with_capacity(tokenized.encodings.len());
    for encoding in &tokenized.encodings {
        let ranges = chunk_ranges(encoding.len(), budget, options.long, options.stride);
        let truncated = options.long == LongText::Truncate && encoding.len() > budget;
        let mut chunks = Vec::with_capacity(ranges.len());
        for range in ranges {
            chunks.push(set.intern(encoder.sequence(encoding, range, None)?));
        }
        plans.push((chunks, truncated));
    }
    let (outputs, batches) = run_model(model, &set.sequences, options.batch_size, true, reporter)?;
    let pooled: Vec<Vec<f32>> = plans
        .iter()
        .map(|(chunks, _)| {
            let dim = outputs[chunks[0]].len();
            let mut sum = vec![0f32; dim];
            let mut weight_total = 0f32;
            for &seq in chunks {
                let weight = set.sequences[seq].ids.len() as f32;
                weight_total += weight;
                sum.iter_mut().zip(&outputs[seq]).for_each(|(a, b)| *a += weight * b);
            }
            sum.iter_mut().for_each(|v| *v /= weight_total);
            sum
        })
        .collect();
    Ok(Embedded {
        vectors: position.iter().map(|&u| pooled[u].clone()).collect(),
        truncated: position.iter().map(|&u| plans[u].1).collect(),
        n_chunks: position.iter().map(|&u| plans[u].0.len() as u32).collect(),
        max_length,
        sequences: set.sequences.len(),
        batches,
    })
}

/// Fails when the head file `path` that scored some pairs (bytes with SHA-256 `used`) is not
/// the one a run started with (`started`): its cache keys and provenance name that one.
pub fn check_unchanged(
    path: Option<&Path>,
    started: Option<&str>,
    used: Option<&str>,
) -> Result<(), HeadError> {
    match (path, started, used) {
        (Some(path), Some(started), Some(used)) if started != used => Err(HeadError::Changed {
            path: path.to_owned(),
            expected: started.to_owned(),
            found: used.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Scores every text against every target with the head in `path` (the embedding method).
pub(super) fn score_with_head(
    texts: &[&str],
    targets: &TargetSet,
    model: &Model,
    options: &ScoreOptions,
    path: &Path,
    reporter: &dyn Reporter,
) -> Result<ScoreRun, ScoreError> {
    let bytes = std::fs::read(path).map_err(|source| HeadError::Io { path: path.to_owned(), source })?;
    let head = Head::from_bytes(&bytes, path)?;
    head.check_model(path, model)?;
    // Statements and target names go through the model together.
    let mut inputs: Vec<&str> = texts.to_vec();
    inputs.extend(targets.targets.iter().map(|t| t.name.as_str()));
    let embedded = embed_texts(&inputs, model, options, reporter)?;
    let got = embedded.vectors.first().map_or(head.embedding_dim, Vec::len);
    if got != head.embedding_dim {
        return Err(HeadError::Dimension { path: path.to_owned(), expected: head.embedding_dim, got }.into());
    }
    let (statements, target_vectors) = embedded.vectors.split_at(texts.len());
    let mut scores = Vec::with_capacity(texts.len() * targets.targets.len());
    for (i, statement) in statements.iter().enumerate() {
        for target in target_vectors {
            let p = head.probs(&features(statement, target));
            scores.push(StanceScore {
                probs: p.map(|v| v as f32),
                truncated: embedded.truncated[i],
                n_chunks: embedded.n_chunks[i],
                label_mass: None,
            });
        }
    }
    Ok(ScoreRun {
        scores,
        n_targets: targets.targets.len(),
        method: Method::Embedding,
        max_length: embedded.max_length,
        sequences: embedded.sequences,
        batches: embedded.batches,
        head_sha256: Some(crate::provenance::sha256_bytes(&bytes)),
        mentioned: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_changed_since_the_run_started_is_an_error() {
        let path = Some(Path::new("head.safetensors"));
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let err = check_unchanged(path, Some(&a), Some(&b)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the stance head head.safetensors changed during the run (sha256 {a} when it started, {b} later); \
                 rerun once the file stays as it is"
            )
        );
        check_unchanged(path, Some(&a), Some(&a)).unwrap();
        // Without a head, or before any part used one, there is nothing to compare.
        check_unchanged(None, Some(&a), Some(&b)).unwrap();
        check_unchanged(path, None, Some(&b)).unwrap();
    }

    fn head(classes: Vec<Stance>, dim: usize) -> Head {
        let k = classes.len();
        Head {
            classes,
            weight: (0..k * 3 * dim).map(|i| (i as f64 * 0.37).sin()).collect(),
            bias: (0..k).map(|i| i as f64 * 0.1).collect(),
            embedding_dim: dim,
            info: HeadInfo {
                model_id: "m".into(),
                model_type: "bert".into(),
                weights_sha256: "ab".repeat(32),
                max_length: 256,
                long: LongText::Truncate,
                training: serde_json::json!({"l2": 0.001}),
            },
        }
    }

    #[test]
    fn features_are_unit_blocks_and_their_scaled_product() {
        let f = features(&[3.0, 4.0], &[0.0, 2.0]);
        let expected = [0.6, 0.8, 0.0, 1.0, 0.0, 2f64.sqrt() * 0.8];
        for (a, b) in f.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{f:?}");
        }
        // A zero vector stays zero instead of dividing by zero.
        assert_eq!(features(&[0.0, 0.0], &[1.0, 0.0])[..2], [0.0, 0.0]);
    }

    #[test]
    fn probabilities_cover_only_the_trained_classes() {
        let h = head(vec![Stance::Favor, Stance::Against], 2);
        let p = h.probs(&features(&[1.0, 0.5], &[0.2, 1.0]));
        assert_eq!(p[2], 0.0);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.safetensors");
        let h = head(vec![Stance::Favor, Stance::Against, Stance::None], 4);
        h.save(&path).unwrap();
        assert_eq!(Head::load(&path).unwrap(), h);
    }

    #[test]
    fn other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.safetensors");
        std::fs::write(&path, b"not safetensors").unwrap();
        assert!(matches!(Head::load(&path), Err(HeadError::Safetensors { .. })));
        // A valid safetensors file that is not a head (no metadata).
        let data = [0u8; 8];
        let view = TensorView::new(Dtype::F64, vec![1], &data).unwrap();
        std::fs::write(&path, safetensors::serialize([("w", view)], None).unwrap()).unwrap();
        let err = Head::load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not a stance head written by `stance train`: its metadata has no `format`",
                path.display()
            )
        );
        let missing = dir.path().join("missing.safetensors");
        assert!(matches!(Head::load(&missing), Err(HeadError::Io { .. })));
    }
}
