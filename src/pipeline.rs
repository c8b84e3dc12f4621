//! Whole commands as library calls: what `stance score` does, end to end, minus argument
//! parsing and printing, so that it can be driven from Rust as well as from the binary.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use polars::prelude::{DataFrame, DataType, IntoColumn};

use crate::cache::{CacheKey, CacheKeys, ModelFingerprint, ScoreCache, ScoringContext};
use crate::checkpoint::{self, Existing, RunConfig, RunDir, RunError, RunLayout};
use crate::corpus::{load_table, parse_dates_at, read_corpus, CorpusOptions, Table};
use crate::model::{self, Model};
use crate::progress::Reporter;
use crate::provenance::{sha256_file, Provenance};
use crate::score::llm::{self, MassSummary};
use crate::score::{
    head, max_length_for, score_pairs, table::scores_frame, Method, ScoreError, ScoreOptions, ScoreRun,
    StanceScore,
};
use crate::shard::ShardChoice;
use crate::targets::TargetSet;
use crate::{Error, Result};

/// Everything `stance score` needs.
#[derive(Debug, Clone)]
pub struct ScoreJob {
    pub corpus: PathBuf,
    pub corpus_options: CorpusOptions,
    pub targets: TargetSet,
    /// A folder, a preset name or a hub id (`org/name[@revision]`).
    pub model: String,
    pub device: String,
    pub options: ScoreOptions,
    /// Statements that mention none of a target's keywords are marked none for it without a
    /// forward pass (`--relevance-filter`; every target needs keywords).
    pub relevance_filter: bool,
}

/// Statements per part when none is given.
pub const DEFAULT_PART_SIZE: usize = 1000;

/// Where a scoring run keeps its results and its checkpoints.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The table to write. Its parts are saved in `<out>.parts/` until it is written, so an
    /// interrupted run can resume; without it the table is only returned.
    pub out: Option<PathBuf>,
    /// What to do with parts an earlier run left in `<out>.parts/`.
    pub existing: Existing,
    /// The score cache folder; `None` runs without the on-disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Statements per part. The corpus is scored part by part in input order, so results
    /// do not depend on where a run was interrupted (they do, at fp32 rounding, on this).
    pub part_size: usize,
    /// Score only the statements of this shard (see [`crate::shard`]); the table gets a
    /// `corpus_row` column and the shard's facts in its provenance, for `stance merge`.
    pub shard: Option<ShardChoice>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            out: None,
            existing: Existing::Refuse,
            cache_dir: None,
            part_size: DEFAULT_PART_SIZE,
            shard: None,
        }
    }
}

/// How much work a run did and how much it reused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Statement × target pairs taken from the score cache or from an earlier part.
    pub cached_pairs: usize,
    /// Pairs the model scored.
    pub scored_pairs: usize,
    /// Pairs the relevance filter marked none (their statement does not mention the target).
    pub filtered_pairs: usize,
    /// Model forward passes (batches) run.
    pub forward_passes: usize,
    /// Distinct token sequences run.
    pub sequences: usize,
    pub parts: usize,
    /// Parts kept from an interrupted run.
    pub resumed_parts: usize,
    /// Damaged cache records skipped (their pairs were scored again).
    pub damaged_cache_records: usize,
}

/// The scores table, the provenance to write with it, and how the run went.
pub struct ScoredTable {
    pub frame: DataFrame,
    pub provenance: Provenance,
    pub run: ScoreRun,
    pub stats: RunStats,
}

/// Reads the corpus, loads the model, scores every statement × target and assembles the
/// scores table with its provenance. `command_line` is recorded as given. No cache, no file.
pub fn score(job: &ScoreJob, command_line: &[String], reporter: &dyn Reporter) -> Result<ScoredTable> {
    score_run(job, &RunOptions::default(), command_line, reporter)
}

