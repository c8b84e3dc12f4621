//! DeBERTa-v2 on candle: the architecture behind DeBERTa-v2, DeBERTa-v3 and mDeBERTa-v3
//! checkpoints (`model_type: "deberta-v2"`), written to reproduce Hugging Face transformers
//! 4.46.3 `modeling_deberta_v2.py` in inference mode (dropout off).
//!
//! The disentangled attention adds to the usual content→content scores a content→position
//! (c2p) and a position→content (p2c) term, both read from a table of relative-position
//! embeddings through index tensors built once per forward pass. Where transformers'
//! arithmetic order is observable in fp32 (scaling the keys before the product, the order the
//! bias terms are summed, the float32 log in the position buckets) it is followed.
//!
//! On CPUs with a packed kernel the layers run on the real tokens only (see
//! [`super::attention`]), and each sequence's c2p and p2c terms are computed from only the
//! table rows its distances reach instead of all `2 · span` rows.

use std::collections::BTreeMap;

use candle_core::{bail, DType, Device, Module, Result, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Embedding, LayerNorm, VarBuilder};
use serde::{Deserialize, Deserializer};

use super::attention::{
    fused_attention, run_layers, FirstTokens, Outputs, RelativeRows, RelativeTerms, Unpadded,
};
use super::fused::ResidualNorm;
use super::linear::{head_linear, linear, Linear};
use super::packed::Kernel;
use super::Activation;
use crate::model::Dtype;

/// `config.json` of a `deberta-v2` checkpoint. Missing fields take the defaults of
/// transformers' `DebertaV2Config` (and the `getattr` fallbacks in the modeling code).
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
    /// Per-head width; `hidden_size / num_attention_heads` when absent.
    #[serde(default)]
    pub attention_head_size: Option<usize>,
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::gelu")]
    pub hidden_act: Activation,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// 0 means no token-type embeddings (DeBERTa-v3), so segment ids are ignored.
    #[serde(default)]
    pub type_vocab_size: usize,
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub relative_attention: bool,
    /// Below 1 means `max_position_embeddings`.
    #[serde(default = "defaults::minus_one")]
    pub max_relative_positions: i64,
    /// Above 0 turns on log-bucketed relative positions with this many buckets per side.
    #[serde(default = "defaults::minus_one")]
    pub position_buckets: i64,
    /// Which disentangled terms are on: `["p2c", "c2p"]`, or the legacy string `"p2c|c2p"`.
    #[serde(default, deserialize_with = "deserialize_pos_att_type")]
    pub pos_att_type: Vec<String>,
    /// Position projections reuse the content key/query projections.
    #[serde(default)]
    pub share_att_key: bool,
    /// `"layer_norm"` (possibly among other `|`-separated entries) normalises the relative
    /// embedding table.
    #[serde(default = "defaults::none")]
    pub norm_rel_ebd: String,
    /// Absolute position embeddings are added to the input.
    #[serde(default = "defaults::yes")]
    pub position_biased_input: bool,
    /// Width of the token embeddings; projected to `hidden_size` when different.
    #[serde(default)]
    pub embedding_size: Option<usize>,
    /// Above 0 adds the convolution after the first layer (DeBERTa-v2 xlarge/xxlarge).
    #[serde(default)]
    pub conv_kernel_size: usize,
    #[serde(default = "defaults::one")]
    pub conv_groups: usize,
    #[serde(default = "defaults::tanh")]
    pub conv_act: Activation,
    #[serde(default)]
    pub pooler_hidden_size: Option<usize>,
    #[serde(default = "defaults::gelu")]
    pub pooler_hidden_act: Activation,
    #[serde(default)]
    pub id2label: BTreeMap<usize, String>,
    #[serde(default)]
    pub num_labels: Option<usize>,
}

mod defaults {
    use super::super::Activation;

    pub fn vocab_size() -> usize {
        128100
    }
    pub fn hidden_size() -> usize {
        1536
    }
    pub fn num_hidden_layers() -> usize {
        24
    }
    pub fn num_attention_heads() -> usize {
        24
    }
    pub fn intermediate_size() -> usize {
        6144
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn layer_norm_eps() -> f64 {
        1e-7
    }
    pub fn minus_one() -> i64 {
        -1
    }
    pub fn one() -> usize {
        1
    }
    pub fn yes() -> bool {
        true
    }
    pub fn none() -> String {
        "none".to_owned()
    }
    pub fn gelu() -> Activation {
        Activation::Gelu
    }
    pub fn tanh() -> Activation {
        Activation::Tanh
    }
}

/// transformers lower-cases and splits the legacy string form; a list is taken as written.
fn deserialize_pos_att_type<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Raw::Text(text)) => text.to_lowercase().split('|').map(|s| s.trim().to_owned()).collect(),
        Some(Raw::List(list)) => list,
    })
}

