//! `--method llm` against Python `transformers`: the tiny random-weight Qwen2 and Llama models
//! of tests/fixtures/make_llm_fixtures.py must reproduce, for ~10 prompts each, the chat prompt
//! `apply_chat_template` rendered, its token ids, each label's first token, the next-token logits
//! and the restricted label probabilities. Also: the prefix cache changes nothing, and the
//! command line writes `label_mass` and evaluates.

mod common;

use common::{fixture_model, fixture_model_dir, reference, stance};
use stance::model::{CausalLm, Dtype, Model};
use stance::progress::Silent;
use stance::score::llm::{self, ChatTemplate, PromptBuilder};
use stance::score::{score_texts, Method, ScoreOptions};
use stance::targets::{TargetSet, Templates, DEFAULT_PROMPT};

/// Both sides compute in f32 and sum in different orders: O(1) logits move by ~1e-6. A wrong
/// rotation, mask, norm or head moves them by 1e-2 or more (the fixture weights are O(1)).
const TOLERANCE: f32 = 1e-4;

/// `--dtype q8_0` and `--dtype int8`: largest label-probability difference from f32 over the 20
/// fixture prompts. Measured: q8_0 5.3e-2 (qwen2) and 3.7e-2 (llama), int8 6.0e-2 and 2.7e-2.
/// The fixtures' O(1) random weights make every layer's rounding count; a wrong scale, block
/// layout or bias moves some of the 60 probabilities by far more.
const Q8_0_TOLERANCE: f32 = 0.15;
const INT8_TOLERANCE: f32 = 0.15;

fn lm(model: &Model) -> &dyn CausalLm {
    model.backend.causal_lm().expect("a decoder model")
}

struct Case {
    target: String,
    statement: String,
    rendered: String,
    ids: Vec<u32>,
    labels: [u32; 3],
    logits: Vec<f32>,
    label_mass: f64,
    probs: [f32; 3],
}

fn cases(name: &str) -> Vec<Case> {
    let reference = reference(name);
    assert_eq!(reference["prompt"], DEFAULT_PROMPT, "the script's prompt is the built-in one");
    assert_eq!(reference["labels"], serde_json::json!(["favor", "against", "none"]));
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
    };
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
    };
    reference["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Case {
            target: p["target"].as_str().unwrap().to_owned(),
            statement: p["statement"].as_str().unwrap().to_owned(),
            rendered: p["rendered"].as_str().unwrap().to_owned(),
            ids: ids(&p["input_ids"]),
            labels: ids(&p["label_token_ids"]).try_into().unwrap(),
            logits: floats(&p["next_token_logits"]),
            label_mass: p["label_mass"].as_f64().unwrap(),
            probs: floats(&p["probs"]).try_into().unwrap(),
        })
        .collect()
}

fn targets(cases: &[Case]) -> TargetSet {
    let mut names: Vec<String> = cases.iter().map(|c| c.target.clone()).collect();
    names.dedup();
    TargetSet::from_names(&names, Templates::default()).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tolerance: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
    assert!(worst <= tolerance, "{what}: max difference {worst:e} over {tolerance:e}");
}

/// Rendering, tokenization, label tokens, logits and probabilities, one fixture.
fn parity(name: &str) {
    let model = fixture_model(name);
    let cases = cases(name);
    let targets = targets(&cases);
    let template = ChatTemplate::for_model(&fixture_model_dir(name), None).unwrap();
    let rows: Vec<Vec<u32>> = cases
        .iter()
        .map(|case| {
            let t = targets.targets.iter().position(|t| t.name == case.target).unwrap();
            let builder = PromptBuilder::new(&model.tokenizer, &template, &targets, t, 512);
            assert_eq!(builder.render(&case.statement).unwrap(), case.rendered, "{name}: rendered prompt");
            let prompt = builder.build(&case.statement).unwrap();
            assert_eq!(prompt.ids, case.ids, "{name}: token ids of {:?}", case.statement);
            assert_eq!(prompt.labels, case.labels, "{name}: label tokens");
            assert!(!prompt.truncated);
            prompt.ids
        })
        .collect();
    // All prompts in one right-padded batch, no prefix: each row as transformers ran it alone.
    let refs: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
    let logits = lm(&model).next_token_logits(None, &refs).unwrap();
    for (case, logits) in cases.iter().zip(&logits) {
        assert_close(logits, &case.logits, TOLERANCE, &format!("{name}: logits of {:?}", case.statement));
        let (probs, mass) = llm::label_probs(logits, case.labels).unwrap();
        assert_close(&probs, &case.probs, TOLERANCE, &format!("{name}: label probabilities"));
        let relative = (f64::from(mass) - case.label_mass).abs() / case.label_mass;
        assert!(relative < 1e-3, "{name}: label mass {mass} vs {}", case.label_mass);
    }
    // The whole scoring path gives the same probabilities.
    let options = ScoreOptions { method: Some(Method::Llm), batch_size: 3, ..ScoreOptions::default() };
    let mut statements: Vec<&str> = cases.iter().map(|c| c.statement.as_str()).collect();
    statements.dedup();
    let run = score_texts(&statements, &targets, &model, &options, &Silent).unwrap();
    for case in &cases {
        let s = statements.iter().position(|&s| s == case.statement).unwrap();
        let t = targets.targets.iter().position(|t| t.name == case.target).unwrap();
        let score = run.get(s, t);
        assert_close(&score.probs, &case.probs, TOLERANCE, &format!("{name}: scored probabilities"));
        let mass = f64::from(score.label_mass.unwrap());
        assert!((mass - case.label_mass).abs() / case.label_mass < 1e-3, "{name}: scored label mass");
    }
}

