//! f32 linear layers for CPU inference with weights packed once, at load.
//!
//! candle's CPU matmul (the `gemm` crate) repacks both operands on every call and has no
//! AVX-512 kernel on stable Rust; in profiles of BERT-base it was 58% of the forward pass.
//! Here the weight is laid out at load as blocks of `cols` output columns, one row of `cols`
//! floats per input (`[block][input][column]`), so a micro-tile streams it in order. The
//! work is blocked the way BLAS libraries do it: a slice of `DEPTH` inputs of one weight block
//! stays in L2 while every row tile of a panel of rows passes over it, each tile keeping
//! `rows × cols` sums in registers; the panel's slice of the inputs stays in L2 too
//! ([`panel_rows`]); the weights lie on huge pages ([`PageBuffer`]). Sums run over the inputs in
//! order (with fused multiply-adds in the SIMD kernels), so results differ from candle's only
//! by rounding. The portable kernel serves what needs a packed operand on CPUs without AVX2:
//! DeBERTa's unpadded attention.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::cpu::{self, Level};
use super::fused::Epilogue;
use super::linear::{par_rows, rows_op, with_f32_values, RowBlocks};
use super::pages::PageBuffer;

/// Inputs per pass over a weight block: `DEPTH × 48` floats = 144 KiB, within L2. Each pass
/// loads and stores every output of the panel once more, and those outputs (a panel of
/// BERT-base's 3072-wide feed-forward: 3.7 MiB) live in L3: on an Intel Xeon (Ice Lake, one
/// core, weights on huge pages) one pass of 768 inputs ran the feed-forward products 8–12%
/// faster than three passes of 256 kept in L1. The weights stream from L2 in order, which its
/// prefetcher follows.
const DEPTH: usize = 768;

/// Rows per panel: as many as keep the panel's slice of the inputs (`rows × DEPTH` floats)
/// within three quarters of the L2 cache, beside the weight block, so that each weight block,
/// fetched from L3 (BERT-base's feed-forward weights are 9 MiB), serves that many rows. A
/// multiple of every kernel's tile rows: 312 on a 1.25 MiB L2, 240 on a 1 MiB one, 48 where
/// the L2 size is unknown.
pub(super) fn panel_rows() -> usize {
    static ROWS: OnceLock<usize> = OnceLock::new();
    *ROWS.get_or_init(|| {
        let l2 = cpu::l2_cache_bytes().unwrap_or(0);
        (l2 * 3 / 4 / (DEPTH * size_of::<f32>()) / 24 * 24).clamp(48, 768)
    })
}

/// Values from which [`PackedMatrix::from_columns`] packs on all workers: BERT-base's smallest
/// weight has 590k; attention's operands (one head of one sequence: 64 × 512 at most) stay on
/// the worker that runs the head.
const PARALLEL_PACK_VALUES: usize = 1 << 19;

/// Calls `$kernel::<R>` for the tile's row count.
macro_rules! by_rows {
    ($kernel:ident, $tile:expr, $($rows:literal)*) => {
        match $tile.rows {
            0 => {}
            $($rows => $kernel::<$rows>($tile),)*
            _ => unreachable!("checked by Kernel::run"),
        }
    };
}

/// An `(inputs × outputs)` matrix packed for `kernel`: the right-hand side of products.
pub(super) struct PackedMatrix {
    kernel: Kernel,
    inputs: usize,
    outputs: usize,
    /// `[block][input][column in block]`; padding columns are 0.
    data: PageBuffer<f32>,
}

/// A linear layer, `y = x Wᵀ + b`, with its weight packed.
pub struct PackedLinear {
    weight: PackedMatrix,
    /// Padded to whole blocks with 0.
    bias: Vec<f32>,
    pub(super) epilogue: Epilogue,
}

impl std::fmt::Debug for PackedLinear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let PackedMatrix { inputs, outputs, kernel, .. } = self.weight;
        write!(f, "PackedLinear({inputs} → {outputs}, {kernel:?})")
    }
}

