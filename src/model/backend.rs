//! The narrow interface between scoring and an inference engine: token ids and masks in,
//! logits or pooled embeddings out. Scoring never sees a tensor type, so another engine
//! (ONNX Runtime, a GPU build) can be added without touching the rest.

use std::any::Any;

use super::ModelError;

/// A padded batch of token sequences, row-major `batch × seq_len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    pub batch_size: usize,
    pub seq_len: usize,
    pub input_ids: Vec<u32>,
    /// Segment ids (0 for the first sequence of a pair, 1 for the second).
    pub type_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<u32>,
}

impl TokenBatch {
    /// Pads `rows` (ids, type ids) to the longest row with `pad_id`.
    pub fn pad(rows: &[(&[u32], &[u32])], pad_id: u32) -> Self {
        let seq_len = rows.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
        let batch_size = rows.len();
        let mut batch = Self {
            batch_size,
            seq_len,
            input_ids: vec![pad_id; batch_size * seq_len],
            type_ids: vec![0; batch_size * seq_len],
            attention_mask: vec![0; batch_size * seq_len],
        };
        for (row, (ids, type_ids)) in rows.iter().enumerate() {
            let start = row * seq_len;
            batch.input_ids[start..start + ids.len()].copy_from_slice(ids);
            batch.type_ids[start..start + type_ids.len()].copy_from_slice(type_ids);
            batch.attention_mask[start..start + ids.len()].fill(1);
        }
        batch
    }
}

/// An inference engine holding one loaded model.
pub trait Backend: Send + Sync {
    /// Sequence-classification logits: one row of `num_labels` values per sequence.
    fn logits(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, ModelError>;

    /// Mean of the last hidden states over real (unmasked) tokens: one row per sequence.
    fn embeddings(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>, ModelError>;

    /// The most tokens (special tokens included) one sequence may have.
    fn max_sequence_length(&self) -> usize;

    /// Where inference runs, e.g. `cpu` or `cuda:0` (recorded in provenance).
    fn device(&self) -> String;

    /// Numeric type of the weights, e.g. `f32` (recorded in provenance).
    fn dtype(&self) -> String;

    /// The next-token interface of a decoder-only language model; `None` for encoders.
    fn causal_lm(&self) -> Option<&dyn CausalLm> {
        None
    }
}

/// A decoder-only language model, for `--method llm`.
pub trait CausalLm {
    /// Runs the tokens every prompt of a group starts with, once, and keeps their state.
    fn prefill(&self, ids: &[u32]) -> Result<Prefix, ModelError>;

    /// Logits of the token that follows each row, one vocabulary-sized vector per row; each row
    /// holds the tokens after `prefix` (the whole prompt without one). Rows may differ in length.
    fn next_token_logits(
        &self,
        prefix: Option<&Prefix>,
        rows: &[&[u32]],
    ) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// The state [`CausalLm::prefill`] keeps for a prompt beginning (the engine's own type).
pub struct Prefix {
    /// Tokens it covers.
    pub len: usize,
    state: Box<dyn Any + Send + Sync>,
}

impl Prefix {
    pub fn new(len: usize, state: Box<dyn Any + Send + Sync>) -> Self {
        Self { len, state }
    }

    /// The engine's state, when it is a `T`.
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.state.downcast_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_fills_ids_types_and_mask() {
        let a: (&[u32], &[u32]) = (&[1, 2, 3], &[0, 0, 1]);
        let b: (&[u32], &[u32]) = (&[4], &[0]);
        let batch = TokenBatch::pad(&[a, b], 9);
        assert_eq!(batch.seq_len, 3);
        assert_eq!(batch.input_ids, vec![1, 2, 3, 4, 9, 9]);
        assert_eq!(batch.type_ids, vec![0, 0, 1, 0, 0, 0]);
        assert_eq!(batch.attention_mask, vec![1, 1, 1, 1, 0, 0]);
    }
}