impl Config {
    fn has_pos_att(&self, kind: &str) -> bool {
        self.pos_att_type.iter().any(|t| t == kind)
    }

    fn head_size(&self) -> usize {
        self.attention_head_size.unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    fn embedding_size(&self) -> usize {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    fn pooler_hidden_size(&self) -> usize {
        self.pooler_hidden_size.unwrap_or(self.hidden_size)
    }

    /// Maximum relative distance (`max_relative_positions`, or the absolute limit when unset).
    fn max_relative_positions(&self) -> i64 {
        if self.max_relative_positions < 1 {
            self.max_position_embeddings as i64
        } else {
            self.max_relative_positions
        }
    }

    /// Half the number of rows of the relative embedding table (`att_span` in transformers).
    fn attention_span(&self) -> i64 {
        if self.position_buckets > 0 {
            self.position_buckets
        } else {
            self.max_relative_positions()
        }
    }

    fn normalises_relative_embeddings(&self) -> bool {
        self.norm_rel_ebd.to_lowercase().split('|').any(|s| s.trim() == "layer_norm")
    }

    /// Outputs of the classification head: one per `id2label` entry, else `num_labels`,
    /// else transformers' default of 2.
    pub fn num_labels(&self) -> usize {
        super::label_count(&self.id2label, self.num_labels)
    }
}

/// Bucketed relative position, as transformers' `make_log_bucket_position`: distances inside
/// `bucket_size / 2` stay exact, longer ones share buckets on a log scale up to `max_position`.
/// The log arithmetic is done in float32, as torch does it, so bucket edges fall where they do
/// in the reference.
pub fn make_log_bucket_position(relative_pos: i64, bucket_size: i64, max_position: i64) -> i64 {
    let mid = bucket_size / 2;
    let abs_pos = if relative_pos < mid && relative_pos > -mid { mid - 1 } else { relative_pos.abs() };
    if abs_pos <= mid {
        return relative_pos;
    }
    let ratio = (abs_pos as f32) / (mid as f32);
    let span = (((max_position - 1) as f64) / (mid as f64)) as f32;
    let log_pos = (ratio.ln() / span.ln() * (mid - 1) as f32).ceil() + mid as f32;
    (log_pos * relative_pos.signum() as f32) as i64
}

/// Relative position of a query `distance` positions after its key, bucketed when the config
/// asks for it.
fn relative_position(config: &Config, distance: i64) -> i64 {
    if config.position_buckets > 0 {
        make_log_bucket_position(distance, config.position_buckets, config.max_relative_positions())
    } else {
        distance
    }
}

/// Divides by a float32 scalar cast to the tensor's dtype, as transformers divides by
/// `scale.to(dtype)`; candle's `x / f64` would multiply by the reciprocal instead.
fn divide_by(xs: &Tensor, scale: f32) -> Result<Tensor> {
    let scale = Tensor::new(scale, xs.device())?.to_dtype(xs.dtype())?;
    xs.broadcast_div(&scale)
}

pub struct DebertaV2Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Option<Embedding>,
    token_type_embeddings: Option<Embedding>,
    embed_proj: Option<candle_nn::Linear>,
    layer_norm: LayerNorm,
}

impl DebertaV2Embeddings {
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let width = config.embedding_size();
        let position_embeddings = if config.position_biased_input {
            Some(candle_nn::embedding(config.max_position_embeddings, width, vb.pp("position_embeddings"))?)
        } else {
            None
        };
        let token_type_embeddings = if config.type_vocab_size > 0 {
            Some(candle_nn::embedding(config.type_vocab_size, width, vb.pp("token_type_embeddings"))?)
        } else {
            None
        };
        let embed_proj = if width != config.hidden_size {
            Some(candle_nn::linear_no_bias(width, config.hidden_size, vb.pp("embed_proj"))?)
        } else {
            None
        };
        Ok(Self {
            word_embeddings: candle_nn::embedding(config.vocab_size, width, vb.pp("word_embeddings"))?,
            position_embeddings,
            token_type_embeddings,
            embed_proj,
            layer_norm: candle_nn::layer_norm(config.hidden_size, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    /// `mask` is `(batch, seq)` in the model's dtype; padded positions come out as zeros.
    fn forward(&self, input_ids: &Tensor, token_type_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        let mut embeddings = self.word_embeddings.forward(input_ids)?;
        if let Some(position_embeddings) = &self.position_embeddings {
            let positions = Tensor::arange(0u32, seq_len as u32, input_ids.device())?;
            embeddings = embeddings.broadcast_add(&position_embeddings.forward(&positions)?)?;
        }
        if let Some(token_type_embeddings) = &self.token_type_embeddings {
            embeddings = (embeddings + token_type_embeddings.forward(token_type_ids)?)?;
        }
        if let Some(embed_proj) = &self.embed_proj {
            embeddings = embed_proj.forward(&embeddings)?;
        }
        let embeddings = self.layer_norm.forward(&embeddings)?;
        embeddings.broadcast_mul(&mask.unsqueeze(2)?)
    }
}

/// What every layer's attention shares within one forward pass.
enum AttentionContext {
    /// The padded batch with masks, through candle ops (any device).
    Padded(PaddedContext),
    /// The real tokens only, through the CPU kernels.
    Unpadded { kernel: Kernel, tokens: Unpadded, relative: Option<ReachedTable> },
}

impl AttentionContext {
    /// The rows a layer computes: all of `hidden`, or with `first` the first positions' (see
    /// [`Unpadded::outputs`]); the padded path computes all.
    fn outputs(&self, hidden: &Tensor, first: Option<&FirstTokens>) -> Result<Tensor> {
        match self {
            Self::Padded(_) => Ok(hidden.clone()),
            Self::Unpadded { tokens, .. } => Ok(tokens.outputs(hidden, first)?.0),
        }
    }
}

/// The rows of the relative-position table (normalised when configured) that a batch's
/// distances reach, `(rows, hidden)`, and which row each distance reads.
struct ReachedTable {
    table: Tensor,
    rows: RelativeRows,
    c2p: bool,
    p2c: bool,
}

struct PaddedContext {
    /// `(batch, heads, seq, seq)`, nonzero where a query may attend to a key.
    mask: Tensor,
    /// Scores masked out get this value before the softmax.
    fill: Tensor,
    /// The relative embedding table (normalised when configured), `(2 * span, hidden)`.
    rel_embeddings: Option<Tensor>,
    /// Flat indices into `(seq × 2 span)` c2p scores giving the `(seq × seq)` gathered matrix.
    c2p_index: Option<Tensor>,
    /// Flat indices into `(seq × 2 span)` p2c scores giving the gathered, transposed matrix.
    p2c_index: Option<Tensor>,
}

struct DisentangledSelfAttention {
    query_proj: Linear,
    key_proj: Linear,
    value_proj: Linear,
    /// Used for c2p when keys are not shared.
    pos_key_proj: Option<Linear>,
    /// Used for p2c when keys are not shared.
    pos_query_proj: Option<Linear>,
    num_heads: usize,
    head_size: usize,
    share_att_key: bool,
    /// `1 + [c2p] + [p2c]`: the scores are divided by `sqrt(head_size * scale_factor)`.
    scale_factor: usize,
}

impl DisentangledSelfAttention {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        if !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            bail!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size,
                config.num_attention_heads
            );
        }
        let head_size = config.head_size();
        let all_heads = config.num_attention_heads * head_size;
        let c2p = config.has_pos_att("c2p");
        let p2c = config.has_pos_att("p2c");
        let separate = config.relative_attention && !config.share_att_key;
        let pos_key_proj = if separate && c2p {
            Some(linear(config.hidden_size, all_heads, vb.pp("pos_key_proj"), config.dtype)?)
        } else {
            None
        };
        let pos_query_proj = if separate && p2c {
            Some(linear(config.hidden_size, all_heads, vb.pp("pos_query_proj"), config.dtype)?)
        } else {
            None
        };
        Ok(Self {
            query_proj: linear(config.hidden_size, all_heads, vb.pp("query_proj"), config.dtype)?,
            key_proj: linear(config.hidden_size, all_heads, vb.pp("key_proj"), config.dtype)?,
            value_proj: linear(config.hidden_size, all_heads, vb.pp("value_proj"), config.dtype)?,
            pos_key_proj,
            pos_query_proj,
            num_heads: config.num_attention_heads,
            head_size,
            share_att_key: config.share_att_key,
            scale_factor: 1 + usize::from(c2p) + usize::from(p2c),
        })
    }

