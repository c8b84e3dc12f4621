//! Scoring statements × targets for stance with a loaded [`Model`].
//!
//! Every method yields, per statement and target, probabilities for favor / against / none
//! that sum to 1:
//! - **nli**: premise = statement, one hypothesis per stance; softmax of the entailment
//!   logits across the three hypotheses (the Hugging Face zero-shot pipeline with
//!   `multi_label=False`). `per_hypothesis` instead takes, per hypothesis, the softmax of
//!   entailment vs contradiction (the pipeline's `multi_label=True`) and normalises the three.
//! - **classifier**: softmax of a stance classifier's logits, labels mapped by name.
//! - **embedding**: softmax of cosine similarities (divided by a temperature) between the
//!   statement's mean-pooled embedding and each hypothesis's embedding; or, with a trained
//!   [`head`], logistic regression on the statement's and the target's embeddings.
//! - **llm**: a decoder-only language model's next-token probabilities of the three labels,
//!   renormalised ([`llm`]).
//!
//! Work is shared: each distinct text is tokenized once, identical token sequences are run
//! once, and sequences are sorted by length into batches so padding is minimal.

pub mod encode;
pub mod head;
pub mod llm;
pub mod table;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokenizers::Encoding;

pub use encode::LongText;
use encode::{chunk_ranges, Encoder, Sequence};

use crate::model::{Dtype, Model, ModelError, TokenBatch};
use crate::progress::Reporter;
use crate::targets::{Stance, TargetSet};

/// How stance probabilities are obtained from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Nli,
    Classifier,
    Embedding,
    /// A decoder-only LLM (llama, qwen2, qwen3) prompted per target; see [`llm`].
    Llm,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Nli => "nli",
            Method::Classifier => "classifier",
            Method::Embedding => "embedding",
            Method::Llm => "llm",
        }
    }
}

/// The smallest embedding temperature: cosine similarities over it stay far from f32 overflow
/// (|cos| / T ≤ 1000), so the softmax is always finite.
pub const MIN_TEMPERATURE: f32 = 1e-3;

