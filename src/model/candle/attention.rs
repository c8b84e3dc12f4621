//! Self-attention over the real tokens of a padded batch.
//!
//! Sorted batches still pad every row to the batch's longest: on the benchmark's NLI pairs,
//! 74% of the tokens were padding. Position-wise work (linear layers, GELU, layer norms)
//! gives a padded position's result to that position alone, and attention gives padded keys
//! no weight, so the encoders drop padding after the embeddings ([`Unpadded::gather`]), run
//! every layer on the real tokens only, each sequence attending over itself, and put the
//! rows back ([`Unpadded::scatter`]) with zeros at padded positions, which heads and pooling
//! never read.
//!
//! Classification heads read only each sequence's first position, so their last layer runs
//! on it alone ([`FirstTokens`]): keys and values still cover every token, but the query, the
//! attention output and the feed-forward network take one row per sequence. In a 12-layer
//! encoder that skips about 7% of the work, with the same numbers.
//!
//! On CPUs with a SIMD kernel, attention is one op that, per sequence and head, multiplies
//! `Q Kᵀ`, takes the softmax and multiplies by `V` in cache-sized buffers, reading the heads
//! straight out of the `(tokens, hidden)` projections; elsewhere it runs as candle ops, one
//! sequence at a time (DeBERTa's relative terms always use the fused op, with the portable
//! kernel where there is no other).

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::Level;
use super::fused::softmax_rows;
use super::linear::contiguous_f32;
use super::packed::{Kernel, PackedMatrix};

/// Where a padded `(batch, seq)` batch keeps its real tokens.
pub(super) struct Unpadded {
    batch: usize,
    seq: usize,
    /// Flat `batch · seq` positions of the real tokens, in order.
    positions: Tensor,
    /// Per flat position, its row among the real tokens, or the token count (a zero row).
    rows: Tensor,
    /// Per sequence, the first row of its tokens and their number.
    sequences: Vec<(usize, usize)>,
    /// Per real token, its position in its padded row (relative attention needs distances).
    offsets: Vec<usize>,
}

impl Unpadded {
    /// `mask` is `(batch, seq)`, 1 for real tokens and 0 for padding.
    pub(super) fn new(mask: &Tensor) -> Result<Self> {
        let (batch, seq) = mask.dims2()?;
        let flags = mask.to_dtype(DType::U32)?.to_vec2::<u32>()?;
        let mut positions = Vec::new();
        let mut sequences = Vec::with_capacity(batch);
        for (b, row) in flags.iter().enumerate() {
            let first = positions.len();
            positions
                .extend(row.iter().enumerate().filter(|&(_, &m)| m != 0).map(|(s, _)| (b * seq + s) as u32));
            sequences.push((first, positions.len() - first));
        }
        let tokens = positions.len();
        let offsets = positions.iter().map(|&p| p as usize % seq.max(1)).collect();
        let mut rows = vec![tokens as u32; batch * seq];
        for (row, &position) in positions.iter().enumerate() {
            rows[position as usize] = row as u32;
        }
        Ok(Self {
            batch,
            seq,
            positions: Tensor::from_vec(positions, tokens, mask.device())?,
            rows: Tensor::from_vec(rows, batch * seq, mask.device())?,
            sequences,
            offsets,
        })
    }

    /// `(batch, seq, hidden)` → `(tokens, hidden)`: the real tokens' rows.
    pub(super) fn gather(&self, padded: &Tensor) -> Result<Tensor> {
        let hidden = padded.dim(2)?;
        padded.reshape((self.batch * self.seq, hidden))?.index_select(&self.positions, 0)
    }

    /// `(tokens, hidden)` → `(batch, seq, hidden)`, zeros at padded positions.
    pub(super) fn scatter(&self, tokens: &Tensor) -> Result<Tensor> {
        scatter_rows(tokens, &self.rows)?.reshape((self.batch, self.seq, tokens.dim(1)?))
    }

