//! Times the encoders' linear layers alone at BERT-base's shapes, f32 (what `--dtype f32`
//! runs on this CPU) against int8, so a kernel change can be judged without a whole model.
//! Not part of the CLI. Kernels are capped with `STANCE_CPU_LEVEL` as in the forward pass.
//!
//! `linear_bench [--rows N] [--repeats N] [--cpu-time]`: prints one markdown row per shape with
//! GFLOP/s (median of the repeats, or the best with `--best`) and int8's ratio to f32. `--cpu-time` divides by the
//! process's CPU time instead of the wall time: GFLOP per CPU-second, which stays comparable
//! while other processes share the cores (with `RAYON_NUM_THREADS=1`, per core).

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use clap::Parser;
use stance::model::candle::linear::linear;
use stance::model::Dtype;

#[derive(Parser)]
struct Args {
    /// Tokens in one batch (32 benchmark pairs of ~46 tokens).
    #[arg(long, default_value_t = 1472)]
    rows: usize,
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Rates per CPU-second of this process rather than per second of wall time.
    #[arg(long)]
    cpu_time: bool,
    /// The fastest repeat instead of the median: what the kernel can do when nothing else
    /// interferes (other processes only ever slow a repeat down).
    #[arg(long)]
    best: bool,
}

/// Seconds on the wall clock, or of this process's CPU time.
fn seconds(cpu_time: bool) -> f64 {
    if !cpu_time {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        return START.get_or_init(Instant::now).elapsed().as_secs_f64();
    }
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn gflops(layer: &impl Module, input: &Tensor, flops: f64, args: &Args) -> Result<f64> {
    layer.forward(input)?;
    let mut rates = Vec::with_capacity(args.repeats);
    for _ in 0..args.repeats {
        let start = seconds(args.cpu_time);
        layer.forward(input)?;
        rates.push(flops / (seconds(args.cpu_time) - start) / 1e9);
    }
    Ok(if args.best { rates.into_iter().fold(0.0, f64::max) } else { median(rates) })
}

fn main() -> Result<()> {
    stance::tune_allocator();
    let args = Args::parse();
    let device = Device::Cpu;
    // Numbers mean something only with the CPU they were taken on (see scripts/bench/cpu.sh).
    let cpu = std::process::Command::new("bash").arg("scripts/bench/cpu.sh").output();
    if let Ok(line) = cpu.as_ref().map(|out| String::from_utf8_lossy(&out.stdout)) {
        print!("{line}");
    }
    println!("| in → out | rows | f32 GFLOP/s | int8 GFLOP/s | int8 / f32 |\n|---|---|---|---|---|");
    for (inp, out) in [(768, 768), (768, 3072), (3072, 768)] {
        let tensors = HashMap::from([
            ("weight".to_string(), (Tensor::randn(0f32, 0.05, (out, inp), &device)?)),
            ("bias".to_string(), Tensor::randn(0f32, 0.05, out, &device)?),
        ]);
        let input = Tensor::randn(0f32, 1.0, (args.rows, inp), &device)?;
        let flops = 2.0 * (args.rows * inp * out) as f64;
        let mut rates = Vec::new();
        for dtype in [Dtype::F32, Dtype::Int8] {
            let vb = VarBuilder::from_tensors(tensors.clone(), DType::F32, &device);
            rates.push(gflops(&linear(inp, out, vb, dtype)?, &input, flops, &args)?);
        }
        println!(
            "| {inp} → {out} | {} | {:.1} | {:.1} | {:.2}× |",
            args.rows,
            rates[0],
            rates[1],
            rates[1] / rates[0]
        );
    }
    Ok(())
}
