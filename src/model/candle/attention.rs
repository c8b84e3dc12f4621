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
//! On CPUs with a packed kernel, attention is one op that, per sequence and head, multiplies
//! `Q Kᵀ`, takes the softmax and multiplies by `V` in cache-sized buffers, reading the heads
//! straight out of the `(tokens, hidden)` projections; elsewhere it runs as candle ops, one
//! sequence at a time.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

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
        let hidden = tokens.dim(1)?;
        let zero = Tensor::zeros((1, hidden), tokens.dtype(), tokens.device())?;
        Tensor::cat(&[tokens, &zero], 0)?.index_select(&self.rows, 0)?.reshape((self.batch, self.seq, hidden))
    }
}

/// Scaled dot-product attention of every sequence over its own tokens, `num_heads` heads.
/// `query`, `key`, `value` and the result are `(tokens, hidden)`.
pub(super) fn attention(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    tokens: &Unpadded,
) -> Result<Tensor> {
    match Kernel::for_tensor(query) {
        Some(kernel) => {
            let head_size = query.dim(1)? / num_heads;
            let scale = 1.0 / (head_size as f32).sqrt();
            fused_attention(kernel, [query, key, value], num_heads, scale, tokens, None)
        }
        _ => attention_by_sequence(query, key, value, num_heads, &tokens.sequences),
    }
}

/// Attention as one CPU op: scores are `(Q Kᵀ + relative terms) · scale`.
pub(super) fn fused_attention(
    kernel: Kernel,
    [query, key, value]: [&Tensor; 3],
    num_heads: usize,
    scale: f32,
    tokens: &Unpadded,
    relative: Option<&RelativeTerms>,
) -> Result<Tensor> {
    let op = FusedAttention { kernel, num_heads, scale, tokens, relative };
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
) -> Result<Tensor> {
    let hidden = query.dim(1)?;
    let head_size = hidden / num_heads;
    let contexts = sequences
        .iter()
        .filter(|&&(_, len)| len > 0)
        .map(|&(first, len)| {
            let split = |t: &Tensor| {
                t.narrow(0, first, len)?.reshape((len, num_heads, head_size))?.transpose(0, 1)?.contiguous()
            };
            let scores = (split(query)?.matmul(&split(key)?.t()?)? / (head_size as f64).sqrt())?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            probs.matmul(&split(value)?)?.transpose(0, 1)?.reshape((len, hidden))
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
    relative: Option<&'a RelativeTerms<'a>>,
}

impl FusedAttention<'_> {
    /// One head of one sequence: `softmax(scores) V`, `(len, head_size)`.
    fn head(
        &self,
        [query, key, value]: [&[f32]; 3],
        hidden: usize,
        sequence: usize,
        head: usize,
    ) -> Vec<f32> {
        let (first, len) = self.tokens.sequences[sequence];
        let head_size = hidden / self.num_heads;
        let start = first * hidden + head * head_size;
        let column = |matrix: &[f32], row: usize, i: usize| matrix[start + row * hidden + i];
        let keys = PackedMatrix::new(self.kernel, head_size, len, |i, token| column(key, token, i));
        let mut scores = vec![0f32; len * len];
        keys.multiply(&query[start..], hidden, len, None, &mut scores, len);
        if let Some(relative) = self.relative {
            let offsets = &self.tokens.offsets[first..first + len];
            let distance = |q: usize, k: usize| offsets[q] + relative.rows.max_distance - offsets[k];
            // Each term multiplies a head's content by only the table rows its distances reach.
            let term = |table: &[f32], rows: &[usize], content: &[f32]| -> (Vec<f32>, usize, usize) {
                let reached = distance(0, len - 1)..=distance(len - 1, 0);
                let low = rows[reached.clone()].iter().copied().min().unwrap_or(0);
                let width = rows[reached].iter().copied().max().unwrap_or(0) + 1 - low;
                let positions = PackedMatrix::new(self.kernel, head_size, width, |i, row| {
                    table[(low + row) * hidden + head * head_size + i]
                });
                let mut products = vec![0f32; len * width];
                positions.multiply(&content[start..], hidden, len, None, &mut products, width);
                (products, low, width)
            };
            if let Some(table) = &relative.pos_key {
                let (c2p, low, width) = term(table, &relative.rows.c2p, query);
                for (q, scores) in scores.chunks_exact_mut(len).enumerate() {
                    for (k, score) in scores.iter_mut().enumerate() {
                        *score += c2p[q * width + relative.rows.c2p[distance(q, k)] - low];
                    }
                }
            }
            if let Some(table) = &relative.pos_query {
                let (p2c, low, width) = term(table, &relative.rows.p2c, key);
                for (q, scores) in scores.chunks_exact_mut(len).enumerate() {
                    for (k, score) in scores.iter_mut().enumerate() {
                        *score += p2c[k * width + relative.rows.p2c[distance(q, k)] - low];
                    }
                }
            }
        }
        for row in scores.chunks_exact_mut(len) {
            let max = row.iter().fold(f32::NEG_INFINITY, |max, &s| max.max(s * self.scale));
            let mut sum = 0.0;
            for s in row.iter_mut() {
                *s = (*s * self.scale - max).exp();
                sum += *s;
            }
            let inverse = 1.0 / sum;
            row.iter_mut().for_each(|s| *s *= inverse);
        }
        let values = PackedMatrix::new(self.kernel, len, head_size, |token, i| column(value, token, i));
        let mut context = vec![0f32; len * head_size];
        values.multiply(&scores, len, len, None, &mut context, head_size);
        context
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
        let (tokens, hidden) = l1.shape().dims2()?;
        if l2.shape() != l1.shape() || l3.shape() != l1.shape() || hidden % self.num_heads != 0 {
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
        if self.tokens.offsets.len() != tokens {
            candle_core::bail!(
                "fused attention: {tokens} tokens, but the batch has {}",
                self.tokens.offsets.len()
            );
        }
        // Longest first, so the costliest heads do not start last.
        // A sequence without tokens (an all-zero mask row) has nothing to attend over.
        let mut tasks: Vec<(usize, usize)> = (0..sequences.len())
            .filter(|&s| sequences[s].1 > 0)
            .flat_map(|s| (0..self.num_heads).map(move |h| (s, h)))
            .collect();
        tasks.sort_by_key(|&(s, _)| std::cmp::Reverse(sequences[s].1));
        let contexts: Vec<Vec<f32>> =
            tasks.par_iter().map(|&(s, h)| self.head(inputs, hidden, s, h)).collect();
        let head_size = hidden / self.num_heads;
        let mut output = vec![0f32; tokens * hidden];
        for (&(s, h), context) in tasks.iter().zip(&contexts) {
            let first = sequences[s].0;
            for (token, row) in context.chunks_exact(head_size).enumerate() {
                output[(first + token) * hidden + h * head_size..][..head_size].copy_from_slice(row);
            }
        }
        Ok((CpuStorage::F32(output), Shape::from((tokens, hidden))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32).map(|i| ((i.wrapping_mul(2654435761) ^ seed) % 2001) as f32 / 500.0 - 2.0).collect()
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
        let want = attention_by_sequence(&q, &k, &v, heads, &tokens.sequences)?;
        for kernel in Kernel::available() {
            let scale = 1.0 / ((hidden / heads) as f32).sqrt();
            let got = fused_attention(kernel, [&q, &k, &v], heads, scale, &tokens, None)?;
            let error = (got - &want)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(error < 1e-5, "{kernel:?}: max error {error}");
        }
        Ok(())
    }
}
