//! `--method llm`: stance from a decoder-only language model's next-token distribution.
//!
//! Per statement × target:
//! 1. the target's prompt ([`TargetSet::prompt`]: `{target}` and `{statement}` filled) becomes
//!    the user message, rendered with the model's chat template (`tokenizer_config.json`'s
//!    `chat_template`, or `--chat-template FILE`) with `add_generation_prompt=True`, as
//!    transformers' `apply_chat_template` renders it;
//! 2. the rendered text is tokenized whole, without added special tokens (the template writes
//!    them), exactly as `apply_chat_template(..., tokenize=True)` does;
//! 3. each label (`favor`, `against`, `none`) is represented by its first token: the first token
//!    of the encoding of (rendered prompt + label) after the prompt's own tokens, so whether the
//!    label carries a leading space is the tokenizer's business. Two labels with the same first
//!    token, or a label that merges into the prompt's last token, are errors;
//! 4. the stance probabilities are the next-token probabilities of those three tokens,
//!    renormalised to sum to 1 (no sampling: deterministic). Their sum before renormalising,
//!    `label_mass`, says how much of the model's answer the three labels cover.
//!
//! Statements longer than `--max-length` allows are truncated (their end is cut, never the
//! instructions); `--long window` is refused.
//!
//! The prompts of one target share their beginning (system message, instructions, target): its
//! keys and values are computed once per target ([`CausalLm::prefill`]) and every statement's
//! remaining tokens run from there, in length-sorted batches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokenizers::Encoding;

use super::encode::Encoder;
use super::{tokenize_prefix, LongText, Method, PairScores, ScoreError, ScoreOptions, StanceScore};
use crate::model::{CausalLm, Model, ModelError, Prefix};
use crate::progress::Reporter;
use crate::targets::{Stance, TargetSet, STATEMENT_PLACEHOLDER};

/// Prompt tokens when `--max-length` is not given (capped by the model's own limit).
pub const DEFAULT_MAX_LENGTH: usize = 2048;

/// Below this median `label_mass`, the run summary warns that the model mostly answers with
/// something other than the three labels (a prompt or chat template that does not fit it).
pub const LOW_LABEL_MASS: f64 = 0.5;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "{path} has no `chat_template` (and the folder has no chat_template.jinja); give one with \
         --chat-template FILE"
    )]
    NoChatTemplate { path: PathBuf },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: `chat_template` must be a string or a list of {{name, template}} with a `default`")]
    ChatTemplateShape { path: PathBuf },
    #[error("the chat template from {origin} is not a valid Jinja template")]
    TemplateSyntax {
        origin: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("the chat template from {origin} failed on the prompt for `{target}`")]
    Render {
        origin: String,
        target: String,
        #[source]
        source: minijinja::Error,
    },
    #[error(
        "the labels `{first}` and `{second}` begin with the same token {token:?} after the prompt for `{target}`, \
         so their probabilities cannot be told apart; reword the prompt or use another model"
    )]
    SharedFirstToken { target: String, first: Stance, second: Stance, token: String },
    #[error(
        "the label `{label}` merges with the end of the prompt for `{target}` when tokenized, so it has no token \
         of its own after the prompt (a prompt ending with a space does this: the space joins the word after \
         it); end the prompt with a newline or a chat template's generation prompt"
    )]
    LabelMerges { target: String, label: Stance },
    #[error(
        "the prompt for `{target}` needs {needed} tokens without the statement; --max-length {max_length} leaves \
         no room for it"
    )]
    PromptTooLong { target: String, needed: usize, max_length: usize },
    #[error("--long window is not supported with --method llm: long statements are truncated")]
    WindowUnsupported,
}

/// A compiled chat template and the special-token strings templates refer to.
pub struct ChatTemplate {
    env: minijinja::Environment<'static>,
    /// Where it came from, for errors and provenance.
    pub origin: String,
    /// SHA-256 of the template's source text.
    pub sha256: String,
    /// `bos_token`, `eos_token`, … from `tokenizer_config.json`.
    special_tokens: BTreeMap<String, String>,
}

