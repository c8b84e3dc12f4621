//! Statistics on scores: trends per period with bootstrap confidence intervals ([`trend`]),
//! tested change points in each actor's stance ([`shifts`]), and period-by-period comparisons
//! of actors ([`compare`]), and stratified samples for hand coding ([`sample()`]).
//!
//! Every function takes a scores table with at least `actor` (String), `date` (Date or
//! Datetime; the caller parses strings first), `target` (String) and `score` (Float64 or
//! Float32 in [-1, 1], no nulls); `label` (String) or `p_favor`/`p_against`/`p_none` (floats)
//! are used for stance shares when present. Row numbers in errors count data rows from 1.
//!
//! Randomness comes from [`rng`] only: every cell or series gets its own stream derived from
//! the user's seed and its identity, so results are reproducible from the recorded seed and do
//! not depend on row order or on which other actors and targets the table holds. Numeric work
//! runs on plain vectors; polars is only the way in and out.

pub(crate) mod bootstrap;
mod compare;
mod input;
mod period;
pub mod rng;
mod sample;
mod shift;
mod trend;

use polars::prelude::*;

pub use compare::{compare, CompareOptions};
pub use period::Period;
pub use sample::{sample, Allocation, Sample, SampleOptions, Stratum};
pub use shift::{benjamini_hochberg, pelt, shifts, Dependence, Penalty, ShiftOptions};
pub use trend::{trend, TrendOptions};

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("the scores table has no rows")]
    NoRows,
    #[error("the scores table has no column `{column}` (expected {expected}); its columns are: {available}")]
    MissingColumn { column: String, expected: &'static str, available: String },
    #[error("column `{column}` has type {found}; expected {expected}")]
    WrongType { column: String, found: String, expected: &'static str },
    #[error("column `{column}`, row {row}: value is missing; expected {expected}")]
    Null { column: String, row: usize, expected: &'static str },
    #[error("column `score`, row {row}: {value:?} is not a number; expected {expected}")]
    NotANumber { row: usize, value: String, expected: &'static str },
    #[error("column `score`, row {row}: {value} is not a number in [-1, 1]")]
    ScoreOutOfRange { row: usize, value: f64 },
    #[error("column `{column}`, row {row}: the date is outside the supported calendar")]
    DateOutOfRange { column: String, row: usize },
    #[error("unknown period `{0}`: expected day, week, month or quarter")]
    UnknownPeriod(String),
    #[error("unknown penalty `{0}`: expected bic, aic or a non-negative number")]
    UnknownPenalty(String),
    #[error("option `{option}` is {value}; expected {expected}")]
    InvalidOption { option: &'static str, value: String, expected: &'static str },
    #[error("target `{target}` is not in the scores table; targets present: {available}")]
    UnknownTarget { target: String, available: String },
    #[error(
        "actor `{actor}` has no statements{scope} in the scores table; actors present{scope}: {available}"
    )]
    UnknownActor { actor: String, scope: String, available: String },
    #[error("--n {n} is more than the {rows} rows of the scores table; expected at most {rows}")]
    SampleTooLarge { n: usize, rows: usize },
    #[error(
        "--min-per-stratum {min} over {strata} strata needs {needed} rows, more than --n {n}; \
         raise --n or lower --min-per-stratum"
    )]
    MinPerStratum { min: usize, strata: usize, needed: usize, n: usize },
    #[error("cannot build the result table")]
    Frame(#[source] PolarsError),
}

impl From<PolarsError> for AnalysisError {
    fn from(source: PolarsError) -> Self {
        AnalysisError::Frame(source)
    }
}

/// A readable list for error messages: sorted, quoted, cut after 20 names.
fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 20;
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return "(none)".to_owned();
    }
    let mut out = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

fn check_level(option: &'static str, value: f64) -> Result<(), AnalysisError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(AnalysisError::InvalidOption {
            option,
            value: value.to_string(),
            expected: "a number between 0 and 1",
        })
    }
}

fn check_positive(option: &'static str, value: usize) -> Result<(), AnalysisError> {
    if value > 0 {
        Ok(())
    } else {
        Err(AnalysisError::InvalidOption { option, value: value.to_string(), expected: "a positive number" })
    }
}

/// Runs `work` on every item on all cores and returns the results in item order. Each result
/// depends only on its item, so the output is the same for any number of threads.
fn parallel_map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut indexed: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, work(item)));
                    }
                    done
                })
            })
            .collect();
        // A worker only panics if `work` does; re-raise it here rather than lose results.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    indexed.sort_unstable_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, r)| r).collect()
}

fn date_column(name: &str, days: Vec<Option<i32>>) -> Result<Column, AnalysisError> {
    Ok(Series::new(name.into(), days).cast(&DataType::Date)?.into())
}

fn float_column(name: &str, values: Vec<Option<f64>>) -> Column {
    Series::new(name.into(), values).into()
}

fn count_column(name: &str, values: Vec<u32>) -> Column {
    Series::new(name.into(), values).into()
}

fn string_column(name: &str, values: Vec<String>) -> Column {
    Series::new(name.into(), values).into()
}
