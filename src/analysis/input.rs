//! Checks a scores table and copies what the statistics need into plain vectors.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::period::from_days;
use super::{list_names, AnalysisError};
use crate::targets::Stance;

/// One statement's score, with its series (group) and time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obs {
    pub group: u32,
    /// The calendar date (in UTC for zoned datetimes).
    pub date: NaiveDate,
    /// Microseconds since 1970-01-01, for ordering statements within a day.
    pub instant: i64,
    pub score: f64,
    /// The statement's stance class, when the table has labels or probabilities.
    pub label: Option<Stance>,
}

/// A scores table reduced to groups and observations.
#[derive(Debug)]
pub(crate) struct Scores {
    /// The grouping columns' values for each group id.
    pub keys: Vec<Vec<String>>,
    pub obs: Vec<Obs>,
}

/// Scores a little outside [-1, 1] come from probabilities stored as f32.
const SCORE_TOLERANCE: f64 = 1e-6;

/// Reads `df`, grouping rows by the string columns `group_cols` (in that order). With `labels`,
/// each observation gets its stance class from `label`, or else from the argmax of `p_*`.
pub(crate) fn read(df: &DataFrame, group_cols: &[&str], labels: bool) -> Result<Scores, AnalysisError> {
    let height = df.height();
    // An NDJSON file without objects has no columns either: say what is missing.
    if height == 0 && df.width() == 0 {
        return Err(AnalysisError::NoRows);
    }
    let (group, first_row) = group_ids(df, group_cols)?;
    let keys = first_row
        .iter()
        .map(|&row| {
            group_cols
                .iter()
                .map(|c| Ok(df.column(c)?.str()?.get(row).unwrap_or_default().to_owned()))
                .collect::<Result<Vec<_>, AnalysisError>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (date, instant) = dates(df)?;
    let score = scores(df)?;
    let label = if labels { stance_labels(df)? } else { vec![None; height] };
    let obs = (0..height)
        .map(|i| Obs {
            group: group[i],
            date: date[i],
            instant: instant[i],
            score: score[i],
            label: label[i],
        })
        .collect();
    Ok(Scores { keys, obs })
}

fn column<'a>(df: &'a DataFrame, name: &str, expected: &'static str) -> Result<&'a Column, AnalysisError> {
    df.column(name).map_err(|_| AnalysisError::MissingColumn {
        column: name.to_owned(),
        expected,
        available: list_names(df.get_column_names().into_iter().map(|n| n.as_str())),
    })
}

fn wrong_type(col: &Column, expected: &'static str) -> AnalysisError {
    AnalysisError::WrongType { column: col.name().to_string(), found: col.dtype().to_string(), expected }
}

/// Group id per row (ids in order of first appearance) and the first row of each group.
fn group_ids(df: &DataFrame, group_cols: &[&str]) -> Result<(Vec<u32>, Vec<usize>), AnalysisError> {
    const EXPECTED: &str = "a text (String) column without missing values";
    let height = df.height();
    // Combine one column at a time: (group so far, value id) -> new group id.
    let mut group = vec![0u32; height];
    for name in group_cols {
        let col = column(df, name, EXPECTED)?;
        let values = col.str().map_err(|_| wrong_type(col, EXPECTED))?;
        let mut value_ids: HashMap<&str, u32> = HashMap::new();
        let mut combined: HashMap<(u32, u32), u32> = HashMap::new();
        for (row, value) in values.iter().enumerate() {
            let value = value.ok_or_else(|| AnalysisError::Null {
                column: name.to_string(),
                row: row + 1,
                expected: EXPECTED,
            })?;
            let next_value = value_ids.len() as u32;
            let value_id = *value_ids.entry(value).or_insert(next_value);
            let next_group = combined.len() as u32;
            group[row] = *combined.entry((group[row], value_id)).or_insert(next_group);
        }
    }
    let groups = group.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let mut first_row = vec![usize::MAX; groups];
    for (row, &g) in group.iter().enumerate().rev() {
        first_row[g as usize] = row;
    }
    Ok((group, first_row))
}

/// Calendar date and instant (µs since 1970-01-01) of every row.
fn dates(df: &DataFrame) -> Result<(Vec<NaiveDate>, Vec<i64>), AnalysisError> {
    const EXPECTED: &str = "a Date or Datetime column without missing values (parse text dates first)";
    const US_PER_DAY: i64 = 86_400_000_000;
    let col = column(df, "date", EXPECTED)?;
    let null = |row: usize| AnalysisError::Null { column: "date".into(), row: row + 1, expected: EXPECTED };
    let calendar = |row: usize, days: i64| {
        i32::try_from(days)
            .ok()
            .and_then(from_days)
            .ok_or(AnalysisError::DateOutOfRange { column: "date".into(), row: row + 1 })
    };
    let mut dates = Vec::with_capacity(df.height());
    let mut instants = Vec::with_capacity(df.height());
    match col.dtype() {
        DataType::Date => {
            for (row, d) in col.date()?.phys.iter().enumerate() {
                let d = i64::from(d.ok_or_else(|| null(row))?);
                dates.push(calendar(row, d)?);
                instants.push(d * US_PER_DAY);
            }
        }
        DataType::Datetime(unit, _) => {
            // Zoned datetimes are stored as UTC instants; their calendar date is taken in UTC.
            let to_us = |v: i64| match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v.saturating_mul(1000),
            };
            for (row, v) in col.datetime()?.phys.iter().enumerate() {
                let us = to_us(v.ok_or_else(|| null(row))?);
                dates.push(calendar(row, us.div_euclid(US_PER_DAY))?);
                instants.push(us);
            }
        }
        _ => return Err(wrong_type(col, EXPECTED)),
    }
    Ok((dates, instants))
}

/// A float column as f64 (Float32 is widened), or `None` if its type is not a float.
fn floats(col: &Column) -> Option<Float64Chunked> {
    match col.dtype() {
        DataType::Float64 | DataType::Float32 => col.cast(&DataType::Float64).ok()?.f64().ok().cloned(),
        // A CSV column without any value (a header-only file) reads as text.
        _ if col.null_count() == col.len() => Some(Float64Chunked::full_null(col.name().clone(), col.len())),
        _ => None,
    }
}

fn scores(df: &DataFrame) -> Result<Vec<f64>, AnalysisError> {
    const EXPECTED: &str = "a Float64 column of numbers in [-1, 1] without missing values";
    let col = column(df, "score", EXPECTED)?;
    let values = match (floats(col), col.str()) {
        (Some(values), _) => values,
        // Numbers as text (` 0.5 `, or a column another tool wrote with an `NA` in it): each
        // parsed, or the first that is none named.
        (None, Ok(text)) => text
            .iter()
            .enumerate()
            .map(|(row, v)| match v.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse::<f64>().map(Some).map_err(|_| AnalysisError::NotANumber {
                    row: row + 1,
                    value: v.to_owned(),
                    expected: EXPECTED,
                }),
            })
            .collect::<Result<Float64Chunked, _>>()?,
        (None, Err(_)) => return Err(wrong_type(col, EXPECTED)),
    };
    values
        .iter()
        .enumerate()
        .map(|(row, v)| {
            let v =
                v.ok_or(AnalysisError::Null { column: "score".into(), row: row + 1, expected: EXPECTED })?;
            if v.is_finite() && v.abs() <= 1.0 + SCORE_TOLERANCE {
                Ok(v.clamp(-1.0, 1.0))
            } else {
                Err(AnalysisError::ScoreOutOfRange { row: row + 1, value: v })
            }
        })
        .collect()
}

