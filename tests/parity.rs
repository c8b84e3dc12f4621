//! Parity with Python `transformers`: the candle backend loads the tiny random-weight models in
//! tests/fixtures/models and must reproduce the outputs tests/fixtures/make_fixtures.py
//! recorded from transformers on the same weights: token ids (Rust `tokenizers` on the same
//! tokenizer.json), raw classification logits on ~20 premise/hypothesis pairs, and mean-pooled
//! embeddings of ~8 sentences. The padded batches are built as transformers builds them.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use stance::model::candle::{device_from_name, load, CandleBackend};
use stance::model::weights::MappedWeights;
use stance::model::{Backend, CommonConfig, Dtype, ModelError, TokenBatch};
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// Largest allowed absolute difference from the Python reference. Both sides compute in fp32
/// but sum in different orders (matmul blocking, LayerNorm and softmax reductions), which
/// moves O(1) outputs by ~1e-6 at these sizes; 1e-4 leaves room for that while any real
/// mistake (a wrong mask, activation or weight) moves them by 1e-2 or more, since the fixture
/// weights are O(1).
const TOLERANCE: f32 = 1e-4;

/// Int8 linear layers move these O(1) outputs by ~1e-2 at most (8-bit weights and inputs,
/// through every layer); a wrong scale, offset or packing moves them by O(1).
const INT8_TOLERANCE: f32 = 0.1;

#[derive(Deserialize)]
struct Reference {
    max_length: usize,
    pairs: Vec<Pair>,
    embeddings: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Pair {
    premise: String,
    hypothesis: String,
    #[serde(flatten)]
    tokens: Tokens,
    /// Absent for models without a classification head.
    logits: Option<Vec<f32>>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    #[serde(flatten)]
    tokens: Tokens,
    embedding: Vec<f32>,
}

/// What the Python tokenizer returned; `token_type_ids` only where it returns them.
#[derive(Deserialize)]
struct Tokens {
    input_ids: Vec<u32>,
    token_type_ids: Option<Vec<u32>>,
    attention_mask: Vec<u32>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// Loads a model folder as `stance` does: weight files found first, then the backend.
fn load_dir(
    folder: &Path,
    json: &serde_json::Value,
    common: &CommonConfig,
    dtype: Dtype,
) -> Result<CandleBackend, ModelError> {
    let weights = MappedWeights::open(&stance::model::weight_files(folder)?)?;
    load(folder, weights, json, common, &device_from_name("cpu").expect("cpu device"), dtype)
}

fn load_fixture(name: &str, dtype: Dtype) -> (CandleBackend, serde_json::Value) {
    let folder = fixtures().join("models").join(name);
    let (common, json) = CommonConfig::from_file(&folder.join("config.json")).expect("fixture config");
    let backend = load_dir(&folder, &json, &common, dtype).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    (backend, json)
}

/// The fixture's tokenizer.json with the reference's truncation and no padding, as the
/// Python side called the tokenizer.
fn tokenizer(name: &str, max_length: usize) -> Tokenizer {
    let path = fixtures().join("models").join(name).join("tokenizer.json");
    let mut tokenizer = Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length,
            strategy: TruncationStrategy::OnlyFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .expect("valid truncation");
    tokenizer.with_padding(None);
    tokenizer
}

fn assert_tokens(context: &str, encoding: &Encoding, want: &Tokens) {
    assert_eq!(encoding.get_ids(), want.input_ids, "{context}: input ids");
    assert_eq!(encoding.get_attention_mask(), want.attention_mask, "{context}: attention mask");
    if let Some(type_ids) = &want.token_type_ids {
        assert_eq!(encoding.get_type_ids(), type_ids, "{context}: token type ids");
    }
}

/// Largest absolute difference, after checking the rows have the reference's shape and every
/// value is within `tolerance`.
fn max_difference(context: &str, got: &[Vec<f32>], want: &[&[f32]], tolerance: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{context}: rows");
    let mut worst = 0.0f32;
    for (row, (got, want)) in got.iter().zip(want).enumerate() {
        assert_eq!(got.len(), want.len(), "{context}: row {row} width");
        for (col, (g, w)) in got.iter().zip(want.iter()).enumerate() {
            let difference = (g - w).abs();
            assert!(difference <= tolerance, "{context}: row {row} column {col}: got {g}, want {w}");
            worst = worst.max(difference);
        }
    }
    worst
}

fn batch(encodings: &[Encoding], pad_id: u32) -> TokenBatch {
    let rows: Vec<(&[u32], &[u32])> = encodings.iter().map(|e| (e.get_ids(), e.get_type_ids())).collect();
    TokenBatch::pad(&rows, pad_id)
}

fn read_reference(name: &str) -> Reference {
    let path = fixtures().join("reference").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference json")
}

/// Loads fixture `name` in `dtype` and checks token ids, logits (or the missing-head error) and
/// embeddings against tests/fixtures/reference/`name`.json, within `tolerance`. Returns the
/// largest difference seen.
fn check_parity(name: &str, dtype: Dtype, tolerance: f32) -> f32 {
    let reference = read_reference(name);
    let (backend, config) = load_fixture(name, dtype);
    let tokenizer = tokenizer(name, reference.max_length);
    let pad_id = config["pad_token_id"].as_u64().and_then(|id| u32::try_from(id).ok()).expect("pad_token_id");

    let pairs: Vec<Encoding> = reference
        .pairs
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let encoding = tokenizer
                .encode((pair.premise.as_str(), pair.hypothesis.as_str()), true)
                .expect("encode pair");
            assert_tokens(&format!("{name} pair {i}"), &encoding, &pair.tokens);
            encoding
        })
        .collect();
    let pair_batch = batch(&pairs, pad_id);
    let want: Option<Vec<&[f32]>> = reference.pairs.iter().map(|p| p.logits.as_deref()).collect();
    let worst_logit = match want {
        Some(want) => {
            assert!(backend.has_classifier());
            let logits = backend.logits(&pair_batch).unwrap_or_else(|e| panic!("{name} logits: {e:?}"));
            let worst = max_difference(&format!("{name} {dtype:?} logits"), &logits, &want, tolerance);
            eprintln!("{name} {dtype:?}: logits max |difference| {worst:.2e}");
            worst
        }
        None => {
            assert!(!backend.has_classifier());
            let err = backend.logits(&pair_batch).expect_err("a model without a head has no logits");
            assert!(matches!(err, ModelError::NoClassifier { .. }), "{name}: {err:?}");
            0.0
        }
    };

