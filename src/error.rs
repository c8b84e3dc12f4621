//! The library's top-level error: one variant per stage, each keeping its source.

use crate::analysis::AnalysisError;
use crate::model::ModelError;
use crate::output::OutputError;
use crate::targets::TargetsError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Targets(#[from] TargetsError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
