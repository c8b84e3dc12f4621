//! Argument definitions and the glue from each subcommand to the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use polars::prelude::*;
use stance::analysis::{
    self, Allocation, CompareOptions, Dependence, Penalty, Period, SampleOptions, ShiftOptions, TrendOptions,
};
use stance::cache::ScoreCache;
use stance::checkpoint::{self, Existing};
use stance::corpus::CorpusOptions;
use stance::model::{self, hub, presets, Dtype, HubId};
use stance::output::plot::{self, PlotOptions};
use stance::output::write_table;
use stance::pipeline::{self, RunOptions, ScoreJob};
use stance::progress::Reporter;
use stance::provenance::Provenance;
use stance::score::{LongText, Method, ScoreOptions};
use stance::shard::Shard;
use stance::targets::{Stance, TargetSet, Templates};

use crate::progress_bar::Bars;

#[derive(Debug, Parser)]
#[command(
    name = "stance",
    version,
    about = "Score official statements for stance toward targets, and track how stances shift"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress bars or notes.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Direct quotes from news articles, attributed to actors: a statements corpus to score.
    Extract(crate::cli_extract::ExtractArgs),
    /// Precision, recall and F1 of `stance extract` against hand-annotated gold quotes.
    EvalExtract(crate::cli_extract::EvalExtractArgs),
    /// Score statements × targets for stance.
    Score(ScoreArgs),
    /// Join the shard tables of a sharded `stance score` into the table one run writes.
    Merge(MergeArgs),
    /// Model presets, downloads and local information.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Mean stance per actor × target × period, with bootstrap confidence intervals.
    Trend(TrendArgs),
    /// Dated, sized and tested change points in each actor's stance.
    Shift(ShiftArgs),
    /// Actors side by side, period by period, with the gaps between them.
    Compare(CompareArgs),
    /// Trend chart (SVG or PNG): a line per actor, CI bands, shift markers.
    Plot(PlotArgs),
    /// A reproducible stratified sample of scored statements to hand-code, with sampling weights.
    Sample(SampleArgs),
    /// Print a table (Parquet, CSV, TSV, NDJSON) and its provenance.
    Show(ShowArgs),
    /// Measure a model against a hand-labelled gold set: macro-F1, F_avg, calibration.
    Eval(crate::cli_eval::EvalArgs),
    /// Train a stance head on labelled examples, for the embedding method.
    Train(crate::cli_eval::TrainArgs),
    /// The score cache: what it holds, or empty it.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
}

/// Bootstrap settings shared by the analysis commands.
#[derive(Debug, Args)]
struct BootstrapArgs {
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 2000)]
    bootstrap: usize,
    /// Seed of every random draw (recorded in the output).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Args)]