/// Options of a scoring run; serialized whole into the output's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreOptions {
    /// `None` picks from the model: its preset, else NLI labels, else stance labels, else embedding.
    pub method: Option<Method>,
    /// NLI only: entailment vs contradiction per hypothesis instead of across hypotheses.
    pub per_hypothesis: bool,
    pub batch_size: usize,
    /// Tokens per model input, special tokens included; `None` uses the model's limit (≤ 512).
    pub max_length: Option<usize>,
    pub long: LongText,
    /// Tokens shared by consecutive windows (`long = window`).
    pub stride: usize,
    /// Classifier only: model label name → stance, overriding the names in `id2label`.
    pub label_map: BTreeMap<String, Stance>,
    /// Embedding only: cosine similarities are divided by this before the softmax.
    pub temperature: f32,
    /// Embedding only: a head trained by `stance train` replaces the prototypes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<PathBuf>,
    /// Numbers of the linear layers: f32, int8 (CPU) or q8_0; faster, approximate.
    #[serde(default)]
    pub dtype: Dtype,
    /// LLM only: a Jinja chat template replacing the model's `tokenizer_config.json` one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<PathBuf>,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            method: None,
            per_hypothesis: false,
            batch_size: 32,
            max_length: None,
            long: LongText::Truncate,
            stride: 64,
            label_map: BTreeMap::new(),
            temperature: 0.05,
            head: None,
            dtype: Dtype::F32,
            chat_template: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("--batch-size must be at least 1")]
    ZeroBatchSize,
    #[error("--max-length {max_length} is too small: the hypothesis for `{target}` ({stance}) alone takes {needed} tokens")]
    HypothesisTooLong { target: String, stance: Stance, needed: usize, max_length: usize },
    #[error("--method nli{} needs a model whose id2label has {needs}; {model} has {labels}", if *.per_hypothesis { " --per-hypothesis" } else { "" })]
    NotNli { model: String, labels: String, needs: &'static str, per_hypothesis: bool },
    #[error(
        "model label `{label}` does not name a stance (favor/against/none); map it with --label-map {label}=favor|against|none \
         (--model-label-map in stance eval)"
    )]
    UnmappedLabel { label: String },
    #[error("the model label map names `{label}`, which is not one of the model's labels ({labels})")]
    UnknownLabel { label: String, labels: String },
    #[error("the model returned {got} values per input where {expected} were expected")]
    OutputShape { got: usize, expected: usize },
    #[error(transparent)]
    Head(#[from] head::HeadError),
    #[error("a stance head (--head) scores with the embedding method, not --method {method}")]
    HeadNeedsEmbedding { method: &'static str },
    #[error("a model label map (--label-map; --model-label-map in stance eval) applies to the classifier method, not --method {method}")]
    LabelMapNeedsClassifier { method: &'static str },
    #[error("--temperature must be a number of at least {MIN_TEMPERATURE}, not {0}")]
    Temperature(f32),
    #[error(
        "the model gave a probability that is not a number (NaN or infinite) for the statement {statement:?} \
         toward `{target}`: its weights are damaged, or --temperature is degenerate"
    )]
    NonFinite { statement: String, target: String },
    #[error(transparent)]
    Llm(#[from] llm::LlmError),
    #[error("--chat-template applies to the llm method, not --method {method}")]
    ChatTemplateNeedsLlm { method: &'static str },
    #[error("scoring was stopped on request")]
    Interrupted,
}

/// The stance of one statement toward one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StanceScore {
    /// Probabilities in [`Stance::ALL`] order: favor, against, none.
    pub probs: [f32; 3],
    /// Whether part of the statement was cut off to fit the model.
    pub truncated: bool,
    /// Number of windows the statement was scored in (1 unless windowed).
    pub n_chunks: u32,
    /// LLM only: the next-token probability of the three labels' tokens together, before
    /// renormalising.
    pub label_mass: Option<f32>,
}

impl StanceScore {
    /// What `--relevance-filter` gives a statement that never mentions the target: none,
    /// certainly, from no window of the model.
    pub const NOT_MENTIONED: StanceScore =
        StanceScore { probs: [0.0, 0.0, 1.0], truncated: false, n_chunks: 0, label_mass: None };

    /// `p_favor - p_against`, in [-1, 1].
    pub fn score(&self) -> f32 {
        self.probs[0] - self.probs[1]
    }

    /// The most probable stance (ties go to the earlier of favor, against, none).
    pub fn label(&self) -> Stance {
        let mut best = 0;
        for i in 1..3 {
            if self.probs[i] > self.probs[best] {
                best = i;
            }
        }
        Stance::ALL[best]
    }
}

/// The result of scoring: one [`StanceScore`] per statement × target, statement-major.
#[derive(Debug, Clone)]
pub struct ScoreRun {
    pub scores: Vec<StanceScore>,
    pub n_targets: usize,
    pub method: Method,
    pub max_length: usize,
    /// Distinct token sequences the model ran on.
    pub sequences: usize,
    /// Forward passes (batches) run.
    pub batches: usize,
    /// With `--head`: SHA-256 of the head file's bytes that scored the pairs.
    pub head_sha256: Option<String>,
    /// With `--relevance-filter`, per pair: whether the statement mentions the target (pairs
    /// that do not were marked none without a forward pass).
    pub mentioned: Option<Vec<bool>>,
}

impl ScoreRun {
    pub fn get(&self, statement: usize, target: usize) -> &StanceScore {
        &self.scores[statement * self.n_targets + target]
    }
}

/// The method `model` is used with when none is asked for.
pub fn default_method(model: &Model) -> Method {
    if let Some(preset) = &model.resolved.preset {
        return preset.method;
    }
    if model.backend.causal_lm().is_some() {
        return Method::Llm;
    }
    if model.config.label_index("entail").is_some() {
        Method::Nli
    } else if !model.config.id2label.is_empty()
        && model.config.id2label.values().all(|name| Stance::parse(name).is_some())
    {
        Method::Classifier
    } else {
        Method::Embedding
    }
}

/// The method `options` score with on `model`: the one asked for, else the embedding method
/// when a stance head is given, else the classifier when a label map is, else
/// [`default_method`].
pub fn method_for(model: &Model, options: &ScoreOptions) -> Method {
    match (options.method, &options.head) {
        (Some(method), _) => method,
        (None, Some(_)) => Method::Embedding,
        (None, None) if !options.label_map.is_empty() => Method::Classifier,
        (None, None) => default_method(model),
    }
}

impl ScoreOptions {
    /// Checks these options against `model` before any work is done, so that a run does not
    /// find them wrong after hours of scoring; returns the method they score with.
    pub fn check(&self, model: &Model) -> Result<Method, ScoreError> {
        if self.batch_size == 0 {
            return Err(ScoreError::ZeroBatchSize);
        }
        if !(self.temperature.is_finite() && self.temperature >= MIN_TEMPERATURE) {
            return Err(ScoreError::Temperature(self.temperature));
        }
        let method = method_for(model, self);
        if self.head.is_some() && method != Method::Embedding {
            return Err(ScoreError::HeadNeedsEmbedding { method: method.as_str() });
        }
        if !self.label_map.is_empty() && method != Method::Classifier {
            return Err(ScoreError::LabelMapNeedsClassifier { method: method.as_str() });
        }
        if self.chat_template.is_some() && method != Method::Llm {
            return Err(ScoreError::ChatTemplateNeedsLlm { method: method.as_str() });
        }
        if method != Method::Llm && model.backend.causal_lm().is_some() {
            return Err(ModelError::DecoderOnly {
                folder: model.resolved.folder.clone(),
                model_type: model.config.model_type.clone(),
            }
            .into());
        }
        // The rules that turn outputs into stances, built once here for their checks alone.
        match method {
            Method::Nli => NliRule::new(model, self.per_hypothesis).map(|_| method),
            Method::Classifier => ClassifierRule::new(model, &self.label_map).map(|_| method),
            Method::Embedding => Ok(method),
            Method::Llm => {
                llm::Setup::new(
                    model,
                    self,
                    &TargetSet { templates: Default::default(), targets: Vec::new() },
                )?;
                Ok(method)
            }
        }
    }
}

/// Tokens per model input for `options` on `model`: `--max-length`, capped by the model's
/// limit (at most 512; for an LLM's prompts, see [`llm::max_length`]).
pub fn max_length_for(model: &Model, options: &ScoreOptions) -> usize {
    if method_for(model, options) == Method::Llm {
        return llm::max_length(model, options);
    }
    let model_limit = model.max_positions.min(512);
    options.max_length.unwrap_or(model_limit).min(model_limit)
}

/// Distinct token sequences, each with a stable index.
#[derive(Default)]
struct SequenceSet {
    index: HashMap<Sequence, usize>,
    sequences: Vec<Sequence>,
}

impl SequenceSet {
    fn intern(&mut self, sequence: Sequence) -> usize {
        if let Some(&i) = self.index.get(&sequence) {
            return i;
        }
        let i = self.sequences.len();
        self.index.insert(sequence.clone(), i);
        self.sequences.push(sequence);
        i
    }
}

/// Distinct strings tokenized once each.
struct Tokenized {
    index: HashMap<String, usize>,
    encodings: Vec<Encoding>,
}

impl Tokenized {
    /// Tokenizes each distinct text once. With `keep_tokens`, only as much of a long text as
    /// gives more than that many tokens is tokenized (see [`tokenize_prefix`]).
    fn new<'a>(
        encoder: &Encoder,
        texts: impl IntoIterator<Item = &'a str>,
        keep_tokens: Option<usize>,
    ) -> Result<(Self, Vec<usize>), ModelError> {
        let mut tokenized = Self { index: HashMap::new(), encodings: Vec::new() };
        let mut positions = Vec::new();
        for text in texts {
            let next = tokenized.encodings.len();
            let i = match tokenized.index.get(text) {
                Some(&i) => i,
                None => {
                    let encoding = match keep_tokens {
                        Some(tokens) => tokenize_prefix(encoder, text, tokens)?,
                        None => encoder.tokenize(text)?,
                    };
                    tokenized.encodings.push(encoding);
                    tokenized.index.insert(text.to_owned(), next);
                    next
                }
            };
            positions.push(i);
        }
        Ok((tokenized, positions))
    }
}

