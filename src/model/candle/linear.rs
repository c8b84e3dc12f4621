//! The encoders' linear layers: f32 through our packed kernels where the CPU has them (else
//! candle's matmul), or int8 (`--dtype`).

use std::mem::MaybeUninit;

use candle_core::backend::BackendStorage;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::cpu::Level;
use super::fused::Epilogue;
use super::int8::Int8Linear;
use super::packed::{Kernel, PackedLinear};
use super::Activation;
use crate::model::Dtype;

/// A linear layer, optionally followed by an activation.
#[derive(Debug)]
pub struct Linear {
    product: Product,
    /// Applied after the product, when the kernel does not apply it itself.
    activation: Activation,
}

#[derive(Debug)]
enum Product {
    Candle(candle_nn::Linear),
    Packed(PackedLinear),
    Int8(Int8Linear),
    /// GGML q8_0 weights (`--dtype q8_0`) and the f32 bias.
    Quantized(QMatMul, Option<Tensor>),
}

/// Loads `weight` `(out, inp)` and `bias` under `vb`, packed or quantized for this CPU.
pub fn linear(inp: usize, out: usize, vb: VarBuilder, dtype: Dtype) -> Result<Linear> {
    Linear::new(candle_nn::linear(inp, out, vb)?, dtype)
}

/// [`linear`] for layers without a bias (decoder LLMs' projections).
pub fn linear_no_bias(inp: usize, out: usize, vb: VarBuilder, dtype: Dtype) -> Result<Linear> {
    Linear::new(candle_nn::linear_no_bias(inp, out, vb)?, dtype)
}

impl Linear {
    /// `layer`'s weights packed or quantized for this CPU (a tied LM head reuses the
    /// embedding matrix this way).
    pub fn new(layer: candle_nn::Linear, dtype: Dtype) -> Result<Self> {
        let product = match (dtype, Kernel::for_tensor(layer.weight())) {
            (Dtype::Int8, _) => Product::Int8(Int8Linear::quantize(layer.weight(), layer.bias())?),
            (Dtype::Q8_0, _) => Product::Quantized(
                QMatMul::from_qtensor(QTensor::quantize(layer.weight(), GgmlDType::Q8_0)?)?,
                layer.bias().cloned(),
            ),
            (Dtype::F32, Some(kernel)) if kernel.beats_candle_matmul() => {
                Product::Packed(PackedLinear::pack(layer.weight(), layer.bias(), kernel)?)
            }
            (Dtype::F32, _) => Product::Candle(layer),
        };
        Ok(Self { product, activation: Activation::Identity })
    }
}

/// A classification head's layer: f32 through a packed kernel on every CPU (the portable one
/// included), else candle's matmul. Heads run on one row per sequence, so the number of rows
/// is the batch's size, and candle's matmul sums differently for different row counts (its
/// small-matrix path): through a packed kernel, whose sums for a row never depend on the other
/// rows, a statement gets the same bits in any batch, so a sharded run's scores equal an
/// unsharded run's. Heads are a sliver of the work, so the portable kernel costs nothing here.
pub fn head_linear(inp: usize, out: usize, vb: VarBuilder) -> Result<Linear> {
    let layer = candle_nn::linear(inp, out, vb)?;
    let product = match Kernel::for_tensor(layer.weight()) {
        Some(kernel) => Product::Packed(PackedLinear::pack(layer.weight(), layer.bias(), kernel)?),
        None => Product::Candle(layer),
    };
    Ok(Linear { product, activation: Activation::Identity })
}

impl Linear {
    /// This layer followed by `activation`. Our CPU kernels apply the exact GELU to each panel
    /// of outputs as it is finished, while it is in cache; anything else runs after the product.
    pub fn then(self, activation: Activation) -> Self {
        let Self { mut product, activation: before } = self;
        assert_eq!(before, Activation::Identity, "one activation per layer");
        match (&mut product, activation) {
            (Product::Packed(layer), Activation::Gelu) => layer.epilogue = Epilogue::Gelu,
            (Product::Int8(layer), Activation::Gelu) => layer.epilogue = Epilogue::Gelu,
            _ => return Self { product, activation },
        }
        Self { product, activation: Activation::Identity }
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let product = match &self.product {
            Product::Candle(layer) => layer.forward(xs)?,
            Product::Packed(layer) => xs.contiguous()?.apply_op1_no_bwd(layer)?,
            Product::Int8(layer) => xs.contiguous()?.apply_op1_no_bwd(layer)?,
            Product::Quantized(weights, bias) => {
                let product = weights.forward(&xs.contiguous()?)?;
                match bias {
                    Some(bias) => product.broadcast_add(bias)?,
                    None => product,
                }
            }
        };
        self.activation.forward(&product)
    }
}

/// Rows per panel of the int8 kernels: a panel's outputs, 48 × 3072 f32 (BERT-base's
/// feed-forward) = 576 KiB, stay in L2 for the epilogue. They are compute-bound, so larger
/// panels gained nothing there; the f32 kernels size theirs from the cache
/// ([`super::packed::panel_rows`]).
pub(super) const PANEL_ROWS: usize = 48;

/// How a kernel takes a product's rows: `tile` at a time, and `panel` (a multiple of `tile`)
/// between two passes of its epilogue.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowBlocks {
    pub tile: usize,
    pub panel: usize,
}

/// Chunks per worker that `par_rows` aims for where a product has fewer than that many panels
/// per worker: enough that a worker slowed by the machine's other load hands its last chunks to
/// the other.
const CHUNKS_PER_WORKER: usize = 4;

