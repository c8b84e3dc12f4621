//! The library's top-level error: one variant per stage, each keeping its source.

use std::path::PathBuf;

use crate::analysis::AnalysisError;
use crate::cache::CacheError;
use crate::checkpoint::RunError;
use crate::corpus::CorpusError;
use crate::eval::EvalError;
use crate::model::ModelError;
use crate::output::OutputError;
use crate::score::ScoreError;
use crate::targets::TargetsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Targets(#[from] TargetsError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Plot(#[from] crate::output::plot::PlotError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
    #[error(transparent)]
    Shard(#[from] crate::shard::ShardError),
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot assemble the output table")]
    Table(#[source] polars::prelude::PolarsError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