impl ChatTemplate {
    /// The template of the model in `folder`: `file` when given, else `tokenizer_config.json`'s
    /// `chat_template` (the `default` one of a named list), else `chat_template.jinja`.
    pub fn for_model(folder: &Path, file: Option<&Path>) -> Result<Self, LlmError> {
        let config_path = folder.join("tokenizer_config.json");
        let config = if config_path.is_file() {
            let text = read(&config_path)?;
            serde_json::from_str(&text)
                .map_err(|source| LlmError::Json { path: config_path.clone(), source })?
        } else {
            serde_json::Value::Null
        };
        let special_tokens = special_tokens(&config);
        let (source, origin) = match file {
            Some(file) => (read(file)?, file.display().to_string()),
            None => match config.get("chat_template") {
                Some(template) => (
                    named_default(template)
                        .ok_or_else(|| LlmError::ChatTemplateShape { path: config_path.clone() })?,
                    config_path.display().to_string(),
                ),
                None => {
                    let jinja = folder.join("chat_template.jinja");
                    if !jinja.is_file() {
                        return Err(LlmError::NoChatTemplate { path: config_path });
                    }
                    (read(&jinja)?, jinja.display().to_string())
                }
            },
        };
        Self::new(source, origin, special_tokens)
    }

    /// Compiles `source` with the settings transformers renders chat templates with:
    /// `trim_blocks`, `lstrip_blocks`, loop controls, `raise_exception`, and Python's string
    /// methods (`.strip()`, `.split()`, …). `strftime_now` is left undefined, so templates that
    /// date their system message take their fixed fallback date and runs stay reproducible.
    pub fn new(
        source: String,
        origin: String,
        special_tokens: BTreeMap<String, String>,
    ) -> Result<Self, LlmError> {
        let sha256 = format!("{:x}", Sha256::digest(source.as_bytes()));
        let mut env = minijinja::Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat_template", source)
            .map_err(|source| LlmError::TemplateSyntax { origin: origin.clone(), source })?;
        Ok(Self { env, origin, sha256, special_tokens })
    }

    /// The chat prompt for one user message, ending with the assistant's turn opened.
    pub fn render(&self, user: &str) -> Result<String, minijinja::Error> {
        let context = minijinja::context! {
            messages => vec![minijinja::context! { role => "user", content => user }],
            add_generation_prompt => true,
            ..minijinja::Value::from(self.special_tokens.clone())
        };
        self.env.get_template("chat_template")?.render(context)
    }
}

fn read(path: &Path) -> Result<String, LlmError> {
    std::fs::read_to_string(path).map_err(|source| LlmError::Io { path: path.to_owned(), source })
}

/// `chat_template` as a string, or the `default` entry of a list of named templates.
fn named_default(template: &serde_json::Value) -> Option<String> {
    match template {
        serde_json::Value::String(source) => Some(source.clone()),
        serde_json::Value::Array(named) => named
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_owned)),
        _ => None,
    }
}

/// The `*_token` entries of `tokenizer_config.json`, written as strings or as added-token
/// objects with a `content`.
fn special_tokens(config: &serde_json::Value) -> BTreeMap<String, String> {
    let Some(entries) = config.as_object() else { return BTreeMap::new() };
    entries
        .iter()
        .filter(|(key, _)| key.ends_with("_token"))
        .filter_map(|(key, value)| {
            let text = value.as_str().or_else(|| value.get("content")?.as_str())?;
            Some((key.clone(), text.to_owned()))
        })
        .collect()
}

/// Prompt tokens per model input for `options` on `model`.
pub fn max_length(model: &Model, options: &ScoreOptions) -> usize {
    options.max_length.unwrap_or(DEFAULT_MAX_LENGTH).min(model.max_positions)
}

/// The language-model interface of `model`, or why it has none.
fn causal_lm(model: &Model) -> Result<&dyn CausalLm, ModelError> {
    model.backend.causal_lm().ok_or_else(|| ModelError::NotDecoder { folder: model.resolved.folder.clone() })
}

