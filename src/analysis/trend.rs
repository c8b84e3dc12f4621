//! Trends: mean score per series (by default actor × target) and calendar period, with a
//! percentile bootstrap confidence interval and the shares of each stance class.
//!
//! - Every period between a series' first and last statement gets a row; periods without
//!   statements have `n = 0` and null statistics, so charts and joins never skip time silently.
//! - `ci_low`/`ci_high` are a percentile interval of `bootstrap` resampled means of the cell's
//!   statements, read at Hesterberg's expanded percentiles (see `bootstrap::expanded_tail`):
//!   the plain 95% percentile interval covers only ~88% at n = 8 and ~92% at n = 20 (normal
//!   noise), the expanded one ~94% from n = 8 on. Below about 5 statements no bootstrap
//!   interval is reliable (it cannot reach past the data): at n = 3 both cover ~75%. Cells with
//!   fewer than two statements get null intervals: one statement says nothing about its spread.
//! - Each cell resamples from its own stream, seeded from `seed`, the series' key and the
//!   period, with the cell's scores in sorted order. A cell's interval therefore depends only
//!   on its own statements and the seed: not on row order, nor on the other series present.
//! - `rolling` (N periods) adds `rolling_mean` and `rolling_n`: the mean of all statements in
//!   the trailing window of the current and N − 1 preceding periods of the same series
//!   (statement-weighted, so empty periods add nothing and busy periods count more). Windows at
//!   the start of a series are shorter; a window without statements gives a null mean.

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::bootstrap::{expanded_tail, percentile_interval, resample_means, variance};
use super::period::{period_starts, to_days};
use super::rng::{derive_seed, Xoshiro256};
use super::{
    check_level, check_positive, count_column, date_column, float_column, input, parallel_map, string_column,
    AnalysisError, Period,
};
use crate::targets::Stance;

/// Options of [`trend`]; serialisable so the options can be recorded as provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrendOptions {
    pub period: Period,
    /// Columns (String) that define a series; one output column each, in this order.
    pub by: Vec<String>,
    /// Confidence level of the bootstrap interval.
    pub ci: f64,
    /// Bootstrap resamples per cell.
    pub bootstrap: usize,
    pub seed: u64,
    /// Trailing window, in periods, of the `rolling_mean` column; `None` for no such column.
    pub rolling: Option<usize>,
}

impl Default for TrendOptions {
    fn default() -> Self {
        Self {
            period: Period::Month,
            by: vec!["actor".into(), "target".into()],
            ci: 0.95,
            bootstrap: 2000,
            seed: 42,
            rolling: None,
        }
    }
}

const STAT_COLUMNS: [&str; 13] = [
    "period_start",
    "period_end",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "share_favor",
    "share_against",
    "share_none",
    "rolling_mean",
    "rolling_n",
    "date",
    "score",
];

/// Aggregates `scores` by the `by` columns and calendar period (see the module doc).
///
/// Output columns: the `by` columns, `period_start`, `period_end` (Date, inclusive), `n`
/// (UInt32), `mean`, `ci_low`, `ci_high`, `share_favor`, `share_against`, `share_none`
/// (Float64, null where undefined), plus `rolling_mean` and `rolling_n` with `rolling`.
/// Rows are sorted by the `by` columns, then `period_start`.
pub fn trend(scores: &DataFrame, options: &TrendOptions) -> Result<DataFrame, AnalysisError> {
    check_level("ci", options.ci)?;
    check_positive("bootstrap", options.bootstrap)?;
    if let Some(window) = options.rolling {
        check_positive("rolling", window)?;
    }
    for (i, name) in options.by.iter().enumerate() {
        if STAT_COLUMNS.contains(&name.as_str()) || options.by[..i].contains(name) {
            return Err(AnalysisError::InvalidOption {
                option: "by",
                value: options.by.join(","),
                expected: "distinct text columns other than date, score and the output statistics",
            });
        }
    }
    let by: Vec<&str> = options.by.iter().map(String::as_str).collect();
    let table = input::read(scores, &by, true)?;

    let mut series: Vec<Vec<Statement>> = vec![Vec::new(); table.keys.len()];
    for o in &table.obs {
        series[o.group as usize].push(Statement {
            start: options.period.start(o.date),
            score: o.score,
            label: o.label,
        });
    }
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by(|&a, &b| table.keys[a].cmp(&table.keys[b]));
    let jobs: Vec<(&[String], Vec<Statement>)> =
        order.iter().map(|&g| (table.keys[g].as_slice(), std::mem::take(&mut series[g]))).collect();
    let cells = parallel_map(&jobs, |(key, statements)| series_cells(key, statements, options));

    let mut columns: Vec<Vec<String>> = vec![Vec::new(); by.len()];
    let mut out = CellColumns::default();
    for ((key, _), cells) in jobs.iter().zip(&cells) {
        for (col, value) in columns.iter_mut().zip(key.iter()) {
            col.extend(std::iter::repeat_n(value.clone(), cells.len()));
        }
        out.push_series(cells, options);
    }
    let mut frame: Vec<Column> =
        by.iter().zip(columns).map(|(name, values)| string_column(name, values)).collect();
    frame.extend(out.into_columns(options.rolling.is_some())?);
    Ok(DataFrame::new_infer_height(frame)?)
}