/// Characters per token that a prefix allows for: far more than any tokenizer's average, so
/// the prefix nearly always holds enough tokens on the first try.
const CHARS_PER_TOKEN: usize = 32;

/// The tokens of `text` when only its first `keep` tokens and whether there are more matter
/// (truncation): the text is cut at a space after `keep · CHARS_PER_TOKEN` characters, so
/// that tokenizing a 20 MB statement costs what a page does. A cut at a space leaves the
/// tokens before it as the whole text gives them; a prefix that gives too few tokens (words
/// of hundreds of characters) is doubled until it does, or the whole text is taken.
fn tokenize_prefix(encoder: &Encoder, text: &str, keep: usize) -> Result<Encoding, ModelError> {
    let mut chars = keep.saturating_add(1).saturating_mul(CHARS_PER_TOKEN);
    loop {
        let Some((cut, _)) = text.char_indices().nth(chars) else { return encoder.tokenize(text) };
        let end = text[cut..].find(char::is_whitespace).map_or(text.len(), |space| cut + space);
        let encoding = encoder.tokenize(&text[..end])?;
        if encoding.len() > keep || end == text.len() {
            return Ok(encoding);
        }
        chars = chars.saturating_mul(2);
    }
}

/// Scores every text against every target.
pub fn score_texts(
    texts: &[&str],
    targets: &TargetSet,
    model: &Model,
    options: &ScoreOptions,
    reporter: &dyn Reporter,
) -> Result<ScoreRun, ScoreError> {
    let wanted = vec![true; texts.len() * targets.targets.len()];
    let pairs = score_pairs(texts, targets, &wanted, model, options, reporter)?;
    Ok(ScoreRun {
        scores: pairs.scores.into_iter().flatten().collect(),
        n_targets: targets.targets.len(),
        method: pairs.method,
        max_length: pairs.max_length,
        sequences: pairs.sequences,
        batches: pairs.batches,
        head_sha256: pairs.head_sha256,
        mentioned: None,
    })
}

