//! Precision, recall and F1 of extracted quotes against a hand-annotated gold set.
//!
//! Gold: a table (any format we read) with `article_id`, `actor` (empty where the speaker is
//! no actor, or unknown) and `quote` (the text between the marks), one row per direct quote;
//! other columns are ignored. Two measures, over the direct quotes of an unmerged extraction:
//! - **attributed quotes**: (article, actor, quote) triples;
//! - **quote spans**: (article, quote) pairs, whoever said them.
//!
//! Quotes are compared by [`super::normalized_text`]; each gold row matches at most one
//! extracted row (multisets).

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use super::{normalized_text, ExtractError};
use crate::corpus::{self, CorpusError};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Triple {
    pub article: String,
    pub actor: String,
    pub quote: String,
}

/// Precision, recall and F1 of one measure, with the counts behind them.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Prf {
    pub gold: usize,
    pub predicted: usize,
    pub matched: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(gold: usize, predicted: usize, matched: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (precision, recall) = (ratio(matched, predicted), ratio(matched, gold));
        let f1 =
            if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        Self { gold, predicted, matched, precision, recall, f1 }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExtractScores {
    pub attributed: Prf,
    pub spans: Prf,
    /// Gold quotes extracted, but classified as partial.
    pub gold_as_partial: usize,
    /// Gold triples not extracted, and extracted triples not in the gold, for inspection.
    pub missed: Vec<Triple>,
    pub spurious: Vec<Triple>,
}

/// Reads the gold triples of `path`, quotes normalised.
pub fn read_gold(path: &Path) -> Result<Vec<Triple>, ExtractError> {
    let table = corpus::load_table(path, &["article_id", "actor", "quote"])?;
    let frame = &table.frame;
    let column = |name: &str| -> Result<StringChunked, ExtractError> {
        let available =
            || frame.get_column_names().iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        let column = frame.column(name).map_err(|_| ExtractError::GoldColumn {
            path: path.to_owned(),
            column: name.to_owned(),
            available: available(),
        })?;
        let frame_error = |source| ExtractError::from(CorpusError::Frame { path: path.to_owned(), source });
        let text = column.cast(&DataType::String).map_err(frame_error)?;
        text.str().cloned().map_err(frame_error)
    };
    let (articles, actors, quotes) = (column("article_id")?, column("actor")?, column("quote")?);
    let mut gold = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let quote = quotes.get(i).unwrap_or_default();
        if quote.trim().is_empty() {
            let at = table.rows.at(i);
            return Err(CorpusError::EmptyText { path: path.to_owned(), at, column: "quote".into() }.into());
        }
        gold.push(Triple {
            article: articles.get(i).unwrap_or_default().to_owned(),
            actor: actors.get(i).unwrap_or_default().to_owned(),
            quote: normalized_text(quote),
        });
    }
    Ok(gold)
}

/// The extracted triples of a statements table (direct rows), and those of partial rows.
pub fn predicted(frame: &DataFrame) -> PolarsResult<(Vec<Triple>, Vec<Triple>)> {
    let (articles, actors, texts, kinds) = (
        frame.column("article_id")?.str()?,
        frame.column("actor")?.str()?,
        frame.column("text")?.str()?,
        frame.column("kind")?.str()?,
    );
    let mut direct = Vec::new();
    let mut partial = Vec::new();
    for i in 0..frame.height() {
        let triple = Triple {
            article: articles.get(i).unwrap_or_default().to_owned(),
            actor: actors.get(i).unwrap_or_default().to_owned(),
            quote: normalized_text(texts.get(i).unwrap_or_default()),
        };
        if kinds.get(i) == Some("direct") {
            direct.push(triple);
        } else {
            partial.push(triple);
        }
    }
    Ok((direct, partial))
}

/// Both measures of `predicted` direct quotes against `gold`.
pub fn score(gold: &[Triple], predicted: &[Triple], partial: &[Triple]) -> ExtractScores {
    let (matched, missed, spurious) = match_multisets(gold, predicted, |t| t.clone());
    let span = |t: &Triple| Triple { actor: String::new(), ..t.clone() };
    let (span_matched, ..) = match_multisets(gold, predicted, span);
    let (gold_as_partial, ..) = match_multisets(gold, partial, span);
    ExtractScores {
        attributed: Prf::new(gold.len(), predicted.len(), matched),
        spans: Prf::new(gold.len(), predicted.len(), span_matched),
        gold_as_partial,
        missed,
        spurious,
    }
}

/// Matches by `key`; returns the number matched, gold left over and predictions left over.
fn match_multisets(
    gold: &[Triple],
    predicted: &[Triple],
    key: impl Fn(&Triple) -> Triple,
) -> (usize, Vec<Triple>, Vec<Triple>) {
    let mut open: HashMap<Triple, Vec<&Triple>> = HashMap::new();
    for g in gold {
        open.entry(key(g)).or_default().push(g);
    }
    let mut matched = 0;
    let mut spurious = Vec::new();
    for p in predicted {
        match open.get_mut(&key(p)).and_then(Vec::pop) {
            Some(_) => matched += 1,
            None => spurious.push(p.clone()),
        }
    }
    let mut missed: Vec<Triple> = open.into_values().flatten().cloned().collect();
    missed.sort_by(|a, b| (&a.article, &a.quote).cmp(&(&b.article, &b.quote)));
    (matched, missed, spurious)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triple(article: &str, actor: &str, quote: &str) -> Triple {
        Triple { article: article.into(), actor: actor.into(), quote: normalized_text(quote) }
    }

    #[test]
    fn attributed_and_span_measures_differ_by_the_actor() {
        let gold = [
            triple("a", "Kremlin", "We are ready."),
            triple("a", "White House", "Talks now"),
            triple("b", "", "Maybe"),
        ];
        let predicted = [
            triple("a", "Kremlin", "we are ready"),
            triple("a", "Kremlin", "Talks now!"),
            triple("c", "", "Extra"),
        ];
        let scores = score(&gold, &predicted, &[triple("b", "", "maybe")]);
        assert_eq!((scores.attributed.matched, scores.spans.matched), (1, 2));
        assert!((scores.attributed.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((scores.spans.recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(scores.gold_as_partial, 1);
        assert_eq!(scores.missed.len(), 2);
        assert_eq!(scores.spurious.len(), 2);
    }

    #[test]
    fn a_gold_row_matches_one_prediction_only() {
        let gold = [triple("a", "K", "x y z")];
        let predicted = [triple("a", "K", "x y z"), triple("a", "K", "x y z")];
        let scores = score(&gold, &predicted, &[]);
        assert_eq!(scores.attributed.matched, 1);
        assert_eq!(scores.attributed.precision, 0.5);
    }

    #[test]
    fn nothing_predicted_scores_zero_not_nan() {
        let scores = score(&[triple("a", "K", "x")], &[], &[]);
        assert_eq!(scores.attributed.f1, 0.0);
    }
}
