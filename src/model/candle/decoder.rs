//! Decoder-only language models of the Llama family: `llama`, `qwen2` and `qwen3`, mirroring
//! transformers' `LlamaForCausalLM`, `Qwen2ForCausalLM` and `Qwen3ForCausalLM` in inference
//! mode (f32, no sampling).
//!
//! One layer: `x + attn(rms_norm(x))`, then `x + mlp(rms_norm(x))`, with causal grouped-query
//! attention over rotary (rotate-half) positions and a SwiGLU MLP. The variants differ in
//! q/k/v biases (qwen2 always, llama when `attention_bias`), per-head RMSNorm of queries and
//! keys before the rotation (qwen3), an explicit `head_dim` (qwen3), llama3 `rope_scaling`,
//! and whether the LM head is the embedding matrix (`tie_word_embeddings`).
//!
//! Scoring reads one next-token distribution per prompt, so [`DecoderModel::next_token_logits`]
//! runs the LM head on each row's last real token only. Prompts of one target share their
//! beginning: [`DecoderModel::prefill`] computes its keys and values once, and the rows then
//! run from there.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, RmsNorm, VarBuilder};
use serde::Deserialize;

use super::linear::{linear, linear_no_bias, Linear};
use super::Activation;
use crate::model::Dtype;

/// The architecture variants this file implements, by `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Llama,
    Qwen2,
    Qwen3,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
        }
    }

    pub fn from_model_type(model_type: &str) -> Option<Self> {
        match model_type {
            "llama" => Some(Self::Llama),
            "qwen2" => Some(Self::Qwen2),
            "qwen3" => Some(Self::Qwen3),
            _ => None,
        }
    }
}

/// `config.json` of the three variants (fields one variant lacks take transformers' defaults).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention: key/value heads, each shared by a group of query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// qwen3 (and some llama checkpoints) give it; else `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// llama and qwen3: biases on q/k/v/o (qwen2 always has q/k/v biases).
    #[serde(default)]
    pub attention_bias: bool,
    /// llama: biases on the MLP's projections.
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
    /// qwen2/qwen3: sliding-window attention in some layers; refused (see [`Config::check`]).
    #[serde(default)]
    pub use_sliding_window: bool,
    #[serde(skip, default = "default_family")]
    pub family: Family,
    #[serde(skip)]
    pub dtype: Dtype,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_positions() -> usize {
    2048
}
fn default_act() -> Activation {
    Activation::Silu
}
fn default_family() -> Family {
    Family::Llama
}

/// `rope_scaling` of `config.json`. Only llama3's frequency-dependent scaling is implemented;
/// the others would silently change every logit if ignored, so they are refused.
#[derive(Debug, Clone, Deserialize)]
pub struct RopeScaling {
    /// transformers reads `rope_type`, older configs say `type`.
    #[serde(alias = "type")]
    pub rope_type: String,
    #[serde(default)]
    pub factor: Option<f64>,
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    #[serde(default)]
    pub original_max_position_embeddings: Option<usize>,
}