/// Stance class per row from `label` if present and every value in it is a stance label,
/// else from the argmax of `p_favor`, `p_against`, `p_none` if all three are present, else
/// none. Missing labels or probabilities leave that row out of the shares. Another tool's
/// `label` column (`positive`, `1`) only costs the shares, with a warning: the analyses
/// need `score` alone.
fn stance_labels(df: &DataFrame) -> Result<Vec<Option<Stance>>, AnalysisError> {
    let height = df.height();
    let has = |name: &str| df.schema().contains(name);
    if has("label") {
        const EXPECTED: &str = "a text (String) column of stance labels";
        let col = column(df, "label", EXPECTED)?;
        let values = col.str().map_err(|_| wrong_type(col, EXPECTED))?;
        let unknown = values.iter().enumerate().find(|(_, v)| v.is_some_and(|v| Stance::parse(v).is_none()));
        match unknown {
            None => return Ok(values.iter().map(|v| v.and_then(Stance::parse)).collect()),
            Some((row, value)) => tracing::warn!(
                "column `label`, row {}: `{}` is not a stance label (favor, against, none); \
                 stance shares come from p_favor/p_against/p_none if present, else stay empty",
                row + 1,
                value.unwrap_or_default()
            ),
        }
    }
    if !(has("p_favor") && has("p_against") && has("p_none")) {
        return Ok(vec![None; height]);
    }
    const EXPECTED: &str = "a Float64 column of probabilities";
    let mut probs = Vec::with_capacity(3);
    for name in ["p_favor", "p_against", "p_none"] {
        let col = column(df, name, EXPECTED)?;
        probs.push(floats(col).ok_or_else(|| wrong_type(col, EXPECTED))?);
    }
    let mut out = Vec::with_capacity(height);
    for ((f, a), n) in probs[0].iter().zip(probs[1].iter()).zip(probs[2].iter()) {
        let label = match (f, a, n) {
            (Some(f), Some(a), Some(n)) if f.is_finite() && a.is_finite() && n.is_finite() => {
                // Ties go to the earlier class in favor, against, none order.
                Some(if f >= a && f >= n {
                    Stance::Favor
                } else if a >= n {
                    Stance::Against
                } else {
                    Stance::None
                })
            }
            _ => None,
        };
        out.push(label);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        let mut df = df!(
            "actor" => ["a", "b", "a"],
            "target" => ["t", "t", "u"],
            "date" => [19_000i32, 19_001, 19_002],
            "score" => [0.5, -0.25, 1.0000001],
        )
        .unwrap();
        let date = df.column("date").unwrap().cast(&DataType::Date).unwrap();
        df.with_column(date).unwrap();
        df
    }

    #[test]
    fn groups_and_values() {
        let s = read(&frame(), &["actor", "target"], true).unwrap();
        assert_eq!(s.keys, vec![vec!["a", "t"], vec!["b", "t"], vec!["a", "u"]]);
        assert_eq!(s.obs.iter().map(|o| o.group).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(s.obs[2].score, 1.0);
        assert_eq!(s.obs[1].date, NaiveDate::from_ymd_opt(2022, 1, 9).unwrap());
        assert!(s.obs.iter().all(|o| o.label.is_none()));
    }

    #[test]
    fn errors_name_column_row_and_expectation() {
        let mut df = frame();
        df.with_column(Series::new("score".into(), [Some(0.1), None, Some(0.2)]).into()).unwrap();
        let e = read(&df, &["actor", "target"], false).unwrap_err().to_string();
        assert!(e.contains("`score`") && e.contains("row 2") && e.contains("missing"), "{e}");

        df.with_column(Series::new("score".into(), [0.1, 1.5, 0.2]).into()).unwrap();
        let e = read(&df, &["actor"], false).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("1.5") && e.contains("[-1, 1]"), "{e}");

        df.with_column(Series::new("score".into(), [" 0.5", "NA", "z"]).into()).unwrap();
        let e = read(&df, &["actor"], false).unwrap_err().to_string();
        assert!(e.starts_with("column `score`, row 2: \"NA\" is not a number; expected"), "{e}");

        df.with_column(Series::new("score".into(), [" 0.5", "-1", "1e-1 "]).into()).unwrap();
        let scores: Vec<f64> = read(&df, &["actor"], false).unwrap().obs.iter().map(|o| o.score).collect();
        assert_eq!(scores, [0.5, -1.0, 0.1]);

        df.with_column(Series::new("score".into(), [true, false, true]).into()).unwrap();
        let e = read(&df, &["actor"], false).unwrap_err().to_string();
        assert!(e.contains("`score` has type bool"), "{e}");

        let e = read(&frame(), &["speaker"], false).unwrap_err().to_string();
        assert!(e.contains("no column `speaker`") && e.contains("`actor`"), "{e}");

        let mut df = frame();
        df.with_column(Series::new("date".into(), ["2024-01-01", "2024-01-02", "2024-01-03"]).into())
            .unwrap();
        let e = read(&df, &["actor"], false).unwrap_err().to_string();
        assert!(e.contains("`date`") && e.contains("Date or Datetime"), "{e}");
    }

    #[test]
    fn labels_of_another_tool_give_way_to_probabilities() {
        let mut df = frame();
        df.with_column(Series::new("label".into(), [Some("favor"), Some("AGAINST"), None]).into()).unwrap();
        let s = read(&df, &["actor"], true).unwrap();
        let labels: Vec<_> = s.obs.iter().map(|o| o.label).collect();
        assert_eq!(labels, [Some(Stance::Favor), Some(Stance::Against), None]);

        df.with_column(Series::new("label".into(), ["favor", "AGAINST", "maybe"]).into()).unwrap();
        let s = read(&df, &["actor"], true).unwrap();
        assert!(s.obs.iter().all(|o| o.label.is_none()));
        df.with_column(Series::new("p_favor".into(), [0.2f32, 0.5, 0.1]).into()).unwrap();
        df.with_column(Series::new("p_against".into(), [0.7f32, 0.4, 0.1]).into()).unwrap();
        df.with_column(Series::new("p_none".into(), [0.1f32, 0.1, 0.8]).into()).unwrap();
        let s = read(&df, &["actor"], true).unwrap();
        let labels: Vec<_> = s.obs.iter().map(|o| o.label).collect();
        assert_eq!(labels, [Some(Stance::Against), Some(Stance::Favor), Some(Stance::None)]);
    }

    #[test]
    fn labels_from_probabilities_and_datetimes() {
        let mut df = frame();
        df.with_column(Series::new("p_favor".into(), [0.2f32, 0.5, 0.1]).into()).unwrap();
        df.with_column(Series::new("p_against".into(), [0.7f32, 0.5, 0.1]).into()).unwrap();
        df.with_column(Series::new("p_none".into(), [0.1f32, 0.0, 0.8]).into()).unwrap();
        // 2022-01-08 23:30 UTC and two instants on 1969-12-31/1970-01-01.
        let dt = Series::new("date".into(), [1_641_684_600_000i64, -1, 0])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap();
        df.with_column(dt.into()).unwrap();
        let s = read(&df, &["actor"], true).unwrap();
        let labels: Vec<_> = s.obs.iter().map(|o| o.label).collect();
        assert_eq!(labels, [Some(Stance::Against), Some(Stance::Favor), Some(Stance::None)]);
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(s.obs[0].date, ymd(2022, 1, 8));
        assert_eq!(s.obs[1].date, ymd(1969, 12, 31));
        assert_eq!(s.obs[1].instant, -1000);
        assert_eq!(s.obs[2].date, ymd(1970, 1, 1));
    }
}
