//! Int8 linear layers for CPU inference (`--dtype int8`).
//!
//! Weights are quantized once, at load, to signed bytes, symmetrically per output channel;
//! inputs are quantized as they arrive to unsigned bytes with a zero point, per row (per
//! token), so each token's scale follows its own range. Products are summed exactly in i32,
//! the zero point's share (`zero · Σₖ w`) is taken off, and the result is scaled back to f32
//! with the bias added. Because integer sums are exact, the AVX-512 VNNI kernel
//! (`vpdpbusd`: unsigned × signed bytes) and the portable one return bit-identical results:
//! they differ in speed only.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::linear::{par_rows, rows_op};

/// Output columns per packed block: two 16-lane vectors of i32 sums.
const BLOCK_COLS: usize = 32;
/// Input rows per micro-tile: 8 rows × 2 vectors = 16 accumulators.
const TILE_ROWS: usize = 8;
/// Adjacent products one i32 lane sums (`vpdpbusd`).
const GROUP: usize = 4;
/// Bytes of one group of one block: `BLOCK_COLS` columns × `GROUP` inputs.
const GROUP_BYTES: usize = BLOCK_COLS * GROUP;
/// Longest input row whose sums fit in i32: 255 · 127 per product.
const MAX_IN_FEATURES: usize = (i32::MAX / (255 * 127)) as usize;

/// A linear layer, `y = x Wᵀ + b`, with int8 weights.
pub struct Int8Linear {
    in_features: usize,
    out_features: usize,
    /// Input groups per row, `in_features` rounded up to whole groups.
    groups: usize,
    /// `[block][group][column in block][input in group]`; padding columns and inputs are 0.
    packed: Vec<i8>,
    /// Per output column: weight scale, `Σₖ q`, bias.
    scales: Vec<f32>,
    column_sums: Vec<i32>,
    bias: Vec<f32>,
}

impl std::fmt::Debug for Int8Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int8Linear({} → {})", self.in_features, self.out_features)
    }
}

/// Smallest and largest value, in independent lanes so that it compiles to vector code;
/// NaN when a value is NaN or infinite (`min`/`max` alone would skip NaNs).
fn range(values: &[f32]) -> (f32, f32) {
    let (mut low, mut high, mut poison) = ([0f32; 16], [0f32; 16], [0f32; 16]);
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (i, &v) in chunk.iter().enumerate() {
            low[i] = low[i].min(v);
            high[i] = high[i].max(v);
            poison[i] += v * 0.0;
        }
    }
    let poison = rest.iter().chain(&poison).fold(0f32, |sum, v| sum + v * 0.0);
    let low = rest.iter().chain(&low).fold(0f32, |low, &v| low.min(v));
    let high = rest.iter().chain(&high).fold(0f32, |high, &v| high.max(v));
    (low + poison, high + poison)
}

/// Adding 1.5 · 2²³ leaves `x`, rounded to the nearest integer (ties to even), in the low
/// mantissa bits for |x| < 2²², without a call to libm's `rintf` (x86-64's baseline has no
/// rounding instruction).
const ROUNDER: f32 = 12_582_912.0;

fn round(x: f32) -> i32 {
    (x + ROUNDER).to_bits() as i32 - ROUNDER.to_bits() as i32
}

/// Symmetric quantization of a weight row to [-127, 127]: returns the scale (0 for a zero row).
fn quantize_weights(values: &[f32], out: &mut [i8]) -> f32 {
    let (low, high) = range(values);
    let max = high.max(-low);
    if max == 0.0 || !max.is_finite() {
        out.fill(0);
        return if max == 0.0 { 0.0 } else { f32::NAN };
    }
    let inverse = 127.0 / max;
    for (q, &v) in out.iter_mut().zip(values) {
        *q = round(v * inverse) as i8;
    }
    max / 127.0
}

/// Asymmetric quantization of an input row to [0, 255], `v ≈ scale · (q - zero)`: the whole
/// byte covers the row's own range, which for inputs after GELU is mostly positive. The range
/// always includes 0, so zero is exact. Returns `(scale, zero)`; a NaN scale carries NaN and
/// infinite inputs through to the row's outputs.
fn quantize_inputs(values: &[f32], out: &mut [u8]) -> (f32, i32) {
    let (low, high) = range(values);
    let span = high - low;
    if span == 0.0 || span.is_nan() {
        out.fill(0);
        return (if span == 0.0 { 0.0 } else { f32::NAN }, 0);
    }
    let scale = span / 255.0;
    let inverse = 255.0 / span;
    let zero = round(-low * inverse).clamp(0, 255);
    for (q, &v) in out.iter_mut().zip(values) {
        *q = (round(v * inverse) + zero).clamp(0, 255) as u8;
    }
    (scale, zero)
}

