//! Comparisons: actors side by side on one target, period by period.
//!
//! For every period from the first to the last statement of any chosen actor on the target,
//! and every pair `(a, b)` of the chosen actors (a before b in the given order), the row gives
//! both means and the gap `mean_a − mean_b` with a percentile bootstrap interval: each side is
//! resampled on its own (they are independent samples), with the same per-cell streams as
//! [`super::trend`], and the gap replicates are the differences of the two sides' replicates.
//! Percentiles are expanded for small samples as in `trend` (two-sample form, Welch degrees
//! of freedom).
//!
//! Convergence is judged on the distance `|gap|` against the most recent earlier period that
//! has a gap (`gap_change_since`): `abs_gap_change = |gap| − |gap_before|` with a bootstrap
//! interval from the two periods' replicates (independent samples again; percentiles expanded
//! as for a difference of the four means, which `|gap|` is locally). `trend` is
//! `converging` when that interval lies below 0, `diverging` when above, `unchanged` when it
//! covers 0, and null when either period has a side with fewer than two statements.

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::bootstrap::{expanded_tail, percentile_interval};
use super::period::{period_starts, to_days};
use super::trend::{cell_replicates, cell_seed, Resampled};
use super::{
    check_level, check_positive, count_column, date_column, float_column, input, list_names, parallel_map,
    string_column, AnalysisError, Period,
};

/// Options of [`compare`]; serialisable so the options can be recorded as provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompareOptions {
    pub target: String,
    /// At least two distinct actors; pairs follow this order.
    pub actors: Vec<String>,
    pub period: Period,
    pub ci: f64,
    pub bootstrap: usize,
    pub seed: u64,
}

impl CompareOptions {
    pub fn new(target: impl Into<String>, actors: Vec<String>) -> Self {
        Self { target: target.into(), actors, ..Self::default() }
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            target: String::new(),
            actors: Vec::new(),
            period: Period::Month,
            ci: 0.95,
            bootstrap: 2000,
            seed: 42,
        }
    }
}

