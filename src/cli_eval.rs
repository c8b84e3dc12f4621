//! `stance eval` and `stance train`: arguments and the glue to [`stance::eval`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use stance::eval::{
    self, ClassWeight, EvalJob, EvalOptions, GoldFormat, GoldOptions, TrainJob, TrainOptions,
};
use stance::model::Dtype;
use stance::output::{write_file, write_table, TableFormat};
use stance::progress::Reporter;
use stance::score::{LongText, Method, ScoreOptions};
use stance::targets::{Stance, TargetSet};

use crate::cli::parse_label_map;
use crate::progress_bar::Bars;

/// How to read the gold set.
#[derive(Debug, Args)]
pub struct GoldArgs {
    /// Gold file layout (default: recognised from the header).
    #[arg(long, value_enum)]
    format: Option<GoldFormat>,
    /// Column holding the statement text.
    #[arg(long, value_name = "NAME")]
    text_col: Option<String>,
    /// Column holding each row's target.
    #[arg(long, value_name = "NAME")]
    target_col: Option<String>,
    /// Column holding the gold stance; given once per coder for several coders (their
    /// agreement is reported, and the majority label is the gold).
    #[arg(long = "label-col", value_name = "NAME")]
    label_col: Vec<String>,
    /// Gold label mapping, e.g. FAVOR=favor,AGAINST=against,NEUTRAL=none.
    #[arg(long, value_name = "LABEL=STANCE,...", value_parser = parse_label_map)]
    label_map: Option<BTreeMap<String, Stance>>,
    /// Only these targets; for a file without a target column, the one target of every row.
    #[arg(long = "target", value_name = "NAME")]
    target: Vec<String>,
}

impl GoldArgs {
    fn options(&self) -> GoldOptions {
        GoldOptions {
            format: self.format,
            text_col: self.text_col.clone(),
            target_col: self.target_col.clone(),
            label_cols: self.label_col.clone(),
            label_map: self.label_map.clone().unwrap_or_default(),
            targets: self.target.clone(),
            ..GoldOptions::default()
        }
    }
}

/// How texts go through the model.
#[derive(Debug, Args)]
pub struct InferenceArgs {
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Tokens per model input (default: the model's limit or its tokenizer's, at most 512; LLM prompts: 2048).
    #[arg(long)]
    max_length: Option<usize>,
    /// Long statements: keep the beginning, or average overlapping windows.
    #[arg(long, value_enum, default_value_t = LongText::Truncate)]
    long: LongText,
    /// Tokens shared by consecutive windows (--long window).
    #[arg(long, default_value_t = 64)]
    stride: usize,
    /// Inference device: cpu, or cuda:N in a CUDA build.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Linear layers in f32, int8 (CPU only) or q8_0 (LLMs); faster, approximate: see the README.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::cli::parse_threads)]
    threads: Option<usize>,
}

