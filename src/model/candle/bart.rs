//! BART (`model_type: "bart"`, e.g. `facebook/bart-large-mnli`), as transformers 4.46.3
//! `modeling_bart.py` computes `BartForSequenceClassification` in inference mode (dropout
//! off): an encoder and a decoder of post-LayerNorm blocks over one shared token table; the
//! decoder reads the input shifted one place right (`shift_tokens_right`) under a causal mask
//! and attends to the encoder's output; the head reads the decoder's state at each row's last
//! `</s>`.
//!
//! Both stacks run on the real tokens only (see [`super::attention`]). transformers gives the
//! decoder no padding mask, only the causal one; with right padding (how batches are built)
//! every real position precedes the padding, so it never sees it and dropping the padding
//! changes nothing. A row's numbers are those of the row run alone.

use std::collections::BTreeMap;

use candle_core::{bail, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use super::attention::{attention, causal_attention, Unpadded};
use super::fused::ResidualNorm;
use super::linear::{head_linear, linear, Linear};
use super::{label_count, Activation};
use crate::model::Dtype;

/// BART's learned position tables have two extra leading rows: position `p` reads row `p + 2`
/// (a fairseq legacy transformers keeps).
const POSITION_OFFSET: usize = 2;

/// transformers' BART uses `nn.LayerNorm`'s default epsilon everywhere.
const LAYER_NORM_EPS: f64 = 1e-5;

/// `config.json` of a BART checkpoint; missing fields take transformers' `BartConfig` defaults
/// (those of `facebook/bart-large`).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Not in `config.json`: how the linear layers of both stacks compute (`--dtype`).
    #[serde(skip)]
    pub dtype: Dtype,
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::d_model")]
    pub d_model: usize,
    #[serde(default = "defaults::layers")]
    pub encoder_layers: usize,
    #[serde(default = "defaults::layers")]
    pub decoder_layers: usize,
    #[serde(default = "defaults::attention_heads")]
    pub encoder_attention_heads: usize,
    #[serde(default = "defaults::attention_heads")]
    pub decoder_attention_heads: usize,
    #[serde(default = "defaults::ffn_dim")]
    pub encoder_ffn_dim: usize,
    #[serde(default = "defaults::ffn_dim")]
    pub decoder_ffn_dim: usize,
    #[serde(default = "defaults::activation_function")]
    pub activation_function: Activation,
    /// Positions the learned tables cover (they have two more rows, see [`POSITION_OFFSET`]).
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// Token embeddings are multiplied by `√d_model`.
    #[serde(default)]
    pub scale_embedding: bool,
    #[serde(default = "defaults::pad_token_id")]
    pub pad_token_id: u32,
    /// The head reads the decoder at each row's last token with this id.
    #[serde(default = "defaults::eos_token_id")]
    pub eos_token_id: u32,
    /// The decoder's first input, before the input shifted right.
    #[serde(default = "defaults::eos_token_id")]
    pub decoder_start_token_id: u32,
    /// Fairseq-conversion flags that transformers' BART reads nowhere: it always computes
    /// post-LayerNorm blocks, a LayerNorm on the embeddings and no final LayerNorm. A checkpoint
    /// that says otherwise was trained as another model (mBART-style pre-LayerNorm), so it is
    /// refused rather than run as something it is not.
    #[serde(default)]
    pub normalize_before: bool,
    #[serde(default)]
    pub add_final_layer_norm: bool,
    #[serde(default = "defaults::yes")]
    pub normalize_embedding: bool,
    #[serde(default)]
    pub id2label: BTreeMap<usize, String>,
    #[serde(default)]
    pub num_labels: Option<usize>,
}

mod defaults {
    use super::Activation;

    pub fn vocab_size() -> usize {
        50265
    }
    pub fn d_model() -> usize {
        1024
    }
    pub fn layers() -> usize {
        12
    }
    pub fn attention_heads() -> usize {
        16
    }
    pub fn ffn_dim() -> usize {
        4096
    }
    pub fn activation_function() -> Activation {
        Activation::Gelu
    }
    pub fn max_position_embeddings() -> usize {
        1024
    }
    pub fn pad_token_id() -> u32 {
        1
    }
    pub fn eos_token_id() -> u32 {
        2
    }
    pub fn yes() -> bool {
        true
    }
}

