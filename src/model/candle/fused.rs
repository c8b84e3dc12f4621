//! Fused CPU kernels for the encoders' hot paths. candle runs every elementwise op as its own
//! pass with a fresh output buffer; on CPU that costs as much as the matrix products for
//! BERT-base-size batches (page faults on new buffers, scalar libm `expf`/`erff` with a slow
//! path for the masked scores). These kernels apply a linear layer's bias, its activation or
//! the residual + LayerNorm that follows, and the masked attention softmax, in place on the
//! buffer the matrix product just produced, split across the inference threads.
//!
//! Every kernel has the plain candle-op path beside it for other devices; the unit tests
//! compare the two.

use candle_core::{CpuStorage, DType, InplaceOp1, InplaceOp2, Layout, Module, Result, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder};

use super::Activation;

/// Runs `f(first_row, rows)` over `data` split into about equal runs of whole rows, one per
/// inference thread; small buffers stay on the calling thread.
fn par_rows(data: &mut [f32], row_len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = data.len() / row_len.max(1);
    let threads = crate::threads().min(rows);
    if threads <= 1 || data.len() < 16_384 {
        f(0, data);
        return;
    }
    let per_thread = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        for (i, chunk) in data.chunks_mut(per_thread * row_len).enumerate() {
            scope.spawn(move || f(i * per_thread, chunk));
        }
    });
}

/// The contiguous f32 values of an in-place operand, or an error naming `op`.
fn values_mut<'a>(storage: &'a mut CpuStorage, layout: &Layout, op: &str) -> Result<&'a mut [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: operand must be contiguous")))?;
    match storage {
        CpuStorage::F32(values) => Ok(&mut values[start..end]),
        _ => candle_core::bail!("{op}: expected f32 values"),
    }
}

fn values<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: operand must be contiguous")))?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

/// `e^x` for `x <= 0` (softmax, erf): Cody–Waite range reduction and the Cephes `expf`
/// polynomial, within 2 ulp; inputs below -87 give 0 instead of a subnormal.
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    let x = x.max(-87.0);
    // Round to nearest with the 1.5 · 2^23 trick, which vectorises (f32::round does not).
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The exact (erf) GELU, `x Φ(x)`, with Abramowitz–Stegun 7.1.26 for erf (|error| < 1.5e-7,
/// the approximation PyTorch's vectorised CPU erf uses).
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152) * t + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6) * t;
    let erf_abs = 1.0 - poly * exp_neg(-a * a);
    let erf = if z < 0.0 { -erf_abs } else { erf_abs };
    0.5 * x * (1.0 + erf)
}

/// Runs `body` compiled for AVX2 + FMA when the CPU has them (the crate is built for baseline
/// x86-64), else as is.
macro_rules! with_simd {
    ($body:expr) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2,fma")]
            unsafe fn simd<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the features were detected at run time.
                unsafe { simd(|| $body) }
            } else {
                $body
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body
        }
    }};
}

/// LayerNorm parameters, with the candle layer kept for other devices.
pub(super) struct Norm {
    layer: LayerNorm,
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    pub(super) fn load(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let layer = candle_nn::layer_norm(size, eps, vb)?;
        let weight = layer.weight().to_dtype(DType::F32)?.to_vec1()?;
        let bias = match layer.bias() {
            Some(bias) => bias.to_dtype(DType::F32)?.to_vec1()?,
            None => vec![0.0; size],
        };
        Ok(Self { layer, weight, bias, eps: eps as f32 })
    }

    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.layer.forward(xs)
    }

    /// Normalises one row in place (two-pass mean and variance, as torch).
    #[inline(always)]
    fn apply(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + self.eps).sqrt();
        for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *v = (*v - mean) * inv * w + b;
        }
    }
}

/// What follows a linear layer's matrix product.
pub(super) enum Epilogue<'a> {
    /// Just the bias.
    Bias,
    /// The bias, then an activation.
    Activation(Activation),
    /// The bias, plus `residual`, then LayerNorm.
    ResidualNorm(&'a Tensor, &'a Norm),
}