/// [`score`], with checkpoints in `<out>.parts/` and the final table written to `out`, and
/// the score cache when `run.cache_dir` is set.
///
/// Statements are scored in parts of `run.part_size`, in input order. A pair whose score is
/// known (from the cache as it was when the run started, or from an earlier part of this
/// run) is not scored again; the others of a part run through the model together. An
/// interrupted run resumed with [`Existing::Resume`] therefore scores each remaining part
/// exactly as the uninterrupted run would have, and writes the same table. Once `out` is
/// written the run folder is removed. When the reporter asks to stop, the run stops after
/// the current batch with [`RunError::Interrupted`]; saved parts stay valid.
pub fn score_run(
    job: &ScoreJob,
    run: &RunOptions,
    command_line: &[String],
    reporter: &dyn Reporter,
) -> Result<ScoredTable> {
    if run.part_size == 0 {
        return Err(RunError::ZeroPartSize.into());
    }
    if job.relevance_filter {
        job.targets.check_keywords()?;
    }
    if let Some(out) = &run.out {
        crate::output::probe_writable(out)?;
    }
    let mut provenance = Provenance::for_command(command_line);
    let corpus = read_corpus(&job.corpus, &job.corpus_options)?;
    if let Some(out) = &run.out {
        crate::output::check_columns(out, corpus.frame.schema())?;
    }
    if !corpus.skipped.is_empty() {
        reporter.note(&format!(
            "skipped {} invalid row(s) of {} (--skip-invalid)",
            corpus.skipped.len(),
            job.corpus.display()
        ));
    }
    provenance.record_input("corpus", &job.corpus, &corpus.sha256);
    provenance.set("input.corpus.rows", corpus.frame.height());
    provenance.set("input.corpus.skipped_rows", corpus.skipped.len());
    let selected;
    let statements = match &run.shard {
        Some(choice) => {
            selected = crate::shard::select(&corpus.frame, choice.shard)?;
            &selected
        }
        None => &corpus.frame,
    };

    let loading = Instant::now();
    let resolved = model::resolve(&job.model, &model::hub::cache_root())?;
    let model = Model::load(resolved, &job.device, job.options.dtype)?;
    tracing::info!(seconds = loading.elapsed().as_secs_f64(), "model loaded");
    model.record(&mut provenance);

    let text = statements.column("text").and_then(|c| c.str()).map_err(Error::Table)?;
    // The corpus reader guarantees non-empty text in every row.
    let texts: Vec<&str> = text.iter().map(|t| t.unwrap_or_default()).collect();
    let method = job.options.check(&model)?;
    let llm_setup =
        if method == Method::Llm { Some(llm::Setup::new(&model, &job.options, &job.targets)?) } else { None };
    let max_length = max_length_for(&model, &job.options);
    let head_sha256 = match &job.options.head {
        Some(path) => Some(sha256_file(path).map_err(|source| Error::Io { path: path.clone(), source })?),
        None => None,
    };
    let context =
        ScoringContext::new(ModelFingerprint::of(&model)?, method, max_length, &job.options, head_sha256);
    let keys = CacheKeys::new(&context, &job.targets);
    let layout =
        RunLayout { statements: texts.len(), targets: job.targets.targets.len(), part_size: run.part_size };
    let mut config = run_config(job, &provenance, &context, &model, layout, llm_setup.as_ref());
    if let Some(choice) = &run.shard {
        // What `stance merge` checks the shards share, and names the differences of.
        provenance.set("configuration.sha256", config.sha256());
        provenance.set_json("configuration", &config.0);
        choice.record(&mut provenance, texts.len());
        // A shard's parts never resume another shard's run.
        config.set("shard.index", choice.shard.index);
        config.set("shard.count", choice.shard.count);
    }
    // Statement-major, like the scores; `None` without the filter.
    let mentioned: Option<Vec<bool>> = job.relevance_filter.then(|| {
        texts.iter().flat_map(|text| job.targets.targets.iter().map(|t| t.is_mentioned_in(text))).collect()
    });
    let is_mentioned = |pair: usize| mentioned.as_ref().is_none_or(|m| m[pair]);

    let mut stats = RunStats { parts: layout.parts(), ..RunStats::default() };
    let (mut run_dir, mut scores) = match &run.out {
        Some(out) => {
            let opened = RunDir::open(out, &config, layout, run.existing, reporter)?;
            // The lock is ours: no other process is writing `out`.
            crate::output::remove_stale_temp_files(out)?;
            check_space(opened.dir.path(), layout, opened.parts_done)?;
            stats.resumed_parts = opened.parts_done;
            (Some(opened.dir), opened.scores)
        }
        None => (None, Vec::new()),
    };
    let first_part = stats.resumed_parts;

    // The cache's records hold no label_mass, which every LLM row must carry.
    let mut cache = run
        .cache_dir
        .as_deref()
        .filter(|_| method != Method::Llm)
        .and_then(|dir| ScoreCache::open(dir).map_err(|e| cache_trouble(reporter, &e.into())).ok());
    let mut known = Known::default();
    if let Some(disk) = &cache {
        // Every pair, those of saved parts too: the cache gets only what it lacks of them.
        let wanted: Vec<CacheKey> =
            texts.iter().flat_map(|text| (0..layout.targets).map(|t| keys.key(t, text))).collect();
        match disk.lookup(&wanted) {
            Ok(found) => {
                stats.damaged_cache_records = found.damaged;
                known.scores = found.scores;
            }
            Err(e) => {
                cache_trouble(reporter, &e.into());
                cache = None;
            }
        }
    }
    // Parts done before an interruption are this run's own results: later parts reuse them
    // as the uninterrupted run would have, and the cache gets any the run could not add.
    let mut missing = Vec::new();
    for (i, score) in scores.iter().enumerate().filter(|&(i, _)| is_mentioned(i)) {
        let key = keys.key(i % layout.targets, texts[i / layout.targets]);
        if known.scores.insert(key, *score).is_none() {
            missing.push((key, *score));
        }
    }
    if let Some(disk) = &cache {
        if let Err(e) = disk.append(&missing) {
            cache_trouble(reporter, &e.into());
            cache = None;
        }
    }

    reporter.start("scoring", Some(texts.len() as u64));
    reporter.advance(layout.rows(first_part).start.min(texts.len()) as u64);
    for part in first_part..layout.parts() {
        let rows = layout.rows(part);
        let scored = if reporter.stop_requested() {
            Err(Error::Score(ScoreError::Interrupted))
        } else {
            let pairs = rows.start * layout.targets..rows.end * layout.targets;
            let part_mentioned = mentioned.as_ref().map(|m| &m[pairs]);
            score_part(&texts[rows.clone()], part_mentioned, job, &keys, &known, &model, &context, reporter)
        };
        let (part_scores, new_entries, counts) = match scored {
            Ok(scored) => scored,
            Err(error) => {
                reporter.finish();
                // With no part saved the folder holds nothing to resume: left there, it would
                // make the next run to this --out ask for --restart. Its own removal failing
                // matters less than the error that stopped the run.
                if part == 0 {
                    if let Some(dir) = run_dir.take() {
                        let _ = dir.remove();
                    }
                }
                return Err(stopped(error, part, layout, run_dir.as_ref()));
            }
        };
        if let Some(dir) = &run_dir {
            dir.write_part(part, &part_scores)
                .map_err(|e| stopped(e.into(), part, layout, run_dir.as_ref()))?;
        }
        if let Some(disk) = &cache {
            if let Err(e) = disk.append(&new_entries) {
                cache_trouble(reporter, &e.into());
                cache = None;
            }
        }
        known.scores.extend(new_entries);
        stats.cached_pairs += counts.cached_pairs;
        stats.scored_pairs += counts.scored_pairs;
        stats.filtered_pairs += counts.filtered_pairs;
        stats.forward_passes += counts.forward_passes;
        stats.sequences += counts.sequences;
        scores.extend(part_scores);
        // The part's statements that the model's progress did not already count.
        reporter.advance(counts.unreported as u64);
    }
    reporter.finish();

    let score_run = ScoreRun {
        scores,
        n_targets: layout.targets,
        method,
        max_length,
        sequences: stats.sequences,
        batches: stats.forward_passes,
        head_sha256: context.head_sha256.clone(),
        mentioned,
    };
    let mut frame = scores_frame(statements, &job.targets, &score_run).map_err(Error::Table)?;
    provenance.set("method", method.as_str());
    provenance.set("max_length", max_length);
    provenance.set("batch_size", job.options.batch_size);
    provenance.set_json("score_options", &job.options);
    if let (Some(head), Some(sha256)) = (&job.options.head, &context.head_sha256) {
        provenance.record_input("head", head, sha256);
    }
    provenance.set_json("templates", &job.targets.templates);
    provenance.set_json("targets", &job.targets.targets);
    provenance.set("threads", crate::threads());
    provenance.set("sequences", stats.sequences);
    provenance.set("forward_passes", stats.forward_passes);
    provenance.set("part_size", run.part_size);
    provenance.set("run.resumed_parts", stats.resumed_parts);
    match (&cache, &run.cache_dir) {
        (Some(disk), _) => provenance.set("cache", disk.root().display()),
        (None, Some(_)) if method == Method::Llm => {
            provenance.set("cache", "off (not used with --method llm)")
        }
        (None, Some(_)) => provenance.set("cache", "unavailable"),
        (None, None) => provenance.set("cache", "off"),
    }
    provenance.set("cache.hits", stats.cached_pairs);
    if let Some(setup) = &llm_setup {
        record_llm(&mut provenance, setup, &score_run, reporter);
    }
    provenance.set("relevance_filter", job.relevance_filter);
    if job.relevance_filter {
        provenance.set("relevance.filtered_pairs", stats.filtered_pairs);
    }

    if let (Some(out), Some(dir)) = (&run.out, run_dir) {
        let all_saved = layout.parts();
        crate::output::write_table(&mut frame, out, &provenance)
            .map_err(|e| stopped(e.into(), all_saved, layout, Some(&dir)))?;
        dir.remove()?;
    }
    Ok(ScoredTable { frame, provenance, run: score_run, stats })
}