impl Config {
    /// Reads `config.json` for `family`, refusing what this implementation does not compute.
    pub fn from_json(
        value: &serde_json::Value,
        family: Family,
    ) -> std::result::Result<Self, serde_json::Error> {
        use serde::de::Error;
        let mut config = Self::deserialize(value)?;
        config.family = family;
        if config.use_sliding_window {
            return Err(serde_json::Error::custom(
                "`use_sliding_window` is true: sliding-window attention is not supported",
            ));
        }
        if config.hidden_act != Activation::Silu {
            return Err(serde_json::Error::custom(format!(
                "`hidden_act` is {:?}; decoder models are supported with silu only",
                config.hidden_act
            )));
        }
        let heads = config.num_attention_heads;
        let kv_heads = config.kv_heads();
        if kv_heads == 0 || heads % kv_heads != 0 {
            return Err(serde_json::Error::custom(format!(
                "`num_key_value_heads` {kv_heads} does not divide `num_attention_heads` {heads}"
            )));
        }
        if config.head_dim.is_none() && config.hidden_size % heads != 0 {
            return Err(serde_json::Error::custom(format!(
                "`hidden_size` {} is not a multiple of `num_attention_heads` {heads}",
                config.hidden_size
            )));
        }
        let head_dim = config.head_dim();
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(serde_json::Error::custom(format!(
                "`head_dim` {head_dim} must be even and positive"
            )));
        }
        if let Some(scaling) = &config.rope_scaling {
            match scaling.rope_type.as_str() {
                "default" => {}
                "llama3" => {
                    let complete = scaling.factor.is_some()
                        && scaling.low_freq_factor.is_some()
                        && scaling.high_freq_factor.is_some()
                        && scaling.original_max_position_embeddings.is_some();
                    if !complete {
                        return Err(serde_json::Error::custom(
                            "`rope_scaling` of type llama3 needs `factor`, `low_freq_factor`, `high_freq_factor` \
                             and `original_max_position_embeddings`",
                        ));
                    }
                }
                other => {
                    return Err(serde_json::Error::custom(format!(
                        "`rope_scaling` of type `{other}` is not supported (supported: llama3, or none)"
                    )))
                }
            }
        }
        Ok(config)
    }

    fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// Rotation frequencies per pair of dimensions, computed in f32 as transformers does, then
    /// rescaled by llama3's rule when configured.
    fn inverse_frequencies(&self) -> Vec<f32> {
        let dim = self.head_dim();
        let base = self.rope_theta as f32;
        let plain = (0..dim / 2).map(|i| 1.0 / base.powf((2 * i) as f32 / dim as f32));
        let Some(scaling) = self.rope_scaling.as_ref().filter(|s| s.rope_type == "llama3") else {
            return plain.collect();
        };
        let factor = scaling.factor.unwrap_or(1.0) as f32;
        let low = scaling.low_freq_factor.unwrap_or(1.0) as f32;
        let high = scaling.high_freq_factor.unwrap_or(1.0) as f32;
        let old_context = scaling.original_max_position_embeddings.unwrap_or(1) as f32;
        let (low_wavelen, high_wavelen) = (old_context / low, old_context / high);
        plain
            .map(|freq| {
                let wavelen = 2.0 * std::f32::consts::PI / freq;
                if wavelen > low_wavelen {
                    freq / factor
                } else if wavelen < high_wavelen {
                    freq
                } else {
                    // Between the two: interpolate between scaled and unscaled.
                    let smooth = (old_context / wavelen - low) / (high - low);
                    (1.0 - smooth) * freq / factor + smooth * freq
                }
            })
            .collect()
    }
}

/// Rotary position embedding: the rotation frequencies, `(1, head_dim / 2)`.
struct Rotary {
    inv_freq: Tensor,
}

impl Rotary {
    fn new(config: &Config, device: &Device) -> Result<Self> {
        let inv_freq = config.inverse_frequencies();
        let half = inv_freq.len();
        Ok(Self { inv_freq: Tensor::from_vec(inv_freq, (1, half), device)? })
    }

    /// Rotates `x` `(batch, heads, seq, head_dim)` at positions `start..start + seq`. The angles
    /// are f32 products of position and frequency, as transformers computes them.
    fn apply(&self, x: &Tensor, start: usize) -> Result<Tensor> {
        let seq = x.dim(2)?;
        let positions: Vec<f32> = (start..start + seq).map(|p| p as f32).collect();
        let positions = Tensor::from_vec(positions, (seq, 1), x.device())?;
        let angles = positions.broadcast_mul(&self.inv_freq)?;
        candle_nn::rotary_emb::rope(&x.contiguous()?, &angles.cos()?, &angles.sin()?)
    }
}

