//! Gold sets: statements with a target and a hand-assigned stance, from a table of one's own
//! (CSV, TSV, NDJSON, Parquet) or from a public stance benchmark in its distributed layout.
//!
//! Benchmark layouts (the files are read where they lie; none is shipped with this project):
//!
//! | format | columns (text, target, label) | labels |
//! |---|---|---|
//! | `semeval` (SemEval-2016 Task 6, TSV) | `Tweet`, `Target`, `Stance` (+ `ID`) | `FAVOR`, `AGAINST`, `NONE` |
//! | `pstance` (P-Stance, CSV) | `Tweet`, `Target`, `Stance` | `FAVOR`, `AGAINST` |
//! | `covid19` (COVID-19-Stance, CSV) | `Tweet`, `Target 1`, `Stance 1` (+ `Tweet Id`) | `FAVOR`, `AGAINST`, `NONE` |
//! | `vast` (VAST, CSV) | `Tweet`, `Target 1`, `Stance 1`; or the original `post`, `new_topic`, `label` | `FAVOR`/`AGAINST`/`NONE`; or `1` pro, `0` con, `2` neutral |
//!
//! Without `--format` the layout is recognised from the header (the columns above, checked
//! from the most specific); anything else is a plain `table` with `text`, `target` and a
//! label column (`label`, `stance` or `gold`; in an already-scored table, which has
//! `p_favor`/`p_against`/`p_none`, `label` is the prediction, so `gold`, `input_label` or
//! `stance`). Column options override any layout's names.
//!
//! Several label columns (`--label-col` given once per coder) are several coders: a blank
//! cell is a row that coder left out, and the row's gold label, for the metrics that need
//! one, is the label most of its coders chose (none on a tie: the row then counts only in
//! the coders' agreement). A `sample_weight` column (from `stance sample`) gives each row's
//! inverse inclusion probability, for design-weighted estimates.
//!
//! Labels map to stances through `--label-map` first (case-insensitive), then the format's
//! own vocabulary, then the common spellings [`Stance::parse`] knows (favor/pro/support,
//! against/con/oppose, none/neutral…). Anything else is an error naming the file, row, line
//! and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use super::metrics::{class_counts, majority};
use super::EvalError;
use crate::corpus::dates::parse_date_values;
use crate::corpus::{load_table, ParsedDate, RowLines};
use crate::provenance::Provenance;
use crate::targets::Stance;

/// The layout of a gold file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GoldFormat {
    /// Any table with text, target and label columns.
    Table,
    /// SemEval-2016 Task 6 TSV.
    Semeval,
    /// P-Stance CSV.
    Pstance,
    /// COVID-19-Stance CSV (one file for all targets).
    Covid19,
    /// VAST CSV.
    Vast,
}

impl GoldFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            GoldFormat::Table => "table",
            GoldFormat::Semeval => "semeval",
            GoldFormat::Pstance => "pstance",
            GoldFormat::Covid19 => "covid19",
            GoldFormat::Vast => "vast",
        }
    }

    /// The benchmark layout a header matches, most specific first; `Table` when none does.
    pub fn detect(columns: &[&str]) -> Self {
        let has = |names: &[&str]| names.iter().all(|n| columns.contains(n));
        if has(&["ID", "Target", "Tweet", "Stance"]) {
            GoldFormat::Semeval
        } else if has(&["Tweet", "Target 1", "Stance 1", "Opinion Towards"]) {
            GoldFormat::Covid19
        } else if has(&["Tweet", "Target 1", "Stance 1", "seen?"]) || has(&["post", "new_topic", "label"]) {
            GoldFormat::Vast
        } else if has(&["Tweet", "Target", "Stance"]) {
            GoldFormat::Pstance
        } else {
            GoldFormat::Table
        }
    }

    /// Candidate column names for text, target and label, in order of preference.
    fn layout(self, scored: bool) -> [&'static [&'static str]; 3] {
        match self {
            GoldFormat::Table if scored => [&["text"], &["target"], &["gold", "input_label", "stance"]],
            GoldFormat::Table => [&["text"], &["target"], &["label", "stance", "gold"]],
            GoldFormat::Semeval | GoldFormat::Pstance => [&["Tweet"], &["Target"], &["Stance"]],
            GoldFormat::Covid19 => [&["Tweet"], &["Target 1"], &["Stance 1"]],
            GoldFormat::Vast => [&["Tweet", "post"], &["Target 1", "new_topic"], &["Stance 1", "label"]],
        }
    }

    /// Labels particular to the format, beyond the common spellings.
    fn vocabulary(self, value: &str) -> Option<Stance> {
        match (self, value) {
            // The original VAST release: 0 = con, 1 = pro, 2 = neutral.
            (GoldFormat::Vast, "0") => Some(Stance::Against),
            (GoldFormat::Vast, "1") => Some(Stance::Favor),
            (GoldFormat::Vast, "2") => Some(Stance::None),
            _ => None,
        }
    }
}

