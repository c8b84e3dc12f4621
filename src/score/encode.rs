//! Turning statements and hypotheses into model inputs: each text is tokenized once, cut into
//! token windows when it is too long, and joined with a hypothesis through the tokenizer's
//! own post-processor (so special tokens and segment ids are exactly the model's).

use tokenizers::{Encoding, PostProcessor, Tokenizer};

use crate::model::ModelError;

/// How statements longer than the model's input are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LongText {
    /// Keep the beginning of the statement (the Hugging Face pipeline's behaviour).
    Truncate,
    /// Score overlapping token windows and average them back to the statement.
    Window,
}

/// A token sequence ready for the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sequence {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

/// A tokenizer prepared for our use: no truncation or padding of its own.
pub struct Encoder {
    tokenizer: Tokenizer,
    added_single: usize,
    added_pair: usize,
}

impl Encoder {
    pub fn new(tokenizer: &Tokenizer) -> Self {
        let mut tokenizer = tokenizer.clone();
        // Truncation and padding are ours to decide; tokenizer.json defaults (e.g. the
        // 128-token truncation all-MiniLM-L6-v2 ships) must not leak in.
        tokenizer.with_padding(None);
        let _ = tokenizer.with_truncation(None);
        let added = |pair| tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(pair));
        let (added_single, added_pair) = (added(false), added(true));
        Self { tokenizer, added_single, added_pair }
    }

    /// Tokenizes `text` without special tokens.
    pub fn tokenize(&self, text: &str) -> Result<Encoding, ModelError> {
        self.tokenizer.encode(text, false).map_err(ModelError::Tokenize)
    }

    /// The text of token `id`, for messages.
    pub fn token_text(&self, id: u32) -> String {
        self.tokenizer.decode(&[id], false).unwrap_or_else(|_| format!("#{id}"))
    }

    /// Special tokens the model adds around one sequence or a pair.
    pub fn added_tokens(&self, pair: bool) -> usize {
        if pair {
            self.added_pair
        } else {
            self.added_single
        }
    }

    /// The model input for `premise[range]`, paired with `hypothesis` when given.
    pub fn sequence(
        &self,
        premise: &Encoding,
        range: std::ops::Range<usize>,
        hypothesis: Option<&Encoding>,
    ) -> Result<Sequence, ModelError> {
        // Built from the window's slices alone: cloning the whole encoding per window made
        // `--long window` quadratic in the statement's length.
        let r = range;
        let part = Encoding::new(
            premise.get_ids()[r.clone()].to_vec(),
            premise.get_type_ids()[r.clone()].to_vec(),
            premise.get_tokens()[r.clone()].to_vec(),
            premise.get_word_ids()[r.clone()].to_vec(),
            premise.get_offsets()[r.clone()].to_vec(),
            premise.get_special_tokens_mask()[r.clone()].to_vec(),
            premise.get_attention_mask()[r.clone()].to_vec(),
            Vec::new(),
            Default::default(),
        );
        let joined =
            self.tokenizer.post_process(part, hypothesis.cloned(), true).map_err(ModelError::Tokenize)?;
        Ok(Sequence { ids: joined.get_ids().to_vec(), type_ids: joined.get_type_ids().to_vec() })
    }
}

/// Token ranges of a text of `len` tokens given `budget` tokens per window: one range
/// (cut to `budget` when truncating), or windows overlapping by `stride` tokens.
pub fn chunk_ranges(len: usize, budget: usize, long: LongText, stride: usize) -> Vec<std::ops::Range<usize>> {
    if len <= budget {
        return std::iter::once(0..len).collect();
    }
    match long {
        LongText::Truncate => std::iter::once(0..budget).collect(),
        LongText::Window => {
            let step = budget.saturating_sub(stride).max(1);
            let mut ranges = Vec::new();
            let mut start = 0;
            loop {
                let end = (start + budget).min(len);
                ranges.push(start..end);
                if end == len {
                    break;
                }
                start += step;
            }
            ranges
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_one_chunk() {
        assert_eq!(chunk_ranges(5, 10, LongText::Window, 2), vec![0..5]);
        assert_eq!(chunk_ranges(0, 10, LongText::Truncate, 2), vec![0..0]);
    }

    #[test]
    fn truncation_keeps_the_beginning() {
        assert_eq!(chunk_ranges(25, 10, LongText::Truncate, 2), vec![0..10]);
    }

    #[test]
    fn windows_overlap_by_stride_and_cover_everything() {
        let ranges = chunk_ranges(25, 10, LongText::Window, 3);
        assert_eq!(ranges, vec![0..10, 7..17, 14..24, 21..25]);
        // A stride as large as the window still advances.
        assert_eq!(chunk_ranges(3, 2, LongText::Window, 5), vec![0..2, 1..3]);
    }
}