/// What an LLM run used (prompts, chat template) and how much of the model's answers the labels
/// covered: into the provenance, and the label mass into the run's summary (with a warning when
/// the median is low).
fn record_llm(provenance: &mut Provenance, setup: &llm::Setup, run: &ScoreRun, reporter: &dyn Reporter) {
    provenance.set_json("llm.prompts", &setup.prompts);
    provenance.set_json("llm.labels", &crate::targets::Stance::ALL.map(|s| s.as_str()));
    provenance.set("llm.chat_template.source", &setup.template.origin);
    provenance.set("llm.chat_template.sha256", &setup.template.sha256);
    let masses: Vec<f32> = run.scores.iter().filter_map(|s| s.label_mass).collect();
    let Some(summary) = MassSummary::of(&masses) else { return };
    provenance.set_json(
        "llm.label_mass",
        &serde_json::json!({
            "min": summary.min, "p10": summary.p10, "median": summary.median, "p90": summary.p90, "max": summary.max
        }),
    );
    reporter.note(&summary.to_string());
    if summary.is_low() {
        reporter.note(&format!(
            "warning: the median label mass is {:.3} (under {}): the model mostly answers with other tokens than \
             favor/against/none, so its stance probabilities rest on a small part of its answer; check the prompt \
             and chat template",
            summary.median,
            llm::LOW_LABEL_MASS
        ));
    }
}

