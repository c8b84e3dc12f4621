//! BERT (`model_type: "bert"`), as transformers' `modeling_bert.py` computes it in inference
//! mode (dropout off). Also the encoder that RoBERTa shares: only the embeddings differ.

use std::collections::BTreeMap;

use candle_core::{Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use super::attention::{attention, run_layers, FirstTokens, Outputs, Unpadded};
use super::fused::ResidualNorm;
use super::linear::{head_linear, linear, Linear};
use super::{first_token, label_count, Activation};
use crate::model::Dtype;

/// How position information enters the model. Only absolute (learned) position embeddings
/// are implemented; the relative variants fail when the config is read instead of silently
/// computing something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PositionEmbeddingType {
    #[serde(rename = "absolute")]
    Absolute,
}

/// `config.json` of a BERT checkpoint; missing fields take transformers' `BertConfig` defaults.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Not in `config.json`: how the encoder's linear layers compute (`--dtype`).
    #[serde(skip)]
    pub dtype: Dtype,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: Activation,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "defaults::type_vocab_size")]
    pub type_vocab_size: usize,
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "defaults::position_embedding_type")]
    pub position_embedding_type: PositionEmbeddingType,
    #[serde(default)]
    pub id2label: BTreeMap<usize, String>,
    #[serde(default)]
    pub num_labels: Option<usize>,
}

mod defaults {
    use super::{Activation, PositionEmbeddingType};

    pub fn vocab_size() -> usize {
        30522
    }
    pub fn hidden_size() -> usize {
        768
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn hidden_act() -> Activation {
        Activation::Gelu
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn type_vocab_size() -> usize {
        2
    }
    pub fn layer_norm_eps() -> f64 {
        1e-12
    }
    pub fn position_embedding_type() -> PositionEmbeddingType {
        PositionEmbeddingType::Absolute
    }
}

impl Config {
    /// Outputs of the classification head (transformers: one per `id2label` entry).
    pub fn num_labels(&self) -> usize {
        label_count(&self.id2label, self.num_labels)
    }
}

/// Word + token-type + absolute position embeddings, then LayerNorm.
struct BertEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
}

impl BertEmbeddings {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let hidden = config.hidden_size;
        Ok(Self {
            word_embeddings: candle_nn::embedding(config.vocab_size, hidden, vb.pp("word_embeddings"))?,
            position_embeddings: vb
                .pp("position_embeddings")
                .get((config.max_position_embeddings, hidden), "weight")?,
            token_type_embeddings: candle_nn::embedding(
                config.type_vocab_size,
                hidden,
                vb.pp("token_type_embeddings"),
            )?,
            layer_norm: candle_nn::layer_norm(hidden, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, input_ids: &Tensor, token_type_ids: &Tensor) -> Result<Tensor> {
        let seq_len = input_ids.dim(1)?;
        // Position ids are 0..seq_len for every row, so the table's first rows broadcast.
        let positions = self.position_embeddings.narrow(0, 0, seq_len)?;
        let embeddings = (self.word_embeddings.forward(input_ids)?
            + self.token_type_embeddings.forward(token_type_ids)?)?
        .broadcast_add(&positions)?;
        self.layer_norm.forward(&embeddings)
    }
}

/// One post-LayerNorm transformer block (self-attention, then the feed-forward network).
struct BertLayer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: ResidualNorm,
    /// With the activation.
    intermediate: Linear,
    output: Linear,
    output_norm: ResidualNorm,
    num_heads: usize,
}

impl BertLayer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let (hidden, eps) = (config.hidden_size, config.layer_norm_eps);
        let attention = vb.pp("attention");
        let self_attention = attention.pp("self");
        Ok(Self {
            query: linear(hidden, hidden, self_attention.pp("query"), config.dtype)?,
            key: linear(hidden, hidden, self_attention.pp("key"), config.dtype)?,
            value: linear(hidden, hidden, self_attention.pp("value"), config.dtype)?,
            attention_output: linear(hidden, hidden, attention.pp("output").pp("dense"), config.dtype)?,
            attention_norm: ResidualNorm::load(hidden, eps, attention.pp("output").pp("LayerNorm"))?,
            intermediate: linear(
                hidden,
                config.intermediate_size,
                vb.pp("intermediate").pp("dense"),
                config.dtype,
            )?
            .then(config.hidden_act),
            output: linear(config.intermediate_size, hidden, vb.pp("output").pp("dense"), config.dtype)?,
            output_norm: ResidualNorm::load(hidden, eps, vb.pp("output").pp("LayerNorm"))?,
            num_heads: config.num_attention_heads,
        })
    }