#[derive(Debug, Clone, Copy)]
struct Statement {
    start: NaiveDate,
    score: f64,
    label: Option<Stance>,
}

/// One period of one series.
#[derive(Debug, Clone)]
struct Cell {
    start: NaiveDate,
    n: usize,
    sum: f64,
    ci: Option<(f64, f64)>,
    /// Statements labelled favor, against, none.
    classes: [usize; 3],
}

/// The stream seed of one cell. [`super::compare`] uses the same seed for the same actor ×
/// target × period, so both commands resample a cell identically.
pub(crate) fn cell_seed(seed: u64, key: &[String], period: Period, start: NaiveDate) -> u64 {
    let mut parts: Vec<&[u8]> = vec![b"cell"];
    parts.extend(key.iter().map(|k| k.as_bytes()));
    parts.push(period.as_str().as_bytes());
    let day = to_days(start).to_le_bytes();
    parts.push(&day);
    derive_seed(seed, &parts)
}

/// A cell's bootstrap means, with the sample's unbiased variance and size.
pub(crate) struct Resampled {
    pub replicates: Vec<f64>,
    pub sample: (f64, usize),
}

/// Bootstrap means of one cell's scores (sorted into canonical order first); `None` for
/// fewer than two statements.
pub(crate) fn cell_replicates(scores: &mut [f64], replicates: usize, seed: u64) -> Option<Resampled> {
    if scores.len() < 2 {
        return None;
    }
    scores.sort_unstable_by(f64::total_cmp);
    Some(Resampled {
        replicates: resample_means(scores, replicates, &mut Xoshiro256::seed_from_u64(seed)),
        sample: (variance(scores), scores.len()),
    })
}

fn series_cells(key: &[String], statements: &[Statement], options: &TrendOptions) -> Vec<Cell> {
    let mut statements = statements.to_vec();
    statements.sort_unstable_by_key(|s| s.start);
    let (Some(first), Some(last)) = (statements.first(), statements.last()) else { return Vec::new() };
    let mut rest = statements.as_slice();
    let mut cells = Vec::new();
    for start in period_starts(options.period, first.start, last.start) {
        let in_cell = rest.iter().take_while(|s| s.start == start).count();
        let (cell, tail) = rest.split_at(in_cell);
        rest = tail;
        let mut scores: Vec<f64> = cell.iter().map(|s| s.score).collect();
        let mut classes = [0usize; 3];
        for s in cell {
            if let Some(label) = s.label {
                classes[label as usize] += 1;
            }
        }
        let seed = cell_seed(options.seed, key, options.period, start);
        let ci = cell_replicates(&mut scores, options.bootstrap, seed)
            .and_then(|mut r| percentile_interval(&mut r.replicates, expanded_tail(options.ci, &[r.sample])));
        cells.push(Cell { start, n: scores.len(), sum: scores.iter().sum(), ci, classes });
    }
    cells
}

#[derive(Default)]
struct CellColumns {
    start: Vec<Option<i32>>,
    end: Vec<Option<i32>>,
    n: Vec<u32>,
    mean: Vec<Option<f64>>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
    shares: [Vec<Option<f64>>; 3],
    rolling_mean: Vec<Option<f64>>,
    rolling_n: Vec<u32>,
}