/// Scores of the pairs [`score_pairs`] was asked for.
#[derive(Debug, Clone)]
pub struct PairScores {
    /// Statement-major like [`ScoreRun::scores`]; `None` where the pair was not wanted.
    pub scores: Vec<Option<StanceScore>>,
    pub method: Method,
    pub max_length: usize,
    /// Distinct token sequences the model ran on.
    pub sequences: usize,
    /// Forward passes (batches) run.
    pub batches: usize,
    /// With `--head`: SHA-256 of the head file's bytes that scored the pairs.
    pub head_sha256: Option<String>,
}

/// Scores the statement × target pairs `wanted` marks (statement-major, `texts.len()` ×
/// targets); only the sequences those pairs need are run. With every pair wanted this is
/// [`score_texts`], batch for batch.
///
/// Stops before the next batch, with [`ScoreError::Interrupted`], once
/// [`Reporter::stop_requested`] says so.
///
/// A probability that is not finite (broken weights, a degenerate temperature) is an error
/// naming the statement and target, never a score.
pub fn score_pairs(
    texts: &[&str],
    targets: &TargetSet,
    wanted: &[bool],
    model: &Model,
    options: &ScoreOptions,
    reporter: &dyn Reporter,
) -> Result<PairScores, ScoreError> {
    let pairs = score_wanted_pairs(texts, targets, wanted, model, options, reporter)?;
    let n_targets = targets.targets.len();
    let broken = pairs.scores.iter().position(|s| s.is_some_and(|s| !s.probs.iter().all(|p| p.is_finite())));
    if let Some(pair) = broken {
        let text = texts[pair / n_targets];
        let statement: String = text.chars().take(80).collect();
        let cut = if statement.len() < text.len() { "…" } else { "" };
        return Err(ScoreError::NonFinite {
            statement: format!("{statement}{cut}"),
            target: targets.targets[pair % n_targets].name.clone(),
        });
    }
    Ok(pairs)
}