impl Config {
    /// Reads `config.json` and refuses the variants transformers' BART does not compute (see
    /// `normalize_before`) and ids the token table cannot hold.
    pub fn from_json(value: &serde_json::Value) -> serde_json::Result<Self> {
        use serde::de::Error;
        let config = Self::deserialize(value)?;
        let refused = [
            ("normalize_before", config.normalize_before, "pre-LayerNorm blocks (mBART-style)"),
            ("add_final_layer_norm", config.add_final_layer_norm, "a final LayerNorm after each stack"),
            ("normalize_embedding", !config.normalize_embedding, "no LayerNorm on the embeddings"),
        ];
        if let Some((key, _, meaning)) = refused.iter().find(|(_, set, _)| *set) {
            return Err(serde_json::Error::custom(format!(
                "`{key}` asks for {meaning}, which BART (as transformers computes it) does not have; \
                 this checkpoint is not supported"
            )));
        }
        if config.decoder_start_token_id as usize >= config.vocab_size {
            return Err(serde_json::Error::custom(format!(
                "`decoder_start_token_id` {} is not below `vocab_size` {}",
                config.decoder_start_token_id, config.vocab_size
            )));
        }
        Ok(config)
    }

    /// Outputs of the classification head (transformers: one per `id2label` entry).
    pub fn num_labels(&self) -> usize {
        label_count(&self.id2label, self.num_labels)
    }
}

/// One stack's learned positions and embedding LayerNorm; the token table is shared.
struct Embeddings {
    /// `(max_position_embeddings + 2, d_model)`.
    positions: Tensor,
    layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let rows = config.max_position_embeddings + POSITION_OFFSET;
        Ok(Self {
            positions: vb.pp("embed_positions").get((rows, config.d_model), "weight")?,
            layer_norm: candle_nn::layer_norm(config.d_model, LAYER_NORM_EPS, vb.pp("layernorm_embedding"))?,
        })
    }

    /// `tokens` is `(batch, seq, d_model)`, already scaled; positions are `0..seq` in every
    /// row, as transformers numbers them whatever the mask.
    fn forward(&self, tokens: &Tensor) -> Result<Tensor> {
        let positions = self.positions.narrow(0, POSITION_OFFSET, tokens.dim(1)?)?;
        self.layer_norm.forward(&tokens.broadcast_add(&positions)?)
    }
}

/// Query, key, value and output projections of one attention block.
struct Projections {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    num_heads: usize,
}

impl Projections {
    fn load(vb: VarBuilder, d_model: usize, num_heads: usize, dtype: Dtype) -> Result<Self> {
        let project = |name: &str| linear(d_model, d_model, vb.pp(name), dtype);
        Ok(Self {
            q_proj: project("q_proj")?,
            k_proj: project("k_proj")?,
            v_proj: project("v_proj")?,
            out_proj: project("out_proj")?,
            num_heads,
        })
    }
}

/// The position-wise feed-forward network and its post-LayerNorm.
struct FeedForward {
    /// With the activation.
    fc1: Linear,
    fc2: Linear,
    final_layer_norm: ResidualNorm,
}

impl FeedForward {
    fn load(vb: &VarBuilder, config: &Config, ffn_dim: usize) -> Result<Self> {
        let d = config.d_model;
        Ok(Self {
            fc1: linear(d, ffn_dim, vb.pp("fc1"), config.dtype)?.then(config.activation_function),
            fc2: linear(ffn_dim, d, vb.pp("fc2"), config.dtype)?,
            final_layer_norm: ResidualNorm::load(d, LAYER_NORM_EPS, vb.pp("final_layer_norm"))?,
        })
    }

    fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        self.final_layer_norm.forward(&self.fc2.forward(&self.fc1.forward(hidden)?)?, hidden)
    }
}

/// `model.encoder.layers.N`: self-attention, then the feed-forward network.
struct EncoderLayer {
    self_attn: Projections,
    self_attn_layer_norm: ResidualNorm,
    ffn: FeedForward,
}

impl EncoderLayer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let (d, heads) = (config.d_model, config.encoder_attention_heads);
        Ok(Self {
            self_attn: Projections::load(vb.pp("self_attn"), d, heads, config.dtype)?,
            self_attn_layer_norm: ResidualNorm::load(d, LAYER_NORM_EPS, vb.pp("self_attn_layer_norm"))?,
            ffn: FeedForward::load(&vb, config, config.encoder_ffn_dim)?,
        })
    }

    /// `hidden` is `(tokens, d_model)`: the batch's real tokens.
    fn forward(&self, hidden: &Tensor, tokens: &Unpadded) -> Result<Tensor> {
        let a = &self.self_attn;
        let (_, queries) = tokens.outputs(hidden, None)?;
        let context = attention(
            &a.q_proj.forward(hidden)?,
            &a.k_proj.forward(hidden)?,
            &a.v_proj.forward(hidden)?,
            a.num_heads,
            tokens,
            queries,
        )?;
        let hidden = self.self_attn_layer_norm.forward(&a.out_proj.forward(&context)?, hidden)?;
        self.ffn.forward(&hidden)
    }
}