impl Int8Linear {
    /// Quantizes a `(out_features, in_features)` weight and its optional bias.
    pub fn quantize(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        if in_features > MAX_IN_FEATURES {
            candle_core::bail!("int8 linear layers take at most {MAX_IN_FEATURES} inputs, not {in_features}");
        }
        let weight: Vec<f32> = weight.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1()?;
        let bias = match bias {
            Some(b) => b.to_dtype(candle_core::DType::F32)?.to_vec1()?,
            None => vec![0.0; out_features],
        };
        let groups = in_features.div_ceil(GROUP);
        let blocks = out_features.div_ceil(BLOCK_COLS);
        let mut packed = vec![0i8; blocks * groups * GROUP_BYTES];
        let mut scales = Vec::with_capacity(out_features);
        let mut column_sums = Vec::with_capacity(out_features);
        let mut row = vec![0i8; in_features];
        for (col, values) in weight.chunks_exact(in_features.max(1)).enumerate().take(out_features) {
            scales.push(quantize_weights(values, &mut row));
            let (block, lane) = (col / BLOCK_COLS, col % BLOCK_COLS);
            let mut sum = 0i32;
            for (input, &q) in row.iter().enumerate() {
                sum += i32::from(q);
                let (group, within) = (input / GROUP, input % GROUP);
                packed[(block * groups + group) * GROUP_BYTES + lane * GROUP + within] = q;
            }
            column_sums.push(sum);
        }
        Ok(Self { in_features, out_features, groups, packed, scales, column_sums, bias })
    }

    /// `input` is row-major `(rows, in_features)`; returns `(rows, out_features)`.
    fn matmul(&self, input: &[f32]) -> Vec<f32> {
        let mut output = vec![0f32; input.len() / self.in_features.max(1) * self.out_features];
        par_rows(input, self.in_features, &mut output, self.out_features, TILE_ROWS, |x, out| {
            self.matmul_rows(x, out)
        });
        output
    }

    fn matmul_rows(&self, input: &[f32], output: &mut [f32]) {
        let rows = input.len() / self.in_features;
        let stride = self.groups * GROUP;
        let tiles = rows.div_ceil(TILE_ROWS);
        // Rows past the end of the input stay zero: their sums are computed and dropped.
        let mut quantized = vec![0u8; tiles * TILE_ROWS * stride];
        let row_scales: Vec<(f32, i32)> = input
            .chunks_exact(self.in_features)
            .zip(quantized.chunks_exact_mut(stride))
            .map(|(values, out)| quantize_inputs(values, &mut out[..self.in_features]))
            .collect();
        let kernel = Kernel::detect();
        for (block, weights) in self.packed.chunks_exact(self.groups * GROUP_BYTES).enumerate() {
            let first_col = block * BLOCK_COLS;
            let cols = BLOCK_COLS.min(self.out_features - first_col);
            for (tile, inputs) in quantized.chunks_exact(TILE_ROWS * stride).enumerate() {
                let sums = kernel.tile(inputs, stride, weights);
                let first_row = tile * TILE_ROWS;
                for (r, sums) in sums.iter().enumerate().take(rows - first_row) {
                    let row = first_row + r;
                    let (row_scale, zero) = row_scales[row];
                    let out = &mut output[row * self.out_features + first_col..][..cols];
                    for (c, out) in out.iter_mut().enumerate() {
                        let col = first_col + c;
                        // Exact when the true sum fits in i32 (MAX_IN_FEATURES), even if the
                        // two terms alone would not: wrapping arithmetic is exact mod 2³².
                        let exact = sums[c].wrapping_sub(zero.wrapping_mul(self.column_sums[col]));
                        *out = exact as f32 * (row_scale * self.scales[col]) + self.bias[col];
                    }
                }
            }
        }
    }
}

impl CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        rows_op(storage, layout, self.in_features, self.out_features, |x| self.matmul(x))
    }
}