/// What a run with `--method llm` checks before scoring and records in its provenance.
pub struct Setup {
    pub template: ChatTemplate,
    /// The user message of each target, as given (placeholders unfilled).
    pub prompts: Vec<String>,
}

impl Setup {
    pub fn new(model: &Model, options: &ScoreOptions, targets: &TargetSet) -> Result<Self, ScoreError> {
        if options.long == LongText::Window {
            return Err(LlmError::WindowUnsupported.into());
        }
        causal_lm(model)?;
        let template = ChatTemplate::for_model(&model.resolved.folder, options.chat_template.as_deref())?;
        let prompts = (0..targets.targets.len()).map(|t| targets.prompt(t).to_owned()).collect();
        Ok(Self { template, prompts })
    }
}

/// One statement × target ready for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub ids: Vec<u32>,
    /// The first token of each label, in [`Stance::ALL`] order.
    pub labels: [u32; 3],
    /// Whether the statement was cut to fit.
    pub truncated: bool,
}

/// Builds prompts for one target.
pub struct PromptBuilder<'a> {
    encoder: Encoder,
    template: &'a ChatTemplate,
    target: &'a str,
    /// The user message around the statement, target filled in.
    before: String,
    after: String,
    max_length: usize,
}

impl<'a> PromptBuilder<'a> {
    pub fn new(
        tokenizer: &tokenizers::Tokenizer,
        template: &'a ChatTemplate,
        targets: &'a TargetSet,
        target: usize,
        max_length: usize,
    ) -> Self {
        let name = targets.targets[target].name.as_str();
        let prompt = targets.prompt(target);
        // Checked when the targets were read: exactly one placeholder.
        let (before, after) = prompt.split_once(STATEMENT_PLACEHOLDER).unwrap_or((prompt, ""));
        Self {
            encoder: Encoder::new(tokenizer),
            template,
            target: name,
            before: before.replace("{target}", name),
            after: after.replace("{target}", name),
            max_length,
        }
    }

    /// The rendered chat prompt for `statement`.
    pub fn render(&self, statement: &str) -> Result<String, LlmError> {
        let user = format!("{}{statement}{}", self.before, self.after);
        self.template.render(&user).map_err(|source| LlmError::Render {
            origin: self.template.origin.clone(),
            target: self.target.to_owned(),
            source,
        })
    }

    /// The prompt for `statement`, its end cut (in whole tokens) until the prompt fits
    /// `max_length` tokens.
    pub fn build(&self, statement: &str) -> Result<Prompt, ScoreError> {
        // At most max_length + 1 of the statement's tokens are read: more never fit.
        let tokens = tokenize_prefix(&self.encoder, statement, self.max_length)?;
        let mut keep = tokens.len().min(self.max_length);
        loop {
            let text = if keep == tokens.len() { statement } else { cut(statement, &tokens, keep) };
            let rendered = self.render(text)?;
            let ids = self.encoder.tokenize(&rendered)?.get_ids().to_vec();
            if ids.len() <= self.max_length {
                let labels = self.label_tokens(&rendered, &ids)?;
                return Ok(Prompt { ids, labels, truncated: text.len() < statement.len() });
            }
            if keep == 0 {
                let needed = ids.len();
                return Err(LlmError::PromptTooLong {
                    target: self.target.to_owned(),
                    needed,
                    max_length: self.max_length,
                }
                .into());
            }
            // Tokens at the cut may merge differently: repeat until it fits.
            keep = keep.saturating_sub(ids.len() - self.max_length);
        }
    }

    /// Each label's first token after the prompt `ids` (see the module documentation).
    fn label_tokens(&self, rendered: &str, ids: &[u32]) -> Result<[u32; 3], ScoreError> {
        let mut labels = [0u32; 3];
        for (slot, stance) in labels.iter_mut().zip(Stance::ALL) {
            let with_label = self.encoder.tokenize(&format!("{rendered}{}", stance.as_str()))?;
            let full = with_label.get_ids();
            if full.len() <= ids.len() || full[..ids.len()] != *ids {
                return Err(LlmError::LabelMerges { target: self.target.to_owned(), label: stance }.into());
            }
            *slot = full[ids.len()];
        }
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            if labels[i] == labels[j] {
                let token = self.encoder.token_text(labels[i]);
                return Err(LlmError::SharedFirstToken {
                    target: self.target.to_owned(),
                    first: Stance::ALL[i],
                    second: Stance::ALL[j],
                    token,
                }
                .into());
            }
        }
        Ok(labels)
    }
}