    let sentences: Vec<Encoding> = reference
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, sentence)| {
            let encoding = tokenizer.encode(sentence.text.as_str(), true).expect("encode sentence");
            assert_tokens(&format!("{name} sentence {i}"), &encoding, &sentence.tokens);
            encoding
        })
        .collect();
    let embeddings =
        backend.embeddings(&batch(&sentences, pad_id)).unwrap_or_else(|e| panic!("{name} embeddings: {e:?}"));
    let want: Vec<&[f32]> = reference.embeddings.iter().map(|s| s.embedding.as_slice()).collect();
    let worst = max_difference(&format!("{name} {dtype:?} embeddings"), &embeddings, &want, tolerance);
    eprintln!("{name} {dtype:?}: embeddings max |difference| {worst:.2e}");
    worst.max(worst_logit)
}

#[test]
fn bert() {
    check_parity("bert", Dtype::F32, TOLERANCE);
}

#[test]
fn bert_embedding_without_head_or_prefix() {
    check_parity("bert-embedding", Dtype::F32, TOLERANCE);
}

#[test]
fn distilbert() {
    check_parity("distilbert", Dtype::F32, TOLERANCE);
}

#[test]
fn roberta() {
    check_parity("roberta", Dtype::F32, TOLERANCE);
}

#[test]
fn xlm_roberta() {
    check_parity("xlm-roberta", Dtype::F32, TOLERANCE);
}

#[test]
fn deberta_v3() {
    check_parity("deberta-v3", Dtype::F32, TOLERANCE);
}

#[test]
fn bart() {
    check_parity("bart", Dtype::F32, TOLERANCE);
}

/// Writes the fixture `name`'s config and its tensors, renamed or dropped by `rename` (`None`
/// drops), to a temporary model folder.
fn rewritten_fixture(name: &str, rename: impl Fn(&str) -> Vec<String>) -> tempfile::TempDir {
    let source = fixtures().join("models").join(name);
    let bytes = std::fs::read(source.join("model.safetensors")).expect("fixture weights");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .names()
        .into_iter()
        .flat_map(|name| rename(name).into_iter().map(|new| (new, tensors.tensor(name).expect("tensor"))))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors"))
        .expect("write weights");
    std::fs::copy(source.join("config.json"), dir.path().join("config.json")).expect("copy config");
    dir
}

