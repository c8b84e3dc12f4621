//! Corpus errors: each names the file and, where it applies, the row, the physical line, the
//! column and what was expected.

use std::fmt;
use std::path::PathBuf;

use polars::prelude::{DataType, PolarsError};

use super::dates::DateProblem;

/// Where a problem sits in an input table.
///
/// `row` counts data rows from 1 (the header and blank lines are not rows); `line` is the
/// physical line the row starts on, known for CSV/TSV/NDJSON but not for Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// The header line of a CSV/TSV file.
    Header { line: usize },
    /// A data row.
    Row { row: usize, line: Option<usize> },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Header { line } => write!(f, "header (line {line})"),
            Location::Row { row, line: Some(line) } => write!(f, "row {row} (line {line})"),
            Location::Row { row, line: None } => write!(f, "row {row}"),
        }
    }
}

/// The role a column plays in a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    Text,
    Actor,
    Date,
    Id,
}

impl ColumnRole {
    /// The canonical column name of the role.
    pub fn canonical(self) -> &'static str {
        match self {
            ColumnRole::Text => "text",
            ColumnRole::Actor => "actor",
            ColumnRole::Date => "date",
            ColumnRole::Id => "id",
        }
    }
}

impl fmt::Display for ColumnRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical())
    }
}

/// Why a row was dropped (with `skip_invalid`) or refused (without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The text is missing, empty or only whitespace.
    EmptyText,
    /// The date is not an ISO 8601 date or datetime.
    BadDate { value: String, problem: DateProblem },
}

/// A row dropped by `skip_invalid`, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub at: Location,
    /// The column as named in the input file.
    pub column: String,
    pub reason: SkipReason,
}

impl SkippedRow {
    /// The 0-based position of the row in the input table.
    pub fn index(&self) -> usize {
        match self.at {
            Location::Row { row, .. } => row - 1,
            Location::Header { .. } => 0,
        }
    }

    /// The error this row raises when invalid rows are not skipped.
    pub fn into_error(self, path: PathBuf) -> CorpusError {
        match self.reason {
            SkipReason::EmptyText => CorpusError::EmptyText { path, at: self.at, column: self.column },
            SkipReason::BadDate { value, problem } => {
                CorpusError::BadDate { path, at: self.at, column: self.column, value, problem }
            }
        }
    }
}

impl fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, column {:?}: ", self.at, self.column)?;
        match &self.reason {
            SkipReason::EmptyText => f.write_str("empty or whitespace-only text"),
            SkipReason::BadDate { value, problem } => write!(f, "{}", BadDateMessage { value, problem }),
        }
    }
}

/// `cannot parse "…" as an ISO 8601 date or datetime`, plus the finer reason when there is one.
struct BadDateMessage<'a> {
    value: &'a str,
    problem: &'a DateProblem,
}

impl fmt::Display for BadDateMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot parse {:?} as an ISO 8601 date or datetime", self.value)?;
        match self.problem {
            DateProblem::Format => {
                f.write_str(" (expected e.g. 2025-08-14, 2025-08-14T10:30:00 or 2025-08-14T10:30:00+03:00)")
            }
            other => write!(f, " ({other})"),
        }
    }
}