/// A micro-kernel this CPU runs: AVX-512 (8 rows × 48 columns in 24 registers), AVX2 with
/// FMA (6 rows × 16 columns in 12), or portable Rust (16 columns, vectorized by the compiler
/// for the target's baseline: SSE2, NEON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU has.
    pub fn detect() -> Self {
        Self::available().into_iter().find(|kernel| kernel.level().allowed()).unwrap_or(Self::Portable)
    }

    /// The kernel for work on `tensor`: only f32 on the CPU.
    pub fn for_tensor(tensor: &Tensor) -> Option<Self> {
        (tensor.device().is_cpu() && tensor.dtype() == candle_core::DType::F32).then(Self::detect)
    }

    /// Whether products through this kernel are faster than candle's matmul (the `gemm` crate,
    /// with its own SIMD kernels). The portable kernel is not (BERT-base, x86-64: 20% slower
    /// end to end); it serves DeBERTa's unpadded path, which needs a kernel and beats the padded
    /// one by 5× even so.
    pub fn beats_candle_matmul(self) -> bool {
        self != Self::Portable
    }

    /// Every kernel this CPU can run, fastest first.
    pub(super) fn available() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut kernels = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                kernels.push(Self::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                kernels.push(Self::Avx2);
            }
        }
        kernels.push(Self::Portable);
        kernels
    }

    fn level(self) -> Level {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => Level::Avx512,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => Level::Avx2,
            Self::Portable => Level::Baseline,
        }
    }

    fn cols(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => 48,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 16,
            Self::Portable => PORTABLE_COLS,
        }
    }

    fn rows(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => 8,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => 6,
            Self::Portable => PORTABLE_ROWS,
        }
    }

    /// One tile: `tile.rows` rows from `x` (`x_stride` apart) times `depth` inputs of one
    /// packed weight block, into `cols` columns of `out` (`out_stride` apart), starting from
    /// `bias` on the first pass over the inputs and from `out` after.
    fn run(self, tile: &mut Tile) {
        assert!(tile.rows <= self.rows() && tile.cols <= self.cols() && tile.cols > 0);
        assert!(tile.rows == 0 || tile.x.len() >= (tile.rows - 1) * tile.x_stride + tile.depth);
        assert!(tile.rows == 0 || tile.out.len() >= (tile.rows - 1) * tile.out_stride + tile.cols);
        assert!(tile.weights.len() >= tile.depth * self.cols());
        assert!(tile.bias.is_none_or(|bias| bias.len() >= self.cols()));
        match self {
            // SAFETY: `available` found the CPU features; the assertions bound every access.
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => unsafe { x86::dispatch_avx512(tile) },
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => unsafe { x86::dispatch_avx2(tile) },
            #[cfg(target_arch = "aarch64")]
            Self::Portable => by_rows!(portable, tile, 1 2 3 4 5 6),
            #[cfg(not(target_arch = "aarch64"))]
            Self::Portable => by_rows!(portable, tile, 1 2),
        }
    }
}

/// Columns of the portable kernel's tile: 4 SSE2 or NEON vectors.
const PORTABLE_COLS: usize = 16;
/// Rows of its tile: as many as keep the sums, one row of weights and an input in registers
/// (16 vector registers on x86-64, 32 on aarch64).
const PORTABLE_ROWS: usize = if cfg!(target_arch = "aarch64") { 6 } else { 2 };