    /// `hidden` is `(tokens, hidden)`: the batch's real tokens. With `first`, only the first
    /// positions' rows come out.
    fn forward(&self, hidden: &Tensor, tokens: &Unpadded, first: Option<&FirstTokens>) -> Result<Tensor> {
        let (rows, queries) = tokens.outputs(hidden, first)?;
        let context = attention(
            &self.query.forward(&rows)?,
            &self.key.forward(hidden)?,
            &self.value.forward(hidden)?,
            self.num_heads,
            tokens,
            queries,
        )?;
        let hidden = self.attention_norm.forward(&self.attention_output.forward(&context)?, &rows)?;
        self.output_norm.forward(&self.output.forward(&self.intermediate.forward(&hidden)?)?, &hidden)
    }
}

/// The stack of transformer blocks (`encoder.layer.N`).
pub(super) struct BertEncoder {
    layers: Vec<BertLayer>,
}

impl BertEncoder {
    pub(super) fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let vb = vb.pp("layer");
        let layers = (0..config.num_hidden_layers)
            .map(|i| BertLayer::load(vb.pp(i), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// `attention_mask` is `(batch, seq)` with 1 for real tokens and 0 for padding; padded
    /// positions come out as zeros (see [`Unpadded`]). Returns `(batch, seq, hidden)`, or
    /// `(batch, 1, hidden)` for [`Outputs::FirstToken`].
    pub(super) fn forward(
        &self,
        embeddings: &Tensor,
        attention_mask: &Tensor,
        outputs: Outputs,
    ) -> Result<Tensor> {
        let tokens = Unpadded::new(attention_mask)?;
        run_layers(&self.layers, embeddings, &tokens, outputs, |_, layer, hidden, first| {
            layer.forward(hidden, &tokens, first)
        })
    }
}

/// The bare encoder: `forward` returns the last hidden states, `(batch, seq, hidden)`.
pub struct BertModel {
    embeddings: BertEmbeddings,
    encoder: BertEncoder,
}

impl BertModel {
    /// `vb` points at the model's root (the `bert.` prefix of task checkpoints removed).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            embeddings: BertEmbeddings::load(vb.pp("embeddings"), config)?,
            encoder: BertEncoder::load(vb.pp("encoder"), config)?,
        })
    }

    /// All inputs are `(batch, seq)` `u32` tensors: token ids, segment ids, and a mask with 1
    /// for real tokens and 0 for padding.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor> {
        self.encode(input_ids, token_type_ids, attention_mask, Outputs::AllTokens)
    }

    fn encode(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
        outputs: Outputs,
    ) -> Result<Tensor> {
        let embeddings = self.embeddings.forward(input_ids, token_type_ids)?;
        self.encoder.forward(&embeddings, attention_mask, outputs)
    }
}

/// BERT with transformers' classification head: the pooler (`dense` + tanh on `[CLS]`), then
/// `classifier`.
pub struct BertForSequenceClassification {
    bert: BertModel,
    pooler: Linear,
    classifier: Linear,
}

impl BertForSequenceClassification {
    /// `vb` points at the checkpoint's root (keys `bert.*`, `classifier.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let hidden = config.hidden_size;
        Ok(Self {
            bert: BertModel::load(vb.pp("bert"), config)?,
            pooler: head_linear(hidden, hidden, vb.pp("bert").pp("pooler").pp("dense"))?,
            classifier: head_linear(hidden, config.num_labels(), vb.pp("classifier"))?,
        })
    }

    /// Logits, `(batch, num_labels)`; inputs as [`BertModel::forward`].
    pub fn forward(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor> {
        let hidden = self.bert.encode(input_ids, token_type_ids, attention_mask, Outputs::FirstToken)?;
        let pooled = self.pooler.forward(&first_token(&hidden)?)?.tanh()?;
        self.classifier.forward(&pooled)
    }

    /// The encoder under the head, for embeddings from the same checkpoint.
    pub fn model(&self) -> &BertModel {
        &self.bert
    }
}
