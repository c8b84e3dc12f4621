//! Int8 linear layers for CPU inference (`--dtype int8`).
//!
//! Weights are quantized once, at load, to signed bytes, symmetrically per output channel;
//! inputs are quantized as they arrive to unsigned bytes with a zero point, per row (per
//! token), so each token's scale follows its own range. Products are summed exactly in i32,
//! the zero point's share (`zero · Σₖ w`) is taken off, and the result is scaled back to f32
//! with the bias added. Because integer sums are exact, the AVX-512 VNNI kernel
//! (`vpdpbusd`: unsigned × signed bytes), the AVX2 one (`vpmaddwd` on bytes widened to 16
//! bits, whose pair sums cannot saturate, unlike `vpmaddubsw`'s) and the portable one return
//! bit-identical results: they differ in speed only.

use std::mem::MaybeUninit;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{per_level, Level};
use super::fused::{round, Epilogue};
use super::linear::{par_rows, rows_op, with_f32_values, RowBlocks, PANEL_ROWS};
use super::pages::PageBuffer;

/// Longest input row whose sums fit in i32: 255 · 127 per product.
const MAX_IN_FEATURES: usize = (i32::MAX / (255 * 127)) as usize;

/// A linear layer, `y = x Wᵀ + b`, with int8 weights.
pub struct Int8Linear {
    /// The kernel the weights are packed for.
    kernel: Kernel,
    in_features: usize,
    out_features: usize,
    /// Input groups per row, `in_features` rounded up to whole groups.
    groups: usize,
    /// `[block][group][column in block][input in group]`; padding columns and inputs are 0.
    packed: PageBuffer<i8>,
    /// Per output column: weight scale, `Σₖ q`, bias.
    scales: Vec<f32>,
    column_sums: Vec<i32>,
    bias: Vec<f32>,
    pub(super) epilogue: Epilogue,
}

impl std::fmt::Debug for Int8Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int8Linear({} → {}, {:?})", self.in_features, self.out_features, self.kernel)
    }
}

