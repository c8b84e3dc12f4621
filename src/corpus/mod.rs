//! Corpus ingestion: statements from CSV, TSV, NDJSON/JSONL or Parquet into one polars
//! frame with canonical columns.
//!
//! The frame of a [`Corpus`] has, in this order:
//! - `id` (String): the input's id column cast to text (numeric ids become `"17"`), or, where
//!   the input has no id column, ids derived from content by [`derive_id`]. Rows with an empty
//!   id in an id column also get a derived id.
//! - `text` (String): required; an empty or whitespace-only text is an error (or a skipped row
//!   with `skip_invalid`).
//! - `actor` (String, other types cast to text): present only when the input has an actor
//!   column; nothing is filled in when it has none.
//! - `date`: present only when the input has a date column. ISO 8601 dates and datetimes
//!   (see [`dates`]) become a polars `Date` column when every value is a plain date, and
//!   otherwise `Datetime(Microseconds, no zone)`, where values that carried a zone are
//!   converted to UTC, values without one are kept as written, and plain dates sit at
//!   midnight. Parquet `Date` columns stay dates; `Datetime` columns of any unit or zone become
//!   UTC microseconds. Empty values are null; an unparseable value is an error (or a skipped
//!   row).
//! - every other input column, untouched and in input order (`source`, `url`, `lang`, …).
//!
//! Column mapping renames the mapped columns to these canonical names. How each format's
//! columns are typed is described at [`load_table`]; a CSV/TSV column mapped to a role is
//! always read as text.
//!
//! Rows are numbered from 1 counting data rows only (not the header, not blank lines);
//! messages also give the physical line the row starts on for CSV/TSV/NDJSON, e.g.
//! `corpus.csv: row 7 (line 9), column "date": cannot parse "14/08/2025" as an ISO 8601 date
//! or datetime …`.

mod csv;
pub mod dates;
mod error;
mod ids;
mod json;
mod read;

use std::collections::HashSet;
use std::path::Path;

use polars::prelude::*;

pub use dates::{drop_skipped, parse_dates, parse_dates_at, parse_iso8601, DateProblem, ParsedDate};
pub use error::{ColumnRole, CorpusError, Location, SkipReason, SkippedRow};
pub use ids::derive_id;
pub use read::{load_table, read_table, InputFormat, RowLines, Table, MAX_FIELD_BYTES};

use crate::provenance::Provenance;

/// Which input columns hold the text, actor, date and id, and what to do with invalid rows.
///
/// A `None` column means the standard name (`text`, `actor`, `date`, `id`). A named column
/// must exist; a standard one only must for the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusOptions {
    pub text_col: Option<String>,
    pub actor_col: Option<String>,
    pub date_col: Option<String>,
    pub id_col: Option<String>,
    /// Drop rows with an empty text or an unparseable date (listed in [`Corpus::skipped`])
    /// instead of failing on the first.
    pub skip_invalid: bool,
}

/// A corpus as read: canonical columns first (see the module documentation).
#[derive(Debug, Clone)]
pub struct Corpus {
    pub frame: DataFrame,
    /// Rows dropped by `skip_invalid`, in input order; one entry per row.
    pub skipped: Vec<SkippedRow>,
    pub format: InputFormat,
    /// Provenance the input file carried (e.g. a corpus written by `stance`); usually empty.
    pub provenance: Provenance,
    /// Data rows in the input, before skipping.
    pub input_rows: usize,
    /// Whether any id was derived from content.
    pub derived_ids: bool,
    /// SHA-256 of the bytes the corpus was read from.
    pub sha256: String,
}

