//! A stratified random sample of a scores table for hand coding (`stance sample`).
//!
//! Rows fall into strata by the values of the `by` columns. Each stratum h of N_h rows gets
//! n_h rows: first `min_per_stratum` (or all it has, if fewer), then one row at a time to the
//! stratum furthest below its target share, among those with rows left (ties: the first
//! stratum in sorted order). The target share is n·N_h/N (proportional allocation) or n/H
//! (equal allocation), so the allocation sums to exactly n. Within a stratum the rows are
//! sorted by id (then target, then text) and n_h of them drawn without replacement by a
//! partial Fisher–Yates shuffle, from a stream seeded by the seed and the stratum's values:
//! the same seed gives the same rows whatever order the table's rows came in. The drawn rows
//! are then shuffled (again from the seed), so strata do not come in blocks to the coders.
//!
//! Every drawn row carries `sample_weight` = N_h / n_h, its inverse inclusion probability
//! under simple random sampling in its stratum, for design-weighted estimates of the whole
//! table (`stance eval` reports them when the column is there).

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use super::rng::{derive_seed, Xoshiro256};
use super::{check_positive, list_names, AnalysisError};
use crate::eval::gold::WEIGHT_COLUMN;

/// How the sample is spread over the strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Allocation {
    /// Each stratum in proportion to its rows.
    Proportional,
    /// The same number of rows from every stratum (as far as each has rows).
    Equal,
}

impl Allocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Allocation::Proportional => "proportional",
            Allocation::Equal => "equal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleOptions {
    /// Rows to draw.
    pub n: usize,
    /// Columns whose values define the strata.
    pub by: Vec<String>,
    pub allocation: Allocation,
    /// Rows every stratum gets at least (all of its rows when it has fewer).
    pub min_per_stratum: usize,
    pub seed: u64,
}

/// One stratum: its values, its rows and how many were drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stratum {
    pub name: String,
    pub rows: usize,
    pub drawn: usize,
}

/// The rows to code and how the strata were sampled.
#[derive(Debug, Clone)]
pub struct Sample {
    /// `id, [actor, date, target], text`, the strata columns, the predictions when present
    /// (`p_favor, p_against, p_none, score, label`), then `gold` (empty), `sample_weight`,
    /// `stratum`.
    pub frame: DataFrame,
    /// In sorted order of their values.
    pub strata: Vec<Stratum>,
}

/// Columns the sample adds; none may be a stratum column.
const ADDED_COLUMNS: [&str; 3] = ["gold", WEIGHT_COLUMN, "stratum"];
const LEADING: [&str; 5] = ["id", "actor", "date", "target", "text"];
const PREDICTIONS: [&str; 5] = ["p_favor", "p_against", "p_none", "score", "label"];

/// Draws the sample; see the module documentation.
pub fn sample(df: &DataFrame, options: &SampleOptions) -> Result<Sample, AnalysisError> {
    check_positive("--n", options.n)?;
    if df.height() == 0 {
        return Err(AnalysisError::NoRows);
    }
    if options.by.is_empty() {
        return Err(AnalysisError::InvalidOption {
            option: "--by",
            value: "an empty list".into(),
            expected: "one or more column names",
        });
    }
    if let Some(name) = options.by.iter().find(|b| ADDED_COLUMNS.contains(&b.as_str())) {
        return Err(AnalysisError::InvalidOption {
            option: "--by",
            value: name.clone(),
            expected: "a column other than gold, sample_weight and stratum (the sample adds those)",
        });
    }
    let ids = text_values(df, "id", "statement ids (a column without missing values)")?;
    let texts = text_values(df, "text", "the statements' text (a column without missing values)")?;
    let targets = df.column("target").is_ok().then(|| text_values(df, "target", "targets")).transpose()?;
    let by: Vec<Vec<String>> = options
        .by
        .iter()
        .map(|name| text_values(df, name, "values to stratify by (a column without missing values)"))
        .collect::<Result<_, _>>()?;

    let mut strata: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
    for row in 0..df.height() {
        strata.entry(by.iter().map(|column| column[row].as_str()).collect()).or_default().push(row);
    }
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let take = allocate(&sizes, options)?;

    let mut drawn: Vec<(usize, f64, String)> = Vec::with_capacity(options.n);
    let mut summary = Vec::with_capacity(strata.len());
    for ((key, rows), &n_h) in strata.iter().zip(&take) {
        let mut rows = rows.clone();
        let target = |r: usize| targets.as_ref().map_or("", |t| t[r].as_str());
        rows.sort_by(|&a, &b| {
            (ids[a].as_str(), target(a), texts[a].as_str()).cmp(&(
                ids[b].as_str(),
                target(b),
                texts[b].as_str(),
            ))
        });
        let parts: Vec<&[u8]> =
            std::iter::once(b"sample".as_slice()).chain(key.iter().map(|v| v.as_bytes())).collect();
        let mut rng = Xoshiro256::seed_from_u64(derive_seed(options.seed, &parts));
        for i in 0..n_h {
            let j = i + rng.below(rows.len() - i);
            rows.swap(i, j);
        }
        let name = key.join(" / ");
        let weight = rows.len() as f64 / n_h as f64;
        drawn.extend(rows[..n_h].iter().map(|&r| (r, weight, name.clone())));
        summary.push(Stratum { name, rows: rows.len(), drawn: n_h });
    }
    Xoshiro256::seed_from_u64(derive_seed(options.seed, &[b"sample order"])).shuffle(&mut drawn);

    let indices = IdxCa::from_vec("rows".into(), drawn.iter().map(|d| d.0 as IdxSize).collect());
    let picked = df.take(&indices)?;
    let mut names: Vec<&str> = LEADING.iter().copied().filter(|c| df.column(c).is_ok()).collect();
    for name in options.by.iter().map(String::as_str).chain(PREDICTIONS) {
        if !names.contains(&name) && df.column(name).is_ok() {
            names.push(name);
        }
    }
    let mut columns: Vec<Column> =
        names.iter().map(|n| picked.column(n).cloned()).collect::<Result<_, _>>()?;
    columns.push(Column::full_null("gold".into(), drawn.len(), &DataType::String));
    columns.push(Column::new(WEIGHT_COLUMN.into(), drawn.iter().map(|d| d.1).collect::<Vec<_>>()));
    columns.push(Column::new("stratum".into(), drawn.iter().map(|d| d.2.as_str()).collect::<Vec<_>>()));
    Ok(Sample { frame: DataFrame::new(drawn.len(), columns)?, strata: summary })
}