/// Smallest and largest value, in independent lanes so that it compiles to vector code;
/// NaN when a value is NaN or infinite (`min`/`max` alone would skip NaNs).
#[inline(always)]
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
#[inline(always)]
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
    /// Quantizes a `(out_features, in_features)` weight and its optional bias, packed for the
    /// fastest kernel this CPU runs.
    pub fn quantize(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        Self::quantize_for(Kernel::detect(), weight, bias)
    }

    fn quantize_for(kernel: Kernel, weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        if in_features > MAX_IN_FEATURES {
            candle_core::bail!("int8 linear layers take at most {MAX_IN_FEATURES} inputs, not {in_features}");
        }
        let bias = match bias {
            Some(b) => b.to_dtype(candle_core::DType::F32)?.to_vec1()?,
            None => vec![0.0; out_features],
        };
        let (block_cols, group) = (kernel.block_cols(), kernel.group());
        let groups = in_features.div_ceil(group);
        let group_bytes = block_cols * group;
        let mut packed = PageBuffer::zeroed(out_features.div_ceil(block_cols) * groups * group_bytes);
        // Blocks of columns in parallel: loading is otherwise serial, and quantizing BERT-base's
        // weights on one thread was 2% of scoring 360 short pairs with `--dtype int8`.
        let blocks: Vec<(Vec<f32>, Vec<i32>)> = with_f32_values(weight, |weight| {
            packed
                .par_chunks_exact_mut((groups * group_bytes).max(1))
                .enumerate()
                .map(|(block, packed)| {
                    let first_col = block * block_cols;
                    let cols = block_cols.min(out_features - first_col);
                    let mut row = vec![0i8; in_features];
                    let (mut scales, mut sums) = (Vec::with_capacity(cols), Vec::with_capacity(cols));
                    for lane in 0..cols {
                        let values = &weight[(first_col + lane) * in_features..][..in_features];
                        scales.push(quantize_weights(values, &mut row));
                        let mut sum = 0i32;
                        for (input, &q) in row.iter().enumerate() {
                            sum += i32::from(q);
                            let (g, within) = (input / group, input % group);
                            packed[g * group_bytes + lane * group + within] = q;
                        }
                        sums.push(sum);
                    }
                    (scales, sums)
                })
                .collect()
        })?;
        let (scales, column_sums): (Vec<_>, Vec<_>) = blocks.into_iter().unzip();
        let (scales, column_sums) = (scales.concat(), column_sums.concat());
        Ok(Self {
            kernel,
            in_features,
            out_features,
            groups,
            packed,
            scales,
            column_sums,
            bias,
            epilogue: Epilogue::None,
        })
    }

    /// `input` is row-major `(rows, in_features)`; returns `(rows, out_features)`.
    fn matmul(&self, input: &[f32]) -> Vec<f32> {
        // SAFETY: `matmul_rows` writes every output of the rows it is given.
        unsafe {
            par_rows(
                input,
                self.in_features,
                self.out_features,
                RowBlocks { tile: self.kernel.tile_rows(), panel: PANEL_ROWS },
                self.epilogue,
                |x, out| self.matmul_rows(x, out),
            )
        }
    }

    /// Writes every value of `output`, `(rows, out_features)` for the rows of `input`.
    fn matmul_rows(&self, input: &[f32], output: &mut [MaybeUninit<f32>]) {
        let kernel = self.kernel;
        let (tile_rows, block_cols, width) = (kernel.tile_rows(), kernel.block_cols(), kernel.input_bytes());
        let rows = input.len() / self.in_features;
        let stride = self.groups * kernel.group() * width;
        // Rows past the end of the input stay zero: their sums are computed and dropped.
        let level = Level::detected();
        let mut quantized = vec![0u8; rows.div_ceil(tile_rows) * tile_rows * stride];
        let mut narrow = vec![0u8; self.in_features];
        let mut row_scales = vec![(0f32, 0i32); rows];
        quantize_rows(
            level,
            input,
            self.in_features,
            &mut quantized,
            stride,
            width,
            &mut narrow,
            &mut row_scales,
        );
        let mut sums = vec![0i32; tile_rows * block_cols];
        for (block, weights) in
            self.packed.chunks_exact(self.groups * kernel.group() * block_cols).enumerate()
        {
            let first_col = block * block_cols;
            let cols = block_cols.min(self.out_features - first_col);
            for (tile, inputs) in quantized.chunks_exact(tile_rows * stride).enumerate() {
                kernel.tile(inputs, stride, weights, &mut sums);
                let first_row = tile * tile_rows;
                for (r, sums) in sums.chunks_exact(block_cols).enumerate().take(rows - first_row) {
                    let row = first_row + r;
                    let (row_scale, zero) = row_scales[row];
                    let columns = first_col..first_col + cols;
                    dequantize(
                        level,
                        &sums[..cols],
                        zero,
                        row_scale,
                        &self.column_sums[columns.clone()],
                        &self.scales[columns.clone()],
                        &self.bias[columns],
                        &mut output[row * self.out_features + first_col..][..cols],
                    );
                }
            }
        }
    }
}

// The steps around the integer kernel, compiled for the CPU's vector width: compiled for the
// x86-64 baseline (SSE2) they took 20% of BERT-base's int8 forward pass, as much as half the
// kernel's own time on short pairs. Same operations in the same order on every level, so the
// same bits.
per_level!(
    /// Quantizes each row of `input` (`in_features` values) into `quantized`, `stride` bytes
    /// per row with each input as `width` little-endian bytes (the byte, then zeros), and its
    /// `(scale, zero)` into `row_scales`; `narrow` is scratch of `in_features` bytes.
    #[allow(clippy::too_many_arguments)]
    fn quantize_rows(
        input: &[f32],
        in_features: usize,
        quantized: &mut [u8],
        stride: usize,
        width: usize,
        narrow: &mut [u8],
        row_scales: &mut [(f32, i32)],
    ) {
        let rows = input.chunks_exact(in_features).zip(quantized.chunks_exact_mut(stride));
        for ((values, out), row_scale) in rows.zip(row_scales.iter_mut()) {
            *row_scale = quantize_inputs(values, narrow);
            for (out, &q) in out.chunks_exact_mut(width).zip(narrow.iter()) {
                out[0] = q;
            }
        }
    }
);

