//! Validating before trusting: scoring a hand-labelled gold set and measuring how well the
//! scores agree with it (`stance eval`), and training a stance head on labelled examples
//! (`stance train`).
//!
//! - [`gold`] reads gold sets: tables of one's own and the public benchmark layouts
//!   (SemEval-2016 Task 6, P-Stance, COVID-19-Stance, VAST).
//! - [`metrics`] computes accuracy, per-class precision/recall/F1, macro-F1, SemEval's F_avg,
//!   the confusion matrix, expected calibration error and bootstrap intervals.
//! - [`report`] slices a gold set (all rows, per target, before/after a date) and renders the
//!   result as text, a table or a JSON document.
//! - [`logistic`] and [`train`] fit a multinomial logistic-regression head on sentence
//!   embeddings, with cross-validation; the head itself lives in [`crate::score::head`].
//! - [`run`] strings these together the way the commands do.

pub mod gold;
pub mod logistic;
pub mod metrics;
pub mod report;
pub mod run;
pub mod train;

use std::path::PathBuf;

use polars::prelude::PolarsError;

pub use gold::{read_gold, GoldFormat, GoldOptions, GoldSet};
pub use report::{EvalOptions, Predictions, Report};
pub use run::{evaluate, train, EvalJob, EvalOutcome, TrainJob, TrainOutcome};
pub use train::{ClassWeight, TrainOptions};

use crate::corpus::{CorpusError, DateProblem, Location};
use crate::model::ModelError;
use crate::output::OutputError;
use crate::score::head::HeadError;
use crate::score::ScoreError;
use crate::targets::TargetsError;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Read(#[from] CorpusError),
    #[error("{path} has no data rows")]
    NoRows { path: PathBuf },
    #[error(
        "{path}: no {role} column (looked for {}, {format} layout); the columns are {}; {}",
        quoted(.tried), quoted(.available), column_hint(.role)
    )]
    MissingColumn {
        path: PathBuf,
        role: &'static str,
        tried: Vec<String>,
        format: &'static str,
        available: Vec<String>,
    },
    #[error("{path}: column {column:?} has type {dtype}; expected {expected}")]
    ColumnType { path: PathBuf, column: String, dtype: String, expected: &'static str },
    #[error("{path}: {at}, column {column:?}: the value is empty; expected {expected}")]
    EmptyValue { path: PathBuf, at: Location, column: String, expected: &'static str },
    #[error(
        "{path}: {at}, column {column:?}: {value:?} is not a stance label; expected favor, against or none \
         (map other labels with --label-map LABEL=favor|against|none)"
    )]
    UnknownLabel { path: PathBuf, at: Location, column: String, value: String },
    #[error("{path}: {at}, column {column:?}: {value} is not a probability; expected a number in [0, 1]")]
    BadProbability { path: PathBuf, at: Location, column: String, value: String },
    #[error(
        "{path}: {at}, column {column:?}: {value} is not a sampling weight; expected a positive number \
         (the inverse of the row's inclusion probability, as `stance sample` writes it)"
    )]
    BadWeight { path: PathBuf, at: Location, column: String, value: String },
    #[error("--label-col is given {given} times; `stance train` learns from one column of labels")]
    SeveralLabelColumns { given: usize },
    #[error("{path}: no row has target {target:?}; the targets are {}", quoted(.available))]
    UnknownTarget { path: PathBuf, target: String, available: Vec<String> },
    #[error(
        "{path} has no p_favor, p_against, p_none columns to evaluate: give --model to score it, \
         or --pred-col for a column of predicted labels"
    )]
    NoPredictions { path: PathBuf },
    #[error("--split-by-date {value:?}: {problem} (expected e.g. 2025-08-14)")]
    BadSplitDate { value: String, problem: DateProblem },
    #[error("every training row has the label {class}; a stance head needs at least two classes")]
    OneClass { class: &'static str },
    #[error(
        "only {rows} training row(s) have the label {class}: cross-validation needs two or more per class \
         (add examples, or --folds 0 to skip it)"
    )]
    TooFewRows { class: &'static str, rows: usize },
    #[error("option `{option}` is {value}; expected {expected}")]
    InvalidOption { option: &'static str, value: String, expected: &'static str },
    #[error(transparent)]
    Targets(#[from] TargetsError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Head(#[from] HeadError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot assemble the table read from {path}")]
    Frame {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("cannot assemble the output table")]
    Table(#[source] PolarsError),
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    const SHOWN: usize = 20;
    let mut out = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

fn column_hint(role: &str) -> &'static str {
    match role {
        "text" => "name it with --text-col",
        "target" => "name it with --target-col, or give --target NAME when every row is about one target",
        "gold label" => "name it with --label-col",
        "date" => "name it with --date-col",
        _ => "name it with --pred-col",
    }
}