    /// `(batch, seq, heads × head)` → `(batch, heads, seq, head)`.
    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (batch, seq_len, _) = xs.dims3()?;
        xs.reshape((batch, seq_len, self.num_heads, self.head_size))?.transpose(1, 2)?.contiguous()
    }

    /// Projects the relative embedding table to `(1, heads, 2 span, head)`.
    fn project_positions(&self, projection: &Linear, rel_embeddings: &Tensor) -> Result<Tensor> {
        self.split_heads(&projection.forward(&rel_embeddings.unsqueeze(0)?)?)
    }

    /// `softmax((Q Kᵀ + c2p + p2c) / scale)`, as `sqrt(head_size · scale_factor)` in float32,
    /// the way transformers computes it before casting to the model dtype.
    fn scale(&self) -> f32 {
        (self.head_size as f32 * self.scale_factor as f32).sqrt()
    }

    fn c2p_projection(&self) -> Result<&Linear> {
        if self.share_att_key {
            Ok(&self.key_proj)
        } else {
            self.pos_proj(&self.pos_key_proj)
        }
    }

    fn p2c_projection(&self) -> Result<&Linear> {
        if self.share_att_key {
            Ok(&self.query_proj)
        } else {
            self.pos_proj(&self.pos_query_proj)
        }
    }