/// A linear layer whose bias and following elementwise work run fused on CPU.
pub(super) struct Dense {
    linear: Linear,
    bias: Vec<f32>,
}

impl Dense {
    pub(super) fn load(input: usize, output: usize, vb: VarBuilder) -> Result<Self> {
        let linear = candle_nn::linear(input, output, vb)?;
        let bias = match linear.bias() {
            Some(bias) => bias.to_dtype(DType::F32)?.to_vec1()?,
            None => vec![0.0; output],
        };
        Ok(Self { linear, bias })
    }

    pub(super) fn forward(&self, xs: &Tensor, epilogue: Epilogue) -> Result<Tensor> {
        if !xs.device().is_cpu() || xs.dtype() != DType::F32 {
            let ys = self.linear.forward(xs)?;
            return match epilogue {
                Epilogue::Bias => Ok(ys),
                Epilogue::Activation(act) => act.forward(&ys),
                Epilogue::ResidualNorm(residual, norm) => norm.forward(&(ys + residual)?),
            };
        }
        // The product alone, into a fresh buffer that the epilogue then owns.
        let dims = xs.dims().to_vec();
        let (rows, input) = (xs.elem_count() / dims[dims.len() - 1], dims[dims.len() - 1]);
        let ys = xs.contiguous()?.reshape((rows, input))?.matmul(&self.linear.weight().t()?)?;
        let mut out_dims = dims;
        *out_dims.last_mut().expect("rank >= 1") = self.bias.len();
        match epilogue {
            Epilogue::Bias => ys.inplace_op1(&BiasAct { bias: &self.bias, act: None })?,
            Epilogue::Activation(Activation::Gelu) => {
                ys.inplace_op1(&BiasAct { bias: &self.bias, act: Some(Activation::Gelu) })?
            }
            Epilogue::Activation(act) => {
                ys.inplace_op1(&BiasAct { bias: &self.bias, act: None })?;
                return act.forward(&ys.reshape(out_dims)?);
            }
            Epilogue::ResidualNorm(residual, norm) => {
                let residual = residual.contiguous()?.reshape(ys.shape())?;
                ys.inplace_op2(&residual, &BiasResidualNorm { bias: &self.bias, norm })?
            }
        }
        ys.reshape(out_dims)
    }
}

/// `x + bias`, then the exact GELU when `act` is set, in place over rows of `bias.len()`.
struct BiasAct<'a> {
    bias: &'a [f32],
    act: Option<Activation>,
}

impl InplaceOp1 for BiasAct<'_> {
    fn name(&self) -> &'static str {
        "bias-act"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let data = values_mut(storage, layout, self.name())?;
        let gelu = self.act == Some(Activation::Gelu);
        par_rows(data, self.bias.len(), |_, rows| {
            with_simd!(for row in rows.chunks_exact_mut(self.bias.len()) {
                if gelu {
                    for (v, b) in row.iter_mut().zip(self.bias) {
                        *v = gelu_erf(*v + b);
                    }
                } else {
                    for (v, b) in row.iter_mut().zip(self.bias) {
                        *v += b;
                    }
                }
            })
        });
        Ok(())
    }
}

/// `LayerNorm(x + bias + residual)` in place over rows.
struct BiasResidualNorm<'a> {
    bias: &'a [f32],
    norm: &'a Norm,
}

impl InplaceOp2 for BiasResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "bias-residual-norm"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let data = values_mut(s1, l1, self.name())?;
        let residual = values(s2, l2, self.name())?;
        let width = self.bias.len();
        par_rows(data, width, |first, rows| {
            with_simd!(for (i, row) in rows.chunks_exact_mut(width).enumerate() {
                let res = &residual[(first + i) * width..(first + i + 1) * width];
                for ((v, b), r) in row.iter_mut().zip(self.bias).zip(res) {
                    *v = (*v + b) + r;
                }
                self.norm.apply(row);
            })
        });
        Ok(())
    }
}