/// Lines up `options.actors` on `options.target` period by period (see the module doc).
///
/// Columns: `target`, `period_start`, `period_end` (Date), `actor_a`, `actor_b`, `mean_a`,
/// `mean_b`, `n_a`, `n_b` (UInt32), `gap`, `gap_ci_low`, `gap_ci_high`, `gap_change` (signed
/// change of the gap since `gap_change_since`), `gap_change_since` (Date), `abs_gap_change`,
/// `abs_gap_change_ci_low`, `abs_gap_change_ci_high`, `trend` (converging, diverging,
/// unchanged or null). Rows are ordered by period, then pair.
pub fn compare(scores: &DataFrame, options: &CompareOptions) -> Result<DataFrame, AnalysisError> {
    check_level("ci", options.ci)?;
    check_positive("bootstrap", options.bootstrap)?;
    let distinct = options.actors.iter().enumerate().all(|(i, a)| !options.actors[..i].contains(a));
    if options.actors.len() < 2 || !distinct {
        return Err(AnalysisError::InvalidOption {
            option: "actors",
            value: options.actors.join(","),
            expected: "at least two distinct actors",
        });
    }
    let table = input::read(scores, &["actor", "target"], false)?;
    if !table.keys.iter().any(|k| k[1] == options.target) {
        return Err(AnalysisError::UnknownTarget {
            target: options.target.clone(),
            available: list_names(table.keys.iter().map(|k| k[1].as_str())),
        });
    }
    let mut group_of = Vec::with_capacity(options.actors.len());
    for actor in &options.actors {
        match table.keys.iter().position(|k| &k[0] == actor && k[1] == options.target) {
            Some(g) => group_of.push(g),
            None => {
                return Err(AnalysisError::UnknownActor {
                    actor: actor.clone(),
                    scope: format!(" on target `{}`", options.target),
                    available: list_names(
                        table.keys.iter().filter(|k| k[1] == options.target).map(|k| k[0].as_str()),
                    ),
                })
            }
        }
    }

    // Statements of each chosen actor, as (period start, score).
    let mut by_actor: Vec<Vec<(NaiveDate, f64)>> = vec![Vec::new(); group_of.len()];
    for o in &table.obs {
        if let Some(i) = group_of.iter().position(|&g| g == o.group as usize) {
            by_actor[i].push((options.period.start(o.date), o.score));
        }
    }
    let first = by_actor.iter().flatten().map(|s| s.0).min();
    let last = by_actor.iter().flatten().map(|s| s.0).max();
    let starts = first.zip(last).map(|(f, l)| period_starts(options.period, f, l)).unwrap_or_default();

    let jobs: Vec<(&String, &Vec<(NaiveDate, f64)>)> = options.actors.iter().zip(&by_actor).collect();
    let cells: Vec<Vec<Side>> = parallel_map(&jobs, |(actor, statements)| {
        let key = [(*actor).clone(), options.target.clone()];
        let mut statements = statements.to_vec();
        statements.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut rest = statements.as_slice();
        starts
            .iter()
            .map(|&start| {
                let in_cell = rest.iter().take_while(|s| s.0 == start).count();
                let (cell, tail) = rest.split_at(in_cell);
                rest = tail;
                let mut scores: Vec<f64> = cell.iter().map(|s| s.1).collect();
                let seed = cell_seed(options.seed, &key, options.period, start);
                Side {
                    n: scores.len(),
                    mean: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
                    resampled: cell_replicates(&mut scores, options.bootstrap, seed),
                }
            })
            .collect()
    });

    let mut out = CompareColumns::default();
    let pairs: Vec<(usize, usize)> =
        (0..cells.len()).flat_map(|a| (a + 1..cells.len()).map(move |b| (a, b))).collect();
    let mut previous: Vec<Option<Gap>> = vec![None; pairs.len()];
    for (p, &start) in starts.iter().enumerate() {
        for (pair, &(a, b)) in pairs.iter().enumerate() {
            let (side_a, side_b) = (&cells[a][p], &cells[b][p]);
            let gap = match (side_a.mean, side_b.mean) {
                (Some(ma), Some(mb)) => Some(Gap {
                    start,
                    value: ma - mb,
                    resampled: side_a.resampled.as_ref().zip(side_b.resampled.as_ref()).map(|(ra, rb)| {
                        let replicates =
                            ra.replicates.iter().zip(&rb.replicates).map(|(x, y)| x - y).collect();
                        (replicates, [ra.sample, rb.sample])
                    }),
                }),
                _ => None,
            };
            out.push_row(options, start, (a, b), (side_a, side_b), gap.as_ref(), previous[pair].as_ref());
            if gap.is_some() {
                previous[pair] = gap;
            }
        }
    }
    out.into_frame()
}

/// One actor in one period.
struct Side {
    n: usize,
    mean: Option<f64>,
    resampled: Option<Resampled>,
}

/// Bootstrap gaps, with the (variance, size) of both sides.
type GapReplicates = (Vec<f64>, [(f64, usize); 2]);

#[derive(Clone)]
struct Gap {
    start: NaiveDate,
    value: f64,
    /// `None` if a side has n < 2.
    resampled: Option<GapReplicates>,
}

#[derive(Default)]
struct CompareColumns {
    target: Vec<String>,
    period_start: Vec<Option<i32>>,
    period_end: Vec<Option<i32>>,
    actor_a: Vec<String>,
    actor_b: Vec<String>,
    mean_a: Vec<Option<f64>>,
    mean_b: Vec<Option<f64>>,
    n_a: Vec<u32>,
    n_b: Vec<u32>,
    gap: Vec<Option<f64>>,
    gap_ci_low: Vec<Option<f64>>,
    gap_ci_high: Vec<Option<f64>>,
    gap_change: Vec<Option<f64>>,
    gap_change_since: Vec<Option<i32>>,
    abs_gap_change: Vec<Option<f64>>,
    abs_change_ci_low: Vec<Option<f64>>,
    abs_change_ci_high: Vec<Option<f64>>,
    trend: Vec<Option<&'static str>>,
}