/// How to read a gold file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GoldOptions {
    /// `None`: recognised from the header.
    pub format: Option<GoldFormat>,
    pub text_col: Option<String>,
    pub target_col: Option<String>,
    /// Gold label columns: none for the layout's, one, or one per coder.
    pub label_cols: Vec<String>,
    /// Read only when dates are needed (`--split-by-date`); default `date`.
    pub date_col: Option<String>,
    /// Predicted labels of an already-scored table without probabilities.
    pub pred_col: Option<String>,
    /// Gold label → stance, ahead of every built-in spelling (keys compared case-insensitively).
    pub label_map: BTreeMap<String, Stance>,
    /// Targets to keep (all when empty); for a file without a target column, the one target
    /// every row is about.
    pub targets: Vec<String>,
    pub need_dates: bool,
}

/// Predictions carried by an already-scored gold table.
#[derive(Debug, Clone, PartialEq)]
pub enum GivenPredictions {
    /// `p_favor`, `p_against`, `p_none`, per row.
    Probabilities(Vec<[f64; 3]>),
    /// Labels only (`--pred-col`): no calibration.
    Labels(Vec<Stance>),
}

/// One file of a gold set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoldFile {
    pub path: PathBuf,
    pub format: GoldFormat,
    /// Rows kept (about the targets asked for).
    pub rows: usize,
    /// Data rows in the file.
    pub input_rows: usize,
    /// The columns read, by role.
    pub columns: BTreeMap<&'static str, String>,
    /// Provenance the file carried (a table written by `stance`), else empty.
    #[serde(skip)]
    pub provenance: Provenance,
    /// SHA-256 of the bytes read.
    #[serde(skip)]
    pub sha256: String,
    /// Whether the file has `p_favor`, `p_against`, `p_none`.
    pub scored: bool,
    /// Every target in the file, kept or not (for messages).
    #[serde(skip)]
    pub targets_seen: Vec<String>,
}

/// The labels of several coders, one label column each.
#[derive(Debug, Clone, PartialEq)]
pub struct Coders {
    /// The label columns, in the order given.
    pub names: Vec<String>,
    /// Per row, each coder's label; `None` where the coder left the row blank.
    pub labels: Vec<Vec<Option<Stance>>>,
}

/// The name of the column of sampling weights `stance sample` writes.
pub const WEIGHT_COLUMN: &str = "sample_weight";

/// A gold set as read: one entry per kept row, files in the order given, rows in file order.
#[derive(Debug, Clone)]
pub struct GoldSet {
    pub files: Vec<GoldFile>,
    pub texts: Vec<String>,
    pub targets: Vec<String>,
    /// The gold label: the one label column's, or the coders' majority (`None` on a tie or
    /// where every coder left the row blank).
    pub labels: Vec<Option<Stance>>,
    /// Present with several label columns.
    pub coders: Option<Coders>,
    /// Inverse inclusion probabilities, when every file has a `sample_weight` column.
    pub weights: Option<Vec<f64>>,
    /// Present when dates were asked for; `None` entries are missing dates.
    pub dates: Option<Vec<Option<ParsedDate>>>,
    /// Present when every file carries predictions of the same kind.
    pub given: Option<GivenPredictions>,
}

impl GoldSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Distinct targets in order of first appearance.
    pub fn target_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in &self.targets {
            if !names.contains(t) {
                names.push(t.clone());
            }
        }
        names
    }

    /// Data rows in the files, kept or not.
    pub fn input_rows(&self) -> usize {
        self.files.iter().map(|f| f.input_rows).sum()
    }

    /// Rows without a gold label (coders tied, or all left the row blank).
    pub fn unlabelled(&self) -> usize {
        self.labels.iter().filter(|l| l.is_none()).count()
    }
}

const SCORE_COLUMNS: [&str; 3] = ["p_favor", "p_against", "p_none"];