/// `model.decoder.layers.N`: causal self-attention, attention over the encoder's output, then
/// the feed-forward network.
struct DecoderLayer {
    self_attn: Projections,
    self_attn_layer_norm: ResidualNorm,
    encoder_attn: Projections,
    encoder_attn_layer_norm: ResidualNorm,
    ffn: FeedForward,
}

impl DecoderLayer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let (d, heads) = (config.d_model, config.decoder_attention_heads);
        Ok(Self {
            self_attn: Projections::load(vb.pp("self_attn"), d, heads, config.dtype)?,
            self_attn_layer_norm: ResidualNorm::load(d, LAYER_NORM_EPS, vb.pp("self_attn_layer_norm"))?,
            encoder_attn: Projections::load(vb.pp("encoder_attn"), d, heads, config.dtype)?,
            encoder_attn_layer_norm: ResidualNorm::load(d, LAYER_NORM_EPS, vb.pp("encoder_attn_layer_norm"))?,
            ffn: FeedForward::load(&vb, config, config.decoder_ffn_dim)?,
        })
    }

    /// `hidden` and `encoded` are `(tokens, d_model)` over the same real tokens: the decoder's
    /// position `i` of a row attends to the encoder's real tokens of that row.
    fn forward(&self, hidden: &Tensor, encoded: &Tensor, tokens: &Unpadded) -> Result<Tensor> {
        let a = &self.self_attn;
        let context = causal_attention(
            &a.q_proj.forward(hidden)?,
            &a.k_proj.forward(hidden)?,
            &a.v_proj.forward(hidden)?,
            a.num_heads,
            tokens,
        )?;
        let hidden = self.self_attn_layer_norm.forward(&a.out_proj.forward(&context)?, hidden)?;
        let c = &self.encoder_attn;
        let (_, queries) = tokens.outputs(&hidden, None)?;
        let context = attention(
            &c.q_proj.forward(&hidden)?,
            &c.k_proj.forward(encoded)?,
            &c.v_proj.forward(encoded)?,
            c.num_heads,
            tokens,
            queries,
        )?;
        let hidden = self.encoder_attn_layer_norm.forward(&c.out_proj.forward(&context)?, &hidden)?;
        self.ffn.forward(&hidden)
    }
}

/// The bare encoder-decoder (`BartModel`): `forward` returns the decoder's last hidden states,
/// `(batch, seq, d_model)`, which is transformers' `last_hidden_state`.
pub struct BartModel {
    /// The token table of both stacks.
    shared: Embedding,
    /// `√d_model` with `scale_embedding`, else 1.
    embed_scale: f64,
    encoder_embeddings: Embeddings,
    encoder_layers: Vec<EncoderLayer>,
    decoder_embeddings: Embeddings,
    decoder_layers: Vec<DecoderLayer>,
    decoder_start_token_id: u32,
}

impl BartModel {
    /// `vb` points at the model's root (the `model.` prefix of task checkpoints removed).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        // transformers ties the encoder's and decoder's `embed_tokens` to `shared`; checkpoints
        // store the table under one or more of those names, all the same values.
        let table = ["shared", "encoder.embed_tokens", "decoder.embed_tokens"]
            .into_iter()
            .find(|name| vb.contains_tensor(&format!("{name}.weight")))
            .unwrap_or("shared");
        let (encoder, decoder) = (vb.pp("encoder"), vb.pp("decoder"));
        Ok(Self {
            shared: candle_nn::embedding(config.vocab_size, config.d_model, vb.pp(table))?,
            embed_scale: if config.scale_embedding { (config.d_model as f64).sqrt() } else { 1.0 },
            encoder_embeddings: Embeddings::load(encoder.clone(), config)?,
            encoder_layers: (0..config.encoder_layers)
                .map(|i| EncoderLayer::load(encoder.pp("layers").pp(i), config))
                .collect::<Result<_>>()?,
            decoder_embeddings: Embeddings::load(decoder.clone(), config)?,
            decoder_layers: (0..config.decoder_layers)
                .map(|i| DecoderLayer::load(decoder.pp("layers").pp(i), config))
                .collect::<Result<_>>()?,
            decoder_start_token_id: config.decoder_start_token_id,
        })
    }

    /// Inputs are `(batch, seq)` `u32` tensors: right-padded token ids and a mask with 1 for
    /// real tokens. Padded positions come out as zeros.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let tokens = &Unpadded::new(attention_mask)?;
        let mut encoded = tokens.gather(&self.encoder_embeddings.forward(&self.embed(input_ids)?)?)?;
        for layer in &self.encoder_layers {
            encoded = layer.forward(&encoded, tokens)?;
        }
        let decoder_ids = shift_tokens_right(input_ids, self.decoder_start_token_id)?;
        let mut hidden = tokens.gather(&self.decoder_embeddings.forward(&self.embed(&decoder_ids)?)?)?;
        for layer in &self.decoder_layers {
            hidden = layer.forward(&hidden, &encoded, tokens)?;
        }
        tokens.scatter(&hidden)
    }

    fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        let embedded = self.shared.forward(ids)?;
        if self.embed_scale == 1.0 {
            Ok(embedded)
        } else {
            embedded * self.embed_scale
        }
    }
}