/// Scores known so far: from the cache as it was at the start, and this run's own.
#[derive(Default)]
struct Known {
    scores: HashMap<CacheKey, StanceScore>,
}

/// What scoring one part did.
struct PartCounts {
    cached_pairs: usize,
    scored_pairs: usize,
    filtered_pairs: usize,
    forward_passes: usize,
    sequences: usize,
    /// Statements the progress reporter has not been told about yet.
    unreported: usize,
}

/// A part's scores, its new cache entries and what scoring it did.
type ScoredPart = (Vec<StanceScore>, Vec<(CacheKey, StanceScore)>, PartCounts);

/// Scores one part's statements: pairs `mentioned` rules out are marked none, known pairs
/// are looked up, the others run through the model together. Returns the part's scores
/// (statement-major) and the new cache entries (never the filtered pairs: their number is
/// not the model's).
fn score_part(
    texts: &[&str],
    mentioned: Option<&[bool]>,
    job: &ScoreJob,
    keys: &CacheKeys,
    known: &Known,
    model: &Model,
    context: &ScoringContext,
    reporter: &dyn Reporter,
) -> Result<ScoredPart> {
    let n_targets = job.targets.targets.len();
    let pair_keys: Vec<CacheKey> =
        texts.iter().flat_map(|text| (0..n_targets).map(|t| keys.key(t, text))).collect();
    let filtered = |pair: usize| mentioned.is_some_and(|m| !m[pair]);
    let mut scores: Vec<Option<StanceScore>> = pair_keys
        .iter()
        .enumerate()
        .map(
            |(pair, k)| {
                if filtered(pair) {
                    Some(StanceScore::NOT_MENTIONED)
                } else {
                    known.scores.get(k).copied()
                }
            },
        )
        .collect();
    let filtered_pairs = (0..scores.len()).filter(|&pair| filtered(pair)).count();
    let cached_pairs = scores.iter().filter(|s| s.is_some()).count() - filtered_pairs;
    let mut counts = PartCounts {
        cached_pairs,
        filtered_pairs,
        scored_pairs: scores.len() - cached_pairs - filtered_pairs,
        forward_passes: 0,
        sequences: 0,
        unreported: texts.len(),
    };
    let mut new_entries = Vec::new();
    if counts.scored_pairs > 0 {
        // Each distinct text that misses some target once, in first-appearance order.
        let mut todo: Vec<&str> = Vec::new();
        let mut todo_of: HashMap<&str, usize> = HashMap::new();
        let mut wanted: Vec<bool> = Vec::new();
        for (pair, score) in scores.iter().enumerate() {
            if score.is_none() {
                let text = texts[pair / n_targets];
                let j = *todo_of.entry(text).or_insert_with(|| {
                    todo.push(text);
                    wanted.extend(std::iter::repeat_n(false, n_targets));
                    todo.len() - 1
                });
                wanted[j * n_targets + pair % n_targets] = true;
            }
        }
        let progress = PartProgress::new(reporter, texts.len());
        let scored = score_pairs(&todo, &job.targets, &wanted, model, &job.options, &progress)?;
        head::check_unchanged(
            job.options.head.as_deref(),
            context.head_sha256.as_deref(),
            scored.head_sha256.as_deref(),
        )
        .map_err(ScoreError::from)?;
        counts.forward_passes = scored.batches;
        counts.sequences = scored.sequences;
        counts.unreported = progress.unreported();
        let mut added = HashSet::new();
        for (pair, score) in scores.iter_mut().enumerate() {
            if score.is_none() {
                let j = todo_of[texts[pair / n_targets]];
                let value =
                    scored.scores[j * n_targets + pair % n_targets].expect("every missing pair was wanted");
                *score = Some(value);
                if added.insert(pair_keys[pair]) {
                    new_entries.push((pair_keys[pair], value));
                }
            }
        }
    }
    Ok((scores.into_iter().flatten().collect(), new_entries, counts))
}

