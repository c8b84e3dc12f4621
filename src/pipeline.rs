//! Whole commands as library calls: what `stance score` does, end to end, minus argument
//! parsing and printing, so that it can be driven from Rust as well as from the binary.

use std::path::PathBuf;
use std::time::Instant;

use polars::prelude::DataFrame;

use crate::corpus::{read_corpus, CorpusOptions};
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
    provenance.set_json("templates", &job.targets.templates);
    provenance.set_json("targets", &job.targets.targets);
    provenance.set("threads", crate::threads());
    provenance.set("sequences", run.sequences);
    Ok(ScoredTable { frame, provenance, run })
}