/// Reads the gold files (one set split over several files, such as P-Stance's one file per
/// target): each file's layout, its columns by role, every label mapped to a stance.
pub fn read_gold(paths: &[PathBuf], options: &GoldOptions) -> Result<GoldSet, EvalError> {
    let mut set = GoldSet {
        files: Vec::with_capacity(paths.len()),
        texts: Vec::new(),
        targets: Vec::new(),
        labels: Vec::new(),
        coders: (options.label_cols.len() > 1)
            .then(|| Coders { names: options.label_cols.clone(), labels: Vec::new() }),
        weights: Some(Vec::new()),
        dates: options.need_dates.then(Vec::new),
        given: None,
    };
    let mut given: Vec<Option<GivenPredictions>> = Vec::with_capacity(paths.len());
    for path in paths {
        let part = read_file(path, options)?;
        set.files.push(part.file);
        set.texts.extend(part.texts);
        set.targets.extend(part.targets);
        set.labels.extend(part.labels);
        if let Some(coders) = &mut set.coders {
            coders.labels.extend(part.coder_labels);
        }
        set.weights = match (set.weights, part.weights) {
            (Some(mut all), Some(weights)) => {
                all.extend(weights);
                Some(all)
            }
            _ => None,
        };
        if let (Some(all), Some(dates)) = (&mut set.dates, part.dates) {
            all.extend(dates);
        }
        given.push(part.given);
    }
    if let Some(missing) = options.targets.iter().find(|t| !set.targets.contains(t)) {
        let mut available: Vec<String> = Vec::new();
        for part in &set.files {
            available.extend(part.targets_seen.iter().cloned());
        }
        available.sort();
        available.dedup();
        let path = paths.first().cloned().unwrap_or_default();
        return Err(EvalError::UnknownTarget { path, target: missing.clone(), available });
    }
    set.given = merge_given(given);
    Ok(set)
}

/// The predictions of every file joined, when all have the same kind.
fn merge_given(parts: Vec<Option<GivenPredictions>>) -> Option<GivenPredictions> {
    let mut merged: Option<GivenPredictions> = None;
    for part in parts {
        merged = match (merged, part?) {
            (None, first) => Some(first),
            (Some(GivenPredictions::Probabilities(mut a)), GivenPredictions::Probabilities(b)) => {
                a.extend(b);
                Some(GivenPredictions::Probabilities(a))
            }
            (Some(GivenPredictions::Labels(mut a)), GivenPredictions::Labels(b)) => {
                a.extend(b);
                Some(GivenPredictions::Labels(a))
            }
            _ => return None,
        };
    }
    merged
}

/// One file's rows.
struct Part {
    file: GoldFile,
    texts: Vec<String>,
    targets: Vec<String>,
    labels: Vec<Option<Stance>>,
    /// Per row, each coder's label (empty rows with one label column).
    coder_labels: Vec<Vec<Option<Stance>>>,
    weights: Option<Vec<f64>>,
    dates: Option<Vec<Option<ParsedDate>>>,
    given: Option<GivenPredictions>,
}