per_level!(
    /// One row's outputs from its exact sums over a block of columns: the zero point's share
    /// taken off, scaled back to f32, the bias added.
    #[allow(clippy::too_many_arguments)]
    fn dequantize(
        sums: &[i32],
        zero: i32,
        row_scale: f32,
        column_sums: &[i32],
        scales: &[f32],
        bias: &[f32],
        out: &mut [MaybeUninit<f32>],
    ) {
        let columns = sums.iter().zip(column_sums).zip(scales).zip(bias);
        for (out, (((&sum, &column_sum), &scale), &bias)) in out.iter_mut().zip(columns) {
            // Exact when the true sum fits in i32 (MAX_IN_FEATURES), even if the two terms
            // alone would not: wrapping arithmetic is exact mod 2³².
            let exact = sum.wrapping_sub(zero.wrapping_mul(column_sum));
            out.write(exact as f32 * (row_scale * scale) + bias);
        }
    }
);

impl CustomOp1 for Int8Linear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        rows_op(storage, layout, self.in_features, self.out_features, |x| self.matmul(x))
    }
}

/// Whether this CPU runs a vectorized int8 kernel (AVX-512 VNNI or AVX2). Elsewhere int8
/// gives the same numbers through the portable kernel, which may be slower than f32.
pub fn fast_kernel_available() -> bool {
    Kernel::detect() != Kernel::Portable
}

/// A tile kernel, and with it how weights and inputs are laid out: blocks of `block_cols`
/// output columns, each lane summing `group` adjacent products, inputs of `input_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Any CPU: 8 rows × 32 columns, groups of 4, byte inputs.
    Portable,
    /// AVX2 `vpmaddwd` (i16 × i16, pairs summed to i32, exact for bytes): 6 rows × 16
    /// columns in 12 registers, groups of 2, inputs widened to 16 bits.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 VNNI `vpdpbusd` (unsigned × signed bytes, 4 products per i32 lane): 8 rows ×
    /// 32 columns in 16 registers, groups of 4, byte inputs.
    #[cfg(target_arch = "x86_64")]
    Vnni512,
}

impl Kernel {
    /// Every kernel this CPU can run, fastest first; the portable one last.
    fn available() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vnni")
            {
                kernels.push(Self::Vnni512);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                kernels.push(Self::Avx2);
            }
        }
        kernels.push(Self::Portable);
        kernels
    }

    fn detect() -> Self {
        Self::available().into_iter().find(|kernel| kernel.level().allowed()).unwrap_or(Self::Portable)
    }

    fn level(self) -> Level {
        match self {
            Self::Portable => Level::Baseline,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => Level::Avx2,
            #[cfg(target_arch = "x86_64")]
            Self::Vnni512 => Level::Avx512,
        }
    }

    fn tile_rows(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 6,
            _ => 8,
        }
    }

    fn block_cols(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 16,
            _ => 32,
        }
    }

    fn group(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 2,
            _ => 4,
        }
    }

    fn input_bytes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 2,
            _ => 1,
        }
    }

    /// `sums[r · block_cols + c]` = Σ over the row's inputs of `inputs[r] · weights[c]`, for a
    /// tile of `tile_rows` rows `stride` bytes apart and one packed block of weights.
    fn tile(self, inputs: &[u8], stride: usize, weights: &[i8], sums: &mut [i32]) {
        let group_bytes = self.block_cols() * self.group();
        let groups = weights.len() / group_bytes;
        assert!(weights.len() == groups * group_bytes && sums.len() == self.tile_rows() * self.block_cols());
        assert!(
            inputs.len() >= self.tile_rows() * stride && stride >= groups * self.group() * self.input_bytes()
        );
        match self {
            Self::Portable => tile_portable(inputs, stride, weights, sums),
            // SAFETY: `available` found the CPU features; the assertions above bound every
            // access.
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => unsafe { tile_avx2(inputs, stride, weights, sums) },
            #[cfg(target_arch = "x86_64")]
            Self::Vnni512 => unsafe { tile_vnni512(inputs, stride, weights, sums) },
        }
    }
}

fn tile_portable(inputs: &[u8], stride: usize, weights: &[i8], sums: &mut [i32]) {
    let (block_cols, group) = (Kernel::Portable.block_cols(), Kernel::Portable.group());
    sums.fill(0);
    for (g, weights) in weights.chunks_exact(block_cols * group).enumerate() {
        for (r, sums) in sums.chunks_exact_mut(block_cols).enumerate() {
            let x = &inputs[r * stride + g * group..][..group];
            for (sum, w) in sums.iter_mut().zip(weights.chunks_exact(group)) {
                *sum += x.iter().zip(w).map(|(&x, &w)| i32::from(x) * i32::from(w)).sum::<i32>();
            }
        }
    }
}