struct TrendArgs {
    /// Scores table with at least actor, date, target, score (from `stance score` or any tool).
    scores: PathBuf,
    #[arg(long, value_parser = parse_period, default_value = "month")]
    period: Period,
    /// Columns that define a series.
    #[arg(long, value_delimiter = ',', default_value = "actor,target")]
    by: Vec<String>,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    ci: f64,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
    /// Adds a trailing rolling mean over N periods.
    #[arg(long, value_name = "N")]
    rolling: Option<usize>,
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ShiftArgs {
    scores: PathBuf,
    /// Only this target.
    #[arg(long)]
    target: Option<String>,
    /// Only this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Change-point penalty: bic, aic or a number.
    #[arg(long, value_parser = parse_penalty, default_value = "bic")]
    penalty: Penalty,
    /// Fewest statements in a segment.
    #[arg(long, default_value_t = ShiftOptions::default().min_size)]
    min_size: usize,
    /// False discovery rate across all actor × target series.
    #[arg(long, default_value_t = ShiftOptions::default().alpha)]
    alpha: f64,
    /// Confidence level of the intervals on each shift's size and date.
    #[arg(long, default_value_t = ShiftOptions::default().ci)]
    ci: f64,
    /// Most permutations per series (the smallest p-value is 1 / (permutations + 1)).
    #[arg(long, default_value_t = ShiftOptions::default().permutations)]
    permutations: usize,
    /// Serial dependence the test allows for: ar1 discounts each statistic by its block's
    /// lag-1 autocorrelation; independent is exact, and more powerful, for exchangeable statements.
    #[arg(long, value_enum, default_value = "ar1")]
    dependence: Dependence,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CompareArgs {
    scores: PathBuf,
    #[arg(long)]
    target: String,
    /// Actors to line up, e.g. "Kremlin,White House".
    #[arg(long, value_delimiter = ',', required = true)]
    actors: Vec<String>,
    #[arg(long, value_parser = parse_period, default_value = "month")]
    period: Period,
    #[arg(long, default_value_t = 0.95)]
    ci: f64,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PlotArgs {
    /// A trends table (from `stance trend`), or a scores table to aggregate first.
    input: PathBuf,
    #[arg(long)]
    target: String,
    /// Actors to draw, in legend order (default: all).
    #[arg(long, value_delimiter = ',')]
    actors: Option<Vec<String>>,
    /// Period used when the input is a scores table.
    #[arg(long, value_parser = parse_period, default_value = "month")]
    period: Period,
    /// Shifts table (from `stance shift`) to mark on the chart.
    #[arg(long)]
    shifts: Option<PathBuf>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long, default_value_t = plot::DEFAULT_WIDTH)]
    width: u32,
    #[arg(long, default_value_t = plot::DEFAULT_HEIGHT)]
    height: u32,
    /// Chart file: .svg or .png.
    #[arg(long, short)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SampleArgs {
    /// Scores table with at least id and text (from `stance score` or any tool).
    scores: PathBuf,
    /// Rows to draw.
    #[arg(long)]
    n: usize,
    /// Columns whose values define the strata.
    #[arg(long, value_delimiter = ',', default_value = "actor,target")]
    by: Vec<String>,
    /// Rows per stratum in proportion to its size, or the same for every stratum.
    #[arg(long, value_enum, default_value_t = Allocation::Proportional)]
    allocation: Allocation,
    /// Rows every stratum gets at least (all it has, when fewer).
    #[arg(long, value_name = "K", default_value_t = 0)]
    min_per_stratum: usize,
    /// Seed of the draw (recorded in the output).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Table to hand-code (.csv, .tsv, .parquet, .ndjson); without it the sample prints.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ScoreArgs {
    /// Corpus of statements (.csv, .tsv, .jsonl/.ndjson, .parquet).
    corpus: PathBuf,
    /// A target to score toward (repeatable).
    #[arg(long = "target", value_name = "NAME", required_unless_present = "targets")]
    target: Vec<String>,
    /// Targets file (TOML; see README).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    targets: Option<PathBuf>,
    /// Model folder, preset name (see `stance models list`) or hub id org/name[@revision].
    #[arg(long, short)]
    model: String,
    /// Scoring method; by default chosen from the model.
    #[arg(long, value_enum)]
    method: Option<Method>,
    /// NLI: entailment vs contradiction per hypothesis, instead of across hypotheses.
    #[arg(long)]
    per_hypothesis: bool,
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Tokens per model input (default: the model's limit or its tokenizer's, at most 512; LLM prompts: 2048).
    #[arg(long)]
    max_length: Option<usize>,
    /// Long statements: keep the beginning, or score overlapping windows.
    #[arg(long, value_enum, default_value_t = LongText::Truncate)]
    long: LongText,
    /// Tokens shared by consecutive windows (--long window).
    #[arg(long, default_value_t = 64)]
    stride: usize,
    /// Classifier label mapping, e.g. LABEL_0=against,LABEL_1=favor,LABEL_2=none.
    #[arg(long, value_name = "LABEL=STANCE,...", value_parser = parse_label_map)]
    label_map: Option<std::collections::BTreeMap<String, Stance>>,
    /// Embedding method: similarity temperature.
    #[arg(long, default_value_t = 0.05)]
    temperature: f32,
    /// Embedding method: a stance head trained by `stance train` instead of prototypes.
    #[arg(long, value_name = "FILE")]
    head: Option<PathBuf>,
    /// LLM method: a Jinja chat template instead of the model's (tokenizer_config.json).
    #[arg(long, value_name = "FILE")]
    chat_template: Option<PathBuf>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Inference device: cpu, or cuda:N in a CUDA build.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Linear layers in f32, int8 (CPU only) or q8_0 (LLMs); faster, approximate: see the README.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Worker threads, 1 to 1024 (default: all cores).
    #[arg(long, value_parser = crate::cli::parse_threads)]
    threads: Option<usize>,
    /// Mark statements that mention none of a target's `keywords` (targets file) as none for
    /// it, without running the model; adds a `mentioned` column.
    #[arg(long)]
    relevance_filter: bool,
    /// Output table (.parquet, .csv, .tsv, .ndjson); without it a summary prints.
    #[arg(long, short)]
    out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    /// Score only shard K of N, shards counted from 0 (0 <= K < N); `stance merge` joins them.
    ///
    /// A statement belongs to shard (first 8 bytes of SHA-256(id), big-endian) mod N: its id
    /// alone decides, never its row. Without --shard, inside a Slurm array task, K =
    /// SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and N = SLURM_ARRAY_TASK_COUNT (so
    /// --array=0-15 and --array=1-16 both give shards 0..15); stepped or sparse arrays are
    /// refused.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with = "no_shard")]
    shard: Option<Shard>,
    /// Score every statement, even inside a Slurm array task.
    #[arg(long)]
    no_shard: bool,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Shard tables written by `stance score --shard` (any of .parquet, .csv, .tsv, .ndjson),
    /// or folders holding them.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The merged table (.parquet, .csv, .tsv, .ndjson).
    #[arg(long, short)]
    out: PathBuf,
}

/// Checkpoints and the score cache.
#[derive(Debug, Args)]
struct RunArgs {
    /// Continue an interrupted run from the parts saved in <out>.parts/ (starts afresh when
    /// there are none).
    #[arg(long, requires = "out", conflicts_with = "restart")]
    resume: bool,
    /// Discard the parts an earlier run left in <out>.parts/ and start over.
    #[arg(long, requires = "out")]
    restart: bool,
    /// Statements per saved part: at most this much work is lost when a run is killed.
    #[arg(long, value_name = "N", default_value_t = pipeline::DEFAULT_PART_SIZE)]
    part_size: usize,
    /// Neither read nor write the score cache.
    #[arg(long)]
    no_cache: bool,
    #[command(flatten)]
    cache: CacheDirArg,
}

#[derive(Debug, Args)]
struct CacheDirArg {
    /// Score cache folder (default: `stance` in the user cache folder, e.g. ~/.cache/stance).
    #[arg(long, value_name = "DIR", env = "STANCE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl CacheDirArg {
    fn resolve(&self) -> Result<PathBuf> {
        match self.cache_dir.clone().or_else(stance::cache::default_dir) {
            Some(dir) => Ok(dir),
            None => bail!("no user cache folder is known here; pass --cache-dir DIR or --no-cache"),
        }
    }
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Entries, damaged records and size.
    Stats(CacheDirArg),
    /// Remove every entry.
    Clear(CacheDirArg),
}

#[derive(Debug, Args)]
struct ColumnArgs {
    /// Column holding the statement text.
    #[arg(long, value_name = "NAME")]
    text_col: Option<String>,
    /// Column holding the speaker.
    #[arg(long, value_name = "NAME")]
    actor_col: Option<String>,
    /// Column holding the date.
    #[arg(long, value_name = "NAME")]
    date_col: Option<String>,
    /// Column holding the statement id.
    #[arg(long, value_name = "NAME")]
    id_col: Option<String>,
    /// Drop rows with an unparseable date or empty text (counted on stderr and in metadata).
    #[arg(long)]
    skip_invalid: bool,
}

impl ColumnArgs {
    fn options(&self) -> CorpusOptions {
        CorpusOptions {
            text_col: self.text_col.clone(),
            actor_col: self.actor_col.clone(),
            date_col: self.date_col.clone(),
            id_col: self.id_col.clone(),
            skip_invalid: self.skip_invalid,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Known model presets and whether they are in the local cache.
    List,
    /// Download a model from the Hugging Face hub into the local cache (the only network use).
    Pull {
        /// Hub id org/name[@revision], or a preset name.
        id: String,
        /// Hub endpoint (default: HF_ENDPOINT, else huggingface.co).
        #[arg(long)]
        endpoint: Option<String>,
    },
    /// Where a model is, its architecture, labels and weights hash.
    Info {
        /// Model folder, preset name or hub id.
        model: String,
    },
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Table to print.
    file: PathBuf,
    /// Rows to print.
    #[arg(long, default_value_t = 20)]
    rows: usize,
    /// Print only the provenance.
    #[arg(long)]
    metadata: bool,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    text.parse().map_err(|e: stance::shard::ShardError| e.to_string())
}

fn parse_period(text: &str) -> Result<Period, String> {
    text.parse().map_err(|e: stance::analysis::AnalysisError| e.to_string())
}

fn parse_penalty(text: &str) -> Result<Penalty, String> {
    text.parse().map_err(|e: stance::analysis::AnalysisError| e.to_string())
}

/// Thread counts beyond any real machine's cores made rayon abort or spin for minutes.
pub(crate) fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_THREADS}")),
    }
}