#[test]
fn qwen2_matches_transformers() {
    parity("qwen2");
}

#[test]
fn llama_matches_transformers() {
    parity("llama");
}

/// The prefix computed once per target gives what every prompt run whole gives, in batches of
/// any size (rows of different lengths padded differently).
#[test]
fn prefix_cache_changes_nothing() {
    for name in ["qwen2", "llama"] {
        let model = fixture_model(name);
        let cases = cases(name);
        for target in ["peace negotiations", "sanctions on Russia"] {
            let rows: Vec<&[u32]> =
                cases.iter().filter(|c| c.target == target).map(|c| c.ids.as_slice()).collect();
            assert!(llm::shared_prefix_len(&rows) > 20, "the prompts share their instructions");
            let labels = cases[0].labels;
            let probs = |logits: &[Vec<f32>]| -> Vec<f32> {
                logits.iter().flat_map(|l| llm::label_probs(l, labels).unwrap().0).collect()
            };
            let (whole, passes) = llm::next_token_logits(lm(&model), &rows, 8, false, &Silent).unwrap();
            assert_eq!(passes, 1);
            for batch_size in [1, 2, 8] {
                let (cached, passes) =
                    llm::next_token_logits(lm(&model), &rows, batch_size, true, &Silent).unwrap();
                assert_eq!(passes, 1 + rows.len().div_ceil(batch_size), "one prefill, then the batches");
                assert_close(
                    &probs(&cached),
                    &probs(&whole),
                    1e-5,
                    &format!("{name}, {target}, batch {batch_size}"),
                );
                assert_close(&cached.concat(), &whole.concat(), 1e-4, "logits");
            }
        }
    }
}

/// A statement too long for --max-length is cut, the instructions kept whole; a limit the
/// instructions alone exceed is an error naming the target.
#[test]
fn long_statements_are_truncated_not_the_instructions() {
    let model = fixture_model("qwen2");
    let template = ChatTemplate::for_model(&fixture_model_dir("qwen2"), None).unwrap();
    let targets = TargetSet::from_names(&["peace negotiations".into()], Templates::default()).unwrap();
    let statement = "The delegation is ready to meet in Istanbul or Geneva at any time. ".repeat(20);
    let whole = PromptBuilder::new(&model.tokenizer, &template, &targets, 0, 2048).build(&statement).unwrap();
    assert!(!whole.truncated);
    let limit = whole.ids.len() - 37;
    let builder = PromptBuilder::new(&model.tokenizer, &template, &targets, 0, limit);
    let cut = builder.build(&statement).unwrap();
    assert!(cut.truncated && cut.ids.len() <= limit && cut.ids.len() > limit - 5, "{} tokens", cut.ids.len());
    // Same beginning and same end (the assistant turn): only the statement lost its tail.
    let shared = llm::shared_prefix_len(&[&whole.ids, &cut.ids]);
    assert!(shared > 30);
    assert_eq!(whole.ids[whole.ids.len() - 5..], cut.ids[cut.ids.len() - 5..]);
    assert_eq!(cut.labels, whole.labels);
    let error =
        PromptBuilder::new(&model.tokenizer, &template, &targets, 0, 20).build(&statement).unwrap_err();
    assert!(error.to_string().contains("the prompt for `peace negotiations` needs"), "{error}");
}