/// Errors from reading a corpus or any input table.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("cannot tell the table format of {path}: use .csv, .tsv, .jsonl, .ndjson, .json or .parquet")]
    UnknownFormat { path: PathBuf },

    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is empty")]
    Empty { path: PathBuf },

    #[error("{path} has no data rows")]
    NoRows { path: PathBuf },

    #[error("{path}: all {skipped} rows are invalid and were skipped, nothing is left")]
    AllRowsSkipped { path: PathBuf, skipped: usize },

    #[error("{path} is UTF-16 encoded: save it as UTF-8")]
    Utf16 { path: PathBuf },

    #[error("{path}: line {line}, byte {byte} of the line: invalid UTF-8: save the file as UTF-8")]
    InvalidUtf8 {
        path: PathBuf,
        line: usize,
        byte: usize,
        #[source]
        source: std::str::Utf8Error,
    },

    #[error(
        "{path}: {at}, column {column:?}: the value is {bytes} bytes long, over the limit of {limit} bytes \
         for one field (split the text, or cut it to the part that matters)"
    )]
    FieldTooLong { path: PathBuf, at: Location, column: String, bytes: usize, limit: usize },

    #[error("{path}: {at}: expected {expected} fields as in the header, found {found}")]
    FieldCount { path: PathBuf, at: Location, expected: usize, found: usize },

    #[error("{path}: {at}, field {field}: the quoted field opened on line {opened_line} is never closed")]
    UnclosedQuote { path: PathBuf, at: Location, field: usize, opened_line: usize },

    #[error(
        "{path}: {at}, field {field}: unexpected {found:?} after the closing quote on line {line}: \
         expected a separator or the end of the line (a quote inside a quoted field is written \"\")"
    )]
    TextAfterQuote { path: PathBuf, at: Location, field: usize, line: usize, found: char },

    #[error("{path}: {at}: column {name:?} appears twice (fields {first} and {second})")]
    DuplicateColumn { path: PathBuf, at: Location, name: String, first: usize, second: usize },

    #[error("{path}: line {line}: {}", json_problem(.source))]
    Json {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot read {path} as Parquet")]
    Parquet {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },

    #[error(
        "{path}: column {column:?} has Parquet type {dtype}, which stance does not read; \
         store it as Int32/Int64, Float64 or text"
    )]
    UnreadableParquetType { path: PathBuf, column: String, dtype: String },

    #[error("{path} is a damaged Parquet file ({detail}); write or copy it again")]
    DamagedParquet { path: PathBuf, detail: String },

    #[error("cannot read the provenance sidecar {path}")]
    SidecarRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: the provenance sidecar is not a JSON object of strings")]
    Sidecar {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "{path}: no {role} column {column:?}; the columns are {}{}",
        quoted_list(.available),
        separator_hint(.available)
    )]
    MissingColumn { path: PathBuf, role: ColumnRole, column: String, available: Vec<String> },

    #[error(
        "{path}: column {column:?} is mapped to the {role} column, but the file already has a column {:?}",
        .role.canonical()
    )]
    ColumnConflict { path: PathBuf, role: ColumnRole, column: String },

    #[error("{path}: column {column:?} is mapped both as the {first} and as the {second} column")]
    SameColumn { path: PathBuf, column: String, first: ColumnRole, second: ColumnRole },

    #[error("{path}: column {column:?} has type {dtype}; expected {expected}")]
    ColumnType { path: PathBuf, column: String, dtype: DataType, expected: &'static str },

    #[error("{path}: {at}, column {column:?}: found {found}; expected text")]
    NestedValue { path: PathBuf, at: Location, column: String, found: &'static str },
    #[error("{path}: {at}, column {column:?}: empty or whitespace-only text")]
    EmptyText { path: PathBuf, at: Location, column: String },

    #[error("{path}: {at}, column {column:?}: {}", BadDateMessage { value, problem })]
    BadDate { path: PathBuf, at: Location, column: String, value: String, problem: DateProblem },

    #[error("cannot assemble the table read from {path}")]
    Frame {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
}

fn json_problem(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Data => "expected one JSON object per line",
        _ => "malformed JSON",
    }
}

/// A header read as one column that holds another common separator: a semicolon CSV (what
/// spreadsheets write where the decimal mark is a comma) or a pipe-separated file.
fn separator_hint(names: &[String]) -> String {
    let [only] = names else { return String::new() };
    match [';', '|'].into_iter().find(|&c| only.contains(c)) {
        Some(separator) => format!(
            " (one column: the file seems separated by {separator:?}; CSV files are read with commas and \
             .tsv files with tabs, so re-save it as comma-separated CSV or TSV)"
        ),
        None => String::new(),
    }
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}