/// The tile in plain Rust: sums in an array the compiler keeps in vector registers.
fn portable<const R: usize>(tile: &mut Tile) {
    let mut acc = [[0f32; PORTABLE_COLS]; R];
    for (r, acc) in acc.iter_mut().enumerate() {
        match (tile.accumulate, tile.bias) {
            (true, _) => {
                for (sum, out) in acc.iter_mut().zip(&tile.out[r * tile.out_stride..][..tile.cols]) {
                    // SAFETY: the first pass over the inputs wrote the tile's outputs.
                    *sum = unsafe { out.assume_init() };
                }
            }
            (false, Some(bias)) => acc.copy_from_slice(&bias[..PORTABLE_COLS]),
            (false, None) => {}
        }
    }
    for (i, weights) in tile.weights.chunks_exact(PORTABLE_COLS).take(tile.depth).enumerate() {
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = tile.x[r * tile.x_stride + i];
            for (sum, &w) in acc.iter_mut().zip(weights) {
                *sum += x * w;
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (out, &sum) in tile.out[r * tile.out_stride..][..tile.cols].iter_mut().zip(acc) {
            out.write(sum);
        }
    }
}

/// The operands of one micro-tile.
struct Tile<'a> {
    x: &'a [f32],
    x_stride: usize,
    depth: usize,
    weights: &'a [f32],
    /// Where sums start on the first pass (else from 0), padded to whole blocks.
    bias: Option<&'a [f32]>,
    /// Whether `out` already holds the sums of earlier inputs; if not, it may be uninitialized.
    accumulate: bool,
    out: &'a mut [MaybeUninit<f32>],
    out_stride: usize,
    rows: usize,
    cols: usize,
}

impl PackedMatrix {
    /// Packs the matrix whose output column `col` holds its inputs in order at
    /// `columns[col * stride..]`: a linear layer's `(out, in)` weight, attention's keys.
    pub(super) fn from_columns(
        kernel: Kernel,
        inputs: usize,
        outputs: usize,
        columns: &[f32],
        stride: usize,
    ) -> Self {
        let cols = kernel.cols();
        let mut data = PageBuffer::zeroed(outputs.div_ceil(cols) * inputs * cols);
        let pack = |(block, packed): (usize, &mut [f32])| {
            for c in 0..cols.min(outputs - block * cols) {
                let column = &columns[(block * cols + c) * stride..][..inputs];
                for (packed, &value) in packed[c..].iter_mut().step_by(cols).zip(column) {
                    *packed = value;
                }
            }
        };
        let block_len = (inputs * cols).max(1);
        // A model's weights on every worker: loading is otherwise serial.
        if inputs * outputs >= PARALLEL_PACK_VALUES {
            data.par_chunks_exact_mut(block_len).enumerate().for_each(pack);
        } else {
            data.chunks_exact_mut(block_len).enumerate().for_each(pack);
        }
        Self { kernel, inputs, outputs, data }
    }

    /// Packs the matrix whose input `i` holds its outputs in order at `rows[i * stride..]`:
    /// attention's values.
    pub(super) fn from_rows(
        kernel: Kernel,
        inputs: usize,
        outputs: usize,
        rows: &[f32],
        stride: usize,
    ) -> Self {
        let cols = kernel.cols();
        let mut data = PageBuffer::zeroed(outputs.div_ceil(cols) * inputs * cols);
        for (block, packed) in data.chunks_exact_mut(inputs * cols).enumerate() {
            let (first_col, width) = (block * cols, cols.min(outputs - block * cols));
            for (input, packed) in packed.chunks_exact_mut(cols).enumerate() {
                packed[..width].copy_from_slice(&rows[input * stride + first_col..][..width]);
            }
        }
        Self { kernel, inputs, outputs, data }
    }

    /// Outputs padded to whole blocks: the length `bias` needs.
    pub(super) fn padded_outputs(&self) -> usize {
        self.outputs.div_ceil(self.kernel.cols()) * self.kernel.cols()
    }

    /// `bias[c] + Σᵢ x[r][i] · self[i][c]` for `rows` rows of `x` (`x_stride` apart), as a new
    /// `(rows, outputs)` matrix, on the calling thread.
    pub(super) fn product(&self, x: &[f32], x_stride: usize, rows: usize, bias: Option<&[f32]>) -> Vec<f32> {
        let len = rows * self.outputs;
        let mut out = Vec::with_capacity(len);
        self.multiply(x, x_stride, rows, bias, &mut out.spare_capacity_mut()[..len], self.outputs);
        // SAFETY: `multiply` wrote the `rows × outputs` values.
        unsafe { out.set_len(len) };
        out
    }

