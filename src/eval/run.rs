//! `stance eval` and `stance train` as library calls: reading, scoring or embedding, and
//! putting together the report or the head with its provenance.

use std::path::{Path, PathBuf};

use chrono::NaiveTime;
use polars::prelude::*;
use serde::Serialize;

use super::gold::{read_gold, GivenPredictions, GoldOptions, GoldSet};
use super::report::{build_report, EvalOptions, Period, Predictions, Report};
use super::train::{train_on_features, TrainOptions, Training};
use super::EvalError;
use crate::corpus::{parse_iso8601, ParsedDate};
use crate::model::{self, Model};
use crate::progress::Reporter;
use crate::provenance::Provenance;
use crate::score::head::{self, embed_texts, features, Head, HeadInfo};
use crate::score::{score_texts, Method, ScoreError, ScoreOptions};
use crate::targets::{Stance, TargetSet, Templates};

/// Everything `stance eval` needs.
#[derive(Debug, Clone)]
pub struct EvalJob {
    /// One gold set, in one file or several.
    pub gold: Vec<PathBuf>,
    pub gold_options: GoldOptions,
    /// Scores the gold set with this model; without one, the gold table's own `p_*` (or
    /// `--pred-col`) predictions are evaluated.
    pub model: Option<String>,
    pub device: String,
    pub score_options: ScoreOptions,
    /// Hypotheses per target (a targets file); the gold set's other targets are left out.
    pub targets: Option<TargetSet>,
    pub options: EvalOptions,
}

/// A finished evaluation.
pub struct EvalOutcome {
    pub report: Report,
    pub provenance: Provenance,
    pub gold: GoldSet,
    pub predictions: Predictions,
    /// Probabilities as scored or read, before any `classes` restriction.
    pub scored: Option<Vec<[f64; 3]>>,
    /// How the gold set was scored, when a model scored it.
    pub method: Option<Method>,
}

/// Reads and scores the gold set (or takes its predictions), and computes the report.
pub fn evaluate(
    job: &EvalJob,
    command_line: &[String],
    reporter: &dyn Reporter,
) -> Result<EvalOutcome, EvalError> {
    let options = &job.options;
    if options.classes.is_empty() {
        return Err(EvalError::InvalidOption {
            option: "--classes",
            value: "an empty list".into(),
            expected: "one or more of favor, against, none",
        });
    }
    if !(options.level > 0.0 && options.level < 1.0) {
        return Err(EvalError::InvalidOption {
            option: "--ci",
            value: options.level.to_string(),
            expected: "a number between 0 and 1",
        });
    }
    let split = match &options.split_date {
        Some(value) => Some(
            parse_iso8601(value)
                .map(|d| instant(&d))
                .map_err(|problem| EvalError::BadSplitDate { value: value.clone(), problem })?,
        ),
        None => None,
    };
    let mut gold_options = job.gold_options.clone();
    gold_options.need_dates = split.is_some();
    // A file with only templates keeps every target of the gold set.
    if let Some(set) = job.targets.as_ref().filter(|set| !set.targets.is_empty()) {
        gold_options.targets = set.targets.iter().map(|t| t.name.clone()).collect();
    }
    let gold = read_gold(&job.gold, &gold_options)?;
    if gold.unlabelled() > 0 {
        reporter.note(&format!(
            "{} of {} rows have no majority label among the coders (a tie, or no label): they count only in the coders' agreement",
            gold.unlabelled(),
            gold.len()
        ));
    }
    if gold.len() < gold.input_rows() {
        reporter.note(&format!(
            "evaluating {} of {} rows (the others are about other targets)",
            gold.len(),
            gold.input_rows()
        ));
    }

    let mut provenance = Provenance::for_command(command_line);
    record_gold(&mut provenance, &gold)?;
    provenance.set_json("gold_options", &gold_options);

    let (scored, method) = match &job.model {
        Some(spec) => {
            let resolved = model::resolve(spec, &model::hub::cache_root())?;
            let model = Model::load(resolved, &job.device, job.score_options.dtype)?;
            model.record(&mut provenance);
            let (probs, method, targets, head_sha256) = score_gold(&gold, job, &model, reporter)?;
            provenance.set("method", method.as_str());
            provenance.set_json("templates", &targets.templates);
            provenance.set_json("targets", &targets.targets);
            provenance.set_json("score_options", &job.score_options);
            if let (Some(head), Some(sha256)) = (&job.score_options.head, &head_sha256) {
                provenance.record_input("head", head, sha256);
            }
            (Some(probs), Some(method))
        }
        None => {
            for file in &gold.files {
                provenance.inherit(&file.provenance);
            }
            match &gold.given {
                Some(GivenPredictions::Probabilities(p)) => (Some(p.clone()), None),
                Some(GivenPredictions::Labels(_)) => (None, None),
                None => return Err(no_predictions(&gold)),
            }
        }
    };
    let predictions = match (&scored, &gold.given) {
        (Some(probs), _) => Predictions::from_probs(probs, &options.classes),
        (None, Some(GivenPredictions::Labels(labels))) => Predictions::from_labels(labels.clone()),
        (None, _) => return Err(no_predictions(&gold)),
    };

    let sides: Option<Vec<Option<Period>>> = split.map(|at| {
        gold.dates
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|d| d.as_ref().map(|d| if instant(d) < at { Period::Before } else { Period::From }))
            .collect()
    });
    let periods = match (&options.split_date, &sides) {
        (Some(date), Some(sides)) => Some((date.as_str(), sides.as_slice())),
        _ => None,
    };
    let report = build_report(&gold, &predictions, options, periods);
    provenance.set_json("eval_options", options);
    Ok(EvalOutcome { report, provenance, gold, predictions, scored, method })
}