impl CellColumns {
    fn push_series(&mut self, cells: &[Cell], options: &TrendOptions) {
        for (i, cell) in cells.iter().enumerate() {
            self.start.push(Some(to_days(cell.start)));
            self.end.push(options.period.end(cell.start).map(to_days));
            self.n.push(cell.n as u32);
            self.mean.push((cell.n > 0).then(|| cell.sum / cell.n as f64));
            self.ci_low.push(cell.ci.map(|c| c.0));
            self.ci_high.push(cell.ci.map(|c| c.1));
            let labelled: usize = cell.classes.iter().sum();
            for (share, count) in self.shares.iter_mut().zip(cell.classes) {
                share.push((labelled > 0).then(|| count as f64 / labelled as f64));
            }
            if let Some(window) = options.rolling {
                let from = (i + 1).saturating_sub(window);
                let n: usize = cells[from..=i].iter().map(|c| c.n).sum();
                let sum: f64 = cells[from..=i].iter().map(|c| c.sum).sum();
                self.rolling_mean.push((n > 0).then(|| sum / n as f64));
                self.rolling_n.push(n as u32);
            }
        }
    }

    fn into_columns(self, rolling: bool) -> Result<Vec<Column>, AnalysisError> {
        let [favor, against, none] = self.shares;
        let mut columns = vec![
            date_column("period_start", self.start)?,
            date_column("period_end", self.end)?,
            count_column("n", self.n),
            float_column("mean", self.mean),
            float_column("ci_low", self.ci_low),
            float_column("ci_high", self.ci_high),
            float_column("share_favor", favor),
            float_column("share_against", against),
            float_column("share_none", none),
        ];
        if rolling {
            columns.push(float_column("rolling_mean", self.rolling_mean));
            columns.push(count_column("rolling_n", self.rolling_n));
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn table(rows: &[(&str, &str, NaiveDate, f64, &str)]) -> DataFrame {
        let mut df = df!(
            "actor" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "target" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "date" => rows.iter().map(|r| to_days(r.2)).collect::<Vec<_>>(),
            "score" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            "label" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        )
        .unwrap();
        let date = df.column("date").unwrap().cast(&DataType::Date).unwrap();
        df.with_column(date).unwrap();
        df
    }

    fn floats(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
        df.column(name).unwrap().f64().unwrap().iter().collect()
    }

    fn rows() -> Vec<(&'static str, &'static str, NaiveDate, f64, &'static str)> {
        vec![
            ("kremlin", "peace", d(2024, 1, 3), 0.5, "favor"),
            ("kremlin", "peace", d(2024, 1, 20), -0.1, "none"),
            ("kremlin", "peace", d(2024, 1, 31), 0.2, "favor"),
            // February and March empty.
            ("kremlin", "peace", d(2024, 4, 2), -0.6, "against"),
            ("kyiv", "peace", d(2024, 2, 14), 0.3, "favor"),
        ]
    }

    #[test]
    fn empty_periods_are_explicit_and_single_statements_have_no_interval() {
        let out = trend(&table(&rows()), &TrendOptions::default()).unwrap();
        assert_eq!(out.height(), 5, "{out}");
        let n: Vec<u32> = out.column("n").unwrap().u32().unwrap().into_no_null_iter().collect();
        assert_eq!(n, [3, 0, 0, 1, 1]);
        let means = floats(&out, "mean");
        assert!((means[0].unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(&means[1..], &[None, None, Some(-0.6), Some(0.3)]);
        let lo = floats(&out, "ci_low");
        let hi = floats(&out, "ci_high");
        assert!(lo[0].unwrap() >= -0.1 - 1e-12 && hi[0].unwrap() <= 0.5 + 1e-12 && lo[0] < hi[0]);
        assert_eq!(&lo[1..], &[None; 4]);
        assert_eq!(&hi[1..], &[None; 4]);
        assert_eq!(floats(&out, "share_favor"), [Some(2.0 / 3.0), None, None, Some(0.0), Some(1.0)]);
        assert_eq!(floats(&out, "share_against")[3], Some(1.0));
        let starts: Vec<Option<i32>> =
            out.column("period_start").unwrap().date().unwrap().phys.iter().collect();
        let ends: Vec<Option<i32>> = out.column("period_end").unwrap().date().unwrap().phys.iter().collect();
        assert_eq!(starts[1], Some(to_days(d(2024, 2, 1))));
        assert_eq!(ends[1], Some(to_days(d(2024, 2, 29))));
        assert_eq!(out.column("actor").unwrap().str().unwrap().get(4), Some("kyiv"));
    }

    #[test]
    fn rolling_mean_pools_the_trailing_window() {
        let options = TrendOptions { rolling: Some(2), ..TrendOptions::default() };
        let out = trend(&table(&rows()), &options).unwrap();
        let rolling = floats(&out, "rolling_mean");
        let rolling_n: Vec<u32> =
            out.column("rolling_n").unwrap().u32().unwrap().into_no_null_iter().collect();
        // Jan: its own 3 statements; Feb: Jan + Feb(empty); Mar: Feb + Mar, both empty; Apr: Mar + Apr.
        assert!((rolling[0].unwrap() - 0.2).abs() < 1e-12);
        assert!((rolling[1].unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(rolling[2], None);
        assert_eq!(rolling[3], Some(-0.6));
        assert_eq!(rolling_n, [3, 3, 0, 1, 1]);
        let quarterly = TrendOptions { period: Period::Quarter, rolling: Some(3), ..TrendOptions::default() };
        let out = trend(&table(&rows()), &quarterly).unwrap();
        // Q1 (3 statements, mean 0.2) then Q2 (-0.6): pooled mean over both is (0.6 - 0.6) / 4.
        assert!(floats(&out, "rolling_mean")[1].unwrap().abs() < 1e-12);
        assert!(
            trend(&table(&rows()), &TrendOptions { rolling: Some(0), ..TrendOptions::default() }).is_err()
        );
    }

    #[test]
    fn same_seed_same_output_whatever_the_row_order_or_other_series() {
        let mut rows = rows();
        for (day, score) in [(5, 0.9), (6, -0.4), (7, 0.05), (8, 0.33), (9, -0.72), (10, 0.6)] {
            rows.push(("kremlin", "peace", d(2024, 1, day), score, "none"));
        }
        let base = trend(&table(&rows), &TrendOptions::default()).unwrap();
        let mut reversed = rows.clone();
        reversed.reverse();
        assert!(base.equals_missing(&trend(&table(&reversed), &TrendOptions::default()).unwrap()));
        let kremlin_only: Vec<_> = rows.iter().filter(|r| r.0 == "kremlin").cloned().collect();
        let alone = trend(&table(&kremlin_only), &TrendOptions::default()).unwrap();
        assert_eq!(floats(&alone, "ci_low")[0], floats(&base, "ci_low")[0]);
        assert_eq!(floats(&alone, "ci_high")[0], floats(&base, "ci_high")[0]);
        let other_seed = trend(&table(&rows), &TrendOptions { seed: 7, ..TrendOptions::default() }).unwrap();
        assert_ne!(floats(&other_seed, "ci_low")[0], floats(&base, "ci_low")[0]);
    }

    #[test]
    fn by_other_columns_and_bad_options() {
        let by_actor =
            TrendOptions { by: vec!["actor".into()], period: Period::Week, ..TrendOptions::default() };
        let out = trend(&table(&rows()), &by_actor).unwrap();
        assert_eq!(out.get_column_names()[..3], ["actor", "period_start", "period_end"]);
        // 2024-01-01 (Mon) .. 2024-04-01 (Mon) is 14 weeks for the Kremlin, one for Kyiv.
        assert_eq!(out.height(), 15);
        for bad in [
            TrendOptions { ci: 1.0, ..TrendOptions::default() },
            TrendOptions { bootstrap: 0, ..TrendOptions::default() },
            TrendOptions { by: vec!["actor".into(), "actor".into()], ..TrendOptions::default() },
            TrendOptions { by: vec!["mean".into()], ..TrendOptions::default() },
        ] {
            assert!(matches!(trend(&table(&rows()), &bad), Err(AnalysisError::InvalidOption { .. })));
        }
        let empty = trend(&table(&[]), &TrendOptions::default()).unwrap();
        assert_eq!(empty.height(), 0);
        assert_eq!(empty.width(), 11);
        let json = serde_json::to_string(&TrendOptions::default()).unwrap();
        assert_eq!(serde_json::from_str::<TrendOptions>(&json).unwrap(), TrendOptions::default());
    }
}