const MAX_THREADS: usize = 1024;

pub(crate) fn parse_label_map(text: &str) -> Result<std::collections::BTreeMap<String, Stance>, String> {
    text.split(',')
        .map(|pair| {
            let (label, stance) =
                pair.split_once('=').ok_or_else(|| format!("`{pair}` is not LABEL=STANCE"))?;
            let stance = Stance::parse(stance)
                .ok_or_else(|| format!("`{stance}` is not a stance (favor, against, none)"))?;
            Ok((label.trim().to_owned(), stance))
        })
        .collect()
}

pub fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("stance={default}")));
    // Warnings and errors read as messages (`WARN cases.csv: …`), without a clock, module path
    // or colour codes where stderr is a file; `-v` adds the time and module for tracing a run.
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if verbose == 0 {
        logger.without_time().with_target(false).init();
    } else {
        logger.init();
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let command_line: Vec<String> = std::env::args().collect();
    let reporter = Bars::new(cli.quiet);
    match cli.command {
        Command::Extract(args) => crate::cli_extract::extract(&args, &command_line, &reporter),
        Command::EvalExtract(args) => crate::cli_extract::eval_extract(&args),
        Command::Score(args) => score(args, &command_line, &reporter),
        Command::Merge(args) => merge(&args, &command_line, &reporter),
        Command::Models { command } => models(command, cli.quiet),
        Command::Trend(args) => trend(&args, &command_line),
        Command::Shift(args) => shift(&args, &command_line),
        Command::Compare(args) => compare(&args, &command_line),
        Command::Plot(args) => plot_chart(&args, &command_line),
        Command::Sample(args) => sample(&args, &command_line, &reporter),
        Command::Show(args) => show(&args),
        Command::Eval(args) => crate::cli_eval::eval(&args, &command_line, &reporter),
        Command::Train(args) => crate::cli_eval::train(&args, &command_line, &reporter),
        Command::Cache { command } => cache(&command),
    }
}