/// Runs `work` on chunks of the input rows, whole tiles of at most a panel each, which rayon's
/// workers take as they go free; `epilogue` then runs on each chunk's outputs while they are in
/// cache. Returns the `(rows, out_features)` outputs, which `work` writes without their being
/// zeroed first: zeroing them (in each worker) took 1.3% of BERT-base's f32 forward pass on an
/// AVX2 CPU, 2% of int8's. Halving the rows between the workers up front left one waiting for
/// the other 9–16% of the time on a busy 2-core machine (short pairs through BERT-base, Intel
/// Xeon): the slower worker sets the pace of every product.
///
/// # Safety
/// `work` writes every value of the output chunk it is given.
pub(super) unsafe fn par_rows(
    input: &[f32],
    in_features: usize,
    out_features: usize,
    blocks: RowBlocks,
    epilogue: Epilogue,
    work: impl Fn(&[f32], &mut [MaybeUninit<f32>]) + Sync,
) -> Vec<f32> {
    let RowBlocks { tile: tile_rows, panel: panel_rows } = blocks;
    debug_assert_eq!(panel_rows % tile_rows, 0);
    let rows = input.len() / in_features.max(1);
    let len = rows * out_features;
    if len == 0 {
        return Vec::new();
    }
    let level = Level::detected();
    let chunk_rows = rows
        .div_ceil(rayon::current_num_threads() * CHUNKS_PER_WORKER)
        .next_multiple_of(tile_rows)
        .min(panel_rows);
    let mut output = Vec::with_capacity(len);
    output.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk_rows * out_features)
        .zip(input.par_chunks(chunk_rows * in_features))
        .for_each(|(output, input)| {
            work(input, output);
            // SAFETY: `work` wrote every value (the caller's promise); `MaybeUninit<f32>` has
            // `f32`'s layout.
            let output = unsafe { &mut *(output as *mut [MaybeUninit<f32>] as *mut [f32]) };
            epilogue.apply(level, output);
        });
    // SAFETY: the chunks cover the first `len` values, and `work` wrote each chunk's.
    unsafe { output.set_len(len) };
    output
}

/// The CPU side of a linear layer as a candle op: checks that the input is contiguous f32
/// `(.., in_features)` and returns `(.., out_features)` as `matmul` computes it from the
/// row-major input.
pub(super) fn rows_op(
    storage: &CpuStorage,
    layout: &Layout,
    in_features: usize,
    out_features: usize,
    matmul: impl FnOnce(&[f32]) -> Vec<f32>,
) -> Result<(CpuStorage, Shape)> {
    let input = contiguous_f32(storage, layout)?;
    let mut dims = layout.shape().dims().to_vec();
    match dims.last_mut() {
        Some(last) if *last == in_features => *last = out_features,
        _ => candle_core::bail!("linear layer expects {in_features} inputs, got shape {dims:?}"),
    }
    Ok((CpuStorage::F32(matmul(input)), Shape::from(dims)))
}

/// Calls `f` with `tensor`'s values as f32 in row-major order: borrowed where the tensor holds
/// contiguous f32 on the CPU (a model's weights, read once at load, where a copy of BERT-base's
/// would fault in and fill another 440 MB), else converted.
pub(super) fn with_f32_values<R>(tensor: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = tensor.storage_and_layout();
        if let (candle_core::Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
        {
            return Ok(f(&data[start..end]));
        }
    }
    let values: Vec<f32> = tensor.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1()?;
    Ok(f(&values))
}

/// The f32 data of a contiguous tensor.
pub(super) fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        (CpuStorage::F32(_), None) => candle_core::bail!("expected a contiguous tensor"),
        _ => candle_core::bail!("expected f32, got {:?}", storage.dtype()),
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        super::super::test_values(n, seed, 2.0)
    }

    /// An activation fused into a kernel gives the same numbers as the activation applied after
    /// the product, for every product this CPU runs, over several panels per worker (one
    /// worker) and panels split across workers (two).
    #[test]
    fn fused_activation_is_the_activation_after_the_product() -> Result<()> {
        let device = Device::Cpu;
        let (inputs, outputs, rows) = (40, 70, 3 * PANEL_ROWS.max(super::super::packed::panel_rows()) + 5);
        let weight = Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &device)?;
        let bias = Tensor::from_vec(values(outputs, 2), outputs, &device)?;
        let x = Tensor::from_vec(values(rows * inputs, 3), (rows, inputs), &device)?;
        let products = || -> Result<Vec<Product>> {
            let mut products = Kernel::available()
                .into_iter()
                .map(|kernel| PackedLinear::pack(&weight, Some(&bias), kernel).map(Product::Packed))
                .collect::<Result<Vec<_>>>()?;
            products.push(Product::Candle(candle_nn::Linear::new(weight.clone(), Some(bias.clone()))));
            products.push(Product::Int8(Int8Linear::quantize(&weight, Some(&bias))?));
            Ok(products)
        };
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| -> Result<()> {
                for activation in [Activation::Gelu, Activation::GeluTanh, Activation::Relu] {
                    for (plain, fused) in products()?.into_iter().zip(products()?) {
                        let plain = Linear { product: plain, activation: Activation::Identity };
                        let want = activation.forward(&plain.forward(&x)?)?.to_vec2::<f32>()?;
                        let fused =
                            Linear { product: fused, activation: Activation::Identity }.then(activation);
                        let case = format!("{:?}, {activation:?}, {threads} threads", fused.product);
                        let kernel_applies =
                            activation == Activation::Gelu && !matches!(fused.product, Product::Candle(_));
                        assert_eq!(fused.activation == Activation::Identity, kernel_applies, "{case}");
                        assert_eq!(fused.forward(&x)?.to_vec2::<f32>()?, want, "{case}");
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}