    /// `out[r][c] = bias[c] + Σᵢ x[r][i] · self[i][c]` for `rows` rows of `x` (`x_stride`
    /// apart) into `out` (`out_stride` apart), on the calling thread. Writes every `out[r][c]`
    /// (`c < outputs`), without reading what `out` held.
    pub(super) fn multiply(
        &self,
        x: &[f32],
        x_stride: usize,
        rows: usize,
        bias: Option<&[f32]>,
        out: &mut [MaybeUninit<f32>],
        out_stride: usize,
    ) {
        let (k, n, cols, tile_rows) = (self.inputs, self.outputs, self.kernel.cols(), self.kernel.rows());
        // The first pass over the inputs writes every output; with no inputs there is none.
        assert!(k > 0, "a product over no inputs");
        if let Some(bias) = bias {
            assert!(bias.len() >= self.padded_outputs());
        }
        for panel in (0..rows).step_by(panel_rows()) {
            let panel_rows = panel_rows().min(rows - panel);
            for depth_start in (0..k).step_by(DEPTH) {
                let depth = DEPTH.min(k - depth_start);
                for (block, weights) in self.data.chunks_exact(k * cols).enumerate() {
                    let first_col = block * cols;
                    for first_row in (panel..panel + panel_rows).step_by(tile_rows) {
                        self.kernel.run(&mut Tile {
                            x: &x[first_row * x_stride + depth_start..],
                            x_stride,
                            depth,
                            weights: &weights[depth_start * cols..],
                            bias: bias.map(|bias| &bias[first_col..]),
                            accumulate: depth_start > 0,
                            out: &mut out[first_row * out_stride + first_col..],
                            out_stride,
                            rows: tile_rows.min(panel + panel_rows - first_row),
                            cols: cols.min(n - first_col),
                        });
                    }
                }
            }
        }
    }
}

impl PackedLinear {
    /// Packs a `(out_features, in_features)` weight and its optional bias for `kernel`.
    pub fn pack(weight: &Tensor, bias: Option<&Tensor>, kernel: Kernel) -> Result<Self> {
        let (out_features, in_features) = weight.dims2()?;
        if in_features == 0 {
            candle_core::bail!("a linear layer needs at least one input");
        }
        let weight = with_f32_values(weight, |values| {
            PackedMatrix::from_columns(kernel, in_features, out_features, values, in_features)
        })?;
        let mut padded_bias = vec![0f32; weight.padded_outputs()];
        if let Some(bias) = bias {
            let bias: Vec<f32> = bias.to_dtype(candle_core::DType::F32)?.to_vec1()?;
            padded_bias[..out_features].copy_from_slice(&bias);
        }
        Ok(Self { weight, bias: padded_bias, epilogue: Epilogue::None })
    }

    /// `input` is row-major `(rows, in_features)`; returns `(rows, out_features)`.
    fn matmul(&self, input: &[f32]) -> Vec<f32> {
        let (k, n) = (self.weight.inputs, self.weight.outputs);
        let blocks = RowBlocks { tile: self.weight.kernel.rows(), panel: panel_rows() };
        // SAFETY: `multiply` writes every output of the rows it is given.
        unsafe {
            par_rows(input, k, n, blocks, self.epilogue, |x, out| {
                self.weight.multiply(x, k, x.len() / k, Some(&self.bias), out, n)
            })
        }
    }
}

impl CustomOp1 for PackedLinear {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        rows_op(storage, layout, self.weight.inputs, self.weight.outputs, |x| self.matmul(x))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The micro-kernels. Each is generic over the tile's row count, so a partial tile at the
    //! end of a panel runs the same code with fewer rows, all sums still in registers.
    use std::arch::x86_64::*;

    use super::Tile;

    /// # Safety
    /// The CPU has AVX-512F, and `tile` is within bounds as `Kernel::run` checks.
    pub(super) unsafe fn dispatch_avx512(tile: &mut Tile) {
        by_rows!(avx512, tile, 1 2 3 4 5 6 7 8)
    }