    /// The rows of each sequence's first position (none where it is padding).
    pub(super) fn first_tokens(&self) -> Result<FirstTokens> {
        let mut selected = Vec::new();
        let mut sequences = Vec::with_capacity(self.batch);
        for &(first, len) in &self.sequences {
            let starts_at_zero = len > 0 && self.offsets[first] == 0;
            sequences.push((selected.len(), usize::from(starts_at_zero)));
            if starts_at_zero {
                selected.push(first as u32);
            }
        }
        let device = self.positions.device();
        let per_sequence = sequences.iter().map(|&(row, n)| if n > 0 { row } else { selected.len() } as u32);
        Ok(FirstTokens {
            per_sequence: Tensor::from_vec(per_sequence.collect(), self.batch, device)?,
            rows: Tensor::from_vec(selected, sequences.iter().filter(|s| s.1 > 0).count(), device)?,
            sequences,
        })
    }

    /// What a layer computes: all rows of `hidden`, or with `first` only the first positions'
    /// rows; and the queries that attention takes for them.
    pub(super) fn outputs<'a>(
        &'a self,
        hidden: &Tensor,
        first: Option<&'a FirstTokens>,
    ) -> Result<(Tensor, &'a [(usize, usize)])> {
        match first {
            Some(first) => Ok((hidden.index_select(&first.rows, 0)?, &first.sequences)),
            None => Ok((hidden.clone(), &self.sequences)),
        }
    }
}

/// Rows `indices` of `rows`, where index `rows.dim(0)` is a zero row.
fn scatter_rows(rows: &Tensor, indices: &Tensor) -> Result<Tensor> {
    let zero = Tensor::zeros((1, rows.dim(1)?), rows.dtype(), rows.device())?;
    Tensor::cat(&[rows, &zero], 0)?.index_select(indices, 0)
}

/// What an encoder returns: every position, or only the first (all a classification head
/// reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    AllTokens,
    FirstToken,
}

/// The first position of every sequence, for a last layer that computes only it.
pub(super) struct FirstTokens {
    /// Rows of the real tokens that are first positions.
    rows: Tensor,
    /// Per sequence, its row among those and how many it has (0 or 1): attention queries.
    sequences: Vec<(usize, usize)>,
    /// Per sequence, its row, or the number of rows (a zero row).
    per_sequence: Tensor,
}

impl FirstTokens {
    /// `(first rows, hidden)` → `(batch, 1, hidden)`, zeros for sequences without one.
    pub(super) fn scatter(&self, rows: &Tensor) -> Result<Tensor> {
        scatter_rows(rows, &self.per_sequence)?.unsqueeze(1)
    }
}

/// Runs `layers` over the real tokens of `embeddings` (`(batch, seq, hidden)`), `layer`
/// computing layer `i`: `(hidden, Some(first))` asks for the first positions only (the last layer
/// when `outputs` says so). Returns `(batch, seq, hidden)` or `(batch, 1, hidden)`.
pub(super) fn run_layers<L>(
    layers: &[L],
    embeddings: &Tensor,
    tokens: &Unpadded,
    outputs: Outputs,
    layer: impl Fn(usize, &L, &Tensor, Option<&FirstTokens>) -> Result<Tensor>,
) -> Result<Tensor> {
    let first = match outputs {
        Outputs::FirstToken => Some(tokens.first_tokens()?),
        Outputs::AllTokens => None,
    };
    let mut hidden = tokens.gather(embeddings)?;
    for (i, l) in layers.iter().enumerate() {
        hidden = layer(i, l, &hidden, first.as_ref().filter(|_| i + 1 == layers.len()))?;
    }
    match &first {
        Some(first) if layers.is_empty() => first.scatter(&tokens.outputs(&hidden, Some(first))?.0),
        Some(first) => first.scatter(&hidden),
        None => tokens.scatter(&hidden),
    }
}