/// Keys and values of every layer for a prompt's first tokens, `(1, kv_heads, len, head_dim)`
/// each, rotated at positions `0..len`.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
}

impl KvCache {
    /// The tokens whose state this holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    /// qwen3: RMSNorm over each head's query and key vectors.
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let (hidden, heads, kv_heads, head_dim) =
            (config.hidden_size, config.num_attention_heads, config.kv_heads(), config.head_dim());
        let qkv_bias = config.family == Family::Qwen2 || config.attention_bias;
        let project = |inp, out, name: &str, bias: bool| {
            if bias {
                linear(inp, out, vb.pp(name), config.dtype)
            } else {
                linear_no_bias(inp, out, vb.pp(name), config.dtype)
            }
        };
        let (q_norm, k_norm) = if config.family == Family::Qwen3 {
            (
                Some(candle_nn::rms_norm(head_dim, config.rms_norm_eps, vb.pp("q_norm"))?),
                Some(candle_nn::rms_norm(head_dim, config.rms_norm_eps, vb.pp("k_norm"))?),
            )
        } else {
            (None, None)
        };
        Ok(Self {
            q: project(hidden, heads * head_dim, "q_proj", qkv_bias)?,
            k: project(hidden, kv_heads * head_dim, "k_proj", qkv_bias)?,
            v: project(hidden, kv_heads * head_dim, "v_proj", qkv_bias)?,
            o: project(heads * head_dim, hidden, "o_proj", config.attention_bias)?,
            q_norm,
            k_norm,
            heads,
            kv_heads,
            head_dim,
        })
    }

    /// `x` `(batch, seq, hidden)` at positions `past_len..past_len + seq`, attending causally
    /// over `past` (one sequence's keys and values, shared by every row) and itself. Returns
    /// the output and this call's keys and values (rotated).
    fn forward(
        &self,
        x: &Tensor,
        rotary: &Rotary,
        past: Option<&(Tensor, Tensor)>,
        past_len: usize,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let (batch, seq, _) = x.dims3()?;
        let split = |t: Tensor, heads: usize| -> Result<Tensor> {
            t.reshape((batch, seq, heads, self.head_dim))?.transpose(1, 2)
        };
        let mut q = split(self.q.forward(x)?, self.heads)?;
        let mut k = split(self.k.forward(x)?, self.kv_heads)?;
        let v = split(self.v.forward(x)?, self.kv_heads)?.contiguous()?;
        if let (Some(q_norm), Some(k_norm)) = (&self.q_norm, &self.k_norm) {
            q = q_norm.forward(&q.contiguous()?)?;
            k = k_norm.forward(&k.contiguous()?)?;
        }
        let q = rotary.apply(&q, past_len)?;
        let k = rotary.apply(&k, past_len)?;
        let (keys, values) = match past {
            Some((past_k, past_v)) => {
                let widen = |t: &Tensor| t.broadcast_as((batch, self.kv_heads, past_len, self.head_dim));
                (Tensor::cat(&[&widen(past_k)?, &k], 2)?, Tensor::cat(&[&widen(past_v)?, &v], 2)?)
            }
            None => (k.clone(), v.clone()),
        };
        let total = past_len + seq;
        // Grouped-query attention without copying keys: the query heads of one key/value head
        // are consecutive, so they stack into one `(group · seq)` matrix against its keys.
        let group = self.heads / self.kv_heads;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let q = (q * scale)?.reshape((batch, self.kv_heads, group * seq, self.head_dim))?;
        let scores =
            q.matmul(&keys.contiguous()?.t()?)?.reshape((batch, self.kv_heads, group, seq, total))?;
        let scores = scores.broadcast_add(&causal_mask(seq, past_len, x.device())?)?;
        let probs =
            candle_nn::ops::softmax_last_dim(&scores.reshape((batch, self.kv_heads, group * seq, total))?)?;
        let out = probs.matmul(&values.contiguous()?)?;
        let out = out.reshape((batch, self.heads, seq, self.head_dim))?.transpose(1, 2)?.reshape((
            batch,
            seq,
            self.heads * self.head_dim,
        ))?;
        Ok((self.o.forward(&out)?, (k, v)))
    }
}