    /// Attention for the rows `context.outputs` gives for `first`.
    fn forward(
        &self,
        hidden: &Tensor,
        context: &AttentionContext,
        first: Option<&FirstTokens>,
    ) -> Result<Tensor> {
        let (kernel, tokens, relative) = match context {
            AttentionContext::Padded(context) => return self.forward_padded(hidden, context),
            AttentionContext::Unpadded { kernel, tokens, relative } => (*kernel, tokens, relative),
        };
        let (rows, queries) = tokens.outputs(hidden, first)?;
        let project =
            |wanted: bool, projection: Result<&Linear>, table: &Tensor| -> Result<Option<Vec<f32>>> {
                match wanted {
                    true => Ok(Some(projection?.forward(table)?.flatten_all()?.to_vec1()?)),
                    false => Ok(None),
                }
            };
        let terms = match relative {
            Some(reached) => Some(RelativeTerms {
                rows: &reached.rows,
                pos_key: project(reached.c2p, self.c2p_projection(), &reached.table)?,
                pos_query: project(reached.p2c, self.p2c_projection(), &reached.table)?,
            }),
            None => None,
        };
        let [query, key, value] = [
            self.query_proj.forward(&rows)?,
            self.key_proj.forward(hidden)?,
            self.value_proj.forward(hidden)?,
        ];
        let scale = 1.0 / self.scale();
        fused_attention(
            kernel,
            [&query, &key, &value],
            self.num_heads,
            scale,
            tokens,
            queries,
            terms.as_ref(),
        )
    }

    fn forward_padded(&self, hidden: &Tensor, context: &PaddedContext) -> Result<Tensor> {
        let (batch, seq_len, _) = hidden.dims3()?;
        let query = self.split_heads(&self.query_proj.forward(hidden)?)?;
        let key = self.split_heads(&self.key_proj.forward(hidden)?)?;
        let value = self.split_heads(&self.value_proj.forward(hidden)?)?;

        let scale = self.scale();
        let mut scores = query.matmul(&divide_by(&key, scale)?.t()?)?;
        if let Some(bias) = self.relative_bias(&query, &key, context, scale)? {
            scores = (scores + bias)?;
        }

        // XSoftmax: masked scores are filled before the softmax and zeroed after it, so a fully
        // masked (padding) query row attends to nothing.
        let scores = context.mask.where_cond(&scores, &context.fill)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let probs = context.mask.where_cond(&probs, &probs.zeros_like()?)?;
        probs.matmul(&value)?.transpose(1, 2)?.reshape((batch, seq_len, self.num_heads * self.head_size))
    }

    /// The c2p + p2c terms, `(batch, heads, seq, seq)`, each already divided by `scale`;
    /// `None` without relative attention.
    fn relative_bias(
        &self,
        query: &Tensor,
        key: &Tensor,
        context: &PaddedContext,
        scale: f32,
    ) -> Result<Option<Tensor>> {
        let Some(rel_embeddings) = &context.rel_embeddings else {
            return Ok(None);
        };
        let (batch, heads, seq_len, _) = query.dims4()?;
        let mut bias: Option<Tensor> = None;
        if let Some(index) = &context.c2p_index {
            let pos_key = self.project_positions(self.c2p_projection()?, rel_embeddings)?;
            // (batch, heads, seq, 2 span), then pick column c2p_pos[q, k] of row q.
            let c2p = query.broadcast_matmul(&pos_key.t()?)?;
            let c2p = gather_flat(&c2p, index, (batch, heads, seq_len, seq_len))?;
            bias = Some(divide_by(&c2p, scale)?);
        }
        if let Some(index) = &context.p2c_index {
            let pos_query = self.project_positions(self.p2c_projection()?, rel_embeddings)?;
            // (batch, heads, key, 2 span); the index already reads it transposed.
            let p2c = key.broadcast_matmul(&pos_query.t()?)?;
            let p2c = divide_by(&gather_flat(&p2c, index, (batch, heads, seq_len, seq_len))?, scale)?;
            bias = Some(match bias {
                Some(c2p) => (c2p + p2c)?,
                None => p2c,
            });
        }
        Ok(bias)
    }

    fn pos_proj<'a>(&self, projection: &'a Option<Linear>) -> Result<&'a Linear> {
        match projection {
            Some(projection) => Ok(projection),
            None => bail!("positional projection missing although pos_att_type asks for it"),
        }
    }
}

/// Selects `index` (flat positions into the last two dimensions) from `scores` and shapes the
/// result as `shape`; this is transformers' `torch.gather` on the last dimension with the
/// row offset folded into the index, so one index vector serves every batch row and head.
fn gather_flat(scores: &Tensor, index: &Tensor, shape: (usize, usize, usize, usize)) -> Result<Tensor> {
    let (batch, heads, rows, columns) = scores.dims4()?;
    scores.reshape((batch, heads, rows * columns))?.index_select(index, 2)?.reshape(shape)
}