/// Writes a derived table, or prints it when there is no `--out`.
fn emit(mut frame: DataFrame, out: Option<&Path>, provenance: &Provenance) -> Result<()> {
    match out {
        Some(out) => write_table(&mut frame, out, provenance)?,
        None => {
            configure_table_printing(40);
            writeln!(std::io::stdout().lock(), "{frame}")?;
        }
    }
    Ok(())
}

fn analysing(path: &Path) -> String {
    format!("cannot analyse {}", path.display())
}

fn trend(args: &TrendArgs, command_line: &[String]) -> Result<()> {
    let input = pipeline::read_scores(&args.scores)?;
    let scores = &input.frame;
    let options = TrendOptions {
        period: args.period,
        by: args.by.clone(),
        ci: args.ci,
        bootstrap: args.bootstrap.bootstrap,
        seed: args.bootstrap.seed,
        rolling: args.rolling,
    };
    let frame = analysis::trend(scores, &options).with_context(|| analysing(&args.scores))?;
    let mut provenance = pipeline::derived_provenance(command_line, &args.scores, &input);
    provenance.set_json("trend_options", &options);
    emit(frame, args.out.as_deref(), &provenance)
}

fn shift(args: &ShiftArgs, command_line: &[String]) -> Result<()> {
    let input = pipeline::read_scores(&args.scores)?;
    let scores = &input.frame;
    let options = ShiftOptions {
        target: args.target.clone(),
        actor: args.actor.clone(),
        penalty: args.penalty,
        min_size: args.min_size,
        alpha: args.alpha,
        ci: args.ci,
        permutations: args.permutations,
        dependence: args.dependence,
        bootstrap: args.bootstrap.bootstrap,
        seed: args.bootstrap.seed,
    };
    let frame = analysis::shifts(scores, &options).with_context(|| analysing(&args.scores))?;
    let mut provenance = pipeline::derived_provenance(command_line, &args.scores, &input);
    provenance.set_json("shift_options", &options);
    emit(frame, args.out.as_deref(), &provenance)
}

