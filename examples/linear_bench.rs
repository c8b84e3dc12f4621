//! Times the encoders' linear layers alone at BERT-base's shapes, f32 (what `--dtype f32`
//! runs on this CPU) against int8, so a kernel change can be judged without a whole model.
//! Not part of the CLI. Kernels are capped with `STANCE_CPU_LEVEL` as in the forward pass.
//!
//! `linear_bench [--rows N] [--repeats N] [--cpu-time]`: prints one markdown row per shape with
//! GFLOP/s (median of the repeats, or the best with `--best`) and int8's ratio to f32. `--cpu-time` divides by the
//! process's CPU time instead of the wall time: GFLOP per CPU-second, which stays comparable
//! while other processes share the cores (with `RAYON_NUM_THREADS=1`, per core).
//!
//! First it prints the CPU's f32 multiply-add peak on the same threads, measured the same way
//! (`FMA peak: … GFLOP/s`): a kernel's share of it says how much any code could still gain,
//! where a ratio to another library's sgemm only says who is ahead.

use std::collections::HashMap;
use std::hint::black_box;
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

/// Independent multiply-add chains per thread, as many as the registers hold beside the two
/// operands (16 for AVX2, 32 for AVX-512): more than the FMA latency on both ports needs (4
/// cycles × 2), so that the loop runs at the ports' throughput.
const CHAINS: usize = 12;
const CHAINS_512: usize = 24;

/// Multiply-adds of `CHAINS` vectors, `iterations` times, at the widest vector the CPU has;
/// returns the FLOPs done. Operands and sums pass through `black_box`: with constants, the
/// compiler computes the result at build time.
fn fma_loop(iterations: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        /// The loop at one vector width: `$set1`/`$fmadd` of `$lanes` floats, `$chains` sums.
        macro_rules! fma_at {
            ($name:ident, $features:literal, $set1:ident, $fmadd:ident, $chains:expr, $lanes:expr) => {
                #[target_feature(enable = $features)]
                unsafe fn $name(iterations: usize) -> f64 {
                    let (mut acc, a, b) = black_box(([$set1(1.0); $chains], $set1(0.999_9), $set1(1e-4)));
                    for _ in 0..iterations {
                        for acc in &mut acc {
                            *acc = $fmadd(*acc, a, b);
                        }
                    }
                    black_box(acc);
                    (iterations * $chains * $lanes * 2) as f64
                }
            };
        }
        fma_at!(avx512, "avx512f", _mm512_set1_ps, _mm512_fmadd_ps, CHAINS_512, 16);
        fma_at!(avx2, "avx2,fma", _mm256_set1_ps, _mm256_fmadd_ps, CHAINS, 8);
        // SAFETY: each runs only where the CPU has its features.
        if std::arch::is_x86_feature_detected!("avx512f") {
            return unsafe { avx512(iterations) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return unsafe { avx2(iterations / 2) };
        }
    }
    let (mut acc, a, b) = black_box(([1f32; CHAINS], 0.999_9f32, 1e-4f32));
    for _ in 0..iterations {
        for acc in &mut acc {
            *acc = acc.mul_add(a, b);
        }
    }
    black_box(acc);
    (iterations * CHAINS * 2) as f64
}

/// The CPU's f32 multiply-add peak in GFLOP/s on all of rayon's threads at once (they share
/// the cores' clock budget, so one core alone runs faster), timed like the products.
fn fma_peak(args: &Args) -> f64 {
    const ITERATIONS: usize = 20_000_000;
    let mut rates = Vec::with_capacity(args.repeats);
    for _ in 0..args.repeats {
        let start = seconds(args.cpu_time);
        let flops: f64 = rayon::broadcast(|_| fma_loop(ITERATIONS)).into_iter().sum();
        let elapsed = seconds(args.cpu_time) - start;
        rates.push(flops / elapsed / 1e9);
    }
    if args.best {
        rates.into_iter().fold(0.0, f64::max)
    } else {
        median(rates)
    }
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
    let peak = fma_peak(&args);
    println!("FMA peak: {peak:.1} GFLOP/s on {} threads\n", rayon::current_num_threads());
    println!("| in → out | rows | f32 GFLOP/s | int8 GFLOP/s | int8 / f32 | f32 / FMA peak |\n|---|---|---|---|---|---|");
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
            "| {inp} → {out} | {} | {:.1} | {:.1} | {:.2}× | {:.0}% |",
            args.rows,
            rates[0],
            rates[1],
            rates[1] / rates[0],
            100.0 * rates[0] / peak
        );
    }
    Ok(())
}