/// `text` up to the end of its `keep`-th token (at a character boundary).
fn cut<'t>(text: &'t str, tokens: &Encoding, keep: usize) -> &'t str {
    let mut end = match keep {
        0 => 0,
        k => tokens.get_offsets()[k - 1].1.min(text.len()),
    };
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Stance probabilities and `label_mass` from next-token logits and the labels' tokens: the
/// softmax over the three label logits (which is the restricted, renormalised distribution),
/// and their share of the softmax over the whole vocabulary, in f64.
pub fn label_probs(logits: &[f32], labels: [u32; 3]) -> Option<([f32; 3], f32)> {
    let picked = labels.map(|t| logits.get(t as usize).map(|&l| f64::from(l)));
    let [Some(a), Some(b), Some(c)] = picked else { return None };
    let picked = [a, b, c];
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let total: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
    let label_max = picked.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps = picked.map(|l| (l - label_max).exp());
    let label_total: f64 = exps.iter().sum();
    let probs = exps.map(|e| (e / label_total) as f32);
    let mass = (label_total * (label_max - max).exp() / total) as f32;
    (probs.iter().all(|p| p.is_finite()) && mass.is_finite()).then_some((probs, mass))
}

/// Tokens every prompt of `prompts` starts with, leaving each at least one token of its own.
pub fn shared_prefix_len(prompts: &[&[u32]]) -> usize {
    let Some((first, rest)) = prompts.split_first() else { return 0 };
    let mut len = first.len();
    for ids in rest {
        len = len.min(first.iter().zip(ids.iter()).take_while(|(a, b)| a == b).count());
    }
    let shortest = prompts.iter().map(|p| p.len()).min().unwrap_or(0);
    len.min(shortest.saturating_sub(1))
}

/// Next-token logits for each prompt of one target, in prompt order: with `prefix_cache`, their
/// shared beginning runs once and each batch continues from it; without, every prompt runs
/// whole. Batches hold `batch_size` prompts of similar length. Returns the logits and the
/// number of forward passes.
pub fn next_token_logits(
    lm: &dyn CausalLm,
    prompts: &[&[u32]],
    batch_size: usize,
    prefix_cache: bool,
    reporter: &dyn Reporter,
) -> Result<(Vec<Vec<f32>>, usize), ScoreError> {
    let shared = if prefix_cache { shared_prefix_len(prompts) } else { 0 };
    let mut passes = 0;
    let prefix: Option<Prefix> = if shared > 0 {
        passes += 1;
        Some(lm.prefill(&prompts[0][..shared])?)
    } else {
        None
    };
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| (prompts[i].len(), i));
    let mut outputs = vec![Vec::new(); prompts.len()];
    for group in order.chunks(batch_size.max(1)) {
        if reporter.stop_requested() {
            return Err(ScoreError::Interrupted);
        }
        let rows: Vec<&[u32]> = group.iter().map(|&i| &prompts[i][shared..]).collect();
        for (&i, logits) in group.iter().zip(lm.next_token_logits(prefix.as_ref(), &rows)?) {
            outputs[i] = logits;
        }
        passes += 1;
        reporter.advance(group.len() as u64);
    }
    Ok((outputs, passes))
}

/// [`super::score_pairs`] for `--method llm`.
pub(super) fn score_pairs(
    texts: &[&str],
    targets: &TargetSet,
    wanted: &[bool],
    model: &Model,
    options: &ScoreOptions,
    reporter: &dyn Reporter,
) -> Result<PairScores, ScoreError> {
    let setup = Setup::new(model, options, targets)?;
    let lm = causal_lm(model)?;
    let max_length = max_length(model, options);
    reporter.start("scoring", Some(wanted.iter().filter(|&&w| w).count() as u64));
    let scored =
        score_targets(texts, targets, wanted, model, lm, &setup, max_length, options.batch_size, reporter);
    reporter.finish();
    let (scores, sequences, batches) = scored?;
    Ok(PairScores { scores, method: Method::Llm, max_length, sequences, batches, head_sha256: None })
}