/// A prompt ending with a space leaves the labels no token of their own: byte-level BPE joins the
/// space to the word after it.
#[test]
fn labels_merging_into_the_prompt_are_refused() {
    let model = fixture_model("qwen2");
    let template =
        ChatTemplate::new("{{ messages[0].content }}\nAnswer: ".into(), "t.jinja".into(), Default::default())
            .unwrap();
    let targets = TargetSet::from_names(&["talks".into()], Templates::default()).unwrap();
    let error =
        PromptBuilder::new(&model.tokenizer, &template, &targets, 0, 512).build("We talk.").unwrap_err();
    assert!(
        error.to_string().contains("the label `favor` merges with the end of the prompt for `talks`"),
        "{error}"
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const CORPUS: &str = "id,actor,date,text,gold\n\
    a,Kremlin,2025-03-04,Russia is always open to peace negotiations.,favor\n\
    b,Kyiv,2025-03-04,There can be no talks while the shelling continues.,against\n\
    c,Kremlin,2025-04-01,The weather in Geneva was mild on Tuesday.,none\n\
    d,Kyiv,2025-04-01,\"Peace talks must start now, the minister said.\",favor\n";

#[test]
fn command_line_scores_with_label_mass_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "corpus.csv", CORPUS);
    write(
        dir.path(),
        "targets.toml",
        "[templates]\nprompt = \"Stance toward {target}? One word: favor, against or none.\\n{statement}\"\n\
         [[target]]\nname = \"peace negotiations\"\n\
         [[target]]\nname = \"sanctions on Russia\"\nprompt = \"Sanctions: {statement}\\nfavor, against or none?\"\n",
    );
    let model = fixture_model_dir("qwen2");
    let model = model.to_str().unwrap();
    let args = ["score", "corpus.csv", "--targets", "targets.toml", "--model", model, "--method", "llm"];
    let run = stance(dir.path(), &[&args[..], &["--batch-size", "3", "--out", "scores.parquet"]].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("label mass: min"), "{}", run.stderr);
    assert!(run.stderr.contains("warning: the median label mass"), "random weights spread their answers");
    let (table, provenance) = stance::corpus::read_table(&dir.path().join("scores.parquet")).unwrap();
    assert_eq!(table.height(), 8);
    let mass = table.column("label_mass").unwrap().f64().unwrap();
    assert!(mass.iter().all(|m| m.is_some_and(|m| m > 0.0 && m < 1.0)));
    let p = |name: &str| table.column(name).unwrap().f64().unwrap().get(3).unwrap();
    assert!((p("p_favor") + p("p_against") + p("p_none") - 1.0).abs() < 1e-6);
    assert_eq!(provenance.get("method"), Some("llm"));
    let prompts = provenance.get("llm.prompts").unwrap();
    assert!(
        prompts.contains("Stance toward {target}?") && prompts.contains("Sanctions: {statement}"),
        "{prompts}"
    );
    let template = ChatTemplate::for_model(&fixture_model_dir("qwen2"), None).unwrap();
    assert_eq!(provenance.get("llm.chat_template.sha256"), Some(template.sha256.as_str()));
    assert!(provenance.get("llm.label_mass").unwrap().contains("\"median\""));

    let eval = stance(dir.path(), &["eval", "scores.parquet", "--label-col", "gold"]);
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    assert!(eval.stdout.contains("macro-F1"), "{}", eval.stdout);

    // The same model through `stance eval --model`, on the gold file itself.
    let eval = stance(
        dir.path(),
        &["eval", "corpus.csv", "--label-col", "gold", "--target", "peace negotiations", "--model", model],
    );
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    assert!(eval.stdout.contains("macro-F1"), "{}", eval.stdout);
}