fn compare(args: &CompareArgs, command_line: &[String]) -> Result<()> {
    let input = pipeline::read_scores(&args.scores)?;
    let scores = &input.frame;
    let options = CompareOptions {
        target: args.target.clone(),
        actors: args.actors.clone(),
        period: args.period,
        ci: args.ci,
        bootstrap: args.bootstrap.bootstrap,
        seed: args.bootstrap.seed,
    };
    let frame = analysis::compare(scores, &options).with_context(|| analysing(&args.scores))?;
    let mut provenance = pipeline::derived_provenance(command_line, &args.scores, &input);
    provenance.set_json("compare_options", &options);
    emit(frame, args.out.as_deref(), &provenance)
}

fn sample(args: &SampleArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    let input = pipeline::read_scores(&args.scores)?;
    let options = SampleOptions {
        n: args.n,
        by: args.by.clone(),
        allocation: args.allocation,
        min_per_stratum: args.min_per_stratum,
        seed: args.seed,
    };
    let sample = analysis::sample(&input.frame, &options).with_context(|| analysing(&args.scores))?;
    let mut provenance = pipeline::derived_provenance(command_line, &args.scores, &input);
    provenance.set_json("sample_options", &options);
    provenance.set_json("sample_strata", &sample.strata);
    let empty = sample.strata.iter().filter(|s| s.drawn == 0).count();
    reporter.note(&format!(
        "drew {} of {} rows from {} strata ({} allocation, seed {})",
        sample.frame.height(),
        input.frame.height(),
        sample.strata.len(),
        args.allocation.as_str(),
        args.seed
    ));
    if empty > 0 {
        reporter.note(&format!(
            "{empty} of {} strata got no rows (too small for their share): weighted estimates will not cover them; --min-per-stratum 1 draws from every stratum",
            sample.strata.len()
        ));
    }
    emit(sample.frame, args.out.as_deref(), &provenance)
}

