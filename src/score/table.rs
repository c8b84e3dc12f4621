//! The scores table of DESIGN.md: one row per statement × target, long format.

use polars::prelude::*;

use super::{Method, ScoreRun};
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
/// per target, in corpus order, with the score columns first (`actor` and `date` empty when
/// the corpus has none) and the corpus's other columns
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
    // `label_mass` (LLM runs; null for pairs the model did not score) and `mentioned` are
    // score columns only when their method or filter ran.
    let label_mass: Option<Vec<Option<f64>>> =
        (run.method == Method::Llm).then(|| run.scores.iter().map(|s| s.label_mass.map(f64::from)).collect());
    let own = |name: &str| {
        SCORE_COLUMNS.contains(&name)
            || (name == "mentioned" && run.mentioned.is_some())
            || (name == "label_mass" && label_mass.is_some())
    };

    let mut columns: Vec<Column> = Vec::with_capacity(repeated.width() + 8);
    // Every scores table has the same leading columns: a corpus without actors or dates gets
    // them empty, so tables from different corpora line up.
    for (name, missing) in [("id", DataType::String), ("actor", DataType::String), ("date", DataType::Date)] {
        match repeated.column(name) {
            Ok(c) => columns.push(c.clone()),
            Err(_) => columns.push(Column::full_null(name.into(), height, &missing)),
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
    if let Some(label_mass) = &label_mass {
        columns.push(Column::new("label_mass".into(), label_mass.as_slice()));
    }
    if let Some(mentioned) = &run.mentioned {
        columns.push(Column::new("mentioned".into(), mentioned.as_slice()));
    }
    for c in repeated.columns() {
        let name = c.name().as_str();
        if ["id", "actor", "date"].contains(&name) {
            continue;
        }
        // An input column named like a score column (a gold `label`, say) is kept, renamed
        // (again while the new name is taken too).
        if own(name) {
            let mut renamed = format!("input_{name}");
            while own(&renamed) || corpus.schema().contains(&renamed) {
                renamed.insert_str(0, "input_");
            }
            columns.push(c.clone().with_name(renamed.into()));
        } else {
            columns.push(c.clone());
        }
    }
    DataFrame::new(height, columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{Method, StanceScore};
    use crate::targets::Templates;

    #[test]
    fn a_corpus_of_text_alone_gets_the_full_schema() {
        let corpus = df!(
            "id" => ["a", "b"],
            "text" => ["Peace now.", "No talks."],
            "label" => ["favor", "against"],
            "input_label" => ["pro", "anti"],
        )
        .unwrap();
        let targets =
            TargetSet::from_names(&["talks".to_owned(), "sanctions".to_owned()], Templates::default())
                .unwrap();
        let score = |favor| StanceScore {
            probs: [favor, 0.25, 0.75 - favor],
            truncated: false,
            n_chunks: 1,
            label_mass: None,
        };
        let run = ScoreRun {
            scores: vec![score(0.5), score(0.25), score(0.0), score(0.75)],
            n_targets: 2,
            method: Method::Nli,
            max_length: 512,
            sequences: 4,
            batches: 1,
            head_sha256: None,
            mentioned: None,
        };
        let frame = scores_frame(&corpus, &targets, &run).unwrap();
        let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        let mut expected = SCORE_COLUMNS.to_vec();
        expected.extend(["text", "input_input_label", "input_label"]);
        assert_eq!(names, expected);
        assert_eq!(frame.column("actor").unwrap().dtype(), &DataType::String);
        assert_eq!(frame.column("date").unwrap().dtype(), &DataType::Date);
        assert_eq!(frame.column("actor").unwrap().null_count(), 4);
        let targets: Vec<Option<&str>> = frame.column("target").unwrap().str().unwrap().iter().collect();
        assert_eq!(targets, [Some("talks"), Some("sanctions"), Some("talks"), Some("sanctions")]);
        let scores: Vec<Option<f64>> = frame.column("score").unwrap().f64().unwrap().iter().collect();
        assert_eq!(scores, [Some(0.25), Some(0.0), Some(-0.25), Some(0.5)]);
    }
}