/// Dense projection, then LayerNorm over the sum with the residual (`SelfOutput` and `Output`).
struct DenseResidualNorm {
    dense: Linear,
    layer_norm: ResidualNorm,
}

impl DenseResidualNorm {
    fn load(vb: VarBuilder, input: usize, config: &Config) -> Result<Self> {
        Ok(Self {
            dense: linear(input, config.hidden_size, vb.pp("dense"), config.dtype)?,
            layer_norm: ResidualNorm::load(config.hidden_size, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, hidden: &Tensor, residual: &Tensor) -> Result<Tensor> {
        self.layer_norm.forward(&self.dense.forward(hidden)?, residual)
    }
}

struct DebertaV2Layer {
    attention: DisentangledSelfAttention,
    attention_output: DenseResidualNorm,
    /// With the activation.
    intermediate: Linear,
    output: DenseResidualNorm,
}

impl DebertaV2Layer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            attention: DisentangledSelfAttention::load(vb.pp("attention").pp("self"), config)?,
            attention_output: DenseResidualNorm::load(
                vb.pp("attention").pp("output"),
                config.num_attention_heads * config.head_size(),
                config,
            )?,
            intermediate: linear(
                config.hidden_size,
                config.intermediate_size,
                vb.pp("intermediate").pp("dense"),
                config.dtype,
            )?
            .then(config.hidden_act),
            output: DenseResidualNorm::load(vb.pp("output"), config.intermediate_size, config)?,
        })
    }

    /// The rows `context.outputs` gives for `first`.
    fn forward(
        &self,
        hidden: &Tensor,
        context: &AttentionContext,
        first: Option<&FirstTokens>,
    ) -> Result<Tensor> {
        let residual = context.outputs(hidden, first)?;
        let attended =
            self.attention_output.forward(&self.attention.forward(hidden, context, first)?, &residual)?;
        self.output.forward(&self.intermediate.forward(&attended)?, &attended)
    }
}

/// The convolution DeBERTa-v2 xlarge/xxlarge apply to the embeddings and add to the first
/// layer's output.
struct ConvLayer {
    conv: Conv1d,
    act: Activation,
    layer_norm: ResidualNorm,
}