/// transformers' `shift_tokens_right`: the decoder's input is `start` followed by each row's
/// ids but the last.
fn shift_tokens_right(input_ids: &Tensor, start: u32) -> Result<Tensor> {
    let (batch, seq) = input_ids.dims2()?;
    let start = Tensor::full(start, (batch, 1), input_ids.device())?;
    Tensor::cat(&[&start, &input_ids.narrow(1, 0, seq.saturating_sub(1))?], 1)
}

/// BART with transformers' classification head (`dense`, tanh, `out_proj`) on the decoder's
/// state at each row's last `</s>`.
pub struct BartForSequenceClassification {
    model: BartModel,
    dense: Linear,
    out_proj: Linear,
    eos_token_id: u32,
}

impl BartForSequenceClassification {
    /// `vb` points at the checkpoint's root (keys `model.*`, `classification_head.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let head = vb.pp("classification_head");
        Ok(Self {
            model: BartModel::load(vb.pp("model"), config)?,
            dense: head_linear(config.d_model, config.d_model, head.pp("dense"))?,
            out_proj: head_linear(config.d_model, config.num_labels(), head.pp("out_proj"))?,
            eos_token_id: config.eos_token_id,
        })
    }

    /// Logits, `(batch, num_labels)`; inputs as [`BartModel::forward`]. Every row must hold
    /// an `</s>` (the tokenizer ends every sequence with one).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let positions = last_eos(input_ids, attention_mask, self.eos_token_id)?;
        let hidden = self.model.forward(input_ids, attention_mask)?;
        let (batch, seq, d_model) = hidden.dims3()?;
        let positions = Tensor::from_vec(positions, batch, hidden.device())?;
        let sentence = hidden.reshape((batch * seq, d_model))?.index_select(&positions, 0)?;
        self.out_proj.forward(&self.dense.forward(&sentence)?.tanh()?)
    }

    /// The encoder-decoder under the head, for embeddings from the same checkpoint.
    pub fn model(&self) -> &BartModel {
        &self.model
    }
}