/// Turns the model's progress over one part (in sequences) into progress in statements.
struct PartProgress<'a> {
    outer: &'a dyn Reporter,
    statements: u64,
    sequences: AtomicU64,
    done: AtomicU64,
    shown: AtomicU64,
}

impl<'a> PartProgress<'a> {
    fn new(outer: &'a dyn Reporter, statements: usize) -> Self {
        Self {
            outer,
            statements: statements as u64,
            sequences: AtomicU64::new(0),
            done: AtomicU64::new(0),
            shown: AtomicU64::new(0),
        }
    }

    fn unreported(&self) -> usize {
        (self.statements - self.shown.load(Ordering::Relaxed)) as usize
    }
}

impl Reporter for PartProgress<'_> {
    fn start(&self, _phase: &str, total: Option<u64>) {
        self.sequences.store(total.unwrap_or(0), Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let total = self.sequences.load(Ordering::Relaxed).max(1);
        let reached = (self.statements * done.min(total) / total).min(self.statements);
        let before = self.shown.swap(reached, Ordering::Relaxed);
        if reached > before {
            self.outer.advance(reached - before);
        }
    }

    fn finish(&self) {}

    fn note(&self, message: &str) {
        self.outer.note(message);
    }

    fn stop_requested(&self) -> bool {
        self.outer.stop_requested()
    }
}