fn plot_chart(args: &PlotArgs, command_line: &[String]) -> Result<()> {
    let input = pipeline::read_scores(&args.input)?;
    let table = input.frame.clone();
    let is_trends = table.column("mean").is_ok() && table.column("period_start").is_ok();
    let trends = if is_trends {
        table
    } else {
        let options = TrendOptions { period: args.period, ..TrendOptions::default() };
        analysis::trend(&table, &options).with_context(|| analysing(&args.input))?
    };
    let mut provenance = pipeline::derived_provenance(command_line, &args.input, &input);
    let shifts = match &args.shifts {
        Some(path) => {
            let shifts = pipeline::read_scores(path)?;
            provenance.record_input("shifts", path, &shifts.sha256);
            Some(shifts.frame)
        }
        None => None,
    };
    let options = PlotOptions {
        target: args.target.clone(),
        actors: args.actors.clone(),
        title: args.title.clone(),
        width: args.width,
        height: args.height,
        provenance,
    };
    plot::render_trend_chart(&trends, shifts.as_ref(), &options, &args.out)
        .with_context(|| format!("drawing {}", args.out.display()))?;
    Ok(())
}

fn score(args: ScoreArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    if let Some(threads) = args.threads {
        // Read by candle's thread pool sizing; set before any inference starts.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let targets = match &args.targets {
        Some(file) => TargetSet::from_toml_file(file)?,
        None => TargetSet::from_names(&args.target, Templates::default())?,
    };
    if let Some(out) = &args.out {
        check_output(out)?;
    }
    let run = RunOptions {
        out: args.out.clone(),
        existing: match (args.run.resume, args.run.restart) {
            (true, _) => Existing::Resume,
            (_, true) => Existing::Restart,
            _ => Existing::Refuse,
        },
        cache_dir: if args.run.no_cache { None } else { Some(args.run.cache.resolve()?) },
        part_size: args.run.part_size,
        shard: stance::shard::choose(args.shard, args.no_shard, &|name| std::env::var(name).ok())?,
    };
    let shard = run.shard.as_ref().map(|choice| format!(" of shard {}", choice.shard)).unwrap_or_default();
    let job = ScoreJob {
        corpus: args.corpus.clone(),
        corpus_options: args.columns.options(),
        targets,
        model: args.model.clone(),
        device: args.device.clone(),
        options: ScoreOptions {
            method: args.method,
            per_hypothesis: args.per_hypothesis,
            batch_size: args.batch_size,
            max_length: args.max_length,
            long: args.long,
            stride: args.stride,
            label_map: args.label_map.clone().unwrap_or_default(),
            temperature: args.temperature,
            head: args.head.clone(),
            dtype: args.dtype,
            chat_template: args.chat_template.clone(),
        },
        relevance_filter: args.relevance_filter,
    };
    let started = std::time::Instant::now();
    let reporter = StopOnCtrlC::install(reporter);
    let table = pipeline::score_run(&job, &run, command_line, &reporter)?;
    let stats = &table.stats;
    if stats.cached_pairs > 0 {
        reporter.note(&format!(
            "{} of {} pairs were already scored (score cache, or the same statement earlier in the corpus); \
             the model scored {} in {} forward passes",
            stats.cached_pairs,
            stats.cached_pairs + stats.scored_pairs,
            stats.scored_pairs,
            stats.forward_passes
        ));
    }
    if stats.damaged_cache_records > 0 {
        reporter.note(&format!(
            "skipped {} damaged score cache record(s); their pairs were scored again",
            stats.damaged_cache_records
        ));
    }
    if args.relevance_filter {
        reporter.note(&format!(
            "relevance filter: {} of {} pairs never mention their target's keywords; marked none without the model",
            stats.filtered_pairs,
            stats.filtered_pairs + stats.cached_pairs + stats.scored_pairs
        ));
    }
    match &args.out {
        Some(out) => {
            reporter.note(&format!(
                "wrote {} rows ({} statements × {} targets){shard} to {} in {:.1}s",
                table.frame.height(),
                table.frame.height() / table.run.n_targets.max(1),
                table.run.n_targets,
                out.display(),
                started.elapsed().as_secs_f64()
            ));
        }
        None => print_summary(&table.frame)?,
    }
    Ok(())
}

fn merge(args: &MergeArgs, command_line: &[String], reporter: &Bars) -> Result<()> {
    let summary = stance::merge::merge(&args.shards, &args.out, command_line)?;
    reporter.note(&format!(
        "merged {} shards ({} statements, {} rows, {} forward passes) into {}",
        summary.shards,
        summary.statements,
        summary.rows,
        summary.forward_passes,
        args.out.display()
    ));
    Ok(())
}