/// Scaled dot-product attention of every sequence over its own tokens, `num_heads` heads.
/// `key`, `value` are `(tokens, hidden)`; `query` and the result `(queries, hidden)`, where
/// `queries` gives per sequence the first query row and the number of its tokens, from its
/// first, that query (see [`Unpadded::outputs`]).
pub(super) fn attention(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    tokens: &Unpadded,
    queries: &[(usize, usize)],
) -> Result<Tensor> {
    attend(query, key, value, num_heads, tokens, queries, false)
}

/// A decoder's self-attention: like [`attention`] with every token as a query, but each token
/// attends only to its sequence's tokens up to itself.
pub(super) fn causal_attention(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    tokens: &Unpadded,
) -> Result<Tensor> {
    attend(query, key, value, num_heads, tokens, &tokens.sequences, true)
}

/// [`attention`], or with `causal` each query (the `i`-th token of its sequence) seeing keys
/// `0..=i` only.
fn attend(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    tokens: &Unpadded,
    queries: &[(usize, usize)],
    causal: bool,
) -> Result<Tensor> {
    match Kernel::for_tensor(query).filter(|kernel| kernel.beats_candle_matmul()) {
        Some(kernel) => {
            let head_size = query.dim(1)? / num_heads;
            let scale = 1.0 / (head_size as f32).sqrt();
            let op = FusedAttention { kernel, num_heads, scale, tokens, queries, relative: None, causal };
            query.contiguous()?.apply_op3_no_bwd(&key.contiguous()?, &value.contiguous()?, &op)
        }
        _ => attention_by_sequence(query, key, value, num_heads, &tokens.sequences, queries, causal),
    }
}

/// Attention as one CPU op: scores are `(Q Kᵀ + relative terms) · scale`.
pub(super) fn fused_attention(
    kernel: Kernel,
    [query, key, value]: [&Tensor; 3],
    num_heads: usize,
    scale: f32,
    tokens: &Unpadded,
    queries: &[(usize, usize)],
    relative: Option<&RelativeTerms>,
) -> Result<Tensor> {
    let op = FusedAttention { kernel, num_heads, scale, tokens, queries, relative, causal: false };
    query.contiguous()?.apply_op3_no_bwd(&key.contiguous()?, &value.contiguous()?, &op)
}

/// Which rows of DeBERTa's relative-position table a query–key pair reads, by distance.
pub(super) struct RelativeRows {
    /// Row for c2p (query content × key position) and p2c (key content × query position),
    /// indexed by `query position - key position + max_distance`.
    pub(super) c2p: Vec<usize>,
    pub(super) p2c: Vec<usize>,
    pub(super) max_distance: usize,
}

/// DeBERTa's disentangled attention terms for one layer.
pub(super) struct RelativeTerms<'a> {
    pub(super) rows: &'a RelativeRows,
    /// The table's rows projected by the layer's key projection (c2p) and query projection
    /// (p2c), row-major `(table rows, hidden)`.
    pub(super) pos_key: Option<Vec<f32>>,
    pub(super) pos_query: Option<Vec<f32>>,
}