/// Scores, prompts run and forward passes of [`score_pairs`].
type Scored = (Vec<Option<StanceScore>>, usize, usize);

/// One target at a time, so that its prompts share one prefix computation.
#[allow(clippy::too_many_arguments)]
fn score_targets(
    texts: &[&str],
    targets: &TargetSet,
    wanted: &[bool],
    model: &Model,
    lm: &dyn CausalLm,
    setup: &Setup,
    max_length: usize,
    batch_size: usize,
    reporter: &dyn Reporter,
) -> Result<Scored, ScoreError> {
    let n_targets = targets.targets.len();
    let mut scores: Vec<Option<StanceScore>> = vec![None; wanted.len()];
    let (mut sequences, mut batches) = (0, 0);
    for t in 0..n_targets {
        let builder = PromptBuilder::new(&model.tokenizer, &setup.template, targets, t, max_length);
        let pairs: Vec<usize> = (0..texts.len()).map(|i| i * n_targets + t).filter(|&p| wanted[p]).collect();
        let prompts =
            pairs.iter().map(|&p| builder.build(texts[p / n_targets])).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<&[u32]> = prompts.iter().map(|p| p.ids.as_slice()).collect();
        let (logits, passes) = next_token_logits(lm, &ids, batch_size, true, reporter)?;
        sequences += prompts.len();
        batches += passes;
        for ((&pair, prompt), logits) in pairs.iter().zip(&prompts).zip(&logits) {
            let (probs, mass) = label_probs(logits, prompt.labels).ok_or_else(|| ScoreError::NonFinite {
                statement: texts[pair / n_targets].chars().take(80).collect(),
                target: targets.targets[t].name.clone(),
            })?;
            scores[pair] =
                Some(StanceScore { probs, truncated: prompt.truncated, n_chunks: 1, label_mass: Some(mass) });
        }
    }
    Ok((scores, sequences, batches))
}

/// Quantiles of a run's `label_mass` values, for its summary and provenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MassSummary {
    pub min: f64,
    pub p10: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

impl MassSummary {
    /// `None` without values. Quantiles by the nearest-rank rule.
    pub fn of(masses: &[f32]) -> Option<Self> {
        let mut sorted: Vec<f64> = masses.iter().map(|&m| f64::from(m)).collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        (!sorted.is_empty()).then(|| Self {
            min: sorted[0],
            p10: at(0.1),
            median: at(0.5),
            p90: at(0.9),
            max: sorted[sorted.len() - 1],
        })
    }

    pub fn is_low(&self) -> bool {
        self.median < LOW_LABEL_MASS
    }
}

