//! The encoders' linear layers, in f32 or int8 (`--dtype`).

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::int8::Int8Linear;
use crate::model::Dtype;

#[derive(Debug)]
pub enum Linear {
    F32(candle_nn::Linear),
    Int8(Int8Linear),
}

/// Loads `weight` `(out, inp)` and `bias` under `vb`, quantized when `dtype` says so.
pub fn linear(inp: usize, out: usize, vb: VarBuilder, dtype: Dtype) -> Result<Linear> {
    let layer = candle_nn::linear(inp, out, vb)?;
    Ok(match dtype {
        Dtype::F32 => Linear::F32(layer),
        Dtype::Int8 => Linear::Int8(Int8Linear::quantize(layer.weight(), layer.bias())?),
    })
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Self::F32(layer) => layer.forward(xs),
            Self::Int8(layer) => xs.contiguous()?.apply_op1_no_bwd(layer),
        }
    }
}