/// The AVX2 tile: per group, the 16 columns' weight pairs widened to i16 once, then per row
/// one broadcast of its two 16-bit inputs and one `vpmaddwd` + `vpaddd` per 8 columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2(inputs: &[u8], stride: usize, weights: &[i8], sums: &mut [i32]) {
    use std::arch::x86_64::*;
    const ROWS: usize = 6;
    const GROUP_BYTES: usize = 32;
    let groups = weights.len() / GROUP_BYTES;
    let mut acc = [_mm256_setzero_si256(); 2 * ROWS];
    let (x, w) = (inputs.as_ptr(), weights.as_ptr());
    for group in 0..groups {
        // SAFETY (all accesses): `Kernel::tile` checked that `ROWS` rows of `stride` ≥
        // `groups · 4` bytes, `groups` whole groups of weights and `ROWS · 16` sums are there.
        let w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(group * GROUP_BYTES).cast()));
        let w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.add(group * GROUP_BYTES + 16).cast()));
        for r in 0..ROWS {
            let two = x.add(r * stride + group * 4).cast::<i32>().read_unaligned();
            let broadcast = _mm256_set1_epi32(two);
            acc[2 * r] = _mm256_add_epi32(acc[2 * r], _mm256_madd_epi16(broadcast, w0));
            acc[2 * r + 1] = _mm256_add_epi32(acc[2 * r + 1], _mm256_madd_epi16(broadcast, w1));
        }
    }
    for r in 0..ROWS {
        _mm256_storeu_si256(sums.as_mut_ptr().add(16 * r).cast(), acc[2 * r]);
        _mm256_storeu_si256(sums.as_mut_ptr().add(16 * r + 8).cast(), acc[2 * r + 1]);
    }
}

/// The AVX-512 VNNI tile: per group, one broadcast of a row's 4 input bytes and one
/// `vpdpbusd` per 16 columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_vnni512(inputs: &[u8], stride: usize, weights: &[i8], sums: &mut [i32]) {
    use std::arch::x86_64::*;
    const ROWS: usize = 8;
    const GROUP_BYTES: usize = 128;
    let groups = weights.len() / GROUP_BYTES;
    let mut acc = [_mm512_setzero_si512(); 2 * ROWS];
    let (x, w) = (inputs.as_ptr(), weights.as_ptr());
    for group in 0..groups {
        // SAFETY (all accesses): `Kernel::tile` checked that `ROWS` rows of `stride` ≥
        // `groups · 4` bytes, `groups` whole groups of weights and `ROWS · 32` sums are there.
        let w0 = _mm512_loadu_si512(w.add(group * GROUP_BYTES).cast());
        let w1 = _mm512_loadu_si512(w.add(group * GROUP_BYTES + 64).cast());
        for r in 0..ROWS {
            let four = x.add(r * stride + group * 4).cast::<i32>().read_unaligned();
            let broadcast = _mm512_set1_epi32(four);
            acc[2 * r] = _mm512_dpbusd_epi32(acc[2 * r], broadcast, w0);
            acc[2 * r + 1] = _mm512_dpbusd_epi32(acc[2 * r + 1], broadcast, w1);
        }
    }
    for r in 0..ROWS {
        _mm512_storeu_si512(sums.as_mut_ptr().add(32 * r).cast(), acc[2 * r]);
        _mm512_storeu_si512(sums.as_mut_ptr().add(32 * r + 16).cast(), acc[2 * r + 1]);
    }
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
        // Odd sizes: partial groups, partial blocks, partial tiles of every kernel.
        for (inputs, outputs, rows) in [(3, 1, 1), (37, 33, 7), (64, 70, 13), (768, 32, 50)] {
            let weight =
                Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &Device::Cpu).unwrap();
            let bias = Tensor::from_vec(values(outputs, 2), outputs, &Device::Cpu).unwrap();
            let x = values(rows * inputs, 3);
            let want = Int8Linear::quantize_for(Kernel::Portable, &weight, Some(&bias)).unwrap().matmul(&x);
            for kernel in Kernel::available() {
                let layer = Int8Linear::quantize_for(kernel, &weight, Some(&bias)).unwrap();
                assert_eq!(layer.matmul(&x), want, "{kernel:?} {inputs}→{outputs}, {rows} rows");
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