impl std::fmt::Display for MassSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "label mass: min {:.3}, p10 {:.3}, median {:.3}, p90 {:.3}, max {:.3}",
            self.min, self.p10, self.median, self.p90, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_probs_renormalise_and_measure_the_mass() {
        let logits = [0.0f32, 1.0, 2.0, 3.0];
        let (probs, mass) = label_probs(&logits, [3, 2, 1]).unwrap();
        let e = [1.0f64, 1f64.exp(), 2f64.exp(), 3f64.exp()];
        let total: f64 = e.iter().sum();
        let want = [e[3], e[2], e[1]].map(|v| v / (e[1] + e[2] + e[3]));
        for (p, w) in probs.iter().zip(want) {
            assert!((f64::from(*p) - w).abs() < 1e-7);
        }
        assert!((f64::from(mass) - (e[1] + e[2] + e[3]) / total).abs() < 1e-7);
        assert!(label_probs(&logits, [0, 1, 9]).is_none());
        assert!(label_probs(&[f32::NAN, 0.0, 0.0], [0, 1, 2]).is_none());
    }

    #[test]
    fn shared_prefix_leaves_every_prompt_a_token() {
        assert_eq!(shared_prefix_len(&[&[1, 2, 3, 4], &[1, 2, 3, 5, 6]]), 3);
        assert_eq!(shared_prefix_len(&[&[1, 2, 3], &[1, 2, 3, 4]]), 2);
        assert_eq!(shared_prefix_len(&[&[1, 2, 3]]), 2);
        assert_eq!(shared_prefix_len(&[&[7], &[8]]), 0);
        assert_eq!(shared_prefix_len(&[]), 0);
    }

    #[test]
    fn mass_quantiles_and_warning() {
        let summary = MassSummary::of(&[0.9, 0.1, 0.5, 0.3, 0.7]).unwrap();
        assert_eq!((summary.min, summary.median, summary.max), (f64::from(0.1f32), 0.5, f64::from(0.9f32)));
        assert!(!summary.is_low());
        assert!(MassSummary::of(&[0.2, 0.3]).unwrap().is_low());
        assert!(MassSummary::of(&[]).is_none());
    }

    fn template(source: &str) -> Result<ChatTemplate, LlmError> {
        let specials = [("bos_token".to_owned(), "<s>".to_owned())].into();
        ChatTemplate::new(source.to_owned(), "test".to_owned(), specials)
    }

    #[test]
    fn templates_render_like_transformers() {
        // trim_blocks/lstrip_blocks, Python string methods, special tokens, the generation prompt.
        let chat = template(
            "{{ bos_token }}{% for m in messages %}\n  {{ m.role.upper() }}: {{ m.content.strip() }}|\n{% endfor %}\
             {% if add_generation_prompt %}A:{% endif %}",
        )
        .unwrap();
        assert_eq!(chat.render("  hi  ").unwrap(), "<s>  USER: hi|\nA:");
        let failing = template("{{ raise_exception('no system role') }}").unwrap();
        assert!(failing.render("x").unwrap_err().to_string().contains("no system role"));
        assert!(matches!(template("{% if %}"), Err(LlmError::TemplateSyntax { .. })));
    }

    /// A tokenizer that knows `favor` but neither `against` nor `none`: both become `[UNK]`.
    #[test]
    fn labels_sharing_a_first_token_are_refused() {
        let tokenizer: tokenizers::Tokenizer = r#"{"version": "1.0", "truncation": null, "padding": null,
            "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "favor": 1}, "unk_token": "[UNK]"}}"#
            .parse()
            .unwrap();
        let chat = template("{{ messages[0].content }}\n").unwrap();
        let targets = TargetSet::from_names(&["talks".into()], Default::default()).unwrap();
        let error = PromptBuilder::new(&tokenizer, &chat, &targets, 0, 512).build("We talk.").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the labels `against` and `none` begin with the same token \"[UNK]\" after the prompt for `talks`, so \
             their probabilities cannot be told apart; reword the prompt or use another model"
        );
    }

    #[test]
    fn chat_templates_are_found_or_named_missing() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tokenizer_config.json");
        std::fs::write(&config, r#"{"eos_token": {"content": "</s>"}}"#).unwrap();
        let error = ChatTemplate::for_model(dir.path(), None).err().unwrap().to_string();
        assert!(error.contains("tokenizer_config.json has no `chat_template`"), "{error}");
        let named = r#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ eos_token }}"}]}"#;
        std::fs::write(&config, named).unwrap();
        assert_eq!(ChatTemplate::for_model(dir.path(), None).unwrap().render("x").unwrap(), "D");
        std::fs::write(&config, r#"{"chat_template": 3}"#).unwrap();
        assert!(matches!(ChatTemplate::for_model(dir.path(), None), Err(LlmError::ChatTemplateShape { .. })));
        let file = dir.path().join("t.jinja");
        std::fs::write(&file, "{{ messages[0].content }}!").unwrap();
        let chat = ChatTemplate::for_model(dir.path(), Some(&file)).unwrap();
        assert_eq!(chat.render("x").unwrap(), "x!");
        assert_eq!(chat.sha256, format!("{:x}", Sha256::digest(b"{{ messages[0].content }}!")));
    }
}