/// Per row, the flat position (`row · seq + column`) of its last real `eos` token. transformers
/// takes the last of the `eos` positions of the padded batch, which is the same as long as the
/// padding id is not `eos`; it also refuses batches whose rows hold different numbers of
/// `eos`, where taking each row's own last one gives what the row gets alone.
fn last_eos(input_ids: &Tensor, attention_mask: &Tensor, eos: u32) -> Result<Vec<u32>> {
    let ids = input_ids.to_vec2::<u32>()?;
    let mask = attention_mask.to_vec2::<u32>()?;
    ids.iter()
        .zip(&mask)
        .enumerate()
        .map(|(row, (ids, mask))| {
            match ids.iter().zip(mask).rposition(|(&id, &real)| real != 0 && id == eos) {
                Some(column) => Ok((row * ids.len() + column) as u32),
                None => bail!("row {row} has no end-of-sequence token (id {eos}), where BART's head reads"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::model::CommonConfig;

    /// `facebook/bart-large-mnli`'s config.json, with the fields the hub's file has.
    const BART_LARGE_MNLI: &str = r#"{
        "_num_labels": 3,
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "add_final_layer_norm": false,
        "architectures": ["BartForSequenceClassification"],
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "classif_dropout": 0.0,
        "classifier_dropout": 0.0,
        "d_model": 1024,
        "decoder_attention_heads": 16,
        "decoder_ffn_dim": 4096,
        "decoder_layerdrop": 0.0,
        "decoder_layers": 12,
        "decoder_start_token_id": 2,
        "dropout": 0.1,
        "encoder_attention_heads": 16,
        "encoder_ffn_dim": 4096,
        "encoder_layerdrop": 0.0,
        "encoder_layers": 12,
        "eos_token_id": 2,
        "forced_eos_token_id": 2,
        "gradient_checkpointing": false,
        "id2label": {"0": "contradiction", "1": "neutral", "2": "entailment"},
        "init_std": 0.02,
        "is_encoder_decoder": true,
        "label2id": {"contradiction": 0, "entailment": 2, "neutral": 1},
        "max_position_embeddings": 1024,
        "model_type": "bart",
        "normalize_before": false,
        "normalize_embedding": true,
        "num_hidden_layers": 12,
        "output_past": false,
        "pad_token_id": 1,
        "scale_embedding": false,
        "transformers_version": "4.7.0.dev0",
        "use_cache": true,
        "vocab_size": 50265
    }"#;

    #[test]
    fn bart_large_mnli_config_parses_with_its_options() {
        let json: serde_json::Value = serde_json::from_str(BART_LARGE_MNLI).unwrap();
        super::super::check_sizes(&json).unwrap();
        let config = Config::from_json(&json).unwrap();
        assert_eq!((config.vocab_size, config.d_model, config.max_position_embeddings), (50265, 1024, 1024));
        assert_eq!((config.encoder_layers, config.decoder_layers), (12, 12));
        assert_eq!((config.encoder_attention_heads, config.decoder_attention_heads), (16, 16));
        assert_eq!((config.encoder_ffn_dim, config.decoder_ffn_dim), (4096, 4096));
        assert_eq!(config.activation_function, Activation::Gelu);
        assert!(!config.scale_embedding);
        assert_eq!((config.pad_token_id, config.eos_token_id, config.decoder_start_token_id), (1, 2, 2));
        assert_eq!(config.num_labels(), 3);
        let common: CommonConfig = serde_json::from_value(json).unwrap();
        assert_eq!((common.label_index("entail"), common.label_index("contradict")), (Some(2), Some(0)));
    }

    #[test]
    fn variants_transformers_does_not_compute_are_refused() {
        let base: serde_json::Value = serde_json::from_str(BART_LARGE_MNLI).unwrap();
        for (key, value, says) in [
            ("normalize_before", serde_json::json!(true), "normalize_before"),
            ("add_final_layer_norm", serde_json::json!(true), "add_final_layer_norm"),
            ("normalize_embedding", serde_json::json!(false), "normalize_embedding"),
            ("decoder_start_token_id", serde_json::json!(50265), "decoder_start_token_id"),
            ("activation_function", serde_json::json!("mish"), "mish"),
        ] {
            let mut json = base.clone();
            json[key] = value;
            let err = Config::from_json(&json).expect_err(key);
            assert!(err.to_string().contains(says), "{key}: {err}");
        }
        let mut json = base.clone();
        json["decoder_attention_heads"] = 15.into();
        let err = super::super::check_sizes(&json).expect_err("heads do not divide d_model");
        assert!(err.to_string().contains("decoder_attention_heads"), "{err}");
    }

    #[test]
    fn decoder_input_is_the_input_shifted_right() -> Result<()> {
        let device = Device::Cpu;
        let ids = Tensor::new(&[[0u32, 5, 2], [0, 2, 1]], &device)?;
        assert_eq!(shift_tokens_right(&ids, 2)?.to_vec2::<u32>()?, [[2, 0, 5], [2, 0, 2]]);
        let one = Tensor::new(&[[7u32]], &device)?;
        assert_eq!(shift_tokens_right(&one, 2)?.to_vec2::<u32>()?, [[2]]);
        Ok(())
    }

    #[test]
    fn head_reads_each_rows_last_real_eos() -> Result<()> {
        let device = Device::Cpu;
        let ids = Tensor::new(&[[0u32, 5, 2, 2, 7, 2], [0, 6, 2, 1, 1, 1], [0, 2, 8, 9, 1, 2]], &device)?;
        // The last row's final `2` is masked out: its last real `eos` is column 1.
        let mask = Tensor::new(&[[1u32, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]], &device)?;
        assert_eq!(last_eos(&ids, &mask, 2)?, vec![5, 6 + 2, 12 + 1]);
        let err = last_eos(&ids, &mask, 3).expect_err("no eos");
        assert!(err.to_string().contains("row 0 has no end-of-sequence token (id 3)"), "{err}");
        Ok(())
    }
}