/// The same with candle ops, one sequence at a time.
fn attention_by_sequence(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    sequences: &[(usize, usize)],
    queries: &[(usize, usize)],
    causal: bool,
) -> Result<Tensor> {
    let hidden = query.dim(1)?;
    let head_size = hidden / num_heads;
    let contexts = sequences
        .iter()
        .zip(queries)
        .filter(|&(&(_, len), &(_, n))| len > 0 && n > 0)
        .map(|(&(first, len), &(first_query, n))| {
            let split = |t: &Tensor, first: usize, len: usize| {
                t.narrow(0, first, len)?.reshape((len, num_heads, head_size))?.transpose(0, 1)?.contiguous()
            };
            let keys = split(key, first, len)?;
            let mut scores = (split(query, first_query, n)?.matmul(&keys.t()?)? / (head_size as f64).sqrt())?;
            if causal {
                let mask: Vec<f32> = (0..n)
                    .flat_map(|q| (0..len).map(move |k| if k > q { f32::NEG_INFINITY } else { 0.0 }))
                    .collect();
                scores = scores.broadcast_add(&Tensor::from_vec(mask, (n, len), query.device())?)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            probs.matmul(&split(value, first, len)?)?.transpose(0, 1)?.reshape((n, hidden))
        })
        .collect::<Result<Vec<_>>>()?;
    if contexts.is_empty() {
        return query.zeros_like();
    }
    Tensor::cat(&contexts, 0)
}

/// Attention as one CPU op, parallel over sequences × heads.
struct FusedAttention<'a> {
    kernel: Kernel,
    num_heads: usize,
    scale: f32,
    tokens: &'a Unpadded,
    queries: &'a [(usize, usize)],
    relative: Option<&'a RelativeTerms<'a>>,
    /// Query `i` of a sequence (its `i`-th token) sees keys `0..=i` only.
    causal: bool,
}

impl FusedAttention<'_> {
    /// One head of one sequence: `softmax(scores) V`, `(queries, head_size)`.
    fn head(
        &self,
        [query, key, value]: [&[f32]; 3],
        hidden: usize,
        sequence: usize,
        head: usize,
    ) -> Vec<f32> {
        let (first, len) = self.tokens.sequences[sequence];
        let (first_query, n) = self.queries[sequence];
        let head_size = hidden / self.num_heads;
        let start = first * hidden + head * head_size;
        let query_start = first_query * hidden + head * head_size;
        let keys = PackedMatrix::from_columns(self.kernel, head_size, len, &key[start..], hidden);
        let mut scores = keys.product(&query[query_start..], hidden, n, None);
        if let Some(relative) = self.relative {
            let offsets = &self.tokens.offsets[first..first + len];
            let distance = |q: usize, k: usize| offsets[q] + relative.rows.max_distance - offsets[k];
            // Each term multiplies a head's content by only the table rows its distances reach.
            let term = |table: &[f32], rows: &[usize], content: &[f32], rows_of_content: usize| {
                let reached = distance(0, len - 1)..=distance(n - 1, 0);
                let low = rows[reached.clone()].iter().copied().min().unwrap_or(0);
                let width = rows[reached].iter().copied().max().unwrap_or(0) + 1 - low;
                let positions = PackedMatrix::from_columns(
                    self.kernel,
                    head_size,
                    width,
                    &table[low * hidden + head * head_size..],
                    hidden,
                );
                (positions.product(content, hidden, rows_of_content, None), low, width)
            };
            if let Some(table) = &relative.pos_key {
                let (c2p, low, width) = term(table, &relative.rows.c2p, &query[query_start..], n);
                for (q, scores) in scores.chunks_exact_mut(len).enumerate() {
                    for (k, score) in scores.iter_mut().enumerate() {
                        *score += c2p[q * width + relative.rows.c2p[distance(q, k)] - low];
                    }
                }
            }
            if let Some(table) = &relative.pos_query {
                let (p2c, low, width) = term(table, &relative.rows.p2c, &key[start..], len);
                for (q, scores) in scores.chunks_exact_mut(len).enumerate() {
                    for (k, score) in scores.iter_mut().enumerate() {
                        *score += p2c[k * width + relative.rows.p2c[distance(q, k)] - low];
                    }
                }
            }
        }
        if self.causal {
            for (q, scores) in scores.chunks_exact_mut(len).enumerate() {
                scores[(q + 1).min(len)..].fill(f32::NEG_INFINITY);
            }
        }
        softmax_rows(Level::detected(), &mut scores, len, self.scale);
        let values = PackedMatrix::from_rows(self.kernel, len, head_size, &value[start..], hidden);
        values.product(&scores, len, n, None)
    }
}