fn score_wanted_pairs(
    texts: &[&str],
    targets: &TargetSet,
    wanted: &[bool],
    model: &Model,
    options: &ScoreOptions,
    reporter: &dyn Reporter,
) -> Result<PairScores, ScoreError> {
    let method = options.check(model)?;
    let n_targets = targets.targets.len();
    assert_eq!(wanted.len(), texts.len() * n_targets, "one flag per statement × target");
    if let Some(path) = &options.head {
        // The head scores every pair of these texts; the unwanted ones are dropped.
        let run = head::score_with_head(texts, targets, model, options, path, reporter)?;
        let scores = run.scores.into_iter().zip(wanted).map(|(s, &w)| w.then_some(s)).collect();
        return Ok(PairScores {
            scores,
            method,
            max_length: run.max_length,
            sequences: run.sequences,
            batches: run.batches,
            head_sha256: run.head_sha256,
        });
    }
    if method == Method::Llm {
        return llm::score_pairs(texts, targets, wanted, model, options, reporter);
    }
    let max_length = max_length_for(model, options);
    let encoder = Encoder::new(&model.tokenizer);
    let keep_tokens = (options.long == LongText::Truncate).then_some(max_length);
    let (statements, statement_of) = Tokenized::new(&encoder, texts.iter().copied(), keep_tokens)?;
    // needed[u * n_targets + t]: some text whose tokens are statement u wants target t.
    let mut needed = vec![false; statements.encodings.len() * n_targets];
    for (i, &u) in statement_of.iter().enumerate() {
        for t in 0..n_targets {
            needed[u * n_targets + t] |= wanted[i * n_targets + t];
        }
    }
    let needs_any = |u: usize| needed[u * n_targets..(u + 1) * n_targets].iter().any(|&n| n);
    let hypotheses_text: Vec<&str> =
        targets.targets.iter().flat_map(|t| Stance::ALL.map(|s| t.hypothesis(s))).collect();
    let (hypotheses, hypothesis_of) = Tokenized::new(&encoder, hypotheses_text.iter().copied(), None)?;
    let hypothesis = |target: usize, stance: usize| &hypotheses.encodings[hypothesis_of[target * 3 + stance]];

    let mut set = SequenceSet::default();
    // plans[statement][target]: per chunk, the sequence index for each stance.
    let mut plans: Vec<Vec<Plan>> = Vec::with_capacity(statements.encodings.len());
    match method {
        Method::Nli => {
            for (u, premise) in statements.encodings.iter().enumerate() {
                let mut per_target = Vec::with_capacity(targets.targets.len());
                for (t, target) in targets.targets.iter().enumerate() {
                    if !needed[u * n_targets + t] {
                        per_target.push(Plan { chunks: Vec::new(), truncated: false });
                        continue;
                    }
                    let budget_for = |s: usize| -> Result<usize, ScoreError> {
                        let needed = encoder.added_tokens(true) + hypothesis(t, s).len();
                        max_length.checked_sub(needed).filter(|&b| b > 0).ok_or_else(|| {
                            ScoreError::HypothesisTooLong {
                                target: target.name.clone(),
                                stance: Stance::ALL[s],
                                needed,
                                max_length,
                            }
                        })
                    };
                    let budgets = [budget_for(0)?, budget_for(1)?, budget_for(2)?];
                    // Windows must line up across the three hypotheses to be compared, so they
                    // share the smallest budget; truncation follows the pipeline, per pair.
                    let common = *budgets.iter().min().expect("three budgets");
                    let mut chunks: Vec<[usize; 3]> = Vec::new();
                    let mut truncated = false;
                    for s in 0..3 {
                        let budget = if options.long == LongText::Window { common } else { budgets[s] };
                        let ranges = chunk_ranges(premise.len(), budget, options.long, options.stride);
                        truncated |= options.long == LongText::Truncate && premise.len() > budget;
                        for (k, range) in ranges.into_iter().enumerate() {
                            let seq = set.intern(encoder.sequence(premise, range, Some(hypothesis(t, s)))?);
                            if chunks.len() <= k {
                                chunks.push([0; 3]);
                            }
                            chunks[k][s] = seq;
                        }
                    }
                    per_target.push(Plan { chunks, truncated });
                }
                plans.push(per_target);
            }
        }
        Method::Classifier | Method::Embedding => {
            let budget = max_length.saturating_sub(encoder.added_tokens(false)).max(1);
            for (u, premise) in statements.encodings.iter().enumerate() {
                if !needs_any(u) {
                    plans.push(vec![Plan { chunks: Vec::new(), truncated: false }]);
                    continue;
                }
                let ranges = chunk_ranges(premise.len(), budget, options.long, options.stride);
                let truncated = options.long == LongText::Truncate && premise.len() > budget;
                let mut chunks = Vec::with_capacity(ranges.len());
                for range in ranges {
                    let seq = set.intern(encoder.sequence(premise, range, None)?);
                    chunks.push([seq; 3]);
                }
                // Target-independent: one plan shared by every target.
                plans.push(vec![Plan { chunks, truncated }]);
            }
        }
        Method::Llm => unreachable!("returned above"),
    }
    let any_needed = needed.iter().any(|&n| n);
    let prototype_sequences = if method == Method::Embedding && any_needed {
        let budget = max_length.saturating_sub(encoder.added_tokens(false)).max(1);
        let mut ids = Vec::with_capacity(hypotheses.encodings.len());
        for h in &hypotheses.encodings {
            let range = 0..h.len().min(budget);
            ids.push(set.intern(encoder.sequence(h, range, None)?));
        }
        ids
    } else {
        Vec::new()
    };

    let want_embeddings = method == Method::Embedding;
    let (outputs, batches) = run_model(model, &set.sequences, options.batch_size, want_embeddings, reporter)?;

    let nli = if method == Method::Nli { Some(NliRule::new(model, options.per_hypothesis)?) } else { None };
    let classifier = if method == Method::Classifier {
        Some(ClassifierRule::new(model, &options.label_map)?)
    } else {
        None
    };

    let mut scores = Vec::with_capacity(texts.len() * targets.targets.len());
    for (i, &u) in statement_of.iter().enumerate() {
        for t in 0..targets.targets.len() {
            if !wanted[i * n_targets + t] {
                scores.push(None);
                continue;
            }
            let plan = &plans[u][if method == Method::Nli { t } else { 0 }];
            let probs = match method {
                Method::Embedding => {
                    let prototypes =
                        [0, 1, 2].map(|s| outputs[prototype_sequences[hypothesis_of[t * 3 + s]]].as_slice());
                    embedding_probs(&plan.chunks, &outputs, &set.sequences, prototypes, options.temperature)
                }
                Method::Nli => {
                    let rule = nli.as_ref().expect("rule built for nli");
                    mean_over_chunks(&plan.chunks, |chunk| {
                        rule.probs(chunk.map(|seq| outputs[seq].as_slice()))
                    })?
                }
                Method::Classifier => {
                    let rule = classifier.as_ref().expect("rule built for classifier");
                    mean_over_chunks(&plan.chunks, |chunk| rule.probs(&outputs[chunk[0]]))?
                }
                Method::Llm => unreachable!("returned above"),
            };
            scores.push(Some(StanceScore {
                probs,
                truncated: plan.truncated,
                n_chunks: plan.chunks.len() as u32,
                label_mass: None,
            }));
        }
    }
    Ok(PairScores { scores, method, max_length, sequences: set.sequences.len(), batches, head_sha256: None })
}