/// Fails early, before minutes of scoring, when the output cannot be written.
fn check_output(out: &Path) -> Result<()> {
    stance::output::probe_writable(out)?;
    Ok(())
}

/// Passes progress through, and asks the library to stop once Ctrl-C is pressed: the run
/// ends after the current batch and says how to resume. A second Ctrl-C exits at once
/// (saved parts stay valid; they are written atomically).
struct StopOnCtrlC<'a> {
    inner: &'a Bars,
    stop: Arc<AtomicBool>,
}

impl<'a> StopOnCtrlC<'a> {
    fn install(inner: &'a Bars) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGINT;
            match signal_hook::iterator::Signals::new([SIGINT]) {
                Ok(mut signals) => {
                    let flag = Arc::clone(&stop);
                    std::thread::spawn(move || {
                        for _ in signals.forever() {
                            if flag.swap(true, Ordering::SeqCst) {
                                std::process::exit(INTERRUPTED_EXIT_CODE);
                            }
                            eprintln!("stopping after the current batch (Ctrl-C again to stop at once)");
                        }
                    });
                }
                Err(e) => tracing::warn!("Ctrl-C will stop the run abruptly: {e}"),
            }
        }
        Self { inner, stop }
    }
}

impl Reporter for StopOnCtrlC<'_> {
    fn start(&self, phase: &str, total: Option<u64>) {
        self.inner.start(phase, total);
    }

    fn advance(&self, n: u64) {
        self.inner.advance(n);
    }

    fn finish(&self) {
        self.inner.finish();
    }

    fn note(&self, message: &str) {
        self.inner.note(message);
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// The shell convention for a command stopped by SIGINT (128 + 2).
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

fn cache(command: &CacheCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        CacheCommand::Stats(dir) => {
            let cache = ScoreCache::at(&dir.resolve()?);
            let stats = cache.stats()?;
            writeln!(out, "cache: {}", cache.root().display())?;
            writeln!(
                out,
                "entries: {} ({} records, {} damaged)",
                stats.entries, stats.records, stats.damaged
            )?;
            writeln!(out, "size: {} in {} files", checkpoint::human_bytes(stats.bytes), stats.files)?;
        }
        CacheCommand::Clear(dir) => {
            let cache = ScoreCache::at(&dir.resolve()?);
            let removed = cache.clear()?;
            writeln!(
                out,
                "removed {} entries ({}) from {}",
                removed.entries,
                checkpoint::human_bytes(removed.bytes),
                cache.root().display()
            )?;
        }
    }
    Ok(())
}

/// Per-target counts and mean score, then the first rows.
fn print_summary(frame: &DataFrame) -> Result<()> {
    let target = frame.column("target")?.str()?;
    let label = frame.column("label")?.str()?;
    let score = frame.column("score")?.f64()?;
    let mut summary: Vec<(String, [usize; 3], f64, usize)> = Vec::new();
    for ((t, l), s) in target.iter().zip(label.iter()).zip(score.iter()) {
        let (t, l, s) = (t.unwrap_or_default(), l.unwrap_or_default(), s.unwrap_or_default());
        let i = match summary.iter().position(|(name, ..)| name == t) {
            Some(i) => i,
            None => {
                summary.push((t.to_owned(), [0; 3], 0.0, 0));
                summary.len() - 1
            }
        };
        let entry = &mut summary[i];
        if let Some(stance) = Stance::parse(l) {
            entry.1[stance as usize] += 1;
        }
        entry.2 += s;
        entry.3 += 1;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<32} {:>6} {:>7} {:>7} {:>6} {:>10}",
        "target", "n", "favor", "against", "none", "mean score"
    )?;
    for (name, counts, total, n) in &summary {
        writeln!(
            out,
            "{:<32} {:>6} {:>7} {:>7} {:>6} {:>+10.3}",
            name,
            n,
            counts[0],
            counts[1],
            counts[2],
            total / *n as f64
        )?;
    }
    writeln!(out)?;
    let preview =
        frame.select(["id", "target", "score", "label"].into_iter().filter(|c| frame.column(c).is_ok()))?;
    writeln!(out, "{}", preview.head(Some(10)))?;
    writeln!(out, "(use --out FILE to write all {} rows)", frame.height())?;
    Ok(())
}