impl CustomOp3 for FusedAttention<'_> {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (query_rows, hidden) = l1.shape().dims2()?;
        let (tokens, key_hidden) = l2.shape().dims2()?;
        if l3.shape() != l2.shape() || key_hidden != hidden || hidden % self.num_heads != 0 {
            candle_core::bail!(
                "fused attention: shapes {:?} {:?} {:?}, {} heads",
                l1.shape(),
                l2.shape(),
                l3.shape(),
                self.num_heads
            );
        }
        let inputs = [contiguous_f32(s1, l1)?, contiguous_f32(s2, l2)?, contiguous_f32(s3, l3)?];
        let sequences = &self.tokens.sequences;
        let queries_fit = self.queries.len() == sequences.len()
            && self
                .queries
                .iter()
                .zip(sequences)
                .all(|(&(row, n), &(_, len))| n <= len && row + n <= query_rows);
        if self.tokens.offsets.len() != tokens || !queries_fit {
            candle_core::bail!(
                "fused attention: {tokens} tokens and {query_rows} queries do not fit a batch of {} tokens",
                self.tokens.offsets.len()
            );
        }
        // Longest first, so the costliest heads do not start last.
        // A sequence without tokens (an all-zero mask row) has nothing to attend over.
        let mut tasks: Vec<(usize, usize)> = (0..sequences.len())
            .filter(|&s| sequences[s].1 > 0 && self.queries[s].1 > 0)
            .flat_map(|s| (0..self.num_heads).map(move |h| (s, h)))
            .collect();
        tasks.sort_by_key(|&(s, _)| std::cmp::Reverse(sequences[s].1 * self.queries[s].1));
        let contexts: Vec<Vec<f32>> =
            tasks.par_iter().map(|&(s, h)| self.head(inputs, hidden, s, h)).collect();
        let head_size = hidden / self.num_heads;
        let mut output = vec![0f32; query_rows * hidden];
        for (&(s, h), context) in tasks.iter().zip(&contexts) {
            let first = self.queries[s].0;
            for (token, row) in context.chunks_exact(head_size).enumerate() {
                output[(first + token) * hidden + h * head_size..][..head_size].copy_from_slice(row);
            }
        }
        Ok((CpuStorage::F32(output), Shape::from((query_rows, hidden))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        super::super::test_values(n, seed, 2.0)
    }

    #[test]
    fn fused_matches_candle_ops_and_padding_round_trips() -> Result<()> {
        let device = Device::Cpu;
        let (batch, seq, hidden, heads) = (4, 37, 48, 4);
        // Right padding, left padding, none, and a row without tokens.
        let lengths = [37, 5, 20, 0];
        let mask: Vec<u32> = lengths
            .iter()
            .enumerate()
            .flat_map(|(b, &len)| {
                (0..seq).map(move |s| u32::from(if b == 1 { s >= seq - len } else { s < len }))
            })
            .collect();
        let tokens = Unpadded::new(&Tensor::from_vec(mask.clone(), (batch, seq), &device)?)?;
        assert_eq!(tokens.sequences, vec![(0, 37), (37, 5), (42, 20), (62, 0)]);
        let padded = Tensor::from_vec(values(batch * seq * hidden, 1), (batch, seq, hidden), &device)?;
        let real = tokens.gather(&padded)?;
        assert_eq!(real.dims(), &[62, hidden]);
        // Scattered back: real positions as they were, padding zeroed.
        let mask = Tensor::from_vec(mask, (batch, seq, 1), &device)?.to_dtype(DType::F32)?;
        let back = tokens.scatter(&real)?;
        assert_eq!(back.to_vec3::<f32>()?, padded.broadcast_mul(&mask)?.to_vec3::<f32>()?);

        let [q, k, v] =
            [2, 3, 4].map(|seed| Tensor::from_vec(values(62 * hidden, seed), (62, hidden), &device));
        let (q, k, v) = (q?, k?, v?);
        let want = attention_by_sequence(&q, &k, &v, heads, &tokens.sequences, &tokens.sequences, false)?;
        // First positions only: the left-padded row and the empty one have none.
        let first = tokens.first_tokens()?;
        assert_eq!(first.sequences, vec![(0, 1), (1, 0), (1, 1), (2, 0)]);
        let (first_q, queries) = tokens.outputs(&q, Some(&first))?;
        let want_first = Tensor::cat(&[want.narrow(0, 0, 1)?, want.narrow(0, 42, 1)?], 0)?;
        let error =
            |got: Tensor, want: &Tensor| -> Result<f32> { (got - want)?.abs()?.max_all()?.to_scalar() };
        let by_sequence = attention_by_sequence(&first_q, &k, &v, heads, &tokens.sequences, queries, false)?;
        assert!(error(by_sequence, &want_first)? < 1e-5);
        for kernel in Kernel::available() {
            let scale = 1.0 / ((hidden / heads) as f32).sqrt();
            let got = fused_attention(kernel, [&q, &k, &v], heads, scale, &tokens, &tokens.sequences, None)?;
            assert!(error(got, &want)? < 1e-5, "{kernel:?}");
            let got = fused_attention(kernel, [&first_q, &k, &v], heads, scale, &tokens, queries, None)?;
            assert!(error(got, &want_first)? < 1e-5, "{kernel:?}, first positions");
        }
        // Scattered per sequence: zeros where there is no first position.
        let scattered = first.scatter(&want_first)?;
        assert_eq!(scattered.dims(), &[batch, 1, hidden]);
        assert_eq!(scattered.sum_keepdim(2)?.flatten_all()?.to_vec1::<f32>()?[1], 0.0);
        Ok(())
    }

    /// Causal attention: token `i` of a sequence gets what plain attention over the sequence's
    /// first `i + 1` tokens gives its last token, through candle ops and every fused kernel.
    #[test]
    fn causal_attention_sees_only_earlier_tokens() -> Result<()> {
        let device = Device::Cpu;
        let (seq, hidden, heads) = (7, 16, 2);
        let lengths = [7, 0, 3];
        let mask: Vec<u32> =
            lengths.iter().flat_map(|&len| (0..seq).map(move |s| u32::from(s < len))).collect();
        let tokens = Unpadded::new(&Tensor::from_vec(mask, (lengths.len(), seq), &device)?)?;
        let total: usize = lengths.iter().sum();
        let [q, k, v] =
            [5, 6, 7].map(|seed| Tensor::from_vec(values(total * hidden, seed), (total, hidden), &device));
        let (q, k, v) = (q?, k?, v?);
        let mut rows = Vec::new();
        for &(first, len) in &tokens.sequences {
            for i in 0..len {
                let prefix = [(0, i + 1)];
                let (key, value) = (k.narrow(0, first, i + 1)?, v.narrow(0, first, i + 1)?);
                let query = q.narrow(0, first + i, 1)?;
                rows.push(attention_by_sequence(&query, &key, &value, heads, &prefix, &[(0, 1)], false)?);
            }
        }
        let want = Tensor::cat(&rows, 0)?;
        let error = |got: Tensor| -> Result<f32> { (got - &want)?.abs()?.max_all()?.to_scalar() };
        let by_sequence =
            attention_by_sequence(&q, &k, &v, heads, &tokens.sequences, &tokens.sequences, true)?;
        assert!(error(by_sequence)? < 1e-5);
        for kernel in Kernel::available() {
            let scale = 1.0 / ((hidden / heads) as f32).sqrt();
            let op = FusedAttention {
                kernel,
                num_heads: heads,
                scale,
                tokens: &tokens,
                queries: &tokens.sequences,
                relative: None,
                causal: true,
            };
            assert!(error(q.apply_op3_no_bwd(&k, &v, &op)?)? < 1e-5, "{kernel:?}");
        }
        // And whichever path this CPU takes.
        assert!(error(causal_attention(&q, &k, &v, heads, &tokens)?)? < 1e-5);
        Ok(())
    }
}