fn read_file(path: &Path, options: &GoldOptions) -> Result<Part, EvalError> {
    // Every column that may be read as text is kept as text (ids like `007`, labels like `1`).
    let mut text_columns: Vec<&str> = vec![
        "text",
        "target",
        "label",
        "stance",
        "gold",
        "input_label",
        "date",
        "Tweet",
        "Target",
        "Stance",
        "Target 1",
        "Stance 1",
        "post",
        "new_topic",
    ];
    for name in [&options.text_col, &options.target_col, &options.date_col, &options.pred_col]
        .into_iter()
        .flatten()
        .chain(&options.label_cols)
    {
        text_columns.push(name);
    }
    let table = load_table(path, &text_columns)?;
    let frame = &table.frame;
    if frame.height() == 0 {
        return Err(EvalError::NoRows { path: path.to_owned() });
    }
    let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
    let scored = SCORE_COLUMNS.iter().all(|c| names.contains(c));
    let format = options.format.unwrap_or_else(|| GoldFormat::detect(&names));
    let [text_names, target_names, label_names] = format.layout(scored);
    let find = |given: &Option<String>, candidates: &[&str], role: &'static str| {
        let tried: Vec<String> = match given {
            Some(name) => vec![name.clone()],
            None => candidates.iter().map(|c| (*c).to_owned()).collect(),
        };
        match tried.iter().find(|c| names.contains(&c.as_str())) {
            Some(name) => Ok(name.clone()),
            None => Err(EvalError::MissingColumn {
                path: path.to_owned(),
                role,
                tried,
                format: format.as_str(),
                available: names.iter().map(|n| (*n).to_owned()).collect(),
            }),
        }
    };
    let text_col = find(&options.text_col, text_names, "text")?;
    // One column (the layout's or the one named), or one per coder, each of which must exist.
    let label_cols: Vec<String> = match options.label_cols.as_slice() {
        [] => vec![find(&None, label_names, "gold label")?],
        names => {
            names.iter().map(|name| find(&Some(name.clone()), &[], "gold label")).collect::<Result<_, _>>()?
        }
    };
    if let Some(twice) = label_cols.iter().enumerate().find(|(k, c)| label_cols[..*k].contains(c)) {
        return Err(EvalError::InvalidOption {
            option: "--label-col",
            value: format!("{:?} given twice", twice.1),
            expected: "each coder's column once",
        });
    }
    let several = label_cols.len() > 1;
    // A file about one target may have no target column; `--target NAME` names it then.
    let target_col = match find(&options.target_col, target_names, "target") {
        Ok(name) => Some(name),
        Err(_) if options.target_col.is_none() && options.targets.len() == 1 => None,
        Err(e) => return Err(e),
    };

    let rows = &table.rows;
    // A gold or predicted label of row `i`, in the file's format, or an error naming it.
    let label_at = |raw: &str, column: &str, i: usize| {
        map_label(raw, format, &options.label_map).ok_or_else(|| EvalError::UnknownLabel {
            path: path.to_owned(),
            at: rows.at(i),
            column: column.to_owned(),
            value: raw.to_owned(),
        })
    };
    let text = string_values(frame, path, &text_col)?;
    let labels_raw: Vec<Vec<Option<String>>> =
        label_cols.iter().map(|name| string_values(frame, path, name)).collect::<Result<_, _>>()?;
    let target_raw = match &target_col {
        Some(name) => Some(string_values(frame, path, name)?),
        None => None,
    };

    let mut keep = Vec::with_capacity(frame.height());
    let mut texts = Vec::new();
    let mut targets = Vec::new();
    let mut labels = Vec::new();
    let mut coder_labels = Vec::new();
    for i in 0..frame.height() {
        let target = match &target_raw {
            Some(values) => {
                let t = values[i].as_deref().map(str::trim).unwrap_or_default();
                if t.is_empty() {
                    return Err(EvalError::EmptyValue {
                        path: path.to_owned(),
                        at: rows.at(i),
                        column: target_col.clone().unwrap_or_default(),
                        expected: "a target",
                    });
                }
                t.to_owned()
            }
            None => options.targets[0].clone(),
        };
        if !options.targets.is_empty() && !options.targets.contains(&target) {
            continue;
        }
        let t = text[i].as_deref().unwrap_or_default();
        if t.trim().is_empty() {
            return Err(EvalError::EmptyValue {
                path: path.to_owned(),
                at: rows.at(i),
                column: text_col.clone(),
                expected: "the statement's text",
            });
        }
        let mut row_labels = Vec::with_capacity(label_cols.len());
        for (name, values) in label_cols.iter().zip(&labels_raw) {
            let raw = values[i].as_deref().unwrap_or_default();
            // A coder's blank cell is a row that coder left out; the one label column has none.
            if several && raw.trim().is_empty() {
                row_labels.push(None);
                continue;
            }
            row_labels.push(Some(label_at(raw, name, i)?));
        }
        keep.push(i);
        texts.push(t.to_owned());
        targets.push(target);
        if several {
            labels.push(majority(class_counts(row_labels.iter().copied())));
            coder_labels.push(row_labels);
        } else {
            labels.push(row_labels[0]);
        }
    }
    let mut targets_seen: Vec<String> = match &target_raw {
        Some(values) => values.iter().flatten().map(|t| t.trim().to_owned()).collect(),
        None => Vec::new(),
    };
    targets_seen.sort();
    targets_seen.dedup();

    let dates = if options.need_dates {
        let date_col = find(&options.date_col, &["date"], "date")?;
        let series = frame.column(&date_col).map_err(|source| frame_error(path, source))?;
        let parsed = parse_date_values(series.as_materialized_series(), path, rows, &date_col)?;
        if let Some(problem) = parsed.problems.into_iter().find(|p| keep.contains(&p.index())) {
            return Err(problem.into_error(path.to_owned()).into());
        }
        Some(keep.iter().map(|&i| parsed.values[i]).collect())
    } else {
        None
    };

    let given = if let Some(pred_col) = &options.pred_col {
        let name = find(&Some(pred_col.clone()), &[], "predicted label")?;
        let values = string_values(frame, path, &name)?;
        let mut predicted = Vec::with_capacity(keep.len());
        for &i in &keep {
            let raw = values[i].as_deref().unwrap_or_default();
            predicted.push(label_at(raw, &name, i)?);
        }
        Some(GivenPredictions::Labels(predicted))
    } else if scored {
        Some(GivenPredictions::Probabilities(probabilities(frame, path, rows, &keep)?))
    } else {
        None
    };

    let weights =
        if names.contains(&WEIGHT_COLUMN) { Some(sample_weights(frame, path, rows, &keep)?) } else { None };

    let mut columns = BTreeMap::new();
    columns.insert("text", text_col);
    columns.insert("label", label_cols.join(","));
    if let Some(t) = target_col {
        columns.insert("target", t);
    }
    if weights.is_some() {
        columns.insert("weight", WEIGHT_COLUMN.to_owned());
    }
    Ok(Part {
        file: GoldFile {
            path: path.to_owned(),
            format,
            rows: labels.len(),
            input_rows: frame.height(),
            columns,
            provenance: table.provenance,
            sha256: table.sha256,
            scored,
            targets_seen,
        },
        texts,
        targets,
        labels,
        coder_labels,
        weights,
        dates,
        given,
    })
}