/// The sequences one statement × target is scored with.
struct Plan {
    chunks: Vec<[usize; 3]>,
    truncated: bool,
}

/// Runs the model on every sequence, shortest first, and returns outputs in sequence order.
fn run_model(
    model: &Model,
    sequences: &[Sequence],
    batch_size: usize,
    embeddings: bool,
    reporter: &dyn Reporter,
) -> Result<(Vec<Vec<f32>>, usize), ScoreError> {
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    // Stable sort with the index as tie-break keeps batches identical from run to run.
    order.sort_by_key(|&i| (sequences[i].ids.len(), i));
    let mut outputs = vec![Vec::new(); sequences.len()];
    reporter.start("scoring", Some(sequences.len() as u64));
    let mut batches = 0;
    for group in order.chunks(batch_size) {
        if reporter.stop_requested() {
            reporter.finish();
            return Err(ScoreError::Interrupted);
        }
        let rows: Vec<(&[u32], &[u32])> =
            group.iter().map(|&i| (sequences[i].ids.as_slice(), sequences[i].type_ids.as_slice())).collect();
        let batch = TokenBatch::pad(&rows, model.pad_token_id);
        let result =
            if embeddings { model.backend.embeddings(&batch)? } else { model.backend.logits(&batch)? };
        for (&i, row) in group.iter().zip(result) {
            outputs[i] = row;
        }
        batches += 1;
        reporter.advance(group.len() as u64);
    }
    reporter.finish();
    Ok((outputs, batches))
}

