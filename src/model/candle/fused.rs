//! The encoders' work between matrix products, on the CPU in f32: exact GELU, residual add +
//! LayerNorm, and attention's softmax. candle runs these as scalar code (libm's `erff` per value, one thread; a
//! separate pass for the add; LayerNorm's sums one value at a time), about 8% of BERT-base's
//! f32 forward pass and more of int8's. Here each is one pass, split over rayon's workers,
//! written branch-free in lanes so the compiler vectorizes it, and compiled once per
//! instruction set (picked at run time, capped by `STANCE_CPU_LEVEL`).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::cpu::{per_level, Level};
use super::linear::contiguous_f32;

/// Independent partial sums per reduction: wide enough for one AVX-512 register.
const LANES: usize = 16;

/// Adding 1.5 · 2²³ leaves `x` rounded to the nearest integer (ties to even) in the low
/// mantissa bits, for |x| < 2²², without libm's `rintf` (x86-64's baseline has no rounding
/// instruction).
const ROUNDER: f32 = 12_582_912.0;

/// `x` rounded to the nearest integer, ties to even, for |x| < 2²².
#[inline(always)]
pub(super) fn round(x: f32) -> i32 {
    (x + ROUNDER).to_bits() as i32 - ROUNDER.to_bits() as i32
}

/// `eˣ` within 2 ulp for x in [-87.3, 88] (0 below, where f32 results turn subnormal; ∞
/// above), branch-free:
/// `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2` (ln 2 split in two for an exact `n·ln 2`), `eʳ` by
/// its Taylor series to r⁷ (truncation < 1.3e-7 relative), and `2ⁿ` built in the exponent
/// bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let clamped = x.clamp(-87.3, 88.0);
    let shifted = clamped * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // The low bits of `shifted` hold n + 2²² (two's complement of n above the rounder's).
    let exponent = shifted.to_bits().wrapping_sub(ROUNDER.to_bits()).wrapping_add(127) << 23;
    let value = p * f32::from_bits(exponent);
    if x < -87.3 {
        0.0
    } else if x > 88.0 {
        f32::INFINITY
    } else {
        value
    }
}

/// `x · Φ(x)`, the exact (erf-based) GELU. Φ comes from erfc (Numerical Recipes' `erfcc`,
/// fractional error < 1.2e-7 for every argument), so the negative side, where Φ is small,
/// keeps its relative precision instead of losing it in `1 + erf(x)`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    // As published, to 9 digits.
    #[allow(clippy::excessive_precision)]
    const COEFFICIENTS: [f32; 10] = [
        -1.265_512_2,
        1.000_023_7,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = COEFFICIENTS[9];
    for &c in COEFFICIENTS[..9].iter().rev() {
        p = p * t + c;
    }
    // Φ(-|x|) = erfc(z) / 2.
    let tail = 0.5 * t * exp(p - z * z);
    if x >= 0.0 {
        x * (1.0 - tail)
    } else {
        x * tail
    }
}

per_level!(
    fn gelu_in_place(values: &mut [f32]) {
        for x in values.iter_mut() {
            *x = gelu(*x);
        }
    }
);

/// What a linear layer's CPU kernel applies to its outputs once they are final, while they
/// are still in cache: this saves a pass over the whole output, and its allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Epilogue {
    #[default]
    None,
    /// The exact GELU.
    Gelu,
}

impl Epilogue {
    pub(super) fn apply(self, level: Level, values: &mut [f32]) {
        match self {
            Self::None => {}
            Self::Gelu => gelu_in_place(level, values),
        }
    }
}

/// `combine` over `map(v)` for every v in `values`, in `LANES` independent partial results
/// (one vector register) combined at the end: a float reduction the compiler can vectorize.
#[inline(always)]
fn reduce_lanes(
    values: &[f32],
    identity: f32,
    map: impl Fn(f32) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut lanes = [identity; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(identity, |acc, &v| combine(acc, map(v)));
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = combine(*lane, map(v));
        }
    }
    lanes.into_iter().fold(rest, &combine)
}

#[inline(always)]
fn sum_lanes(values: &[f32], map: impl Fn(f32) -> f32) -> f32 {
    reduce_lanes(values, 0.0, map, |a, b| a + b)
}

per_level!(
    pub(super) fn softmax_rows(scores: &mut [f32], len: usize, scale: f32) {
        for row in scores.chunks_exact_mut(len) {
            let max = reduce_lanes(row, f32::NEG_INFINITY, |s| s * scale, f32::max);
            for s in row.iter_mut() {
                *s = exp(*s * scale - max);
            }
            let inverse = 1.0 / sum_lanes(row, |s| s);
            for s in row.iter_mut() {
                *s *= inverse;
            }
        }
    }
);

