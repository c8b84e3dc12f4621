//! RoBERTa and XLM-RoBERTa (`model_type: "roberta"` / `"xlm-roberta"`), as transformers'
//! `modeling_roberta.py` computes them in inference mode. The transformer blocks are BERT's;
//! the embeddings differ (position ids count real tokens from `padding_idx + 1`, segment ids
//! are not used) and so does the classification head.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

use super::attention::Outputs;
use super::bert::{self, BertEncoder};
use super::first_token;
use super::linear::{head_linear, Linear};

/// `config.json` of a RoBERTa or XLM-RoBERTa checkpoint: BERT's fields (with BERT's defaults,
/// which are RoBERTa's too except `vocab_size`, which checkpoints always state) plus the
/// padding id that position ids depend on.
#[derive(Debug, Clone)]
pub struct Config {
    pub encoder: bert::Config,
    pub pad_token_id: u32,
}

impl Config {
    pub fn from_json(value: &serde_json::Value) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Padding {
            #[serde(default = "default_pad_token_id")]
            pad_token_id: u32,
        }
        fn default_pad_token_id() -> u32 {
            1
        }
        let encoder = bert::Config::deserialize(value)?;
        let Padding { pad_token_id } = Padding::deserialize(value)?;
        Ok(Self { encoder, pad_token_id })
    }

    /// The longest input: position ids start at `pad_token_id + 1`.
    pub fn max_sequence_length(&self) -> usize {
        self.encoder.max_position_embeddings.saturating_sub(self.pad_token_id as usize + 1)
    }
}

struct RobertaEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    /// Row 0 of the token-type table: transformers' tokenizers for RoBERTa return no segment
    /// ids, so the model always adds type 0.
    token_type: Tensor,
    layer_norm: LayerNorm,
    padding_idx: u32,
}

impl RobertaEmbeddings {
    fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let encoder = &config.encoder;
        let hidden = encoder.hidden_size;
        let token_types = vb.pp("token_type_embeddings").get((encoder.type_vocab_size, hidden), "weight")?;
        Ok(Self {
            word_embeddings: candle_nn::embedding(encoder.vocab_size, hidden, vb.pp("word_embeddings"))?,
            position_embeddings: candle_nn::embedding(
                encoder.max_position_embeddings,
                hidden,
                vb.pp("position_embeddings"),
            )?,
            token_type: token_types.get(0)?,
            layer_norm: candle_nn::layer_norm(hidden, encoder.layer_norm_eps, vb.pp("LayerNorm"))?,
            padding_idx: config.pad_token_id,
        })
    }

    /// transformers' `create_position_ids_from_input_ids`: real tokens are numbered
    /// `padding_idx + 1, padding_idx + 2, …`; padding tokens get `padding_idx`.
    fn position_ids(&self, input_ids: &Tensor) -> Result<Tensor> {
        // Counts stay far below 2^24, so the float cumulative sum is exact.
        let real = input_ids.ne(self.padding_idx)?.to_dtype(DType::F32)?;
        let numbered = (real.cumsum(1)? * &real)?;
        (numbered + f64::from(self.padding_idx))?.to_dtype(DType::U32)
    }

    fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let positions = self.position_embeddings.forward(&self.position_ids(input_ids)?)?;
        // transformers' order: words + token type, then + positions.
        let embeddings =
            (self.word_embeddings.forward(input_ids)?.broadcast_add(&self.token_type)? + positions)?;
        self.layer_norm.forward(&embeddings)
    }
}

/// The bare encoder: `forward` returns the last hidden states, `(batch, seq, hidden)`.
pub struct RobertaModel {
    embeddings: RobertaEmbeddings,
    encoder: BertEncoder,
}

impl RobertaModel {
    /// `vb` points at the model's root (the `roberta.` prefix of task checkpoints removed).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        Ok(Self {
            embeddings: RobertaEmbeddings::load(vb.pp("embeddings"), config)?,
            encoder: BertEncoder::load(vb.pp("encoder"), &config.encoder)?,
        })
    }

    /// Inputs are `(batch, seq)` `u32` tensors: token ids (padded with `pad_token_id`, which
    /// the position ids rely on, as in transformers) and a mask with 1 for real tokens.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        self.encode(input_ids, attention_mask, Outputs::AllTokens)
    }

    fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor, outputs: Outputs) -> Result<Tensor> {
        let embeddings = self.embeddings.forward(input_ids)?;
        self.encoder.forward(&embeddings, attention_mask, outputs)
    }
}

/// RoBERTa with transformers' classification head on `<s>`: `dense`, tanh, `out_proj`.
pub struct RobertaForSequenceClassification {
    roberta: RobertaModel,
    dense: Linear,
    out_proj: Linear,
}

impl RobertaForSequenceClassification {
    /// `vb` points at the checkpoint's root (keys `roberta.*`, `classifier.*`).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Self> {
        let hidden = config.encoder.hidden_size;
        let head = vb.pp("classifier");
        Ok(Self {
            roberta: RobertaModel::load(vb.pp("roberta"), config)?,
            dense: head_linear(hidden, hidden, head.pp("dense"))?,
            out_proj: head_linear(hidden, config.encoder.num_labels(), head.pp("out_proj"))?,
        })
    }

    /// Logits, `(batch, num_labels)`; inputs as [`RobertaModel::forward`].
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let hidden = self.roberta.encode(input_ids, attention_mask, Outputs::FirstToken)?;
        let features = self.dense.forward(&first_token(&hidden)?)?.tanh()?;
        self.out_proj.forward(&features)
    }

    /// The encoder under the head, for embeddings from the same checkpoint.
    pub fn model(&self) -> &RobertaModel {
        &self.roberta
    }
}