/// Whether this CPU runs the vectorized int8 kernel (AVX-512 VNNI). Elsewhere int8 gives the
/// same numbers through the portable kernel, which may be slower than f32.
pub fn fast_kernel_available() -> bool {
    Kernel::detect() != Kernel::Portable
}

/// Sums of one tile: `TILE_ROWS` rows × `BLOCK_COLS` columns.
type TileSums = [[i32; BLOCK_COLS]; TILE_ROWS];

/// The tile kernel this CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Vnni512,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            return Self::Vnni512;
        }
        Self::Portable
    }

    /// Σ over the row's inputs of `inputs[r] · weights[c]`, for a tile of `TILE_ROWS` rows
    /// `stride` bytes apart and one packed block of weights.
    fn tile(self, inputs: &[u8], stride: usize, weights: &[i8]) -> TileSums {
        let groups = weights.len() / GROUP_BYTES;
        assert!(inputs.len() >= TILE_ROWS * stride && stride >= groups * GROUP);
        match self {
            Self::Portable => tile_portable(inputs, stride, weights),
            // SAFETY: `detect` found the CPU features; the assertion above bounds every read.
            #[cfg(target_arch = "x86_64")]
            Self::Vnni512 => unsafe { tile_vnni512(inputs, stride, weights) },
        }
    }
}

fn tile_portable(inputs: &[u8], stride: usize, weights: &[i8]) -> TileSums {
    let mut sums = [[0i32; BLOCK_COLS]; TILE_ROWS];
    for (group, weights) in weights.chunks_exact(GROUP_BYTES).enumerate() {
        for (r, sums) in sums.iter_mut().enumerate() {
            let x = &inputs[r * stride + group * GROUP..][..GROUP];
            for (sum, w) in sums.iter_mut().zip(weights.chunks_exact(GROUP)) {
                *sum += x.iter().zip(w).map(|(&x, &w)| i32::from(x) * i32::from(w)).sum::<i32>();
            }
        }
    }
    sums
}