per_level!(
    fn add_norm_rows(
        x: &[f32],
        residual: &[f32],
        weight: &[f32],
        bias: &[f32],
        eps: f32,
        output: &mut [f32],
    ) {
        let size = weight.len();
        for ((out, x), residual) in
            output.chunks_exact_mut(size).zip(x.chunks_exact(size)).zip(residual.chunks_exact(size))
        {
            for ((o, &a), &b) in out.iter_mut().zip(x).zip(residual) {
                *o = a + b;
            }
            // Two passes over a row in L1, as PyTorch does, rather than E[x²] - E[x]², which
            // loses digits when the mean is large next to the spread.
            let mean = sum_lanes(out, |v| v) / size as f32;
            let variance = sum_lanes(out, |v| (v - mean) * (v - mean)) / size as f32;
            let inverse = 1.0 / (variance + eps).sqrt();
            for ((o, &w), &b) in out.iter_mut().zip(weight).zip(bias) {
                *o = (*o - mean) * inverse * w + b;
            }
        }
    }
);

/// Exact GELU on the CPU, split over rayon's workers.
pub(super) struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "fused-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        /// Values per task: enough to outweigh scheduling, few enough to balance.
        const CHUNK: usize = 1 << 14;
        let level = Level::detected();
        let mut values = contiguous_f32(storage, layout)?.to_vec();
        values.par_chunks_mut(CHUNK).for_each(|values| gelu_in_place(level, values));
        Ok((CpuStorage::F32(values), layout.shape().clone()))
    }
}

/// `LayerNorm(x + residual)`, the post-norm residual connection of BERT-style blocks: one
/// fused pass on the CPU in f32, candle's add and `LayerNorm` elsewhere.
#[derive(Debug)]
pub(super) struct ResidualNorm {
    norm: candle_nn::LayerNorm,
    /// The weight and bias as f32 values when the model is on the CPU.
    cpu: Option<(Vec<f32>, Vec<f32>)>,
    eps: f32,
}

impl ResidualNorm {
    pub(super) fn load(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        if size == 0 {
            candle_core::bail!("a layer norm needs at least one value");
        }
        let norm = candle_nn::layer_norm(size, eps, vb)?;
        let cpu = match (norm.weight().device().is_cpu(), norm.bias()) {
            (true, Some(bias)) => {
                Some((norm.weight().to_dtype(DType::F32)?.to_vec1()?, bias.to_dtype(DType::F32)?.to_vec1()?))
            }
            _ => None,
        };
        Ok(Self { norm, cpu, eps: eps as f32 })
    }

    pub(super) fn forward(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        match &self.cpu {
            Some(_) if x.dtype() == DType::F32 && residual.dtype() == DType::F32 && x.device().is_cpu() => {
                x.contiguous()?.apply_op2_no_bwd(&residual.contiguous()?, self)
            }
            _ => self.norm.forward(&(x + residual)?),
        }
    }
}

impl CustomOp2 for ResidualNorm {
    fn name(&self) -> &'static str {
        "residual-norm"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        /// Rows per task (768 values each for a base-size model).
        const ROWS: usize = 16;
        let Some((weight, bias)) = &self.cpu else {
            candle_core::bail!("residual-norm runs on the CPU only")
        };
        let size = weight.len();
        let shape = x_layout.shape();
        if shape != residual_layout.shape() || shape.dims().last() != Some(&size) {
            candle_core::bail!(
                "residual-norm over {size} values: shapes {shape:?} and {:?}",
                residual_layout.shape()
            );
        }
        let (x, residual) = (contiguous_f32(x, x_layout)?, contiguous_f32(residual, residual_layout)?);
        let level = Level::detected();
        let mut output = vec![0f32; x.len()];
        output
            .par_chunks_mut(ROWS * size)
            .zip(x.par_chunks(ROWS * size).zip(residual.par_chunks(ROWS * size)))
            .for_each(|(output, (x, residual))| {
                add_norm_rows(level, x, residual, weight, bias, self.eps, output)
            });
        Ok((CpuStorage::F32(output), shape.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Every level this CPU runs, so each compiled variant is tested.
    fn levels() -> Vec<Level> {
        [Level::Baseline, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| l <= Level::detected())
            .collect()
    }

    fn gelu_f64(x: f64) -> f64 {
        0.5 * x * candle_core::cpu::erf::erfc_f64(-x / std::f64::consts::SQRT_2)
    }

    /// Every 37th f32 between -12 and 12 and the special values, through `gelu_in_place`.
    #[test]
    fn gelu_is_within_a_few_ulp_of_the_exact_value() {
        let mut inputs: Vec<f32> = (-12_000_000..12_000_000).step_by(37).map(|i| i as f32 * 1e-6).collect();
        inputs.extend([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, f32::MAX, f32::MIN]);
        for level in levels() {
            let mut output = inputs.clone();
            gelu_in_place(level, &mut output);
            for (&x, &y) in inputs.iter().zip(&output) {
                let exact = gelu_f64(f64::from(x));
                let error = (f64::from(y) - exact).abs();
                // Relative to the value. On the negative side the result is e^(-x²/2) times
                // small terms, and x² rounded to f32 costs relative precision growing with x²
                // (libm's erff keeps it; the `1 + erf` formula loses it all for x < -4).
                let relative = 4e-7 + 1.5e-7 * f64::from(x.min(0.0)).powi(2).min(200.0);
                assert!(error <= relative * exact.abs() + 1e-40, "{level:?}: gelu({x}) = {y}, exact {exact}");
            }
        }
    }

    #[test]
    fn gelu_passes_non_finite_values_like_the_formula() {
        for level in levels() {
            let mut output = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
            gelu_in_place(level, &mut output);
            assert!(output[0].is_nan(), "{level:?}");
            assert_eq!(output[1], f32::INFINITY, "{level:?}");
            // -∞ · Φ(-∞) = -∞ · 0, as `x · (1 + erf(x / √2)) / 2` gives.
            assert!(output[2].is_nan(), "{level:?}");
        }
    }

    #[test]
    fn exp_is_within_two_ulp() {
        for level in levels() {
            let inputs: Vec<f32> = (-873_000..880_000).map(|i| i as f32 * 1e-4).collect();
            per_level!(
                fn exp_slice(input: &[f32], output: &mut [f32]) {
                    for (y, &x) in output.iter_mut().zip(input) {
                        *y = exp(x);
                    }
                }
            );
            let mut output = vec![0f32; inputs.len()];
            exp_slice(level, &inputs, &mut output);
            for (&x, &y) in inputs.iter().zip(&output) {
                let exact = f64::from(x).exp();
                assert!(
                    (f64::from(y) - exact).abs() <= 2.5e-7 * exact,
                    "{level:?}: exp({x}) = {y}, exact {exact}"
                );
            }
            let mut below = [1f32];
            exp_slice(level, &[-90.0], &mut below);
            assert_eq!(below, [0.0]);
        }
    }

    #[test]
    fn softmax_rows_match_candle() -> Result<()> {
        let (rows, len, scale) = (6, 37, 0.125);
        let mut scores: Vec<f32> = (0..rows * len).map(|i| (i as f32 * 0.77).sin() * 40.0).collect();
        scores[len + 3] = f32::NEG_INFINITY;
        let expected = candle_nn::ops::softmax_last_dim(
            &(Tensor::from_vec(scores.clone(), (rows, len), &Device::Cpu)? * f64::from(scale))?,
        )?
        .flatten_all()?
        .to_vec1::<f32>()?;
        for level in levels() {
            let mut got = scores.clone();
            softmax_rows(level, &mut got, len, scale);
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-6 * e.max(1e-3), "{level:?}: {g} vs {e}");
            }
        }
        Ok(())
    }