/// Masked softmax over attention scores `(batch, heads, seq, seq)`, in place: divides by
/// `scale` (when set), gives masked keys zero weight and, when `query_mask` is set, zeroes the
/// rows of padded queries (DeBERTa's XSoftmax). Rows without any real key get uniform
/// weights, as the reference's `finfo.min` bias gives them.
pub(super) struct MaskedSoftmax<'a> {
    /// `(batch, seq)`: true for real tokens.
    pub key_mask: &'a [bool],
    pub query_mask: bool,
    pub heads: usize,
    pub seq: usize,
    pub scale: Option<f32>,
}

impl InplaceOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let data = values_mut(storage, layout, self.name())?;
        let seq = self.seq;
        if data.len() != self.key_mask.len() / seq * self.heads * seq * seq {
            candle_core::bail!("masked-softmax: scores do not match the mask");
        }
        par_rows(data, seq, |first, rows| {
            with_simd!(for (i, row) in rows.chunks_exact_mut(seq).enumerate() {
                let index = first + i;
                let batch = index / (self.heads * seq);
                let mask = &self.key_mask[batch * seq..(batch + 1) * seq];
                if self.query_mask && !mask[index % seq] {
                    row.fill(0.0);
                    continue;
                }
                if let Some(scale) = self.scale {
                    row.iter_mut().for_each(|v| *v /= scale);
                }
                let mut max = f32::NEG_INFINITY;
                for (v, &real) in row.iter().zip(mask) {
                    if real && *v > max {
                        max = *v;
                    }
                }
                if max == f32::NEG_INFINITY {
                    row.fill(1.0 / seq as f32);
                    continue;
                }
                let mut sum = 0.0f32;
                for (v, &real) in row.iter_mut().zip(mask) {
                    *v = if real { exp_neg(*v - max) } else { 0.0 };
                    sum += *v;
                }
                row.iter_mut().for_each(|v| *v /= sum);
            })
        });
        Ok(())
    }
}

/// DeBERTa's relative term, added in place to scores `(batch, heads, seq, seq)`:
/// `scores[b, h, q, k] += term[h, b, index[q, k]] / scale`, where `term` is the per-head product
/// `(heads, batch × seq, width)` and `index` holds flat positions into one `(seq × width)` block.
pub(super) struct AddRelative<'a> {
    pub index: &'a [u32],
    pub scale: f32,
    pub heads: usize,
    pub batch: usize,
    pub seq: usize,
}

impl InplaceOp2 for AddRelative<'_> {
    fn name(&self) -> &'static str {
        "add-relative"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let scores = values_mut(s1, l1, self.name())?;
        let term = values(s2, l2, self.name())?;
        let (heads, batch, seq) = (self.heads, self.batch, self.seq);
        let block = term.len() / (heads * batch).max(1);
        let valid = scores.len() == batch * heads * seq * seq
            && self.index.len() == seq * seq
            && block * heads * batch == term.len()
            && self.index.iter().all(|&i| (i as usize) < block);
        if !valid {
            candle_core::bail!("add-relative: scores, term and index do not match");
        }
        // Whole (q, ·) rows per thread; each row knows its batch row and head.
        par_rows(scores, seq, |first, rows| {
            with_simd!(for (i, row) in rows.chunks_exact_mut(seq).enumerate() {
                let index = first + i;
                let (b, h, q) = (index / (heads * seq), index / seq % heads, index % seq);
                let source = &term[(h * batch + b) * block..(h * batch + b + 1) * block];
                let cells = &self.index[q * seq..(q + 1) * seq];
                for (v, &cell) in row.iter_mut().zip(cells) {
                    *v += source[cell as usize] / self.scale;
                }
            })
        });
        Ok(())
    }
}