/// The error of a run that stopped at `part`: an interruption says how to resume, and any
/// other failure after parts were saved says they are kept.
fn stopped(error: Error, part: usize, layout: RunLayout, dir: Option<&RunDir>) -> Error {
    let dir = dir.map(|d| d.path().to_owned());
    match error {
        Error::Score(ScoreError::Interrupted) => {
            RunError::Interrupted { saved: part, total: layout.parts(), dir }.into()
        }
        error => match dir {
            Some(dir) if part > 0 => {
                RunError::Stopped { saved: part, total: layout.parts(), dir, source: Box::new(error) }.into()
            }
            _ => error,
        },
    }
}

/// The cache only saves work: when it cannot be used the run goes on without it.
fn cache_trouble(reporter: &dyn Reporter, error: &Error) {
    let mut message = format!("warning: {error}");
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    reporter.note(&format!("{message}; going on without the score cache"));
}

/// The configuration a resumed run must share with the run it continues: everything that
/// changes a number, and the layout of the parts.
fn run_config(
    job: &ScoreJob,
    provenance: &Provenance,
    context: &ScoringContext,
    model: &Model,
    layout: RunLayout,
    llm_setup: Option<&llm::Setup>,
) -> RunConfig {
    let mut config = RunConfig::default();
    config.set_flattened("scoring", context);
    for key in ["input.corpus.sha256", "input.corpus.rows"] {
        config.set(key, provenance.get(key).unwrap_or_default());
    }
    let columns = &job.corpus_options;
    config.set_flattened(
        "input.corpus.options",
        &serde_json::json!({
            "text_col": columns.text_col, "actor_col": columns.actor_col, "date_col": columns.date_col,
            "id_col": columns.id_col, "skip_invalid": columns.skip_invalid,
        }),
    );
    // One key per hypothesis, so that a refusal names the one that changed.
    config.set("targets", job.targets.targets.len());
    for (i, target) in job.targets.targets.iter().enumerate() {
        config.set(&format!("target.{i}.name"), &target.name);
        for stance in crate::targets::Stance::ALL {
            config.set(&format!("target.{i}.{}", stance.as_str()), target.hypothesis(stance));
        }
    }
    config.set("batch_size", job.options.batch_size);
    config.set("part_size", layout.part_size);
    config.set("device", model.backend.device());
    config.set("dtype", model.backend.dtype());
    // The LLM's questions: parts scored with another prompt or chat template are not reused.
    if let Some(setup) = llm_setup {
        for (i, prompt) in setup.prompts.iter().enumerate() {
            config.set(&format!("target.{i}.prompt"), prompt);
        }
        config.set("llm.chat_template.sha256", &setup.template.sha256);
    }
    // Only when on, so that runs from before the filter existed still resume.
    if job.relevance_filter {
        config.set("relevance_filter", true);
        for (i, target) in job.targets.targets.iter().enumerate() {
            config.set(&format!("target.{i}.keywords"), target.keywords.join(" | "));
        }
    }
    config
}

/// Bytes per pair a run needs at least: its part (three f32 and the flags, compressed) and
/// its row of the final table (four f64 and the label, before any text).
const PART_BYTES_PER_PAIR: u64 = 12;
const TABLE_BYTES_PER_PAIR: u64 = 24;

