//! Whole commands as library calls: what `stance score` does, end to end, minus argument
//! parsing and printing, so that it can be driven from Rust as well as from the binary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::{DataFrame, DataType, IntoColumn};

use crate::corpus::{load_table, parse_dates_at, read_corpus, CorpusOptions};
use crate::model::{self, Model};
use crate::progress::Reporter;
use crate::provenance::Provenance;
use crate::score::{score_texts, table::scores_frame, ScoreOptions, ScoreRun};
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
}

/// The scores table, the provenance to write with it, and how the run went.
pub struct ScoredTable {
    pub frame: DataFrame,
    pub provenance: Provenance,
    pub run: ScoreRun,
}

/// Reads the corpus, loads the model, scores every statement × target and assembles the
/// scores table with its provenance. `command_line` is recorded as given.
pub fn score(job: &ScoreJob, command_line: &[String], reporter: &dyn Reporter) -> Result<ScoredTable> {
    let mut provenance = Provenance::for_command(command_line);
    let corpus = read_corpus(&job.corpus, &job.corpus_options)?;
    if !corpus.skipped.is_empty() {
        reporter.note(&format!(
            "skipped {} invalid row(s) of {} (--skip-invalid)",
            corpus.skipped.len(),
            job.corpus.display()
        ));
    }
    provenance
        .record_input("corpus", &job.corpus)
        .map_err(|source| Error::Io { path: job.corpus.clone(), source })?;
    provenance.set("input.corpus.rows", corpus.frame.height());
    provenance.set("input.corpus.skipped_rows", corpus.skipped.len());

    let loading = Instant::now();
    let resolved = model::resolve(&job.model, &model::hub::cache_root())?;
    let model = Model::load(resolved, &job.device)?;
    tracing::info!(seconds = loading.elapsed().as_secs_f64(), "model loaded");
    model.record(&mut provenance);

    let text = corpus.frame.column("text").and_then(|c| c.str()).map_err(Error::Table)?;
    // The corpus reader guarantees non-empty text in every row.
    let texts: Vec<&str> = text.iter().map(|t| t.unwrap_or_default()).collect();
    let run = score_texts(&texts, &job.targets, &model, &job.options, reporter)?;
    let frame = scores_frame(&corpus.frame, &job.targets, &run).map_err(Error::Table)?;

    provenance.set("method", run.method.as_str());
    provenance.set("max_length", run.max_length);
    provenance.set("batch_size", job.options.batch_size);
    provenance.set_json("score_options", &job.options);
    if let Some(head) = &job.options.head {
        provenance.record_input("head", head).map_err(|source| Error::Io { path: head.clone(), source })?;
    }
    provenance.set_json("templates", &job.targets.templates);
    provenance.set_json("targets", &job.targets.targets);
    provenance.set("threads", crate::threads());
    provenance.set("sequences", run.sequences);
    Ok(ScoredTable { frame, provenance, run })
}

/// Reads a scores table written by `stance score` or any other tool (CSV, TSV, NDJSON,
/// Parquet) for the analysis commands: a text `date` column is parsed as the corpus reader
/// parses dates (errors name the row and line), an integer or f32 `score` becomes Float64,
/// and categorical or numeric `actor`/`target`/`label` columns (pandas writes categoricals)
/// become text.
pub fn read_scores(path: &Path) -> Result<(DataFrame, Provenance)> {
    let table = load_table(path, &["actor", "target", "date", "label"])?;
    let mut frame = table.frame;
    for name in ["actor", "target", "label"] {
        if let Ok(column) = frame.column(name) {
            if column.dtype() != &DataType::String && !column.dtype().is_nested() {
                let text = column.cast(&DataType::String).map_err(Error::Table)?;
                frame.replace(name, text).map_err(Error::Table)?;
            }
        }
    }
    if let Ok(date) = frame.column("date") {
        if date.dtype() == &DataType::String {
            let (parsed, _) =
                parse_dates_at(date.as_materialized_series(), path, &table.rows, "date", false)?;
            frame.replace("date", parsed.into_column()).map_err(Error::Table)?;
        }
    }
    if let Ok(score) = frame.column("score") {
        if score.dtype().is_primitive_numeric() && score.dtype() != &DataType::Float64 {
            let cast = score.cast(&DataType::Float64).map_err(Error::Table)?;
            frame.replace("score", cast).map_err(Error::Table)?;
        }
    }
    Ok((frame, table.provenance))
}

/// Provenance of a table derived from the scores in `input`: this command, the input's hash,
/// and the input's own provenance under `upstream.`.
pub fn derived_provenance(
    command_line: &[String],
    input: &Path,
    upstream: &Provenance,
) -> Result<Provenance> {
    let mut provenance = Provenance::for_command(command_line);
    provenance
        .record_input("scores", input)
        .map_err(|source| Error::Io { path: input.to_owned(), source })?;
    provenance.inherit(upstream);
    Ok(provenance)
}
