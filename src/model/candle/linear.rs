//! The encoders' linear layers: f32 through our packed kernels where the CPU has them (else
//! candle's matmul), or int8 (`--dtype`).

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Module, Result, Shape, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::int8::Int8Linear;
use super::packed::{Kernel, PackedLinear};
use crate::model::Dtype;

#[derive(Debug)]
pub enum Linear {
    Candle(candle_nn::Linear),
    Packed(PackedLinear),
    Int8(Int8Linear),
}

/// Loads `weight` `(out, inp)` and `bias` under `vb`, packed or quantized for this CPU.
pub fn linear(inp: usize, out: usize, vb: VarBuilder, dtype: Dtype) -> Result<Linear> {
    let layer = candle_nn::linear(inp, out, vb)?;
    Ok(match (dtype, Kernel::for_tensor(layer.weight())) {
        (Dtype::Int8, _) => Linear::Int8(Int8Linear::quantize(layer.weight(), layer.bias())?),
        (Dtype::F32, Some(kernel)) if kernel.beats_candle_matmul() => {
            Linear::Packed(PackedLinear::pack(layer.weight(), layer.bias(), kernel)?)
        }
        (Dtype::F32, _) => Linear::Candle(layer),
    })
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::Candle(layer) => layer.forward(xs),
            Self::Packed(layer) => xs.contiguous()?.apply_op1_no_bwd(layer),
            Self::Int8(layer) => xs.contiguous()?.apply_op1_no_bwd(layer),
        }
    }
}

/// Runs `work` on the input and output rows split across rayon's workers, in whole tiles of
/// `tile_rows`, so that every worker but the last runs full tiles.
pub(super) fn par_rows(
    input: &[f32],
    in_features: usize,
    output: &mut [f32],
    out_features: usize,
    tile_rows: usize,
    work: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    let rows = input.len() / in_features.max(1);
    if rows == 0 || out_features == 0 {
        return;
    }
    let per_worker = rows.div_ceil(tile_rows).div_ceil(rayon::current_num_threads()) * tile_rows;
    output
        .par_chunks_mut(per_worker * out_features)
        .zip(input.par_chunks(per_worker * in_features))
        .for_each(|(output, input)| work(input, output));
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

/// The f32 data of a contiguous tensor.
pub(super) fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        (CpuStorage::F32(_), None) => candle_core::bail!("expected a contiguous tensor"),
        _ => candle_core::bail!("expected f32, got {:?}", storage.dtype()),
    }
}