impl CompareColumns {
    fn push_row(
        &mut self,
        options: &CompareOptions,
        start: NaiveDate,
        (a, b): (usize, usize),
        (side_a, side_b): (&Side, &Side),
        gap: Option<&Gap>,
        previous: Option<&Gap>,
    ) {
        self.target.push(options.target.clone());
        self.period_start.push(Some(to_days(start)));
        self.period_end.push(options.period.end(start).map(to_days));
        self.actor_a.push(options.actors[a].clone());
        self.actor_b.push(options.actors[b].clone());
        self.mean_a.push(side_a.mean);
        self.mean_b.push(side_b.mean);
        self.n_a.push(side_a.n as u32);
        self.n_b.push(side_b.n as u32);
        self.gap.push(gap.map(|g| g.value));
        let ci = gap.and_then(|g| g.resampled.clone()).and_then(|(mut replicates, samples)| {
            percentile_interval(&mut replicates, expanded_tail(options.ci, &samples))
        });
        self.gap_ci_low.push(ci.map(|c| c.0));
        self.gap_ci_high.push(ci.map(|c| c.1));
        let both = gap.zip(previous);
        self.gap_change.push(both.map(|(g, p)| g.value - p.value));
        self.gap_change_since.push(both.map(|(_, p)| to_days(p.start)));
        self.abs_gap_change.push(both.map(|(g, p)| g.value.abs() - p.value.abs()));
        let change_ci = both.and_then(|(g, p)| g.resampled.as_ref().zip(p.resampled.as_ref())).and_then(
            |((now, now_samples), (before, before_samples))| {
                let mut diffs: Vec<f64> = now.iter().zip(before).map(|(x, y)| x.abs() - y.abs()).collect();
                let samples = [now_samples[0], now_samples[1], before_samples[0], before_samples[1]];
                percentile_interval(&mut diffs, expanded_tail(options.ci, &samples))
            },
        );
        self.abs_change_ci_low.push(change_ci.map(|c| c.0));
        self.abs_change_ci_high.push(change_ci.map(|c| c.1));
        self.trend.push(change_ci.map(|(lo, hi)| {
            if hi < 0.0 {
                "converging"
            } else if lo > 0.0 {
                "diverging"
            } else {
                "unchanged"
            }
        }));
    }