impl ConvLayer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let kernel = config.conv_kernel_size;
        // transformers pads by (k - 1) / 2, which keeps the length only for odd kernels.
        if kernel.is_multiple_of(2) {
            bail!("conv_kernel_size {kernel} must be odd");
        }
        if config.conv_groups == 0 || !config.hidden_size.is_multiple_of(config.conv_groups) {
            bail!("conv_groups {} does not divide hidden_size {}", config.conv_groups, config.hidden_size);
        }
        let conv_config =
            Conv1dConfig { padding: (kernel - 1) / 2, groups: config.conv_groups, ..Default::default() };
        Ok(Self {
            conv: candle_nn::conv1d(
                config.hidden_size,
                config.hidden_size,
                kernel,
                conv_config,
                vb.pp("conv"),
            )?,
            act: config.conv_act,
            layer_norm: ResidualNorm::load(config.hidden_size, config.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    /// What the convolution adds, `(batch, seq, hidden)`; `mask` is `(batch, seq, 1)` in the
    /// model's dtype.
    fn term(&self, embeddings: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let out = self.conv.forward(&embeddings.transpose(1, 2)?.contiguous()?)?.transpose(1, 2)?;
        self.act.forward(&out.broadcast_mul(mask)?)
    }

    fn add(&self, residual: &Tensor, term: &Tensor) -> Result<Tensor> {
        self.layer_norm.forward(residual, term)
    }
}

pub struct DebertaV2Encoder {
    layers: Vec<DebertaV2Layer>,
    rel_embeddings: Option<Tensor>,
    rel_layer_norm: Option<LayerNorm>,
    conv: Option<ConvLayer>,
    config: Config,
}

impl DebertaV2Encoder {
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let layers = (0..config.num_hidden_layers)
            .map(|i| DebertaV2Layer::load(vb.pp("layer").pp(i), config))
            .collect::<Result<Vec<_>>>()?;
        let rel_embeddings = if config.relative_attention {
            let rows = 2 * config.attention_span();
            if rows <= 0 {
                bail!("relative attention needs a positive span, got {}", config.attention_span());
            }
            Some(vb.pp("rel_embeddings").get((rows as usize, config.hidden_size), "weight")?)
        } else {
            None
        };
        let rel_layer_norm = if config.normalises_relative_embeddings() {
            Some(candle_nn::layer_norm(config.hidden_size, config.layer_norm_eps, vb.pp("LayerNorm"))?)
        } else {
            None
        };
        let conv =
            if config.conv_kernel_size > 0 { Some(ConvLayer::load(vb.pp("conv"), config)?) } else { None };
        Ok(Self { layers, rel_embeddings, rel_layer_norm, conv, config: config.clone() })
    }

    /// `mask` is `(batch, seq)` in the model's dtype; padded positions come out as zeros.
    /// Returns `(batch, seq, hidden)`, or `(batch, 1, hidden)` for [`Outputs::FirstToken`].
    fn forward(&self, embeddings: &Tensor, mask: &Tensor, outputs: Outputs) -> Result<Tensor> {
        self.forward_with(embeddings, mask, Kernel::for_tensor(embeddings), outputs)
    }

    /// Unpadded through `kernel`, or padded through candle ops without one.
    fn forward_with(
        &self,
        embeddings: &Tensor,
        mask: &Tensor,
        kernel: Option<Kernel>,
        outputs: Outputs,
    ) -> Result<Tensor> {
        let token_mask = mask.unsqueeze(2)?;
        let conv_term = self.conv.as_ref().map(|conv| conv.term(embeddings, &token_mask)).transpose()?;
        let Some(kernel) = kernel else {
            let context = AttentionContext::Padded(self.padded_context(embeddings, mask)?);
            let mut hidden = embeddings.clone();
            for (i, layer) in self.layers.iter().enumerate() {
                hidden = self.after_layer(i, layer.forward(&hidden, &context, None)?, conv_term.as_ref())?;
                if i == 0 && self.conv.is_some() {
                    // transformers zeroes padded positions again after the convolution.
                    hidden = hidden.broadcast_mul(&token_mask)?;
                }
            }
            return match outputs {
                Outputs::AllTokens => Ok(hidden),
                Outputs::FirstToken => hidden.narrow(1, 0, 1),
            };
        };
        let tokens = Unpadded::new(mask)?;
        let conv_term = conv_term.map(|term| tokens.gather(&term)).transpose()?;
        let relative = self.reached_table(mask.dim(1)?)?;
        let context = AttentionContext::Unpadded { kernel, tokens, relative };
        let AttentionContext::Unpadded { tokens, .. } = &context else { unreachable!("built above") };
        run_layers(&self.layers, embeddings, tokens, outputs, |i, layer, hidden, first| {
            let hidden = layer.forward(hidden, &context, first)?;
            let conv_term = conv_term.as_ref().map(|term| context.outputs(term, first)).transpose()?;
            self.after_layer(i, hidden, conv_term.as_ref())
        })
    }

    /// Layer `i`'s output, with the convolution's term added after the first.
    fn after_layer(&self, i: usize, hidden: Tensor, conv_term: Option<&Tensor>) -> Result<Tensor> {
        match (i, &self.conv, conv_term) {
            (0, Some(conv), Some(term)) => conv.add(&hidden, term),
            _ => Ok(hidden),
        }
    }

    /// The normalised relative-position table, when the model has relative attention.
    fn relative_table(&self) -> Result<Option<Tensor>> {
        Ok(match (&self.rel_embeddings, &self.rel_layer_norm) {
            (Some(table), Some(norm)) => Some(norm.forward(table)?),
            (Some(table), None) => Some(table.clone()),
            (None, _) => None,
        })
    }

    /// The table rows that query–key distances below `seq_len` reach, and the row each
    /// distance reads (see [`Self::relative_index`] for the columns the padded path gathers).
    fn reached_table(&self, seq_len: usize) -> Result<Option<ReachedTable>> {
        let Some(table) = self.relative_table()? else {
            return Ok(None);
        };
        let span = self.config.attention_span();
        let column = |position: i64| (position + span).clamp(0, 2 * span - 1) as usize;
        let max_distance = seq_len.saturating_sub(1);
        let distances = -(max_distance as i64)..=max_distance as i64;
        let c2p: Vec<usize> = distances.clone().map(|d| column(relative_position(&self.config, d))).collect();
        let p2c: Vec<usize> = distances.map(|d| column(-relative_position(&self.config, -d))).collect();
        let (c2p_wanted, p2c_wanted) = (self.config.has_pos_att("c2p"), self.config.has_pos_att("p2c"));
        let used = c2p.iter().filter(|_| c2p_wanted).chain(p2c.iter().filter(|_| p2c_wanted));
        let (low, high) = used.fold((usize::MAX, 0), |(low, high), &row| (low.min(row), high.max(row)));
        if low > high {
            // Neither term: plain attention.
            return Ok(None);
        }
        let shift = |rows: Vec<usize>| rows.into_iter().map(|row| row.saturating_sub(low)).collect();
        Ok(Some(ReachedTable {
            table: table.narrow(0, low, high + 1 - low)?,
            rows: RelativeRows { c2p: shift(c2p), p2c: shift(p2c), max_distance },
            c2p: c2p_wanted,
            p2c: p2c_wanted,
        }))
    }

    fn padded_context(&self, embeddings: &Tensor, mask: &Tensor) -> Result<PaddedContext> {
        let (batch, seq_len, _) = embeddings.dims3()?;
        let device = embeddings.device();
        let heads = self.config.num_attention_heads;
        // Query i may attend to key j only when both are real tokens.
        let pair_mask = mask.unsqueeze(1)?.unsqueeze(2)?.broadcast_mul(&mask.unsqueeze(1)?.unsqueeze(3)?)?;
        let shape = (batch, heads, seq_len, seq_len);
        let attention_mask = pair_mask.ne(0f64)?.broadcast_as(shape)?;
        // transformers fills with `finfo.min`; -inf gives the same zeros without libm's slow
        // underflow path in `exp`. Padding rows, all -inf, come out NaN and are zeroed after.
        let fill = Tensor::new(f32::NEG_INFINITY, device)?.to_dtype(embeddings.dtype())?;
        let fill = fill.broadcast_as(shape)?;

        let rel_embeddings = self.relative_table()?;
        let (c2p_index, p2c_index) = if rel_embeddings.is_some() {
            let span = self.config.attention_span();
            let index = |flip: bool| -> Result<Tensor> { self.relative_index(seq_len, span, flip, device) };
            let c2p = if self.config.has_pos_att("c2p") { Some(index(false)?) } else { None };
            let p2c = if self.config.has_pos_att("p2c") { Some(index(true)?) } else { None };
            (c2p, p2c)
        } else {
            (None, None)
        };
        Ok(PaddedContext { mask: attention_mask, fill, rel_embeddings, c2p_index, p2c_index })
    }

    /// Flat indices into a `(seq, 2 span)` score matrix giving the `(seq, seq)` relative term.
    ///
    /// c2p (`flip = false`): entry `[q, k]` reads row `q`, column `clamp(r(q, k) + span)`.
    /// p2c (`flip = true`): transformers gathers row `k`, column `clamp(-r(k, q) + span)` and
    /// transposes; reading it that way directly gives the transposed matrix.
    fn relative_index(&self, seq_len: usize, span: i64, flip: bool, device: &Device) -> Result<Tensor> {
        let width = 2 * span;
        let mut index = Vec::with_capacity(seq_len * seq_len);
        for q in 0..seq_len {
            for k in 0..seq_len {
                let distance = q as i64 - k as i64;
                let (row, column) = if flip {
                    (k, -relative_position(&self.config, -distance) + span)
                } else {
                    (q, relative_position(&self.config, distance) + span)
                };
                let column = column.clamp(0, width - 1);
                index.push(row as i64 * width + column);
            }
        }
        let len = index.len();
        let index = index
            .into_iter()
            .map(|i| {
                u32::try_from(i).map_err(|_| candle_core::Error::Msg(format!("relative index {i} overflows")))
            })
            .collect::<Result<Vec<u32>>>()?;
        Tensor::from_vec(index, len, device)
    }
}

/// The bare encoder: `forward` returns the last hidden states, `(batch, seq, hidden)`.
pub struct DebertaV2Model {
    embeddings: DebertaV2Embeddings,
    encoder: DebertaV2Encoder,
    dtype: DType,
}

impl DebertaV2Model {
    /// `vb` points at the model's root (the `deberta.` prefix of task checkpoints removed).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            embeddings: DebertaV2Embeddings::load(vb.pp("embeddings"), config)?,
            encoder: DebertaV2Encoder::load(vb.pp("encoder"), config)?,
            dtype: vb.dtype(),
        })
    }

    /// All inputs are `(batch, seq)`: integer ids, integer segment ids (ignored when the model
    /// has no token types), and a mask with 1 for real tokens and 0 for padding (any dtype).
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
        let mask = attention_mask.to_dtype(self.dtype)?;
        let embeddings = self.embeddings.forward(input_ids, token_type_ids, &mask)?;
        self.encoder.forward(&embeddings, &mask, outputs)
    }
}