/// Names the first file without predictions (or the first file when their kinds differ).
fn no_predictions(gold: &GoldSet) -> EvalError {
    let file = gold.files.iter().find(|f| !f.scored).or(gold.files.first());
    EvalError::NoPredictions { path: file.map(|f| f.path.clone()).unwrap_or_default() }
}

/// Records each gold file (path, SHA-256, layout, rows, columns) under `input.gold` (one
/// file) or `input.gold.N` (several).
fn record_gold(provenance: &mut Provenance, gold: &GoldSet) -> Result<(), EvalError> {
    for (k, file) in gold.files.iter().enumerate() {
        let role = if gold.files.len() == 1 { "gold".to_owned() } else { format!("gold.{}", k + 1) };
        provenance.record_input(&role, &file.path, &file.sha256);
        provenance.set(format!("input.{role}.format"), file.format.as_str());
        provenance.set(format!("input.{role}.rows"), file.rows);
        provenance.set_json(format!("input.{role}.columns"), &file.columns);
    }
    Ok(())
}

/// Microseconds since the epoch; plain dates at midnight.
fn instant(date: &ParsedDate) -> i64 {
    match date {
        ParsedDate::Date(d) => d.and_time(NaiveTime::MIN).and_utc().timestamp_micros(),
        ParsedDate::DateTime(micros) => *micros,
    }
}

