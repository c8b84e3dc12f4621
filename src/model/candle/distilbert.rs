//! DistilBERT (`model_type: "distilbert"`), as transformers' `modeling_distilbert.py` computes
//! it in inference mode. No segment ids; the blocks are BERT's under other names.

use std::collections::BTreeMap;

use candle_core::{Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use super::attention::{attention, run_layers, FirstTokens, Outputs, Unpadded};
use super::fused::ResidualNorm;
use super::linear::{head_linear, linear, Linear};
use super::{first_token, label_count, Activation};
use crate::model::Dtype;

/// DistilBERT hard-codes this LayerNorm epsilon instead of reading it from the config.
const LAYER_NORM_EPS: f64 = 1e-12;

/// `config.json` of a DistilBERT checkpoint; missing fields take transformers'
/// `DistilBertConfig` defaults. (`sinusoidal_pos_embds` needs no handling: the sinusoidal
/// table is stored in the checkpoint like a learned one.)
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Not in `config.json`: how the encoder's linear layers compute (`--dtype`).
    #[serde(skip)]
    pub dtype: Dtype,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "defaults::n_layers")]
    pub n_layers: usize,
    #[serde(default = "defaults::n_heads")]
    pub n_heads: usize,
    #[serde(default = "defaults::dim")]
    pub dim: usize,
    #[serde(default = "defaults::hidden_dim")]
    pub hidden_dim: usize,
    #[serde(default = "defaults::activation")]
    pub activation: Activation,
    #[serde(default)]
    pub id2label: BTreeMap<usize, String>,
    #[serde(default)]
    pub num_labels: Option<usize>,
}

mod defaults {
    use super::Activation;

    pub fn vocab_size() -> usize {
        30522
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn n_layers() -> usize {
        6
    }
    pub fn n_heads() -> usize {
        12
    }
    pub fn dim() -> usize {
        768
    }
    pub fn hidden_dim() -> usize {
        3072
    }
    pub fn activation() -> Activation {
        Activation::Gelu
    }
}

impl Config {
    /// Outputs of the classification head (transformers: one per `id2label` entry).
    pub fn num_labels(&self) -> usize {
        label_count(&self.id2label, self.num_labels)
    }
}

struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            word_embeddings: candle_nn::embedding(config.vocab_size, config.dim, vb.pp("word_embeddings"))?,
            position_embeddings: vb
                .pp("position_embeddings")
                .get((config.max_position_embeddings, config.dim), "weight")?,
            layer_norm: candle_nn::layer_norm(config.dim, LAYER_NORM_EPS, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let positions = self.position_embeddings.narrow(0, 0, input_ids.dim(1)?)?;
        self.layer_norm.forward(&self.word_embeddings.forward(input_ids)?.broadcast_add(&positions)?)
    }
}

/// One transformer block (`transformer.layer.N`).
struct TransformerBlock {
    q_lin: Linear,
    k_lin: Linear,
    v_lin: Linear,
    out_lin: Linear,
    sa_layer_norm: ResidualNorm,
    /// With the activation.
    lin1: Linear,
    lin2: Linear,
    output_layer_norm: ResidualNorm,
    n_heads: usize,
}

impl TransformerBlock {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let dim = config.dim;
        let attention = vb.pp("attention");
        Ok(Self {
            q_lin: linear(dim, dim, attention.pp("q_lin"), config.dtype)?,
            k_lin: linear(dim, dim, attention.pp("k_lin"), config.dtype)?,
            v_lin: linear(dim, dim, attention.pp("v_lin"), config.dtype)?,
            out_lin: linear(dim, dim, attention.pp("out_lin"), config.dtype)?,
            sa_layer_norm: ResidualNorm::load(dim, LAYER_NORM_EPS, vb.pp("sa_layer_norm"))?,
            lin1: linear(dim, config.hidden_dim, vb.pp("ffn").pp("lin1"), config.dtype)?
                .then(config.activation),
            lin2: linear(config.hidden_dim, dim, vb.pp("ffn").pp("lin2"), config.dtype)?,
            output_layer_norm: ResidualNorm::load(dim, LAYER_NORM_EPS, vb.pp("output_layer_norm"))?,
            n_heads: config.n_heads,
        })
    }

    /// `hidden` is `(tokens, hidden)`: the batch's real tokens. With `first`, only the first
    /// positions' rows come out.
    fn forward(&self, hidden: &Tensor, tokens: &Unpadded, first: Option<&FirstTokens>) -> Result<Tensor> {
        let (rows, queries) = tokens.outputs(hidden, first)?;
        let context = attention(
            &self.q_lin.forward(&rows)?,
            &self.k_lin.forward(hidden)?,
            &self.v_lin.forward(hidden)?,
            self.n_heads,
            tokens,
            queries,
        )?;
        let hidden = self.sa_layer_norm.forward(&self.out_lin.forward(&context)?, &rows)?;
        let ffn = self.lin2.forward(&self.lin1.forward(&hidden)?)?;
        self.output_layer_norm.forward(&ffn, &hidden)
    }
}

/// The bare encoder: `forward` returns the last hidden states, `(batch, seq, dim)`.
pub struct DistilBertModel {
    embeddings: Embeddings,
    layers: Vec<TransformerBlock>,
}

impl DistilBertModel {
    /// `vb` points at the model's root (the `distilbert.` prefix of task checkpoints removed).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let layers_vb = vb.pp("transformer").pp("layer");
        let layers = (0..config.n_layers)
            .map(|i| TransformerBlock::load(layers_vb.pp(i), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { embeddings: Embeddings::load(vb.pp("embeddings"), config)?, layers })
    }

    /// Inputs are `(batch, seq)` `u32` tensors: token ids and a mask with 1 for real tokens.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        self.encode(input_ids, attention_mask, Outputs::AllTokens)
    }

    fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor, outputs: Outputs) -> Result<Tensor> {
        let tokens = Unpadded::new(attention_mask)?;
        let embeddings = self.embeddings.forward(input_ids)?;
        run_layers(&self.layers, &embeddings, &tokens, outputs, |_, layer, hidden, first| {
            layer.forward(hidden, &tokens, first)
        })
    }
}

/// DistilBERT with transformers' classification head on `[CLS]`: `pre_classifier`, ReLU,
/// `classifier`.
pub struct DistilBertForSequenceClassification {
    distilbert: DistilBertModel,
    pre_classifier: Linear,
    classifier: Linear,
}

impl DistilBertForSequenceClassification {
    /// `vb` points at the checkpoint's root (keys `distilbert.*`, `pre_classifier.*`,
    /// `classifier.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            distilbert: DistilBertModel::load(vb.pp("distilbert"), config)?,
            pre_classifier: head_linear(config.dim, config.dim, vb.pp("pre_classifier"))?,
            classifier: head_linear(config.dim, config.num_labels(), vb.pp("classifier"))?,
        })
    }

    /// Logits, `(batch, num_labels)`; inputs as [`DistilBertModel::forward`].
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let hidden = self.distilbert.encode(input_ids, attention_mask, Outputs::FirstToken)?;
        let pooled = self.pre_classifier.forward(&first_token(&hidden)?)?.relu()?;
        self.classifier.forward(&pooled)
    }

    /// The encoder under the head, for embeddings from the same checkpoint.
    pub fn model(&self) -> &DistilBertModel {
        &self.distilbert
    }
}