/// The AVX-512 VNNI tile: per group, one broadcast of a row's 4 input bytes and one
/// `vpdpbusd` per 16 columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_vnni512(inputs: &[u8], stride: usize, weights: &[i8]) -> TileSums {
    use std::arch::x86_64::*;
    let groups = weights.len() / GROUP_BYTES;
    let mut acc = [_mm512_setzero_si512(); 2 * TILE_ROWS];
    let (x, w) = (inputs.as_ptr(), weights.as_ptr());
    for group in 0..groups {
        // SAFETY (all reads): `Kernel::tile` checked that `TILE_ROWS` rows of `stride` ≥
        // `groups · GROUP` bytes and `groups` whole groups of weights are there.
        let w0 = _mm512_loadu_si512(w.add(group * GROUP_BYTES).cast());
        let w1 = _mm512_loadu_si512(w.add(group * GROUP_BYTES + 64).cast());
        for r in 0..TILE_ROWS {
            let four = x.add(r * stride + group * GROUP).cast::<i32>().read_unaligned();
            let broadcast = _mm512_set1_epi32(four);
            acc[2 * r] = _mm512_dpbusd_epi32(acc[2 * r], broadcast, w0);
            acc[2 * r + 1] = _mm512_dpbusd_epi32(acc[2 * r + 1], broadcast, w1);
        }
    }
    let mut sums = [[0i32; BLOCK_COLS]; TILE_ROWS];
    for (r, row) in sums.iter_mut().enumerate() {
        _mm512_storeu_si512(row.as_mut_ptr().cast(), acc[2 * r]);
        _mm512_storeu_si512(row.as_mut_ptr().add(16).cast(), acc[2 * r + 1]);
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

    /// Deterministic values in [-1, 1) with some rows of larger magnitude.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if i % 97 == 0 {
                    unit * 6.0
                } else {
                    unit
                }
            })
            .collect()
    }

    #[test]
    fn kernels_agree_exactly() {
        let kernel = Kernel::detect();
        // Odd sizes: partial groups, partial blocks, partial tiles.
        for (inputs, outputs) in [(3, 1), (37, 33), (64, 70), (768, 32)] {
            let weight =
                Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &Device::Cpu).unwrap();
            let layer = Int8Linear::quantize(&weight, None).unwrap();
            let stride = layer.groups * GROUP;
            let x: Vec<u8> =
                values(TILE_ROWS * stride, 2).iter().map(|v| ((v + 1.0) * 127.0) as u8).collect();
            for weights in layer.packed.chunks_exact(layer.groups * GROUP_BYTES) {
                assert_eq!(
                    kernel.tile(&x, stride, weights),
                    tile_portable(&x, stride, weights),
                    "{inputs}→{outputs}"
                );
            }
        }
    }

    #[test]
    fn sums_are_the_exact_integer_products() {
        // Weights whose per-channel maximum is 127 quantize to themselves, and so do inputs
        // spanning 255.
        let (outputs, inputs) = (35, 10);
        let w: Vec<f32> = (0..outputs * inputs).map(|i| ((i * 37) % 255) as f32 - 127.0).collect();
        let x: Vec<f32> = (0..3 * inputs).map(|i| ((i * 53) % 255) as f32 - 127.0).collect();
        let mut x_max = x.clone();
        for row in x_max.chunks_exact_mut(inputs) {
            // Every row spans [-128, 127]: scale 1, zero point 128.
            (row[0], row[1]) = (127.0, -128.0);
        }
        let mut w_max = w.clone();
        for row in w_max.chunks_exact_mut(inputs) {
            row[0] = 127.0;
        }
        let bias: Vec<f32> = (0..outputs).map(|c| c as f32 * 0.5).collect();
        let layer = Int8Linear::quantize(
            &Tensor::from_vec(w_max.clone(), (outputs, inputs), &Device::Cpu).unwrap(),
            Some(&Tensor::from_vec(bias.clone(), outputs, &Device::Cpu).unwrap()),
        )
        .unwrap();
        let got = layer.matmul(&x_max);
        for r in 0..3 {
            for c in 0..outputs {
                let want: f32 =
                    (0..inputs).map(|k| x_max[r * inputs + k] * w_max[c * inputs + k]).sum::<f32>() + bias[c];
                assert_eq!(got[r * outputs + c], want, "row {r} column {c}");
            }
        }
    }

    #[test]
    fn close_to_f32_and_shaped_like_it() -> Result<()> {
        let device = Device::Cpu;
        let (outputs, inputs) = (48, 96);
        let weight = Tensor::from_vec(values(outputs * inputs, 3), (outputs, inputs), &device)?;
        let bias = Tensor::from_vec(values(outputs, 4), outputs, &device)?;
        let x = Tensor::from_vec(values(2 * 5 * inputs, 5), (2, 5, inputs), &device)?;
        let exact = candle_nn::Linear::new(weight.clone(), Some(bias.clone())).forward(&x)?;
        let layer = Int8Linear::quantize(&weight, Some(&bias))?;
        let approx = x.apply_op1_no_bwd(&layer)?;
        assert_eq!(approx.dims(), &[2, 5, outputs]);
        let scale = exact.abs()?.max_all()?.to_scalar::<f32>()?;
        let error = (approx - &exact)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(error < 0.02 * scale, "max error {error} vs output scale {scale}");
        // Zero rows stay exact: only the bias comes out.
        let zeros = Tensor::zeros((3, inputs), candle_core::DType::F32, &device)?.apply_op1_no_bwd(&layer)?;
        assert_eq!(zeros.to_vec2::<f32>()?, vec![bias.to_vec1::<f32>()?; 3]);
        Ok(())
    }

    #[test]
    fn non_finite_inputs_give_nan_rows() -> Result<()> {
        let device = Device::Cpu;
        let layer = Int8Linear::quantize(&Tensor::ones((3, 20), candle_core::DType::F32, &device)?, None)?;
        let mut x = vec![0.5f32; 3 * 20];
        x[5] = f32::NAN;
        x[20 + 17] = f32::INFINITY;
        let y = Tensor::from_vec(x, (3, 20), &device)?.apply_op1_no_bwd(&layer)?.to_vec2::<f32>()?;
        assert!(y[0].iter().chain(&y[1]).all(|v| v.is_nan()), "{y:?}");
        assert!(y[2].iter().all(|v| (v - 10.0).abs() < 1e-5), "{y:?}");
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_take() -> Result<()> {
        let device = Device::Cpu;
        let layer = Int8Linear::quantize(&Tensor::ones((4, 8), candle_core::DType::F32, &device)?, None)?;
        assert!(Tensor::ones((2, 7), candle_core::DType::F32, &device)?.apply_op1_no_bwd(&layer).is_err());
        assert!(Tensor::ones((2, 8), candle_core::DType::F64, &device)?.apply_op1_no_bwd(&layer).is_err());
        Ok(())
    }
}