/// Scores each row against its own target: rows are grouped by target and each group is
/// scored once. Returns the probabilities, the method, the targets with their hypotheses and,
/// with `--head`, the SHA-256 of the head's bytes (the same for every group, or an error).
fn score_gold(
    gold: &GoldSet,
    job: &EvalJob,
    model: &Model,
    reporter: &dyn Reporter,
) -> Result<(Vec<[f64; 3]>, Method, TargetSet, Option<String>), EvalError> {
    let templates = job.targets.as_ref().map_or_else(Templates::default, |set| set.templates.clone());
    let mut probs = vec![[0.0; 3]; gold.len()];
    let mut method = None;
    let mut head_sha256: Option<String> = None;
    let mut used = TargetSet { templates: templates.clone(), targets: Vec::new() };
    for name in gold.target_names() {
        let target = match job.targets.as_ref().and_then(|set| set.targets.iter().find(|t| t.name == name)) {
            Some(target) => TargetSet { templates: templates.clone(), targets: vec![target.clone()] },
            None => TargetSet::from_names(std::slice::from_ref(&name), templates.clone())?,
        };
        let rows: Vec<usize> = (0..gold.len()).filter(|&i| gold.targets[i] == name).collect();
        let texts: Vec<&str> = rows.iter().map(|&i| gold.texts[i].as_str()).collect();
        let run = score_texts(&texts, &target, model, &job.score_options, reporter)?;
        for (k, &i) in rows.iter().enumerate() {
            probs[i] = run.get(k, 0).probs.map(f64::from);
        }
        method = Some(run.method);
        head::check_unchanged(
            job.score_options.head.as_deref(),
            head_sha256.as_deref(),
            run.head_sha256.as_deref(),
        )
        .map_err(ScoreError::from)?;
        head_sha256 = head_sha256.or(run.head_sha256);
        used.targets.extend(target.targets);
    }
    let method = method.unwrap_or_else(|| job.score_options.method.unwrap_or(Method::Embedding));
    Ok((probs, method, used, head_sha256))
}

impl EvalOutcome {
    /// The gold rows with their predictions: `text, target, gold, [date], p_favor, p_against,
    /// p_none, score, label` (probabilities as scored; `label` within the evaluated classes),
    /// with several coders `gold` is their majority label and each coder's column follows it.
    /// `stance eval` reads such a table back without a model.
    pub fn predictions_frame(&self) -> Result<DataFrame, EvalError> {
        let gold = &self.gold;
        let mut columns = vec![
            Column::new("text".into(), &gold.texts),
            Column::new("target".into(), &gold.targets),
            Column::new("gold".into(), gold.labels.iter().map(|l| l.map(Stance::as_str)).collect::<Vec<_>>()),
        ];
        if let Some(coders) = &gold.coders {
            for (k, name) in coders.names.iter().enumerate() {
                let labels: Vec<Option<&str>> =
                    coders.labels.iter().map(|row| row[k].map(Stance::as_str)).collect();
                columns.push(Column::new(name.into(), labels));
            }
        }
        if let Some(dates) = &gold.dates {
            let text: Vec<Option<String>> = dates.iter().map(|d| d.map(|d| d.canonical())).collect();
            columns.push(Column::new("date".into(), text));
        }
        if let Some(probs) = &self.scored {
            for (k, name) in ["p_favor", "p_against", "p_none"].iter().enumerate() {
                columns.push(Column::new((*name).into(), probs.iter().map(|p| p[k]).collect::<Vec<_>>()));
            }
            columns.push(Column::new("score".into(), probs.iter().map(|p| p[0] - p[1]).collect::<Vec<_>>()));
        }
        columns.push(Column::new(
            "label".into(),
            self.predictions.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        ));
        DataFrame::new(gold.len(), columns).map_err(EvalError::Table)
    }

    /// The report as one JSON document, with the provenance.
    pub fn to_json(&self) -> serde_json::Value {
        let provenance: serde_json::Map<String, serde_json::Value> = self
            .provenance
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect();
        let mut value = serde_json::to_value(&self.report).expect("the report serializes to JSON");
        value["provenance"] = serde_json::Value::Object(provenance);
        value
    }
}

/// Everything `stance train` needs.
#[derive(Debug, Clone)]
pub struct TrainJob {
    /// One training set, in one file or several.
    pub gold: Vec<PathBuf>,
    pub gold_options: GoldOptions,
    /// The sentence-embedding model whose embeddings the head reads.
    pub model: String,
    pub device: String,
    /// How statements are embedded (batch size, max length, long texts).
    pub score_options: ScoreOptions,
    pub options: TrainOptions,
    pub out: PathBuf,
}

/// A trained and written head.
pub struct TrainOutcome {
    pub training: Training,
    pub head: Head,
    pub rows: usize,
    pub targets: Vec<String>,
}

