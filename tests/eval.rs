//! Training a stance head and evaluating with it, through the library: a synthetic but
//! separable set with the real all-MiniLM-L6-v2, agreement between the training features and
//! the scoring path, and heads refusing a model they were not trained on.

mod common;

use std::path::{Path, PathBuf};

use stance::eval::{self, ClassWeight, EvalJob, EvalOptions, GoldOptions, TrainJob, TrainOptions};
use stance::model::{self, Model};
use stance::progress::Silent;
use stance::score::head::{Head, HeadError};
use stance::score::{score_texts, Method, ScoreError, ScoreOptions};
use stance::targets::{Stance, TargetSet, Templates};

const FAVOR: [&str; 6] = [
    "I fully support {t}.",
    "{t} is exactly what this country needs.",
    "We must expand {t} as fast as we can.",
    "Proud to stand up for {t} today.",
    "{t} deserves everyone's backing.",
    "More {t}, please: it works.",
];
const AGAINST: [&str; 6] = [
    "I strongly oppose {t}.",
    "{t} is a disaster and has to be stopped.",
    "We must put an end to {t} immediately.",
    "Never again will I accept {t}.",
    "{t} deserves to be rejected by everyone.",
    "Scrap {t} now: it has failed.",
];
const NONE: [&str; 6] = [
    "The committee meets on Tuesday afternoon.",
    "Rain is expected over the weekend.",
    "The museum opens a new wing in May.",
    "Traffic was light on the bridge this morning.",
    "The library extended its opening hours.",
    "A new bakery opened on the corner.",
];
const TARGETS: [&str; 3] = ["wind farms", "the new rail line", "school uniforms"];

/// Every template for every target: 54 rows, classes balanced.
fn synthetic_gold(dir: &Path) -> PathBuf {
    let mut csv = String::from("text,target,label\n");
    for target in TARGETS {
        for (stance, templates) in [("favor", FAVOR), ("against", AGAINST), ("none", NONE)] {
            for template in templates {
                csv.push_str(&format!("\"{}\",{target},{stance}\n", template.replace("{t}", target)));
            }
        }
    }
    let path = dir.join("gold.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn train_job(gold: &Path, model: &Path, out: &Path, options: TrainOptions) -> TrainJob {
    TrainJob {
        gold: vec![gold.to_owned()],
        gold_options: GoldOptions::default(),
        model: model.display().to_string(),
        device: "cpu".into(),
        score_options: ScoreOptions { method: Some(Method::Embedding), ..ScoreOptions::default() },
        options,
        out: out.to_owned(),
    }
}

#[test]
fn minilm_head_separates_a_synthetic_set_and_scores_as_it_was_trained() {
    let dir = tempfile::tempdir().unwrap();
    let gold = synthetic_gold(dir.path());
    let head_path = dir.path().join("head.safetensors");
    let options = TrainOptions { folds: 3, ..TrainOptions::default() };
    let job = train_job(&gold, &common::minilm_dir(), &head_path, options);
    let trained = eval::train(&job, &["stance".into(), "train".into()], &Silent).unwrap();
    let training = &trained.training;
    assert_eq!(training.classes, Stance::ALL.to_vec());
    assert_eq!(training.train_accuracy, 1.0);
    assert!(training.fit.converged);
    for cv in &training.cross_validation {
        // Held-out folds see each template with other targets only: near perfect.
        assert!(cv.accuracy.unwrap() >= 0.95, "{cv:?}");
    }
    let head = Head::load(&head_path).unwrap();
    assert_eq!(head.embedding_dim, 384);
    assert_eq!(head.info.training["data"]["rows"], 54);

    // Scoring the same rows through `stance eval --head` reproduces the training predictions.
    let eval_job = EvalJob {
        gold: vec![gold],
        gold_options: GoldOptions::default(),
        model: Some(common::minilm_dir().display().to_string()),
        device: "cpu".into(),
        score_options: ScoreOptions { head: Some(head_path.clone()), ..ScoreOptions::default() },
        targets: None,
        options: EvalOptions { bootstrap: 100, ..EvalOptions::default() },
    };
    let outcome = eval::evaluate(&eval_job, &["stance".into()], &Silent).unwrap();
    assert_eq!(outcome.method, Some(Method::Embedding));
    let all = &outcome.report.slices[0];
    assert_eq!(all.accuracy, Some(1.0));
    assert_eq!(all.f_avg, Some(1.0));
    assert_eq!(outcome.provenance.get("input.head.sha256").map(str::len), Some(64));
}

#[test]
fn heads_refuse_models_they_were_not_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let gold = synthetic_gold(dir.path());
    let head_path = dir.path().join("head.safetensors");
    let options =
        TrainOptions { folds: 0, l2: vec![1e-3], class_weight: ClassWeight::None, ..TrainOptions::default() };
    let embedding_model = common::fixture_model_dir("bert-embedding");
    eval::train(&train_job(&gold, &embedding_model, &head_path, options), &[], &Silent).unwrap();

    let targets = TargetSet::from_names(&["wind farms".into()], Templates::default()).unwrap();
    let options = ScoreOptions { head: Some(head_path.clone()), ..ScoreOptions::default() };
    let texts = ["I fully support wind farms.", "Rain is expected."];

    let same = common::fixture_model("bert-embedding");
    let run = score_texts(&texts, &targets, &same, &options, &Silent).unwrap();
    assert_eq!(run.method, Method::Embedding);
    for score in &run.scores {
        assert!((score.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    let other: Model = common::fixture_model("bert");
    let err = score_texts(&texts, &targets, &other, &options, &Silent).unwrap_err();
    assert!(matches!(err, ScoreError::Head(HeadError::ModelMismatch { .. })), "{err}");
    assert!(err.to_string().contains(&format!("trained on the embeddings of {}", embedding_model.display())));

    // A head only makes sense with the embedding method.
    let nli = ScoreOptions { method: Some(Method::Nli), ..options };
    let err = score_texts(&texts, &targets, &same, &nli, &Silent).unwrap_err();
    assert_eq!(err.to_string(), "a stance head (--head) scores with the embedding method, not --method nli");

    // The model a folder resolves to is what counts, not its path.
    let resolved = model::resolve(embedding_model.to_str().unwrap(), Path::new("/nonexistent")).unwrap();
    let head = Head::load(&head_path).unwrap();
    assert!(head
        .check_model(&head_path, &Model::load(resolved, "cpu", stance::model::Dtype::F32).unwrap())
        .is_ok());
}