/// A column's values as text, none missing.
fn text_values(df: &DataFrame, name: &str, expected: &'static str) -> Result<Vec<String>, AnalysisError> {
    let column = df.column(name).map_err(|_| AnalysisError::MissingColumn {
        column: name.to_owned(),
        expected,
        available: list_names(df.get_column_names().into_iter().map(|n| n.as_str())),
    })?;
    let wrong_type =
        || AnalysisError::WrongType { column: name.to_owned(), found: column.dtype().to_string(), expected };
    if column.dtype().is_nested() {
        return Err(wrong_type());
    }
    let text = column.cast(&DataType::String).map_err(|_| wrong_type())?;
    text.str()
        .map_err(|_| wrong_type())?
        .iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(str::to_owned).ok_or(AnalysisError::Null {
                column: name.to_owned(),
                row: row + 1,
                expected,
            })
        })
        .collect()
}

/// Rows per stratum: the minimum first, then one at a time to the stratum furthest below its
/// target share that has rows left.
fn allocate(sizes: &[usize], options: &SampleOptions) -> Result<Vec<usize>, AnalysisError> {
    let total: usize = sizes.iter().sum();
    let n = options.n;
    if n > total {
        return Err(AnalysisError::SampleTooLarge { n, rows: total });
    }
    let mut take: Vec<usize> = sizes.iter().map(|&s| s.min(options.min_per_stratum)).collect();
    let floor: usize = take.iter().sum();
    if floor > n {
        return Err(AnalysisError::MinPerStratum {
            min: options.min_per_stratum,
            strata: sizes.len(),
            needed: floor,
            n,
        });
    }
    let share: Vec<f64> = match options.allocation {
        Allocation::Proportional => sizes.iter().map(|&s| n as f64 * s as f64 / total as f64).collect(),
        Allocation::Equal => vec![n as f64 / sizes.len() as f64; sizes.len()],
    };
    for _ in floor..n {
        let deficit = |h: usize| share[h] - take[h] as f64;
        // n ≤ total, so some stratum has rows left.
        let next = (0..sizes.len())
            .filter(|&h| take[h] < sizes[h])
            .max_by(|&a, &b| deficit(a).total_cmp(&deficit(b)).then(b.cmp(&a)))
            .expect("a stratum with rows left");
        take[next] += 1;
    }
    Ok(take)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(n: usize, allocation: Allocation, min_per_stratum: usize) -> SampleOptions {
        SampleOptions { n, by: vec!["target".into()], allocation, min_per_stratum, seed: 7 }
    }

    #[test]
    fn allocations_sum_to_n_and_respect_sizes_and_minimum() {
        let sizes = [600, 300, 100];
        assert_eq!(allocate(&sizes, &options(200, Allocation::Proportional, 0)).unwrap(), [120, 60, 20]);
        assert_eq!(allocate(&sizes, &options(10, Allocation::Proportional, 0)).unwrap(), [6, 3, 1]);
        // Equal: a stratum with too few rows gives its share to the others.
        assert_eq!(allocate(&[50, 50, 4], &options(30, Allocation::Equal, 0)).unwrap(), [13, 13, 4]);
        // The minimum first, the rest proportionally.
        assert_eq!(allocate(&[980, 10, 10], &options(20, Allocation::Proportional, 3)).unwrap(), [14, 3, 3]);
        assert_eq!(allocate(&[980, 2, 10], &options(20, Allocation::Proportional, 3)).unwrap(), [15, 2, 3]);
        assert!(matches!(
            allocate(&[5, 5], &options(11, Allocation::Equal, 0)),
            Err(AnalysisError::SampleTooLarge { n: 11, rows: 10 })
        ));
        assert!(matches!(
            allocate(&[5, 5, 5], &options(5, Allocation::Equal, 2)),
            Err(AnalysisError::MinPerStratum { needed: 6, .. })
        ));
    }
}
