//! The scores table of DESIGN.md: one row per statement × target, long format.

use polars::prelude::*;

use super::ScoreRun;
use crate::targets::TargetSet;

/// Leading columns of every scores table, in order; the corpus's other columns follow.
pub const SCORE_COLUMNS: [&str; 11] = [
    "id",
    "actor",
    "date",
    "target",
    "p_favor",
    "p_against",
    "p_none",
    "score",
    "label",
    "truncated",
    "n_chunks",
];

/// Joins `corpus` (one row per statement, as read) with `run`: every corpus row repeated once
/// per target, in corpus order, with the score columns first and the corpus's other columns
/// (text included) after them, untouched; an input column whose name a score column takes is
/// kept as `input_<name>`.
pub fn scores_frame(corpus: &DataFrame, targets: &TargetSet, run: &ScoreRun) -> PolarsResult<DataFrame> {
    let n_targets = targets.targets.len();
    let height = corpus.height() * n_targets;
    let repeat: IdxCa = (0..corpus.height() as IdxSize)
        .flat_map(|i| std::iter::repeat_n(i, n_targets))
        .collect_ca("row".into());
    let repeated = corpus.take(&repeat)?;

    let target: Vec<&str> =
        (0..corpus.height()).flat_map(|_| targets.targets.iter().map(|t| t.name.as_str())).collect();
    let column = |i: usize| -> Vec<f64> { run.scores.iter().map(|s| f64::from(s.probs[i])).collect() };
    let (p_favor, p_against, p_none) = (column(0), column(1), column(2));
    let score: Vec<f64> = p_favor.iter().zip(&p_against).map(|(f, a)| f - a).collect();
    let label: Vec<&str> = run.scores.iter().map(|s| s.label().as_str()).collect();
    let truncated: Vec<bool> = run.scores.iter().map(|s| s.truncated).collect();
    let n_chunks: Vec<u32> = run.scores.iter().map(|s| s.n_chunks).collect();
    // `mentioned` is a score column only when the relevance filter ran.
    let own = |name: &str| SCORE_COLUMNS.contains(&name) || (name == "mentioned" && run.mentioned.is_some());

    let mut columns: Vec<Column> = Vec::with_capacity(repeated.width() + 8);
    for name in ["id", "actor", "date"] {
        if let Ok(c) = repeated.column(name) {
            columns.push(c.clone());
        }
    }
    columns.push(Column::new("target".into(), target));
    columns.push(Column::new("p_favor".into(), p_favor));
    columns.push(Column::new("p_against".into(), p_against));
    columns.push(Column::new("p_none".into(), p_none));
    columns.push(Column::new("score".into(), score));
    columns.push(Column::new("label".into(), label));
    columns.push(Column::new("truncated".into(), truncated));
    columns.push(Column::new("n_chunks".into(), n_chunks));
    if let Some(mentioned) = &run.mentioned {
        columns.push(Column::new("mentioned".into(), mentioned.as_slice()));
    }
    for c in repeated.columns() {
        let name = c.name().as_str();
        if ["id", "actor", "date"].contains(&name) {
            continue;
        }
        // An input column named like a score column (a gold `label`, say) is kept, renamed.
        if own(name) {
            columns.push(c.clone().with_name(format!("input_{name}").into()));
        } else {
            columns.push(c.clone());
        }
    }
    DataFrame::new(height, columns)
}
