//! The classifier method: model labels map to stances by name (`id2label`, or `--label-map`),
//! whatever their order, and options that cannot work are refused before any scoring.

mod common;

use std::collections::BTreeMap;

use stance::progress::Silent;
use stance::score::{score_texts, Method, ScoreError, ScoreOptions};
use stance::targets::Stance;

const TEXTS: [&str; 3] = [
    "Russia is always open to peace negotiations, the Kremlin spokesman said on Tuesday.",
    "There will be no talks while troops remain on our land.",
    "The minister visited a factory.",
];

/// A copy of the BERT fixture to edit.
fn bert_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::fixture_model_dir("bert")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn load_from(folder: &std::path::Path) -> stance::model::Model {
    let resolved =
        stance::model::resolve(folder.to_str().unwrap(), std::path::Path::new("/nonexistent")).unwrap();
    stance::model::Model::load(resolved, "cpu", stance::model::Dtype::F32).unwrap()
}

fn map(pairs: &[(&str, Stance)]) -> BTreeMap<String, Stance> {
    pairs.iter().map(|&(label, stance)| (label.to_owned(), stance)).collect()
}

fn targets() -> stance::targets::TargetSet {
    common::single_target(
        "talks",
        ["supports talks", "opposes talks", "is neutral on talks"].map(String::from),
    )
}

/// Probabilities per text with `label_map` and no `--method`.
fn probs(label_map: &[(&str, Stance)]) -> Vec<[f32; 3]> {
    // The fixture is an NLI model (contradiction, entailment, neutral): with a label map it
    // classifies the statement alone.
    let model = common::fixture_model("bert");
    let options = ScoreOptions { label_map: map(label_map), ..ScoreOptions::default() };
    let run = score_texts(&TEXTS, &targets(), &model, &options, &Silent).unwrap();
    assert_eq!(run.method, Method::Classifier, "a label map asks for the classifier");
    (0..TEXTS.len()).map(|i| run.get(i, 0).probs).collect()
}

#[test]
fn labels_map_by_name_not_by_position() {
    use Stance::{Against, Favor, None};
    let straight = probs(&[("entailment", Favor), ("contradiction", Against), ("neutral", None)]);
    let swapped = probs(&[("entailment", Against), ("contradiction", Favor), ("neutral", None)]);
    let merged = probs(&[("entailment", Favor), ("contradiction", Favor), ("neutral", None)]);
    for ((s, w), m) in straight.iter().zip(&swapped).zip(&merged) {
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{s:?}");
        assert_eq!([s[1], s[0], s[2]], *w, "swapping the map swaps favor and against");
        assert!((m[0] - (s[0] + s[1])).abs() < 1e-6 && m[1] == 0.0 && m[2] == s[2], "{m:?} vs {s:?}");
    }
    // Three different statements get three different distributions: the model ran on each.
    assert!(straight[0] != straight[1] && straight[1] != straight[2]);
}

/// `save_pretrained` leaves label names out of config.json when they are transformers'
/// defaults: the labels are then `LABEL_0`… (for `num_labels`), and a label map names them.
#[test]
fn unnamed_labels_are_transformers_defaults() {
    use Stance::{Against, Favor, None};
    let dir = bert_copy();
    let config_path = dir.path().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    let labels = config.as_object_mut().unwrap().remove("id2label").unwrap();
    config.as_object_mut().unwrap().remove("label2id");
    config["num_labels"] = 3.into();
    std::fs::write(&config_path, config.to_string()).unwrap();
    let model = load_from(dir.path());
    let stance_of = |name: &serde_json::Value| match name.as_str().unwrap() {
        "entailment" => Favor,
        "contradiction" => Against,
        _ => None,
    };
    let unnamed: Vec<(String, Stance)> =
        (0..3).map(|i| (format!("LABEL_{i}"), stance_of(&labels[i.to_string()]))).collect();
    let options = ScoreOptions {
        label_map: unnamed.iter().map(|(label, stance)| (label.clone(), *stance)).collect(),
        ..ScoreOptions::default()
    };
    let run = score_texts(&TEXTS, &targets(), &model, &options, &Silent).unwrap();
    let got: Vec<[f32; 3]> = (0..TEXTS.len()).map(|i| run.get(i, 0).probs).collect();
    assert_eq!(got, probs(&[("entailment", Favor), ("contradiction", Against), ("neutral", None)]));
}

/// The transformers pipeline cuts inputs at the tokenizer's `model_max_length` where that is
/// below the position limit; so does the default `--max-length`. Its "no limit" is no limit.
#[test]
fn the_tokenizers_limit_caps_the_input_length() {
    let dir = bert_copy();
    let load = || load_from(dir.path());
    let unlimited = load().max_positions;
    let config = dir.path().join("tokenizer_config.json");
    std::fs::write(&config, r#"{"model_max_length": 16}"#).unwrap();
    assert_eq!(load().max_positions, 16.min(unlimited));
    std::fs::write(&config, r#"{"model_max_length": 1000000000000000019884624838656}"#).unwrap();
    assert_eq!(load().max_positions, unlimited);
}

/// Entailment against contradiction per hypothesis needs both: the refusal names the one missing.
#[test]
fn per_hypothesis_names_the_missing_contradiction_label() {
    let dir = bert_copy();
    let path = dir.path().join("config.json");
    let config = std::fs::read_to_string(&path).unwrap().replace("contradiction", "other");
    std::fs::write(&path, config).unwrap();
    let model = load_from(dir.path());
    let options = ScoreOptions { method: Some(Method::Nli), per_hypothesis: true, ..ScoreOptions::default() };
    let err = options.check(&model).unwrap_err().to_string();
    assert!(
        err.starts_with("--method nli --per-hypothesis needs a model whose id2label has a contradiction"),
        "{err}"
    );
    let across = ScoreOptions { method: Some(Method::Nli), ..ScoreOptions::default() };
    across.check(&model).unwrap();
}

fn refusal(options: ScoreOptions) -> ScoreError {
    let model = common::fixture_model("bert");
    score_texts(&TEXTS, &targets(), &model, &options, &Silent).unwrap_err()
}

#[test]
fn options_that_cannot_work_are_refused_up_front() {
    let model = common::fixture_model("bert");
    let partial =
        ScoreOptions { label_map: map(&[("entailment", Stance::Favor)]), ..ScoreOptions::default() };
    let err = partial.check(&model).unwrap_err();
    assert!(matches!(&err, ScoreError::UnmappedLabel { label } if label == "contradiction"), "{err}");

    let unknown = ScoreOptions { label_map: map(&[("LABEL_7", Stance::Favor)]), ..ScoreOptions::default() };
    assert!(matches!(refusal(unknown), ScoreError::UnknownLabel { .. }));

    let nli_with_map = ScoreOptions {
        method: Some(Method::Nli),
        label_map: map(&[("entailment", Stance::Favor)]),
        ..ScoreOptions::default()
    };
    let err = refusal(nli_with_map);
    assert_eq!(
        err.to_string(),
        "a model label map (--label-map; --model-label-map in stance eval) applies to the classifier method, not --method nli"
    );

    for temperature in [0.0, -0.05, f32::NAN, f32::INFINITY] {
        let options =
            ScoreOptions { method: Some(Method::Embedding), temperature, ..ScoreOptions::default() };
        assert!(matches!(refusal(options), ScoreError::Temperature(_)), "{temperature}");
    }

    // Without a map, the NLI model is scored as NLI.
    assert_eq!(ScoreOptions::default().check(&model).unwrap(), Method::Nli);
}
