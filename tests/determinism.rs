//! Same input, same scores: across batch sizes (padding differs, results must not beyond
//! fp32 noise, 1e-5) and across repeated runs (bit for bit).

mod common;

use stance::corpus::{read_corpus, CorpusOptions};
use stance::progress::Silent;
use stance::score::{score_texts, LongText, Method, ScoreOptions, ScoreRun};
use stance::targets::TargetSet;

fn demo_texts() -> Vec<String> {
    let corpus =
        read_corpus(&common::repo().join("corpus/statements.csv"), &CorpusOptions::default()).unwrap();
    let text = corpus.frame.column("text").unwrap().str().unwrap().clone();
    text.iter().map(|t| t.unwrap().to_owned()).collect()
}

fn run(model: &stance::model::Model, texts: &[String], options: &ScoreOptions) -> ScoreRun {
    let targets = TargetSet::from_toml_file(&common::repo().join("corpus/targets.toml")).unwrap();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    score_texts(&texts, &targets, model, options, &Silent).unwrap()
}

fn max_difference(a: &ScoreRun, b: &ScoreRun) -> f32 {
    a.scores
        .iter()
        .zip(&b.scores)
        .flat_map(|(x, y)| (0..3).map(move |i| (x.probs[i] - y.probs[i]).abs()))
        .fold(0.0, f32::max)
}

fn check(model_name: &str, method: Method, long: LongText) {
    let model = common::fixture_model(model_name);
    let texts = demo_texts();
    // A short max length makes the long demo statement take several windows.
    let options = |batch_size| ScoreOptions {
        method: Some(method),
        batch_size,
        max_length: Some(80),
        long,
        stride: 8,
        ..ScoreOptions::default()
    };
    let reference = run(&model, &texts, &options(32));
    assert_eq!(reference.scores.len(), texts.len() * 3);
    for batch_size in [1, 7] {
        let other = run(&model, &texts, &options(batch_size));
        let worst = max_difference(&reference, &other);
        assert!(worst < 1e-5, "{model_name}: batch {batch_size} differs from batch 32 by {worst}");
    }
    let again = run(&model, &texts, &options(32));
    assert_eq!(max_difference(&reference, &again), 0.0, "{model_name}: repeated run differs");
    if long == LongText::Window {
        assert!(reference.scores.iter().any(|s| s.n_chunks > 1), "no statement was windowed");
    } else {
        assert!(reference.scores.iter().any(|s| s.truncated), "no statement was truncated");
    }
}

#[test]
fn nli_scores_do_not_depend_on_batch_size() {
    check("bert", Method::Nli, LongText::Truncate);
}

#[test]
fn windowed_nli_scores_do_not_depend_on_batch_size() {
    check("deberta-v3", Method::Nli, LongText::Window);
}

/// BART's head reads each row's last `</s>`, wherever padding puts the row's end.
#[test]
fn bart_nli_scores_do_not_depend_on_batch_size() {
    check("bart", Method::Nli, LongText::Window);
}

#[test]
fn embedding_scores_do_not_depend_on_batch_size() {
    check("bert-embedding", Method::Embedding, LongText::Window);
}