impl InferenceArgs {
    fn apply_threads(&self) {
        if let Some(threads) = self.threads {
            // Read by candle's thread pool sizing; set before any inference starts.
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Gold set: labelled tables (.csv, .tsv, .jsonl/.ndjson, .parquet) or benchmark files,
    /// one or several (read as one set).
    #[arg(required = true)]
    gold: Vec<PathBuf>,
    /// Model to score the gold set with; without it, the table's own p_favor/p_against/p_none
    /// (or --pred-col) are evaluated.
    #[arg(long, short)]
    model: Option<String>,
    /// Scoring method; by default chosen from the model (embedding with --head).
    #[arg(long, value_enum)]
    method: Option<Method>,
    /// NLI: entailment vs contradiction per hypothesis, instead of across hypotheses.
    #[arg(long)]
    per_hypothesis: bool,
    /// Embedding method: a stance head trained by `stance train` instead of prototypes.
    #[arg(long, value_name = "FILE")]
    head: Option<PathBuf>,
    /// Classifier label mapping of the model, e.g. LABEL_0=against,LABEL_1=favor,LABEL_2=none.
    #[arg(long, value_name = "LABEL=STANCE,...", value_parser = parse_label_map)]
    model_label_map: Option<BTreeMap<String, Stance>>,
    /// Embedding method: similarity temperature.
    #[arg(long, default_value_t = 0.05)]
    temperature: f32,
    /// LLM method: a Jinja chat template instead of the model's (tokenizer_config.json).
    #[arg(long, value_name = "FILE")]
    chat_template: Option<PathBuf>,
    /// Hypotheses per target (TOML, as for `stance score`); other targets are left out.
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    targets: Option<PathBuf>,
    #[command(flatten)]
    gold_args: GoldArgs,
    /// Column of dates for --split-by-date.
    #[arg(long, value_name = "NAME")]
    date_col: Option<String>,
    /// Column of predicted labels, in a table scored by another tool without probabilities.
    #[arg(long, value_name = "NAME")]
    pred_col: Option<String>,
    /// Stances a prediction may take, e.g. favor,against for a gold set without none.
    #[arg(long, value_delimiter = ',', value_parser = parse_stance, default_value = "favor,against,none")]
    classes: Vec<Stance>,
    /// Also report the rows dated before DATE and from DATE on.
    #[arg(long, value_name = "DATE")]
    split_by_date: Option<String>,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    ci: f64,
    /// Seed of the bootstrap (recorded in the output).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Bins of the expected calibration error.
    #[arg(long, default_value_t = 10)]
    bins: usize,
    #[command(flatten)]
    inference: InferenceArgs,
    /// Report file: .json (one document), or .parquet/.csv/.tsv/.ndjson (one row per slice).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Writes the gold rows with their predictions (any table format); `stance eval` reads it
    /// back without a model.
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled examples: tables or benchmark files, read as by `stance eval`.
    #[arg(required = true)]
    gold: Vec<PathBuf>,
    /// Sentence-embedding model whose embeddings the head reads.
    #[arg(long, short)]
    model: String,
    #[command(flatten)]
    gold_args: GoldArgs,
    /// L2 penalties to try (comma-separated); cross-validated macro-F1 picks among several.
    #[arg(long, value_delimiter = ',', default_value = "0.00001,0.0001,0.001,0.01")]
    l2: Vec<f64>,
    /// Row weights: balanced (each class weighs the same in total) or none.
    #[arg(long, value_enum, default_value_t = ClassWeight::Balanced)]
    class_weight: ClassWeight,
    /// Cross-validation folds (stratified by target and label); 0 skips cross-validation.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Most L-BFGS iterations per fit.
    #[arg(long, default_value_t = TrainOptions::default().max_iter)]
    max_iter: usize,
    #[command(flatten)]
    inference: InferenceArgs,
    /// Head file to write (.safetensors).
    #[arg(long, short)]
    out: PathBuf,
}

fn parse_stance(text: &str) -> Result<Stance, String> {
    Stance::parse(text).ok_or_else(|| format!("`{text}` is not a stance (favor, against, none)"))
}

/// Fails early, before minutes of scoring, when an output cannot be written.
fn check_folder(out: &Path) -> Result<()> {
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        bail!("cannot write {}: folder {} does not exist", out.display(), folder.display());
    }
    Ok(())
}

fn is_json_document(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

pub fn eval(args: &EvalArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    args.inference.apply_threads();
    if let Some(out) = &args.out {
        if !is_json_document(out) {
            TableFormat::from_path(out)?;
        }
        check_folder(out)?;
    }
    if let Some(path) = &args.predictions {
        TableFormat::from_path(path)?;
        check_folder(path)?;
    }
    if args.model.is_none() {
        let model_only = [
            ("--method", args.method.is_some()),
            ("--head", args.head.is_some()),
            ("--per-hypothesis", args.per_hypothesis),
            ("--model-label-map", args.model_label_map.is_some()),
            ("--chat-template", args.chat_template.is_some()),
        ];
        if let Some((flag, _)) = model_only.iter().find(|(_, given)| *given) {
            bail!("{flag} needs --model: it says how the model scores the gold set");
        }
    }
    let targets = match &args.targets {
        Some(file) => Some(TargetSet::from_toml_file_for_gold(file)?),
        None => None,
    };
    let mut gold_options = args.gold_args.options();
    gold_options.date_col = args.date_col.clone();
    gold_options.pred_col = args.pred_col.clone();
    let job = EvalJob {
        gold: args.gold.clone(),
        gold_options,
        model: args.model.clone(),
        device: args.inference.device.clone(),
        score_options: ScoreOptions {
            method: args.method,
            per_hypothesis: args.per_hypothesis,
            batch_size: args.inference.batch_size,
            max_length: args.inference.max_length,
            long: args.inference.long,
            stride: args.inference.stride,
            label_map: args.model_label_map.clone().unwrap_or_default(),
            temperature: args.temperature,
            head: args.head.clone(),
            dtype: args.inference.dtype,
            chat_template: args.chat_template.clone(),
        },
        targets,
        options: EvalOptions {
            classes: args.classes.clone(),
            bootstrap: args.bootstrap,
            level: args.ci,
            seed: args.seed,
            bins: args.bins,
            split_date: args.split_by_date.clone(),
        },
    };
    let started = std::time::Instant::now();
    let outcome = eval::evaluate(&job, command_line, reporter)?;
    if let (Some(model), Some(method)) = (&args.model, outcome.method) {
        reporter.note(&format!(
            "scored {} rows with {model} ({}) in {:.1}s",
            outcome.gold.len(),
            method.as_str(),
            started.elapsed().as_secs_f64()
        ));
    }
    write!(std::io::stdout().lock(), "{}", outcome.report.render())?;
    if let Some(out) = &args.out {
        if is_json_document(out) {
            let mut text = serde_json::to_string_pretty(&outcome.to_json())?;
            text.push('\n');
            write_file(out, text.as_bytes())?;
        } else {
            let mut frame = outcome.report.to_frame()?;
            write_table(&mut frame, out, &outcome.provenance)?;
        }
        reporter.note(&format!("wrote the report to {}", out.display()));
    }
    if let Some(path) = &args.predictions {
        let mut frame = outcome.predictions_frame()?;
        write_table(&mut frame, path, &outcome.provenance)?;
        reporter.note(&format!("wrote {} predictions to {}", frame.height(), path.display()));
    }
    Ok(())
}

pub fn train(args: &TrainArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    args.inference.apply_threads();
    eval::run::check_head_path(&args.out)?;
    check_folder(&args.out)?;
    let options = TrainOptions {
        l2: args.l2.clone(),
        class_weight: args.class_weight,
        folds: args.folds,
        seed: args.seed,
        max_iter: args.max_iter,
        ..TrainOptions::default()
    };
    let job = TrainJob {
        gold: args.gold.clone(),
        gold_options: args.gold_args.options(),
        model: args.model.clone(),
        device: args.inference.device.clone(),
        score_options: ScoreOptions {
            method: Some(Method::Embedding),
            batch_size: args.inference.batch_size,
            max_length: args.inference.max_length,
            long: args.inference.long,
            stride: args.inference.stride,
            dtype: args.inference.dtype,
            ..ScoreOptions::default()
        },
        options,
        out: args.out.clone(),
    };
    let started = std::time::Instant::now();
    let outcome = eval::train(&job, command_line, reporter)?;
    let t = &outcome.training;
    let mut out = std::io::stdout().lock();
    let counts: Vec<String> = t
        .classes
        .iter()
        .zip(&t.class_weights)
        .map(|(c, w)| format!("{c} {} (weight {w:.3})", t.class_counts[*c as usize]))
        .collect();
    writeln!(
        out,
        "trained on {} rows, {} target(s); classes: {}",
        outcome.rows,
        outcome.targets.len(),
        counts.join(", ")
    )?;
    if !t.cross_validation.is_empty() {
        writeln!(
            out,
            "\ncross-validation: {} folds stratified by target and label, seed {}",
            job.options.folds, job.options.seed
        )?;
        writeln!(out, "{:>10} {:>9} {:>9} {:>7}  fold macro-F1", "l2", "accuracy", "macro-F1", "F_avg")?;
        let num = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        for cv in &t.cross_validation {
            let folds: Vec<String> = cv.fold_macro_f1.iter().map(|v| num(*v)).collect();
            writeln!(
                out,
                "{:>10} {:>9} {:>9} {:>7}  {}",
                cv.l2,
                num(cv.accuracy),
                num(cv.macro_f1),
                num(cv.f_avg),
                folds.join(" ")
            )?;
        }
    }
    writeln!(
        out,
        "\nhead: l2 {}, {} L-BFGS iterations ({}), training accuracy {:.3}",
        t.l2,
        t.fit.iterations,
        if t.fit.converged { "converged" } else { "not converged: raise --max-iter" },
        t.train_accuracy
    )?;
    reporter.note(&format!(
        "wrote {} (trained on {}) in {:.1}s",
        args.out.display(),
        outcome.head.info.model_id,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