/// Fails before the work starts when the output's file system cannot hold what remains.
fn check_space(folder: &Path, layout: RunLayout, parts_done: usize) -> Result<()> {
    match space_problem(folder, layout, parts_done, checkpoint::available_space(folder)) {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}

/// The error when `available` bytes (if known) cannot hold the remaining parts and the table.
fn space_problem(
    folder: &Path,
    layout: RunLayout,
    parts_done: usize,
    available: Option<u64>,
) -> Option<RunError> {
    let total = (layout.statements * layout.targets) as u64;
    let remaining = (layout.statements.saturating_sub(parts_done * layout.part_size) * layout.targets) as u64;
    let needed = remaining * PART_BYTES_PER_PAIR + total * TABLE_BYTES_PER_PAIR;
    let available = available.filter(|&a| a < needed)?;
    Some(RunError::NoSpace {
        folder: folder.parent().map(Path::to_owned).unwrap_or_else(|| folder.to_owned()),
        needed: checkpoint::human_bytes(needed),
        available: checkpoint::human_bytes(available),
    })
}

/// Columns other than `date` holding dates in the tables `stance` writes (trends, shifts,
/// comparisons), which `plot` reads back.
const OTHER_DATE_COLUMNS: [&str; 6] =
    ["period_start", "period_end", "last_date_before", "gap_change_since", "date_ci_low", "date_ci_high"];

/// Reads a scores table written by `stance score` or any other tool (CSV, TSV, NDJSON,
/// Parquet) for the analysis commands, or a table they wrote, for `plot`: a text `date` column
/// is parsed as the corpus reader parses dates (errors name the row and line), the other date
/// columns of our tables where every value parses (another tool's `period_start` may be
/// `Q1`), an integer or f32 `score` becomes Float64, and categorical or numeric
/// `actor`/`target`/`label` columns (pandas writes categoricals) become text.
pub fn read_scores(path: &Path) -> Result<Table> {
    let mut text_columns = vec!["actor", "target", "label", "date"];
    text_columns.extend(OTHER_DATE_COLUMNS);
    let mut table = load_table(path, &text_columns)?;
    let frame = &mut table.frame;
    for name in ["actor", "target", "label"] {
        if let Ok(column) = frame.column(name) {
            if column.dtype() != &DataType::String && !column.dtype().is_nested() {
                let text = column.cast(&DataType::String).map_err(Error::Table)?;
                frame.replace(name, text).map_err(Error::Table)?;
            }
        }
    }
    for name in std::iter::once("date").chain(OTHER_DATE_COLUMNS) {
        let Some(date) = frame.column(name).ok().filter(|c| c.dtype() == &DataType::String) else {
            continue;
        };
        let required = name == "date";
        let (parsed, problems) =
            parse_dates_at(date.as_materialized_series(), path, &table.rows, name, !required)?;
        if problems.is_empty() {
            frame.replace(name, parsed.into_column()).map_err(Error::Table)?;
        }
    }
    if let Ok(score) = frame.column("score") {
        if score.dtype().is_primitive_numeric() && score.dtype() != &DataType::Float64 {
            let cast = score.cast(&DataType::Float64).map_err(Error::Table)?;
            frame.replace("score", cast).map_err(Error::Table)?;
        }
    }
    Ok(table)
}

/// Provenance of a table derived from the scores read from `input`: this command, the hash
/// of the bytes read, and the input's own provenance under `upstream.`.
pub fn derived_provenance(command_line: &[String], input: &Path, scores: &Table) -> Provenance {
    let mut provenance = Provenance::for_command(command_line);
    provenance.record_input("scores", input, &scores.sha256);
    provenance.inherit(&scores.provenance);
    provenance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_is_checked_against_what_remains() {
        let layout = RunLayout { statements: 100_000, targets: 3, part_size: 1000 };
        let folder = Path::new("out/scores.parquet.parts");
        let problem =
            space_problem(folder, layout, 0, Some(1_000_000)).expect("300k pairs need more than 1 MB");
        assert_eq!(
            problem.to_string(),
            "not enough free space in out: this run needs at least 10.8 MB for its parts and the final table, \
             and 1.0 MB are free"
        );
        assert!(space_problem(folder, layout, 0, Some(20_000_000)).is_none());
        assert!(space_problem(folder, layout, 0, None).is_none(), "unknown space is not an error");
        // A resumed run needs less for its parts.
        let late = space_problem(folder, layout, 90, Some(1_000_000)).unwrap();
        assert!(late.to_string().contains("at least 7.6 MB"), "{late}");
    }

    #[test]
    fn progress_in_sequences_becomes_progress_in_statements() {
        struct Count(AtomicU64);
        impl Reporter for Count {
            fn start(&self, _: &str, _: Option<u64>) {}
            fn advance(&self, n: u64) {
                self.0.fetch_add(n, Ordering::Relaxed);
            }
            fn finish(&self) {}
            fn note(&self, _: &str) {}
        }
        let outer = Count(AtomicU64::new(0));
        let part = PartProgress::new(&outer, 10);
        part.start("scoring", Some(30));
        part.advance(4);
        assert_eq!(outer.0.load(Ordering::Relaxed), 1);
        part.advance(26);
        assert_eq!(outer.0.load(Ordering::Relaxed), 10);
        assert_eq!(part.unreported(), 0);
    }
}