    /// Against candle's add and `LayerNorm` in f64, rows of odd sizes, with a large mean.
    #[test]
    fn residual_norm_is_layer_norm_of_the_sum() -> Result<()> {
        let device = Device::Cpu;
        for size in [1, 7, 16, 33, 768] {
            let values = |seed: f32| -> Vec<f32> {
                (0..5 * size).map(|i| 40.0 + ((i as f32 * 0.37 + seed).sin() * 3.0)).collect()
            };
            let x = Tensor::from_vec(values(0.0), (5, size), &device)?;
            let residual = Tensor::from_vec(values(1.0), (5, size), &device)?;
            let weight =
                Tensor::from_vec((0..size).map(|i| 0.5 + i as f32 / size as f32).collect(), size, &device)?;
            let bias = Tensor::from_vec((0..size).map(|i| i as f32 * 0.01).collect(), size, &device)?;
            let vb = VarBuilder::from_tensors(
                [("weight".to_string(), weight.clone()), ("bias".to_string(), bias.clone())].into(),
                DType::F32,
                &device,
            );
            let norm = ResidualNorm::load(size, 1e-12, vb)?;
            let sum = (x.to_dtype(DType::F64)? + residual.to_dtype(DType::F64)?)?;
            let centred = sum.broadcast_sub(&sum.mean_keepdim(1)?)?;
            let variance = centred.sqr()?.mean_keepdim(1)?;
            let expected = centred
                .broadcast_div(&(variance + 1e-12)?.sqrt()?)?
                .broadcast_mul(&weight.to_dtype(DType::F64)?)?
                .broadcast_add(&bias.to_dtype(DType::F64)?)?;
            let got = norm.forward(&x, &residual)?.to_dtype(DType::F64)?;
            let error: f64 = (got - expected)?.abs()?.max_all()?.to_scalar()?;
            assert!(error < 2e-5, "size {size}: off by {error}");
        }
        Ok(())
    }

    #[test]
    fn residual_norm_levels_agree() {
        let size = 77;
        let x: Vec<f32> = (0..3 * size).map(|i| (i as f32 * 0.71).cos() * 5.0).collect();
        let residual: Vec<f32> = (0..3 * size).map(|i| (i as f32 * 0.13).sin()).collect();
        let (weight, bias) = (vec![1.5f32; size], vec![-0.25f32; size]);
        let run = |level| {
            let mut output = vec![0f32; x.len()];
            add_norm_rows(level, &x, &residual, &weight, &bias, 1e-5, &mut output);
            output
        };
        let baseline = run(Level::Baseline);
        for level in levels() {
            for (a, b) in run(level).iter().zip(&baseline) {
                assert!((a - b).abs() < 1e-5, "{level:?}: {a} vs {b}");
            }
        }
    }
}