fn models(command: ModelsCommand, quiet: bool) -> Result<()> {
    let cache = hub::cache_root();
    let mut out = std::io::stdout().lock();
    match command {
        ModelsCommand::List => {
            writeln!(out, "{:<18} {:<10} {:<9} {:<7} hub id", "preset", "method", "supported", "cached")?;
            for preset in presets::all() {
                let id = HubId { repo_id: preset.hub_id.clone(), revision: preset.revision.clone() };
                let cached = hub::find_snapshot(&cache, &id).is_ok();
                writeln!(
                    out,
                    "{:<18} {:<10} {:<9} {:<7} {}",
                    preset.name,
                    preset.method.as_str(),
                    if preset.supported { "yes" } else { "no" },
                    if cached { "yes" } else { "no" },
                    preset.hub_id
                )?;
            }
            writeln!(out, "\ncache: {}", cache.display())?;
        }
        ModelsCommand::Pull { id, endpoint } => {
            let hub_id = match presets::find(&id) {
                Some(preset) => HubId { repo_id: preset.hub_id, revision: preset.revision },
                None => HubId::parse(&id).with_context(|| {
                    format!("`{id}` is neither a preset nor a hub id org/name[@revision]")
                })?,
            };
            let options = hub::PullOptions { cache, endpoint, show_progress: !quiet };
            let snapshot = hub::pull(&hub_id, &options)?;
            writeln!(
                out,
                "{} at commit {} in {}",
                hub_id.repo_id,
                snapshot.commit,
                snapshot.folder.display()
            )?;
        }
        ModelsCommand::Info { model: spec } => {
            let resolved = model::resolve(&spec, &cache)?;
            let loaded = model::Model::load(resolved, "cpu", Dtype::F32)?;
            let mut provenance = stance::provenance::Provenance::default();
            loaded.record(&mut provenance);
            writeln!(out, "folder: {}", loaded.resolved.folder.display())?;
            for (key, value) in provenance.iter() {
                writeln!(out, "{key}: {value}")?;
            }
            writeln!(out, "default method: {}", stance::score::default_method(&loaded).as_str())?;
        }
    }
    Ok(())
}

/// polars sizes its printed tables from environment variables; a user's own settings win.
/// The widest table, the shifts (21 columns), prints whole.
fn configure_table_printing(rows: usize) {
    std::env::set_var("POLARS_FMT_MAX_ROWS", rows.to_string());
    for (name, value) in
        [("POLARS_FMT_STR_LEN", "32"), ("POLARS_FMT_MAX_COLS", "24"), ("POLARS_TABLE_WIDTH", "320")]
    {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

fn show(args: &ShowArgs) -> Result<()> {
    let (frame, provenance) = stance::corpus::read_table(&args.file)?;
    // polars sizes its printed tables from these variables; a user's own settings win.
    std::env::set_var("POLARS_FMT_MAX_ROWS", args.rows.to_string());
    for (name, value) in
        [("POLARS_FMT_STR_LEN", "32"), ("POLARS_FMT_MAX_COLS", "16"), ("POLARS_TABLE_WIDTH", "220")]
    {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
    let mut out = std::io::stdout().lock();
    if !args.metadata {
        writeln!(out, "{frame}")?;
        writeln!(out)?;
    }
    if provenance.is_empty() {
        writeln!(out, "provenance: none recorded")?;
    } else {
        writeln!(out, "provenance:")?;
        for (key, value) in provenance.iter() {
            writeln!(out, "  {key}: {value}")?;
        }
    }
    Ok(())
}