    /// # Safety
    /// The CPU has AVX2 and FMA, and `tile` is within bounds as `Kernel::run` checks.
    pub(super) unsafe fn dispatch_avx2(tile: &mut Tile) {
        by_rows!(avx2, tile, 1 2 3 4 5 6)
    }

    /// Per input: three loads of 16 weights, then for each row one broadcast of its input and
    /// three fused multiply-adds. Three vectors of 8 rows rather than two of 12: 11 loads per
    /// 24 multiply-adds instead of 14, which on an Intel Xeon (Ice Lake) ran 12–15% faster, the
    /// loads and not the multiply-adds being what limited the 12-row tile.
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<const R: usize>(tile: &mut Tile) {
        let (x, w, out) = (tile.x.as_ptr(), tile.weights.as_ptr(), tile.out.as_mut_ptr().cast::<f32>());
        let mask = |part: usize| -> __mmask16 {
            let cols = tile.cols.saturating_sub(16 * part).min(16);
            ((1u32 << cols) - 1) as __mmask16
        };
        let masks = [mask(0), mask(1), mask(2)];
        let mut acc = [[_mm512_setzero_ps(); 3]; R];
        for (r, acc) in acc.iter_mut().enumerate() {
            for (v, acc) in acc.iter_mut().enumerate() {
                // SAFETY (all accesses): bounds checked by `Kernel::run`; masked lanes are
                // neither read nor written; with `accumulate`, the first pass over the inputs
                // wrote the outputs read here.
                *acc = match (tile.accumulate, tile.bias) {
                    (true, _) => _mm512_maskz_loadu_ps(masks[v], out.add(r * tile.out_stride + 16 * v)),
                    (false, Some(bias)) => _mm512_loadu_ps(bias.as_ptr().add(16 * v)),
                    (false, None) => _mm512_setzero_ps(),
                };
            }
        }
        for i in 0..tile.depth {
            let weights = [0, 1, 2].map(|v| _mm512_loadu_ps(w.add(i * 48 + 16 * v)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let xi = _mm512_set1_ps(*x.add(r * tile.x_stride + i));
                for (acc, &weights) in acc.iter_mut().zip(&weights) {
                    *acc = _mm512_fmadd_ps(xi, weights, *acc);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                _mm512_mask_storeu_ps(out.add(r * tile.out_stride + 16 * v), masks[v], acc);
            }
        }
    }

    /// The same tile in 256-bit registers: 6 rows × 2 vectors of 8 columns.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<const R: usize>(tile: &mut Tile) {
        let (x, w, out) = (tile.x.as_ptr(), tile.weights.as_ptr(), tile.out.as_mut_ptr().cast::<f32>());
        let mask = |half: usize| -> __m256i {
            let cols = tile.cols.saturating_sub(8 * half).min(8) as i32;
            _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
        };
        let masks = [mask(0), mask(1)];
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for (r, acc) in acc.iter_mut().enumerate() {
            for (h, acc) in acc.iter_mut().enumerate() {
                // SAFETY (all accesses): as in `avx512`.
                *acc = match (tile.accumulate, tile.bias) {
                    (true, _) => _mm256_maskload_ps(out.add(r * tile.out_stride + 8 * h), masks[h]),
                    (false, Some(bias)) => _mm256_loadu_ps(bias.as_ptr().add(8 * h)),
                    (false, None) => _mm256_setzero_ps(),
                };
            }
        }
        for i in 0..tile.depth {
            let w0 = _mm256_loadu_ps(w.add(i * 16));
            let w1 = _mm256_loadu_ps(w.add(i * 16 + 8));
            for (r, acc) in acc.iter_mut().enumerate() {
                let xi = _mm256_set1_ps(*x.add(r * tile.x_stride + i));
                acc[0] = _mm256_fmadd_ps(xi, w0, acc[0]);
                acc[1] = _mm256_fmadd_ps(xi, w1, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (h, &acc) in acc.iter().enumerate() {
                _mm256_maskstore_ps(out.add(r * tile.out_stride + 8 * h), masks[h], acc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

    fn values(n: usize, seed: u32) -> Vec<f32> {
        super::super::test_values(n, seed, 1.0)
    }

    #[test]
    fn every_kernel_matches_candle() -> Result<()> {
        let device = Device::Cpu;
        // Partial tiles, partial column blocks, more than one pass over the inputs, more
        // than one panel, and rows split across workers.
        for (rows, inputs, outputs) in [(1, 3, 1), (7, 37, 33), (13, 300, 70), (700, 1000, 50), (5, 64, 17)] {
            let weight = Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &device)?;
            let bias = Tensor::from_vec(values(outputs, 2), outputs, &device)?;
            let x = Tensor::from_vec(values(rows * inputs, 3), (rows, inputs), &device)?;
            let want = candle_nn::Linear::new(weight.clone(), Some(bias.clone())).forward(&x)?;
            let scale = want.abs()?.max_all()?.to_scalar::<f32>()?;
            for kernel in Kernel::available() {
                let layer = PackedLinear::pack(&weight, Some(&bias), kernel)?;
                let got = x.apply_op1_no_bwd(&layer)?;
                let error = (got - &want)?.abs()?.max_all()?.to_scalar::<f32>()?;
                // Rounding only: the two sum in different orders.
                assert!(
                    error < 1e-5 * scale,
                    "{kernel:?} {rows}×{inputs}→{outputs}: max error {error}, scale {scale}"
                );
            }
        }
        Ok(())
    }

    /// On the calling thread, and on all workers (a matrix of `PARALLEL_PACK_VALUES` or more).
    #[test]
    fn packing_rows_is_packing_the_transposed_columns() {
        for (inputs, outputs, stride) in [(37, 100, 41), (1031, PARALLEL_PACK_VALUES / 1031 + 3, 1040)] {
            let by_rows = values(inputs * stride, 6);
            let mut by_columns = vec![0f32; outputs * stride];
            for input in 0..inputs {
                for col in 0..outputs.min(stride) {
                    by_columns[col * stride + input] = by_rows[input * stride + col];
                }
            }
            let outputs = outputs.min(stride);
            for kernel in Kernel::available() {
                let rows = PackedMatrix::from_rows(kernel, inputs, outputs, &by_rows, stride);
                let columns = PackedMatrix::from_columns(kernel, inputs, outputs, &by_columns, stride);
                assert_eq!(&rows.data[..], &columns.data[..], "{kernel:?}, {inputs} × {outputs}");
            }
        }
    }

    #[test]
    fn keeps_leading_dimensions_and_handles_no_bias() -> Result<()> {
        let device = Device::Cpu;
        let weight = Tensor::from_vec(values(5 * 8, 4), (5, 8), &device)?;
        let x = Tensor::from_vec(values(2 * 3 * 8, 5), (2, 3, 8), &device)?;
        let want = candle_nn::Linear::new(weight.clone(), None).forward(&x)?;
        for kernel in Kernel::available() {
            let got = x.apply_op1_no_bwd(&PackedLinear::pack(&weight, None, kernel)?)?;
            assert_eq!(got.dims(), &[2, 3, 5]);
            assert!((got - &want)?.abs()?.max_all()?.to_scalar::<f32>()? < 1e-5);
        }
        Ok(())
    }

    #[test]
    fn nan_inputs_stay_in_their_rows() -> Result<()> {
        let device = Device::Cpu;
        let weight = Tensor::ones((3, 4), candle_core::DType::F32, &device)?;
        for kernel in Kernel::available() {
            let layer = PackedLinear::pack(&weight, None, kernel)?;
            let x = Tensor::from_vec(vec![1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], (2, 4), &device)?;
            let y = x.apply_op1_no_bwd(&layer)?.to_vec2::<f32>()?;
            assert!(y[0].iter().all(|v| v.is_nan()) && y[1] == vec![4.0; 3], "{kernel:?}: {y:?}");
        }
        Ok(())
    }
}