/// BART's head reads each row's last `</s>`: in a padded batch every row gets what it gets
/// alone; a row without `</s>` is refused; checkpoints that store the shared token table as
/// the encoder's or decoder's `embed_tokens` (or under all three names) load to the same model;
/// one without the classification head is refused by name.
#[test]
fn bart_rows_are_independent_and_checkpoint_variants_load() {
    let reference = read_reference("bart");
    let (backend, _) = load_fixture("bart", Dtype::F32);
    let rows: Vec<(&[u32], &[u32])> =
        reference.pairs.iter().map(|p| (p.tokens.input_ids.as_slice(), &p.tokens.input_ids[..0])).collect();
    let together = backend.logits(&TokenBatch::pad(&rows, 1)).expect("batch");
    let mut worst = 0f32;
    for (row, got) in rows.iter().zip(&together) {
        let alone = backend.logits(&TokenBatch::pad(&[*row], 1)).expect("row alone");
        for (a, b) in alone[0].iter().zip(got) {
            worst = worst.max((a - b).abs());
        }
    }
    eprintln!("bart: padded batch vs rows alone, max |difference| {worst:.2e}");
    assert!(worst <= 1e-5, "padding changed a row's logits by {worst}");

    let no_eos = TokenBatch::pad(&[(&[0, 40, 41], &[]), (&[0, 40, 2], &[])], 1);
    let err = backend.logits(&no_eos).expect_err("a row without </s>");
    let chain =
        format!("{err}: {}", std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default());
    assert!(chain.contains("row 0 has no end-of-sequence token"), "{chain}");

    let input = TokenBatch::pad(&rows[..3], 1);
    let want = backend.logits(&input).expect("fixture");
    type Rename = fn(&str) -> Vec<String>;
    let variants: [(&str, Rename); 3] = [
        ("encoder table", |n| vec![n.replace("model.shared.", "model.encoder.embed_tokens.")]),
        ("decoder table", |n| vec![n.replace("model.shared.", "model.decoder.embed_tokens.")]),
        ("all three names", |n| match n {
            "model.shared.weight" => ["shared", "encoder.embed_tokens", "decoder.embed_tokens"]
                .map(|t| format!("model.{t}.weight"))
                .to_vec(),
            _ => vec![n.to_owned()],
        }),
    ];
    for (case, rename) in variants {
        let dir = rewritten_fixture("bart", rename);
        let (common, json) = CommonConfig::from_file(&dir.path().join("config.json")).expect("config");
        let variant =
            load_dir(dir.path(), &json, &common, Dtype::F32).unwrap_or_else(|e| panic!("{case}: {e:?}"));
        assert_eq!(variant.logits(&input).expect(case), want, "{case}");
    }

    let headless = rewritten_fixture("bart", |n| {
        if n.starts_with("classification_head.") {
            vec![]
        } else {
            vec![n.to_owned()]
        }
    });
    let (common, json) = CommonConfig::from_file(&headless.path().join("config.json")).expect("config");
    let err = load_dir(headless.path(), &json, &common, Dtype::F32).expect_err("no head");
    assert!(
        matches!(&err, ModelError::MissingTensor { expected, .. } if expected.contains("classification_head")),
        "{err:?}"
    );
}

/// The int8 path on every architecture: close to transformers' f32 outputs, and not equal to
/// our own f32 outputs (so the layers really were quantized).
#[test]
fn int8_stays_close_to_the_reference() {
    for name in ["bert", "bert-embedding", "distilbert", "roberta", "xlm-roberta", "deberta-v3", "bart"] {
        let worst = check_parity(name, Dtype::Int8, INT8_TOLERANCE);
        assert!(worst > TOLERANCE, "{name}: int8 outputs match f32 to {worst:.1e}: were layers quantized?");
    }
}