/// Reads a corpus file and puts it in canonical form.
pub fn read_corpus(path: &Path, options: &CorpusOptions) -> Result<Corpus, CorpusError> {
    let requested = [
        (ColumnRole::Text, options.text_col.as_deref()),
        (ColumnRole::Actor, options.actor_col.as_deref()),
        (ColumnRole::Date, options.date_col.as_deref()),
        (ColumnRole::Id, options.id_col.as_deref()),
    ];
    let text_columns: Vec<&str> =
        requested.iter().map(|(role, name)| name.unwrap_or(role.canonical())).collect();
    let table = load_table(path, &text_columns)?;
    let frame = &table.frame;
    if frame.height() == 0 {
        return Err(CorpusError::NoRows { path: path.to_owned() });
    }
    let roles = Roles::resolve(frame, path, &requested)?;
    let height = frame.height();
    let frame_error = |source| CorpusError::Frame { path: path.to_owned(), source };

    let text_name = roles.text.as_str();
    let text = string_column(frame, path, text_name, "text")?;
    let mut problems: Vec<SkippedRow> = text
        .iter()
        .enumerate()
        .filter(|(_, t)| t.is_none_or(|t| t.trim().is_empty()))
        .map(|(index, _)| SkippedRow {
            at: table.rows.at(index),
            column: text_name.to_owned(),
            reason: SkipReason::EmptyText,
        })
        .collect();

    let actor = match &roles.actor {
        Some(name) => Some(string_column(frame, path, name, "text")?),
        None => None,
    };

    let dates = match &roles.date {
        Some(name) => {
            let series = frame.column(name).map_err(frame_error)?.as_materialized_series();
            let parsed = dates::parse_date_values(series, path, &table.rows, name)?;
            problems.extend(parsed.problems);
            Some(parsed.values)
        }
        None => None,
    };

    // One entry per row, the text's problem before the date's.
    problems.sort_by_key(SkippedRow::index);
    problems.dedup_by_key(|p| p.index());
    if !options.skip_invalid {
        if let Some(first) = problems.into_iter().next() {
            return Err(first.into_error(path.to_owned()));
        }
        problems = Vec::new();
    }
    if problems.len() == height {
        return Err(CorpusError::AllRowsSkipped { path: path.to_owned(), skipped: height });
    }

    // `source` takes part in derived ids when it is an ordinary passthrough column.
    let source = match frame.column("source") {
        Ok(_) if !roles.names().contains("source") => Some(string_column(frame, path, "source", "text")?),
        _ => None,
    };
    let given_ids = match &roles.id {
        Some(name) => Some(string_column(frame, path, name, "text")?),
        None => None,
    };
    let mut derived_ids = false;
    let ids: Vec<String> = (0..height)
        .map(|i| {
            if let Some(id) = given_ids.as_ref().and_then(|ids| ids.get(i)).filter(|id| !id.is_empty()) {
                return id.to_owned();
            }
            derived_ids = true;
            let date = dates.as_ref().and_then(|d| d[i].map(|d| d.canonical()));
            derive_id(
                text.get(i).unwrap_or(""),
                actor.as_ref().and_then(|a| a.get(i)),
                date.as_deref(),
                source.as_ref().and_then(|s| s.get(i)),
            )
        })
        .collect();

    let mut columns = vec![
        StringChunked::from_iter_values("id".into(), ids.iter().map(String::as_str)).into_column(),
        text.with_name("text".into()).into_column(),
    ];
    if let Some(actor) = actor {
        columns.push(actor.with_name("actor".into()).into_column());
    }
    if let Some(values) = &dates {
        columns.push(dates::date_series("date", values).into_column());
    }
    let role_names = roles.names();
    columns.extend(frame.columns().iter().filter(|c| !role_names.contains(c.name().as_str())).cloned());
    let mut out = DataFrame::new(height, columns).map_err(frame_error)?;
    if !problems.is_empty() {
        out = drop_skipped(&out, &problems).map_err(frame_error)?;
    }
    Ok(Corpus {
        frame: out,
        skipped: problems,
        format: table.format,
        provenance: table.provenance,
        input_rows: height,
        derived_ids,
        sha256: table.sha256,
    })
}

/// The input column behind each role.
struct Roles {
    text: String,
    actor: Option<String>,
    date: Option<String>,
    id: Option<String>,
}

impl Roles {
    fn resolve(
        frame: &DataFrame,
        path: &Path,
        requested: &[(ColumnRole, Option<&str>)],
    ) -> Result<Self, CorpusError> {
        let available: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
        let has = |name: &str| available.iter().any(|a| a == name);
        let mut found: Vec<(ColumnRole, String)> = Vec::new();
        for &(role, name) in requested {
            let column = name.unwrap_or(role.canonical());
            if !has(column) {
                if name.is_some() || role == ColumnRole::Text {
                    return Err(CorpusError::MissingColumn {
                        path: path.to_owned(),
                        role,
                        column: column.to_owned(),
                        available,
                    });
                }
                // `Actor`, ` date`: most likely meant, but a guess; the user decides.
                let near = |a: &&String| a.trim_start_matches('\u{feff}').trim().eq_ignore_ascii_case(column);
                if let Some(similar) = available.iter().find(near) {
                    tracing::warn!(
                        "{}: no {column:?} column, so the {role} of every statement is empty; to use {similar:?}, \
                         pass --{role}-col {similar:?}",
                        path.display()
                    );
                }
                continue;
            }
            if column != role.canonical() && has(role.canonical()) {
                return Err(CorpusError::ColumnConflict {
                    path: path.to_owned(),
                    role,
                    column: column.to_owned(),
                });
            }
            if let Some((first, _)) = found.iter().find(|(_, c)| c == column) {
                return Err(CorpusError::SameColumn {
                    path: path.to_owned(),
                    column: column.to_owned(),
                    first: *first,
                    second: role,
                });
            }
            found.push((role, column.to_owned()));
        }
        let take = |role: ColumnRole| found.iter().find(|(r, _)| *r == role).map(|(_, c)| c.clone());
        Ok(Self {
            // The loop above returned unless the text column was found.
            text: take(ColumnRole::Text).unwrap_or_default(),
            actor: take(ColumnRole::Actor),
            date: take(ColumnRole::Date),
            id: take(ColumnRole::Id),
        })
    }

    fn names(&self) -> HashSet<&str> {
        [Some(&self.text), self.actor.as_ref(), self.date.as_ref(), self.id.as_ref()]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

/// A column as text; numbers and booleans become their text, nested types are refused.
fn string_column(
    frame: &DataFrame,
    path: &Path,
    name: &str,
    expected: &'static str,
) -> Result<StringChunked, CorpusError> {
    let column = frame.column(name).map_err(|source| CorpusError::Frame { path: path.to_owned(), source })?;
    let type_error = || CorpusError::ColumnType {
        path: path.to_owned(),
        column: name.to_owned(),
        dtype: column.dtype().clone(),
        expected,
    };
    if column.dtype().is_nested() {
        return Err(type_error());
    }
    let text = column.as_materialized_series().cast(&DataType::String).map_err(|_| type_error())?;
    text.str().cloned().map_err(|_| type_error())
}

#[cfg(test)]
mod tests;