#[test]
fn command_line_errors_name_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "corpus.csv", CORPUS);
    let qwen2 = fixture_model_dir("qwen2");
    let qwen2 = qwen2.to_str().unwrap();
    let score = |extra: &[&str]| {
        let args = ["score", "corpus.csv", "--target", "talks", "--no-cache"];
        stance(dir.path(), &[&args[..], extra].concat())
    };
    // A decoder with an encoder method.
    let run = score(&["--model", qwen2, "--method", "nli"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is a decoder-only language model (qwen2): score with --method llm"),
        "{}",
        run.stderr
    );
    // An encoder with the llm method.
    let bert = fixture_model_dir("bert");
    let run = score(&["--model", bert.to_str().unwrap(), "--method", "llm"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a decoder-only language model"), "{}", run.stderr);
    // A model folder without a chat template.
    let bare = dir.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture_model_dir("qwen2").join(file), bare.join(file)).unwrap();
    }
    let run = score(&["--model", "bare", "--method", "llm"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tokenizer_config.json has no `chat_template`"), "{}", run.stderr);
    assert!(run.stderr.contains("--chat-template FILE"), "{}", run.stderr);
    // ... which --chat-template supplies; a broken one is named.
    write(dir.path(), "chat.jinja", "{% for m in messages %}<{{ m.content }}>\n{% endfor %}");
    let run = score(&["--model", "bare", "--chat-template", "chat.jinja"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    write(dir.path(), "broken.jinja", "{% for m in messages %}");
    let run = score(&["--model", "bare", "--chat-template", "broken.jinja"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("the chat template from broken.jinja is not a valid Jinja template"),
        "{}",
        run.stderr
    );
    // --long window.
    let run = score(&["--model", qwen2, "--long", "window"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--long window is not supported with --method llm"), "{}", run.stderr);
    // An unsupported config variant.
    let yarn = dir.path().join("yarn");
    std::fs::create_dir(&yarn).unwrap();
    for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(fixture_model_dir("qwen2").join(file), yarn.join(file)).unwrap();
    }
    let config = std::fs::read_to_string(fixture_model_dir("qwen2").join("config.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
    config["rope_scaling"] = serde_json::json!({"type": "yarn", "factor": 4.0});
    write(&yarn, "config.json", &config.to_string());
    let run = score(&["--model", "yarn"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("config.json is not a valid model config"), "{}", run.stderr);
    assert!(run.stderr.contains("`rope_scaling` of type `yarn` is not supported"), "{}", run.stderr);
}

/// Quantized linear layers (the LM head included) keep the label probabilities close to f32.
#[test]
fn quantized_probabilities_stay_close_to_f32() {
    for (dtype, tolerance) in [(Dtype::Q8_0, Q8_0_TOLERANCE), (Dtype::Int8, INT8_TOLERANCE)] {
        for name in ["qwen2", "llama"] {
            let folder = fixture_model_dir(name);
            let resolved =
                stance::model::resolve(folder.to_str().unwrap(), std::path::Path::new("/nonexistent"))
                    .unwrap();
            let model = Model::load(resolved, "cpu", dtype).unwrap();
            let cases = cases(name);
            let rows: Vec<&[u32]> = cases.iter().map(|c| c.ids.as_slice()).collect();
            let logits = lm(&model).next_token_logits(None, &rows).unwrap();
            let mut worst = 0.0f32;
            for (case, logits) in cases.iter().zip(&logits) {
                let (probs, _) = llm::label_probs(logits, case.labels).unwrap();
                worst = probs.iter().zip(case.probs).map(|(p, q)| (p - q).abs()).fold(worst, f32::max);
            }
            eprintln!("{name} {}: largest probability difference from f32 {worst:.2e}", dtype.as_str());
            assert!(worst <= tolerance, "{name} {}: {worst} over {tolerance}", dtype.as_str());
        }
    }
}

/// Parts (the checkpoint files) keep `label_mass`, and pairs the relevance filter skips have none.
/// (Unlike the encoder methods, LLM scores depend on the batch at f32 rounding level: the shared
/// prefix and the padding follow the statements scored together.)
#[test]
fn parts_keep_label_mass_and_filtered_pairs_have_none() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "corpus.csv", CORPUS);
    write(
        dir.path(),
        "targets.toml",
        "[[target]]\nname = \"peace negotiations\"\nkeywords = [\"peace\", \"talks\"]\n",
    );
    let model = fixture_model_dir("llama");
    let model = model.to_str().unwrap();
    let args = ["score", "corpus.csv", "--targets", "targets.toml", "--model", model, "--no-cache"];
    let mass = |extra: &[&str], out: &str| -> Vec<Option<f64>> {
        let run = stance(dir.path(), &[&args[..], extra, &["--out", out]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let (table, _) = stance::corpus::read_table(&dir.path().join(out)).unwrap();
        table.column("label_mass").unwrap().f64().unwrap().iter().collect()
    };
    let whole = mass(&[], "whole.parquet");
    let close = |got: Option<f64>, want: Option<f64>| {
        let (got, want) = (got.unwrap(), want.unwrap());
        assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    };
    // One statement per part: its own shared prefix and batch, so f32 sums in another order.
    for (part, all) in mass(&["--part-size", "1"], "parts.parquet").into_iter().zip(whole.clone()) {
        close(part, all);
    }
    let filtered = mass(&["--relevance-filter"], "filtered.parquet");
    // Statement c never mentions peace or talks.
    assert_eq!(filtered[2], None);
    for i in [0, 1, 3] {
        close(filtered[i], whole[i]);
    }
}