/// A checkpoint split into shards with a `model.safetensors.index.json` loads to the same model.
#[test]
fn sharded_weights_load_like_a_single_file() {
    let source = fixtures().join("models").join("bert");
    let bytes = std::fs::read(source.join("model.safetensors")).expect("fixture weights");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let mut names: Vec<&str> = tensors.names();
    names.sort_unstable();
    let (first, second) = names.split_at(names.len() / 2);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut weight_map = serde_json::Map::new();
    for (file, shard) in
        [("model-00001-of-00002.safetensors", first), ("model-00002-of-00002.safetensors", second)]
    {
        let views = shard.iter().map(|&name| (name, tensors.tensor(name).expect("tensor")));
        safetensors::serialize_to_file(views, None, &dir.path().join(file)).expect("write shard");
        for &name in shard {
            weight_map.insert(name.to_owned(), file.into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    std::fs::write(dir.path().join("model.safetensors.index.json"), index.to_string()).expect("write index");
    std::fs::copy(source.join("config.json"), dir.path().join("config.json")).expect("copy config");

    let (common, json) = CommonConfig::from_file(&dir.path().join("config.json")).expect("config");
    let sharded = load_dir(dir.path(), &json, &common, Dtype::F32).expect("sharded load");
    let (single, _) = load_fixture("bert", Dtype::F32);
    let input: TokenBatch =
        TokenBatch::pad(&[(&[2, 40, 41, 3, 50, 3], &[0, 0, 0, 0, 1, 1]), (&[2, 60, 3], &[0, 0, 0])], 0);
    assert_eq!(sharded.logits(&input).expect("sharded"), single.logits(&input).expect("single"));

    // A shard the index names but the folder lacks is reported by name.
    std::fs::remove_file(dir.path().join("model-00002-of-00002.safetensors")).expect("remove shard");
    let err = load_dir(dir.path(), &json, &common, Dtype::F32).expect_err("missing shard");
    assert!(
        matches!(&err, ModelError::MissingFile { file, .. } if file == "model-00002-of-00002.safetensors"),
        "{err:?}"
    );
}

#[test]
fn unsupported_or_incomplete_folders_fail_clearly() {
    let source = fixtures().join("models").join("bert");
    let dir = tempfile::tempdir().expect("temp dir");

    let (common, json) = CommonConfig::from_file(&source.join("config.json")).expect("config");
    let err = load_dir(dir.path(), &json, &common, Dtype::F32).expect_err("no weights");
    assert!(matches!(err, ModelError::MissingFile { .. }), "{err:?}");

    std::fs::copy(source.join("model.safetensors"), dir.path().join("model.safetensors")).expect("copy");
    let mut t5 = json.clone();
    t5["model_type"] = "t5".into();
    let t5_common: CommonConfig = serde_json::from_value(t5.clone()).expect("common");
    let err = load_dir(dir.path(), &t5, &t5_common, Dtype::F32).expect_err("t5");
    assert!(
        matches!(&err, ModelError::UnsupportedArchitecture { model_type, .. } if model_type == "t5"),
        "{err:?}"
    );

    // BERT weights read as DistilBERT: no `distilbert.` encoder and no bare one either.
    let mut distil = json.clone();
    distil["model_type"] = "distilbert".into();
    let distil_common: CommonConfig = serde_json::from_value(distil.clone()).expect("common");
    let err = load_dir(dir.path(), &distil, &distil_common, Dtype::F32).expect_err("wrong architecture");
    assert!(matches!(err, ModelError::Weights { .. }), "{err:?}");

    let mut relative = json.clone();
    relative["position_embedding_type"] = "relative_key".into();
    let err = load_dir(dir.path(), &relative, &common, Dtype::F32).expect_err("relative positions");
    assert!(matches!(err, ModelError::Config { .. }), "{err:?}");
}

#[test]
fn batches_are_checked_before_inference() {
    let (backend, _) = load_fixture("bert", Dtype::F32);
    assert_eq!(backend.max_sequence_length(), 128);
    let long = vec![5u32; 129];
    let types = vec![0u32; 129];
    let err = backend.logits(&TokenBatch::pad(&[(&long, &types)], 0)).expect_err("too long");
    assert!(matches!(err, ModelError::SequenceTooLong { len: 129, max: 128 }), "{err:?}");

    let mut ragged = TokenBatch::pad(&[(&[2, 5, 3], &[0, 0, 0])], 0);
    ragged.attention_mask.pop();
    let err = backend.embeddings(&ragged).expect_err("ragged");
    assert!(matches!(err, ModelError::InvalidBatch { .. }), "{err:?}");

    assert!(backend.logits(&TokenBatch::pad(&[], 0)).expect("empty").is_empty());

    let (roberta, _) = load_fixture("roberta", Dtype::F32);
    // Position ids start after the padding id (1), so 130 positions leave 128 tokens.
    assert_eq!(roberta.max_sequence_length(), 128);

    let (bart, _) = load_fixture("bart", Dtype::F32);
    // Position `p` reads row `p + 2` of the 130-row tables: all 128 positions are usable.
    assert_eq!(bart.max_sequence_length(), 128);
    let mut longest = vec![40u32; 128];
    longest[127] = 2;
    assert_eq!(bart.logits(&TokenBatch::pad(&[(&longest, &[])], 1)).expect("128 tokens").len(), 1);
    longest.push(2);
    let err = bart.logits(&TokenBatch::pad(&[(&longest, &[])], 1)).expect_err("too long");
    assert!(matches!(err, ModelError::SequenceTooLong { len: 129, max: 128 }), "{err:?}");
}