/// What the head file records about its training.
#[derive(Serialize)]
struct TrainingRecord<'a> {
    options: &'a TrainOptions,
    l2: f64,
    classes: &'a [crate::targets::Stance],
    class_counts: [usize; 3],
    class_weights: &'a [f64],
    cross_validation: &'a [super::train::CrossValidation],
    fit: &'a super::logistic::Fit,
    train_accuracy: f64,
    data: DataRecord<'a>,
    command_line: &'a [String],
}

#[derive(Serialize)]
struct DataRecord<'a> {
    files: Vec<FileRecord>,
    rows: usize,
    targets: &'a [String],
}

#[derive(Serialize)]
struct FileRecord {
    path: String,
    sha256: String,
    format: &'static str,
    rows: usize,
}

/// Reads the gold set, embeds statements and targets once, cross-validates, fits the head on
/// every row and writes it to `job.out`.
pub fn train(
    job: &TrainJob,
    command_line: &[String],
    reporter: &dyn Reporter,
) -> Result<TrainOutcome, EvalError> {
    if job.gold_options.label_cols.len() > 1 {
        return Err(EvalError::SeveralLabelColumns { given: job.gold_options.label_cols.len() });
    }
    let gold = read_gold(&job.gold, &job.gold_options)?;
    // One label column: every row has its label.
    let labels: Vec<Stance> = gold.labels.iter().flatten().copied().collect();
    let mut files = Vec::with_capacity(gold.files.len());
    for file in &gold.files {
        files.push(FileRecord {
            path: file.path.display().to_string(),
            sha256: file.sha256.clone(),
            format: file.format.as_str(),
            rows: file.rows,
        });
    }
    let resolved = model::resolve(&job.model, &model::hub::cache_root())?;
    let model = Model::load(resolved, &job.device, job.score_options.dtype)?;

    let targets = gold.target_names();
    let mut inputs: Vec<&str> = gold.texts.iter().map(String::as_str).collect();
    inputs.extend(targets.iter().map(String::as_str));
    let embedded = embed_texts(&inputs, &model, &job.score_options, reporter)?;
    let (statements, target_vectors) = embedded.vectors.split_at(gold.len());
    let dim = statements.first().map_or(0, Vec::len);
    let target_index = |name: &String| targets.iter().position(|t| t == name).expect("target listed");
    let strata: Vec<usize> = gold.targets.iter().map(target_index).collect();
    let mut x = Vec::with_capacity(gold.len() * 3 * dim);
    for (statement, &t) in statements.iter().zip(&strata) {
        x.extend(features(statement, &target_vectors[t]));
    }
    let training = train_on_features(&x, 3 * dim, &labels, &strata, &job.options)?;

    let record = TrainingRecord {
        options: &job.options,
        l2: training.l2,
        classes: &training.classes,
        class_counts: training.class_counts,
        class_weights: &training.class_weights,
        cross_validation: &training.cross_validation,
        fit: &training.fit,
        train_accuracy: training.train_accuracy,
        data: DataRecord { files, rows: gold.len(), targets: &targets },
        command_line,
    };
    let head = Head {
        classes: training.classes.clone(),
        weight: training.fit.weight.clone(),
        bias: training.fit.bias.clone(),
        embedding_dim: dim,
        info: HeadInfo {
            model_id: model.resolved.id.clone(),
            model_type: model.config.model_type.clone(),
            weights_sha256: model.weights_sha256.clone(),
            max_length: embedded.max_length,
            long: job.score_options.long,
            training: serde_json::to_value(&record).expect("the training record serializes to JSON"),
        },
    };
    head.save(&job.out)?;
    Ok(TrainOutcome { training, head, rows: gold.len(), targets })
}

/// Where `stance train` output goes must be a `.safetensors` file in an existing folder.
pub fn check_head_path(path: &Path) -> Result<(), EvalError> {
    let ok = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    if ok {
        Ok(())
    } else {
        Err(EvalError::InvalidOption {
            option: "--out",
            value: path.display().to_string(),
            expected: "a .safetensors file",
        })
    }
}