/// A gold label's stance: the user's map, the format's vocabulary, then common spellings.
pub fn map_label(raw: &str, format: GoldFormat, label_map: &BTreeMap<String, Stance>) -> Option<Stance> {
    let value = raw.trim();
    label_map
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(value))
        .map(|(_, &s)| s)
        .or_else(|| format.vocabulary(value))
        .or_else(|| Stance::parse(value))
}

fn frame_error(path: &Path, source: PolarsError) -> EvalError {
    EvalError::Frame { path: path.to_owned(), source }
}

/// A column's values as text (numbers become their text).
fn string_values(frame: &DataFrame, path: &Path, name: &str) -> Result<Vec<Option<String>>, EvalError> {
    let column = frame.column(name).map_err(|source| frame_error(path, source))?;
    let type_error = || EvalError::ColumnType {
        path: path.to_owned(),
        column: name.to_owned(),
        dtype: column.dtype().to_string(),
        expected: "text",
    };
    if column.dtype().is_nested() {
        return Err(type_error());
    }
    let cast = column.as_materialized_series().cast(&DataType::String).map_err(|_| type_error())?;
    let values = cast.str().map_err(|_| type_error())?;
    Ok(values.iter().map(|v| v.map(str::to_owned)).collect())
}

/// Numbers of a column, as f64 (an error naming the column unless it holds numbers).
fn numbers(frame: &DataFrame, path: &Path, name: &str) -> Result<Vec<Option<f64>>, EvalError> {
    let column = frame.column(name).map_err(|source| frame_error(path, source))?;
    if !column.dtype().is_primitive_numeric() {
        return Err(EvalError::ColumnType {
            path: path.to_owned(),
            column: name.to_owned(),
            dtype: column.dtype().to_string(),
            expected: "numbers",
        });
    }
    let cast = column.cast(&DataType::Float64).map_err(|source| frame_error(path, source))?;
    Ok(cast.f64().map_err(|source| frame_error(path, source))?.iter().collect())
}

/// `sample_weight` of the kept rows; each must be a positive, finite number.
fn sample_weights(
    frame: &DataFrame,
    path: &Path,
    rows: &RowLines,
    keep: &[usize],
) -> Result<Vec<f64>, EvalError> {
    let values = numbers(frame, path, WEIGHT_COLUMN)?;
    keep.iter()
        .map(|&i| {
            values[i].filter(|w| w.is_finite() && *w > 0.0).ok_or_else(|| EvalError::BadWeight {
                path: path.to_owned(),
                at: rows.at(i),
                column: WEIGHT_COLUMN.to_owned(),
                value: values[i].map_or_else(|| "an empty value".to_owned(), |v| v.to_string()),
            })
        })
        .collect()
}

/// `p_favor`, `p_against`, `p_none` of the kept rows; each must be a number in [0, 1].
fn probabilities(
    frame: &DataFrame,
    path: &Path,
    rows: &RowLines,
    keep: &[usize],
) -> Result<Vec<[f64; 3]>, EvalError> {
    let mut columns = Vec::with_capacity(3);
    for name in SCORE_COLUMNS {
        columns.push(numbers(frame, path, name)?);
    }
    keep.iter()
        .map(|&i| {
            let mut p = [0.0; 3];
            for (k, name) in SCORE_COLUMNS.iter().enumerate() {
                p[k] = columns[k][i].filter(|v| (0.0..=1.0).contains(v)).ok_or_else(|| {
                    EvalError::BadProbability {
                        path: path.to_owned(),
                        at: rows.at(i),
                        column: (*name).to_owned(),
                        value: columns[k][i].map_or_else(|| "an empty value".to_owned(), |v| v.to_string()),
                    }
                })?;
            }
            Ok(p)
        })
        .collect()
}

#[cfg(test)]
mod tests;