    fn into_frame(self) -> Result<DataFrame, AnalysisError> {
        Ok(DataFrame::new_infer_height(vec![
            string_column("target", self.target),
            date_column("period_start", self.period_start)?,
            date_column("period_end", self.period_end)?,
            string_column("actor_a", self.actor_a),
            string_column("actor_b", self.actor_b),
            float_column("mean_a", self.mean_a),
            float_column("mean_b", self.mean_b),
            count_column("n_a", self.n_a),
            count_column("n_b", self.n_b),
            float_column("gap", self.gap),
            float_column("gap_ci_low", self.gap_ci_low),
            float_column("gap_ci_high", self.gap_ci_high),
            float_column("gap_change", self.gap_change),
            date_column("gap_change_since", self.gap_change_since)?,
            float_column("abs_gap_change", self.abs_gap_change),
            float_column("abs_gap_change_ci_low", self.abs_change_ci_low),
            float_column("abs_gap_change_ci_high", self.abs_change_ci_high),
            Series::new("trend".into(), self.trend).into(),
        ])?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn table(rows: &[(&str, &str, NaiveDate, f64)]) -> DataFrame {
        let mut df = df!(
            "actor" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "target" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "date" => rows.iter().map(|r| to_days(r.2)).collect::<Vec<_>>(),
            "score" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )
        .unwrap();
        let date = df.column("date").unwrap().cast(&DataType::Date).unwrap();
        df.with_column(date).unwrap();
        df
    }

    fn rows() -> Vec<(&'static str, &'static str, NaiveDate, f64)> {
        let mut rows = Vec::new();
        // January: far apart. February: only the Kremlin. March: close together.
        for (i, s) in [0.8, 0.9, 0.7, 0.85].into_iter().enumerate() {
            rows.push(("kyiv", "peace", d(2024, 1, 2 + i as u32), s));
            rows.push(("kremlin", "peace", d(2024, 1, 3 + i as u32), -s));
            rows.push(("kyiv", "peace", d(2024, 3, 2 + i as u32), s - 0.6));
            rows.push(("kremlin", "peace", d(2024, 3, 3 + i as u32), -s + 0.6));
        }
        rows.push(("kremlin", "peace", d(2024, 2, 10), 0.0));
        rows.push(("white house", "sanctions", d(2024, 2, 10), 0.0));
        rows
    }

    #[test]
    fn gaps_and_convergence() {
        let options = CompareOptions::new("peace", vec!["kyiv".into(), "kremlin".into()]);
        let out = compare(&table(&rows()), &options).unwrap();
        assert_eq!(out.height(), 3, "{out}");
        let col =
            |name: &str| -> Vec<Option<f64>> { out.column(name).unwrap().f64().unwrap().iter().collect() };
        let gap = col("gap");
        assert!((gap[0].unwrap() - 1.625).abs() < 1e-12);
        assert_eq!(gap[1], None);
        assert!((gap[2].unwrap() - 0.425).abs() < 1e-12);
        assert!(col("gap_ci_low")[0].unwrap() > 1.4 && col("gap_ci_high")[0].unwrap() < 1.8);
        // March is compared with January, the last period with a gap.
        assert!((col("gap_change")[2].unwrap() + 1.2).abs() < 1e-12);
        let since: Vec<Option<i32>> =
            out.column("gap_change_since").unwrap().date().unwrap().phys.iter().collect();
        assert_eq!(since, [None, None, Some(to_days(d(2024, 1, 1)))]);
        let trend: Vec<Option<&str>> = out.column("trend").unwrap().str().unwrap().iter().collect();
        assert_eq!(trend, [None, None, Some("converging")]);
        let n_b: Vec<u32> = out.column("n_b").unwrap().u32().unwrap().into_no_null_iter().collect();
        assert_eq!(n_b, [4, 1, 4]);
    }

    #[test]
    fn unchanged_when_the_distance_is_the_same() {
        let mut rows = rows();
        // Make March exactly as far apart as January, mirrored.
        for r in rows.iter_mut().filter(|r| r.2.month() == 3) {
            r.3 = if r.0 == "kyiv" { r.3 + 0.6 } else { r.3 - 0.6 };
        }
        let options = CompareOptions::new("peace", vec!["kremlin".into(), "kyiv".into()]);
        let out = compare(&table(&rows), &options).unwrap();
        let trend: Vec<Option<&str>> = out.column("trend").unwrap().str().unwrap().iter().collect();
        assert_eq!(trend[2], Some("unchanged"));
        let gap: Vec<Option<f64>> = out.column("gap").unwrap().f64().unwrap().iter().collect();
        assert!(gap[0].unwrap() < 0.0);
    }

    #[test]
    fn unknown_names_list_what_exists() {
        let df = table(&rows());
        let e = compare(&df, &CompareOptions::new("war", vec!["kyiv".into(), "kremlin".into()])).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`war`") && msg.contains("`peace`") && msg.contains("`sanctions`"), "{msg}");
        let e = compare(&df, &CompareOptions::new("peace", vec!["kyiv".into(), "white house".into()]))
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`white house`") && msg.contains("`kremlin`, `kyiv`"), "{msg}");
        let e = compare(&df, &CompareOptions::new("peace", vec!["kyiv".into(), "kyiv".into()])).unwrap_err();
        assert!(matches!(e, AnalysisError::InvalidOption { option: "actors", .. }));
    }
}