/// DeBERTa-v2 with transformers' classification head: the first token's hidden state through
/// `pooler.dense` and `pooler_hidden_act`, then `classifier`.
pub struct DebertaV2ForSequenceClassification {
    deberta: DebertaV2Model,
    pooler: Linear,
    pooler_act: Activation,
    classifier: Linear,
}

impl DebertaV2ForSequenceClassification {
    /// `vb` points at the checkpoint's root (keys `deberta.*`, `pooler.*`, `classifier.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let pooled = config.pooler_hidden_size();
        Ok(Self {
            deberta: DebertaV2Model::load(vb.pp("deberta"), config)?,
            pooler: head_linear(pooled, pooled, vb.pp("pooler").pp("dense"))?,
            pooler_act: config.pooler_hidden_act,
            classifier: head_linear(pooled, config.num_labels(), vb.pp("classifier"))?,
        })
    }

    /// Logits, `(batch, num_labels)`; inputs as [`DebertaV2Model::forward`].
    pub fn forward(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor> {
        let hidden = self.deberta.encode(input_ids, token_type_ids, attention_mask, Outputs::FirstToken)?;
        let first = hidden.narrow(1, 0, 1)?.squeeze(1)?;
        let pooled = self.pooler_act.forward(&self.pooler.forward(&first)?)?;
        self.classifier.forward(&pooled)
    }

    /// The encoder under the head, for embeddings from the same checkpoint.
    pub fn model(&self) -> &DebertaV2Model {
        &self.deberta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_legacy_pos_att_type() {
        let config: Config = serde_json::from_str(
            r#"{"pos_att_type": "P2C | c2p", "id2label": {"0": "a", "1": "b", "2": "c"}}"#,
        )
        .unwrap();
        assert_eq!(config.pos_att_type, vec!["p2c", "c2p"]);
        assert_eq!(config.num_labels(), 3);
        assert_eq!(config.hidden_act, Activation::Gelu);
        assert_eq!(config.conv_act, Activation::Tanh);
        assert_eq!(config.layer_norm_eps, 1e-7);
        assert!(config.position_biased_input);
        assert_eq!(config.attention_span(), 512);

        let v3: Config = serde_json::from_str(
            r#"{"pos_att_type": null, "position_buckets": 256, "norm_rel_ebd": "layer_norm"}"#,
        )
        .unwrap();
        assert!(v3.pos_att_type.is_empty());
        assert_eq!(v3.attention_span(), 256);
        assert!(v3.normalises_relative_embeddings());
        assert_eq!(v3.num_labels(), 2);
    }

    /// The unpadded path (every kernel this CPU has) against the padded one, at real
    /// positions and at the first position only, on random weights with every
    /// relative-attention feature: log buckets, separate position projections, both terms, the
    /// convolution (also in a one-layer encoder, where the first layer is the last).
    #[test]
    fn unpadded_matches_padded() -> Result<()> {
        let device = Device::Cpu;
        for layers in [1, 2] {
            let config: Config = serde_json::from_str(&format!(
                r#"{{"hidden_size": 32, "num_hidden_layers": {layers}, "num_attention_heads": 4,
                    "intermediate_size": 37, "relative_attention": true, "pos_att_type": ["c2p", "p2c"],
                    "position_buckets": 8, "max_relative_positions": 16, "share_att_key": false,
                    "conv_kernel_size": 3, "norm_rel_ebd": "layer_norm", "max_position_embeddings": 64}}"#
            ))
            .unwrap();
            let varmap = candle_nn::VarMap::new();
            let encoder =
                DebertaV2Encoder::load(VarBuilder::from_varmap(&varmap, DType::F32, &device), &config)?;
            let (batch, seq) = (3, 23);
            let embeddings = Tensor::randn(0f32, 1.0, (batch, seq, 32), &device)?;
            let lengths = [23, 4, 17];
            let mask: Vec<f32> = lengths
                .iter()
                .flat_map(|&len| (0..seq).map(move |s| if s < len { 1.0 } else { 0.0 }))
                .collect();
            let mask = Tensor::from_vec(mask, (batch, seq), &device)?;
            let embeddings = embeddings.broadcast_mul(&mask.unsqueeze(2)?)?;
            let want = encoder
                .forward_with(&embeddings, &mask, None, Outputs::AllTokens)?
                .broadcast_mul(&mask.unsqueeze(2)?)?;
            let want_first = encoder.forward_with(&embeddings, &mask, None, Outputs::FirstToken)?;
            assert_eq!(want_first.to_vec3::<f32>()?, want.narrow(1, 0, 1)?.to_vec3::<f32>()?);
            for kernel in Kernel::available() {
                for (outputs, want) in [(Outputs::AllTokens, &want), (Outputs::FirstToken, &want_first)] {
                    let got = encoder.forward_with(&embeddings, &mask, Some(kernel), outputs)?;
                    let error = (got - want)?.abs()?.max_all()?.to_scalar::<f32>()?;
                    assert!(error < 1e-4, "{layers} layers, {kernel:?}, {outputs:?}: max error {error}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn unknown_activation_is_a_config_error() {
        let error = serde_json::from_str::<Config>(r#"{"hidden_act": "gelu_42"}"#).unwrap_err();
        assert!(error.to_string().contains("gelu_42"), "{error}");
    }

    #[test]
    fn log_buckets_keep_short_distances_exact() {
        for r in -128..=128 {
            assert_eq!(make_log_bucket_position(r, 256, 512), r);
        }
        assert_eq!(make_log_bucket_position(511, 256, 512), 255);
        assert_eq!(make_log_bucket_position(-511, 256, 512), -255);
    }
}
