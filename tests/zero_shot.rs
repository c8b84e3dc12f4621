//! The NLI method reproduces the Hugging Face zero-shot pipeline (`multi_label=False`) number
//! for number on the committed tiny models, whatever the order of their NLI labels.
//!
//! Tolerance 1e-4 on probabilities: fp32 with a different summation order than PyTorch.

mod common;

use stance::progress::Silent;
use stance::score::{score_texts, Method, ScoreOptions};

fn check(name: &str) {
    let model = common::fixture_model(name);
    let reference = common::reference(name);
    let zero_shot = &reference["zero_shot"];
    let template = zero_shot["hypothesis_template"].as_str().unwrap();
    let labels: Vec<&str> =
        zero_shot["candidate_labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert_eq!(labels.len(), 3, "the fixture's candidate labels stand for favor/against/none");
    let hypotheses = [0, 1, 2].map(|i| template.replace("{}", labels[i]));
    let targets = common::single_target("fixture", hypotheses);
    let results = zero_shot["results"].as_array().unwrap();
    let texts: Vec<&str> = results.iter().map(|r| r["sequence"].as_str().unwrap()).collect();
    let options = ScoreOptions { method: Some(Method::Nli), ..ScoreOptions::default() };
    let run = score_texts(&texts, &targets, &model, &options, &Silent).unwrap();
    let mut worst = 0f32;
    for (i, result) in results.iter().enumerate() {
        let expected: Vec<f32> =
            result["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let got = run.get(i, 0).probs;
        for s in 0..3 {
            worst = worst.max((got[s] - expected[s]).abs());
        }
        assert!(
            (0..3).all(|s| (got[s] - expected[s]).abs() < 1e-4),
            "{name}: statement {i}: got {got:?}, pipeline {expected:?}"
        );
    }
    eprintln!("{name}: max |Δp| vs zero-shot pipeline = {worst:.2e}");
}

#[test]
fn bert_matches_pipeline() {
    check("bert");
}

#[test]
fn distilbert_matches_pipeline() {
    check("distilbert");
}

#[test]
fn roberta_matches_pipeline() {
    check("roberta");
}

#[test]
fn xlm_roberta_matches_pipeline() {
    check("xlm-roberta");
}

#[test]
fn deberta_v3_matches_pipeline() {
    check("deberta-v3");
}

#[test]
fn bart_matches_pipeline() {
    check("bart");
}