/// Mean of per-chunk probabilities (windows count equally).
fn mean_over_chunks(
    chunks: &[[usize; 3]],
    probs: impl Fn(&[usize; 3]) -> Result<[f32; 3], ScoreError>,
) -> Result<[f32; 3], ScoreError> {
    let mut sum = [0f32; 3];
    for chunk in chunks {
        let p = probs(chunk)?;
        sum.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    Ok(sum.map(|v| v / chunks.len() as f32))
}

/// How NLI logits of the three hypotheses become stance probabilities. Label indices come
/// from `id2label` names, never from positions.
enum NliRule {
    /// Softmax of the entailment logits across hypotheses (pipeline, `multi_label=False`).
    Across { entail: usize, width: usize },
    /// Per hypothesis P(entailment) from entailment vs contradiction, normalised to sum to 1.
    PerHypothesis { entail: usize, contradiction: usize, width: usize },
}

impl NliRule {
    fn new(model: &Model, per_hypothesis: bool) -> Result<Self, ScoreError> {
        let config = &model.config;
        let not_nli = |needs| ScoreError::NotNli {
            model: model.resolved.id.clone(),
            labels: format!("{:?}", config.id2label.values().collect::<Vec<_>>()),
            needs,
            per_hypothesis,
        };
        let entail = config.label_index("entail").ok_or_else(|| not_nli("an entailment label"))?;
        let width = config.num_labels();
        if !per_hypothesis {
            return Ok(Self::Across { entail, width });
        }
        // Binary zero-shot models (e.g. deberta-v3-base-zeroshot-v2.0) name the other class
        // `not_entailment`.
        let contradiction = config
            .label_index("contradict")
            .or_else(|| config.label_index("not_entail"))
            .or_else(|| config.label_index("not-entail"))
            .ok_or_else(|| not_nli("a contradiction (or not_entailment) label beside entailment"))?;
        Ok(Self::PerHypothesis { entail, contradiction, width })
    }

    fn probs(&self, logits: [&[f32]; 3]) -> Result<[f32; 3], ScoreError> {
        match *self {
            Self::Across { entail, width } => {
                let mut entailment = [0f32; 3];
                for (e, l) in entailment.iter_mut().zip(logits) {
                    check_width(l, width)?;
                    *e = l[entail];
                }
                let p = softmax(&entailment);
                Ok([p[0], p[1], p[2]])
            }
            Self::PerHypothesis { entail, contradiction, width } => {
                let mut weights = [0f32; 3];
                for (w, l) in weights.iter_mut().zip(logits) {
                    check_width(l, width)?;
                    *w = softmax(&[l[contradiction], l[entail]])[1];
                }
                let total: f32 = weights.iter().sum();
                Ok(if total > 0.0 { weights.map(|w| w / total) } else { [1.0 / 3.0; 3] })
            }
        }
    }
}

/// How a stance classifier's logits become stance probabilities: softmax, then each label's
/// probability added to the stance it maps to (several labels may share a stance).
struct ClassifierRule {
    stance_of: Vec<usize>,
}

impl ClassifierRule {
    fn new(model: &Model, overrides: &BTreeMap<String, Stance>) -> Result<Self, ScoreError> {
        let labels = &model.config.id2label;
        for label in overrides.keys() {
            if !labels.values().any(|l| l == label) {
                let labels = labels.values().cloned().collect::<Vec<_>>().join(", ");
                return Err(ScoreError::UnknownLabel { label: label.clone(), labels });
            }
        }
        let mut stance_of = vec![usize::MAX; model.config.num_labels()];
        for (&i, name) in labels {
            let stance = overrides
                .get(name)
                .copied()
                .or_else(|| Stance::parse(name))
                .ok_or_else(|| ScoreError::UnmappedLabel { label: name.clone() })?;
            stance_of[i] = stance as usize;
        }
        if let Some(gap) = stance_of.iter().position(|&s| s == usize::MAX) {
            return Err(ScoreError::UnmappedLabel { label: format!("index {gap}") });
        }
        Ok(Self { stance_of })
    }

    fn probs(&self, logits: &[f32]) -> Result<[f32; 3], ScoreError> {
        check_width(logits, self.stance_of.len())?;
        let mut probs = [0f32; 3];
        for (p, &s) in softmax(logits).iter().zip(&self.stance_of) {
            probs[s] += p;
        }
        Ok(probs)
    }
}

fn check_width(logits: &[f32], expected: usize) -> Result<(), ScoreError> {
    if logits.len() == expected {
        Ok(())
    } else {
        Err(ScoreError::OutputShape { got: logits.len(), expected })
    }
}

/// Statement embedding (token-weighted mean over chunks) against the three prototypes.
fn embedding_probs(
    chunks: &[[usize; 3]],
    outputs: &[Vec<f32>],
    sequences: &[Sequence],
    prototypes: [&[f32]; 3],
    temperature: f32,
) -> [f32; 3] {
    let dim = prototypes[0].len();
    let mut pooled = vec![0f32; dim];
    for chunk in chunks {
        let weight = sequences[chunk[0]].ids.len() as f32;
        pooled.iter_mut().zip(&outputs[chunk[0]]).for_each(|(a, b)| *a += weight * b);
    }
    let sims = prototypes.map(|p| cosine(&pooled, p) / temperature);
    let p = softmax(&sims);
    [p[0], p[1], p[2]]
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denom = norm(a) * norm(b);
    if denom > 0.0 {
        dot / denom
    } else {
        0.0
    }
}

/// Numerically stable softmax.
pub fn softmax(values: &[f32]) -> Vec<f32> {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = values.iter().map(|v| (v - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, 999.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - p[1]).abs() < 1e-7 && p[2] < p[0]);
    }

    #[test]
    fn score_and_label_follow_the_contract() {
        let s = StanceScore { probs: [0.2, 0.5, 0.3], truncated: false, n_chunks: 1, label_mass: None };
        assert!((s.score() + 0.3).abs() < 1e-7);
        assert_eq!(s.label(), Stance::Against);
    }
}