/// `(seq, past_len + seq)`: 0 where query `i` (at position `past_len + i`) may see key `j`,
/// −∞ after it. Right padding needs nothing more: a real token never sees a later position.
fn causal_mask(seq: usize, past_len: usize, device: &Device) -> Result<Tensor> {
    let total = past_len + seq;
    let mask: Vec<f32> = (0..seq)
        .flat_map(|i| (0..total).map(move |j| if j <= past_len + i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Tensor::from_vec(mask, (seq, total), device)
}

/// SwiGLU: `down(silu(gate(x)) · up(x))`.
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let (hidden, inner) = (config.hidden_size, config.intermediate_size);
        let project = |inp, out, name: &str| {
            if config.mlp_bias {
                linear(inp, out, vb.pp(name), config.dtype)
            } else {
                linear_no_bias(inp, out, vb.pp(name), config.dtype)
            }
        };
        Ok(Self {
            gate: project(hidden, inner, "gate_proj")?.then(Activation::Silu),
            up: project(hidden, inner, "up_proj")?,
            down: project(inner, hidden, "down_proj")?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.down.forward(&(self.gate.forward(x)? * self.up.forward(x)?)?)
    }
}

struct Layer {
    input_norm: RmsNorm,
    attention: Attention,
    post_attention_norm: RmsNorm,
    mlp: Mlp,
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let norm = |name: &str| candle_nn::rms_norm(config.hidden_size, config.rms_norm_eps, vb.pp(name));
        Ok(Self {
            input_norm: norm("input_layernorm")?,
            attention: Attention::load(vb.pp("self_attn"), config)?,
            post_attention_norm: norm("post_attention_layernorm")?,
            mlp: Mlp::load(vb.pp("mlp"), config)?,
        })
    }
}

/// A `…ForCausalLM` checkpoint: `model.*` and `lm_head` (or the tied embeddings).
pub struct DecoderModel {
    embeddings: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Linear,
    rotary: Rotary,
    config: Config,
}

impl DecoderModel {
    /// Loads from the checkpoint root (`model.embed_tokens.weight`, …).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let model = vb.pp("model");
        let embeddings =
            candle_nn::embedding(config.vocab_size, config.hidden_size, model.pp("embed_tokens"))?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(model.pp(format!("layers.{i}")), config))
            .collect::<Result<Vec<_>>>()?;
        let norm = candle_nn::rms_norm(config.hidden_size, config.rms_norm_eps, model.pp("norm"))?;
        let head = if config.tie_word_embeddings {
            candle_nn::Linear::new(embeddings.embeddings().clone(), None)
        } else {
            candle_nn::linear_no_bias(config.hidden_size, config.vocab_size, vb.pp("lm_head"))?
        };
        Ok(Self {
            embeddings,
            layers,
            norm,
            lm_head: Linear::new(head, config.dtype)?,
            rotary: Rotary::new(config, vb.device())?,
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Last hidden states of `ids` `(batch, seq)` continuing `past`, and this call's keys and
    /// values per layer.
    fn run(&self, ids: &Tensor, past: Option<&KvCache>) -> Result<(Tensor, Vec<(Tensor, Tensor)>)> {
        let past_len = past.map_or(0, |p| p.len);
        let seq = ids.dim(1)?;
        if past_len + seq > self.config.max_position_embeddings {
            candle_core::bail!(
                "{} tokens exceed the model's {} positions",
                past_len + seq,
                self.config.max_position_embeddings
            );
        }
        let mut x = self.embeddings.forward(ids)?;
        let mut kv = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let past = past.map(|p| &p.layers[i]);
            let (attended, state) =
                layer.attention.forward(&layer.input_norm.forward(&x)?, &self.rotary, past, past_len)?;
            let x_mid = (x + attended)?;
            x = (&x_mid + layer.mlp.forward(&layer.post_attention_norm.forward(&x_mid)?)?)?;
            kv.push(state);
        }
        Ok((x, kv))
    }

    /// Runs a shared prompt beginning `ids` once and keeps its keys and values.
    pub fn prefill(&self, ids: &[u32]) -> Result<KvCache> {
        let input = Tensor::from_slice(ids, (1, ids.len()), self.rotary.inv_freq.device())?;
        let (_, layers) = self.run(&input, None)?;
        Ok(KvCache { layers, len: ids.len() })
    }

    /// Logits of the next token after each row, `(batch, vocab)`: `ids` `(batch, seq)` are the
    /// rows' tokens after `past`, right-padded, and `last[b]` the index of row `b`'s last real
    /// token in `ids`.
    pub fn next_token_logits(&self, ids: &Tensor, past: Option<&KvCache>, last: &[u32]) -> Result<Tensor> {
        let (hidden, _) = self.run(ids, past)?;
        let (batch, seq, width) = hidden.dims3()?;
        let rows: Vec<u32> = last.iter().enumerate().map(|(b, &i)| b as u32 * seq as u32 + i).collect();
        let rows = Tensor::from_vec(rows, batch, hidden.device())?;
        let last_hidden = hidden.reshape((batch * seq, width))?.index_select(&rows, 0)?;
        self.lm_head.forward(&self.norm.forward(&last_hidden)?)?.to_dtype(DType::F32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: serde_json::Value) -> std::result::Result<Config, serde_json::Error> {
        let mut value = serde_json::json!({
            "vocab_size": 10, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1,
            "num_attention_heads": 2, "num_key_value_heads": 1
        });
        value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Config::from_json(&value, Family::Llama)
    }

    #[test]
    fn unsupported_variants_are_refused_by_name() {
        let error = config(serde_json::json!({"rope_scaling": {"type": "yarn", "factor": 4.0}})).unwrap_err();
        assert!(error.to_string().contains("`yarn` is not supported"), "{error}");
        let error = config(serde_json::json!({"rope_scaling": {"rope_type": "llama3"}})).unwrap_err();
        assert!(error.to_string().contains("needs `factor`"), "{error}");
        let error = config(serde_json::json!({"use_sliding_window": true})).unwrap_err();
        assert!(error.to_string().contains("sliding-window"), "{error}");
        let error =
            config(serde_json::json!({"num_key_value_heads": 3, "num_attention_heads": 4})).unwrap_err();
        assert!(error.to_string().contains("does not divide"), "{error}");
        assert!(config(serde_json::json!({"rope_scaling": {"type": "default"}})).is_ok());
    }

    /// transformers' `_compute_llama3_parameters` rule, worked by hand: with head_dim 4 the
    /// frequencies are 1 (wavelength 2π, under 64 / 4: kept) and 500000^-0.5 (wavelength 4443,
    /// over 64 / 1: divided by the factor). The fixture's parity test covers the smoothed band.
    #[test]
    fn llama3_scaling_matches_transformers() {
        let config = config(serde_json::json!({
            "rope_theta": 500000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
        }))
        .unwrap();
        let got = config.inverse_frequencies();
        let want = [1.0f32, 1.0 / 500000f32.sqrt() / 8.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-7 * w.abs().max(1e-3), "{g} vs {w}");
        }
    }

    /// A two-layer model of `family` with deterministic weights; `head_dim` 8 where
    /// hidden / heads is 4 (qwen3's explicit head size). `qk_scale` multiplies the query and key
    /// projections.
    fn tiny(family: Family, qk_scale: f32) -> Result<DecoderModel> {
        let mut config = config(serde_json::json!({
            "vocab_size": 40, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "tie_word_embeddings": true
        }))
        .unwrap();
        config.family = family;
        let device = Device::Cpu;
        let mut tensors = std::collections::HashMap::new();
        let mut seed = 0;
        let mut add = |name: String, shape: &[usize], scale: f32, centre: f32| {
            seed += 1;
            let n = shape.iter().product();
            let values: Vec<f32> =
                super::super::test_values(n, seed, scale).iter().map(|v| v + centre).collect();
            tensors.insert(name, Tensor::from_vec(values, shape, &device).unwrap());
        };
        add("model.embed_tokens.weight".into(), &[40, 16], 1.0, 0.0);
        add("model.norm.weight".into(), &[16], 0.2, 1.0);
        for layer in 0..2 {
            let p = format!("model.layers.{layer}");
            for (name, shape) in [
                ("self_attn.q_proj", [32, 16]),
                ("self_attn.k_proj", [16, 16]),
                ("self_attn.v_proj", [16, 16]),
                ("self_attn.o_proj", [16, 32]),
                ("mlp.gate_proj", [24, 16]),
                ("mlp.up_proj", [24, 16]),
                ("mlp.down_proj", [16, 24]),
            ] {
                let scale =
                    if name.ends_with("q_proj") || name.ends_with("k_proj") { 0.3 * qk_scale } else { 0.3 };
                add(format!("{p}.{name}.weight"), &shape, scale, 0.0);
            }
            for name in ["self_attn.q_norm", "self_attn.k_norm"] {
                add(format!("{p}.{name}.weight"), &[8], 0.2, 1.0);
            }
            for name in ["input_layernorm", "post_attention_layernorm"] {
                add(format!("{p}.{name}.weight"), &[16], 0.2, 1.0);
            }
        }
        DecoderModel::load(VarBuilder::from_tensors(tensors, DType::F32, &device), &config)
    }

    fn logits(model: &DecoderModel, ids: &[u32], prefix: usize) -> Result<Vec<f32>> {
        let device = Device::Cpu;
        let cache = (prefix > 0).then(|| model.prefill(&ids[..prefix])).transpose()?;
        let rest = Tensor::from_slice(&ids[prefix..], (1, ids.len() - prefix), &device)?;
        model
            .next_token_logits(&rest, cache.as_ref(), &[(ids.len() - prefix - 1) as u32])?
            .flatten_all()?
            .to_vec1()
    }

    /// qwen3 normalises each head's queries and keys: scaling their projections changes nothing,
    /// where llama's attention (no such norm) changes. The prefix cache agrees with the whole run.
    #[test]
    fn qwen3_query_key_norms_and_explicit_head_dim() -> Result<()> {
        let ids = [3u32, 17, 5, 29, 11, 2, 38];
        let difference =
            |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        let qwen3 = logits(&tiny(Family::Qwen3, 1.0)?, &ids, 0)?;
        assert!(difference(&qwen3, &logits(&tiny(Family::Qwen3, 5.0)?, &ids, 0)?) < 1e-4);
        assert!(difference(&qwen3, &logits(&tiny(Family::Qwen3, 1.0)?, &ids, 4)?) < 1e-5);
        let llama = logits(&tiny(Family::Llama, 1.0)?, &ids, 0)?;
        assert!(difference(&llama, &logits(&tiny(Family::Llama, 5.0)?, &ids, 0)?) > 1e-2);
        assert!(difference(&qwen3, &llama) > 1e-2);
        Ok(())
    }

    #[test]
    fn causal_mask_sees_the_past_and_earlier_rows() -> Result<()> {
        let mask = causal_mask(2, 3, &Device::Cpu)?.to_vec2::<f32>()?;
        assert_eq!(mask[0][..4], [0.0, 0.0, 0.0, 0.0]);
        assert_eq!(mask[0][4], f32::NEG_INFINITY);
        assert_eq!(mask[1], vec![0.0; 5]);
        Ok(())
    }
}