/// `(batch, seq)` `u32` mask → one bool per token.
pub(super) fn mask_values(mask: &Tensor) -> Result<Vec<bool>> {
    Ok(mask.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?.into_iter().map(|v| v != 0.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn exp_and_gelu_match_libm() {
        for i in 0..2000 {
            let x = -90.0 + i as f32 * 0.045;
            let (got, want) = (exp_neg(x), x.exp());
            assert!((got - want).abs() <= 3e-7 * want + 1e-37, "exp({x}): {got} vs {want}");
        }
        let xs = Tensor::arange(-600i64, 600, &Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
        let xs = (xs / 100.0).unwrap();
        let want = xs.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        for (x, want) in xs.to_vec1::<f32>().unwrap().into_iter().zip(want) {
            assert!((gelu_erf(x) - want).abs() < 1e-6, "gelu({x}): {} vs {want}", gelu_erf(x));
        }
    }

    #[test]
    fn fused_dense_matches_candle_ops() -> Result<()> {
        let dev = Device::Cpu;
        let vb = candle_nn::VarBuilder::from_tensors(
            [
                ("d.weight".to_owned(), Tensor::randn(0f32, 0.2, (48, 32), &dev)?),
                ("d.bias".to_owned(), Tensor::randn(0f32, 0.2, 48, &dev)?),
                ("n.weight".to_owned(), Tensor::randn(1f32, 0.1, 48, &dev)?),
                ("n.bias".to_owned(), Tensor::randn(0f32, 0.1, 48, &dev)?),
            ]
            .into(),
            DType::F32,
            &dev,
        );
        let dense = Dense::load(32, 48, vb.pp("d"))?;
        let norm = Norm::load(48, 1e-7, vb.pp("n"))?;
        let xs = Tensor::randn(0f32, 1.0, (3, 200, 32), &dev)?;
        let residual = Tensor::randn(0f32, 1.0, (3, 200, 48), &dev)?;
        let plain = dense.linear.forward(&xs)?;
        let cases = [
            (dense.forward(&xs, Epilogue::Bias)?, plain.clone()),
            (dense.forward(&xs, Epilogue::Activation(Activation::Gelu))?, plain.gelu_erf()?),
            (dense.forward(&xs, Epilogue::Activation(Activation::Tanh))?, plain.tanh()?),
            (
                dense.forward(&xs, Epilogue::ResidualNorm(&residual, &norm))?,
                norm.forward(&(&plain + &residual)?)?,
            ),
        ];
        for (i, (got, want)) in cases.iter().enumerate() {
            assert_eq!(got.dims(), want.dims());
            let diff = (got - want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "case {i}: {diff}");
        }
        Ok(())
    }

    #[test]
    fn masked_softmax_matches_bias_softmax() -> Result<()> {
        let dev = Device::Cpu;
        let (batch, heads, seq) = (3, 2, 70);
        let scores = Tensor::randn(0f32, 3.0, (batch, heads, seq, seq), &dev)?;
        let lengths = [70u32, 41, 1];
        let mask: Vec<u32> =
            lengths.iter().flat_map(|&n| (0..seq as u32).map(move |i| u32::from(i < n))).collect();
        let mask = Tensor::from_vec(mask, (batch, seq), &dev)?;
        let bias = super::super::attention_bias(&mask, DType::F32)?;
        let want = candle_nn::ops::softmax_last_dim(&(&scores / 8.0)?.broadcast_add(&bias)?)?;
        let got = scores.copy()?;
        let keys = mask_values(&mask)?;
        got.inplace_op1(&MaskedSoftmax { key_mask: &keys, query_mask: false, heads, seq, scale: Some(8.0) })?;
        let diff = (&got - &want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
        assert!(diff < 1e-6, "{diff}");
        // With the query mask, padded query rows are zero.
        let zeroed = scores.copy()?;
        zeroed.inplace_op1(&MaskedSoftmax { key_mask: &keys, query_mask: true, heads, seq, scale: None })?;
        let row = zeroed.get(1)?.get(0)?.get(50)?.to_vec1::<f32>()?;
        assert!(row.iter().all(|&v| v == 0.0));
        Ok(())
    }
}
