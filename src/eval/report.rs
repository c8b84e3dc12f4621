//! The evaluation report: metrics for every slice of a gold set (all rows and each target;
//! with a split date, the rows before it and from it on as well), as text for the terminal,
//! a flat table (one row per slice) or a JSON document.
//!
//! Every slice has accuracy, F1, calibration and agreement with the gold (Cohen's κ with a
//! bootstrap interval, Krippendorff's α); with several coders also the coders' α among
//! themselves and each coder against the model; with sampling weights design-weighted
//! estimates for the population the sample was drawn from.

use std::fmt::Write as _;

use polars::prelude::*;
use serde::Serialize;

use super::gold::{GoldFile, GoldSet};
use super::metrics::{
    bootstrap_intervals, calibration, class_counts, krippendorff_alpha, weighted, Calibration, ClassMetrics,
    Confusion, Interval, Weighted,
};
use crate::analysis::rng::{derive_seed, Xoshiro256};
use crate::targets::Stance;

/// Options of `stance eval` beyond scoring.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalOptions {
    /// Stances a prediction may take: probabilities are renormalised over these before the
    /// argmax (e.g. favor and against for P-Stance, which has no `none`).
    pub classes: Vec<Stance>,
    /// Bootstrap resamples for the intervals of macro-F1 and F_avg.
    pub bootstrap: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    pub seed: u64,
    /// Equal-width confidence bins of the expected calibration error.
    pub bins: usize,
    /// ISO 8601 date: metrics are also reported for the rows before it and from it on.
    pub split_date: Option<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            classes: Stance::ALL.to_vec(),
            bootstrap: 1000,
            level: 0.95,
            seed: 42,
            bins: 10,
            split_date: None,
        }
    }
}

/// Predicted labels, and the probabilities they came from when there are any.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub labels: Vec<Stance>,
    /// Per row, renormalised over the allowed classes.
    pub probs: Option<Vec<[f64; 3]>>,
}

impl Predictions {
    /// The argmax over `classes` (all three when empty) of each row's probabilities
    /// renormalised over them (ties: favor, against, none; a row with no mass on them is
    /// uniform over them).
    pub fn from_probs(probs: &[[f64; 3]], classes: &[Stance]) -> Self {
        let classes = if classes.is_empty() { &Stance::ALL[..] } else { classes };
        let mut labels = Vec::with_capacity(probs.len());
        let mut kept = Vec::with_capacity(probs.len());
        for p in probs {
            let total: f64 = classes.iter().map(|&c| p[c as usize]).sum();
            let mut q = [0.0; 3];
            for &c in classes {
                q[c as usize] = if total > 0.0 { p[c as usize] / total } else { 1.0 / classes.len() as f64 };
            }
            let mut best = classes[0];
            for &c in Stance::ALL.iter().filter(|c| classes.contains(c)) {
                if q[c as usize] > q[best as usize] || (q[c as usize] == q[best as usize] && c < best) {
                    best = c;
                }
            }
            labels.push(best);
            kept.push(q);
        }
        Self { labels, probs: Some(kept) }
    }

    pub fn from_labels(labels: Vec<Stance>) -> Self {
        Self { labels, probs: None }
    }
}

/// Which rows a slice covers in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    All,
    /// Dated before the split date.
    Before,
    /// Dated on or after the split date.
    From,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::All => "all",
            Period::Before => "before",
            Period::From => "from",
        }
    }
}

/// Metrics of one slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceMetrics {
    pub period: Period,
    /// `None`: every target.
    pub target: Option<String>,
    /// Rows with a gold label (with several coders, those with a majority label).
    pub n: usize,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub macro_f1_ci: Option<Interval>,
    pub f_avg: Option<f64>,
    pub f_avg_ci: Option<Interval>,
    /// Cohen's κ of the model against the gold label.
    pub kappa: Option<f64>,
    pub kappa_ci: Option<Interval>,
    /// Krippendorff's α (nominal), the model and the gold label as two coders.
    pub alpha: Option<f64>,
    pub classes: Vec<ClassMetrics>,
    pub confusion: Confusion,
    pub calibration: Option<Calibration>,
    /// With several label columns.
    pub coders: Option<CoderAgreement>,
    /// With sampling weights: estimates for the population the sample was drawn from.
    pub weighted: Option<Weighted>,
}

/// How several coders agree among themselves and with the model, in one slice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoderAgreement {
    /// Rows in the slice, with a majority label or not.
    pub rows: usize,
    /// Krippendorff's α (nominal) among the coders, over the rows two or more of them labelled.
    pub alpha: Option<f64>,
    pub vs_model: Vec<CoderVsModel>,
}

/// One coder against the model, on the rows the coder labelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoderVsModel {
    pub coder: String,
    pub n: usize,
    pub kappa: Option<f64>,
    pub alpha: Option<f64>,
}

/// The unweighted mean over targets of per-target metrics (how P-Stance reports macro-F1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetMean {
    pub period: Period,
    pub targets: usize,
    pub macro_f1: Option<f64>,
    pub f_avg: Option<f64>,
}

/// How the rows fell around the split date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    pub date: String,
    pub before: usize,
    pub from: usize,
    /// Rows without a date, in neither part.
    pub undated: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub gold: Vec<GoldFile>,
    pub rows: usize,
    /// Rows without a gold label: their coders tied (or all left them blank).
    pub unlabelled: usize,
    /// The coders' label columns (empty with one label column).
    pub coders: Vec<String>,
    /// Whether the rows carry sampling weights.
    pub weighted: bool,
    pub options: EvalOptions,
    pub split: Option<Split>,
    pub slices: Vec<SliceMetrics>,
    pub target_means: Vec<TargetMean>,
}

/// Computes every slice. `periods` gives each row's side of the split date (`None`:
/// undated), when there is one.
pub fn build_report(
    gold: &GoldSet,
    predictions: &Predictions,
    options: &EvalOptions,
    periods: Option<(&str, &[Option<Period>])>,
) -> Report {
    let targets = gold.target_names();
    let mut wanted: Vec<(Period, Vec<usize>)> = vec![(Period::All, (0..gold.len()).collect())];
    let mut split = None;
    if let Some((date, sides)) = periods {
        let of = |p| (0..gold.len()).filter(|&i| sides[i] == Some(p)).collect::<Vec<_>>();
        let (before, from) = (of(Period::Before), of(Period::From));
        split = Some(Split {
            date: date.to_owned(),
            before: before.len(),
            from: from.len(),
            undated: sides.iter().filter(|s| s.is_none()).count(),
        });
        wanted.push((Period::Before, before));
        wanted.push((Period::From, from));
    }
    let mut slices = Vec::new();
    let mut target_means = Vec::new();
    for (period, rows) in wanted {
        slices.push(slice(gold, predictions, options, period, None, &rows));
        let mut per_target = Vec::new();
        for target in &targets {
            let rows: Vec<usize> = rows.iter().copied().filter(|&i| &gold.targets[i] == target).collect();
            if !rows.is_empty() {
                per_target.push(slice(gold, predictions, options, period, Some(target), &rows));
            }
        }
        let mean = |metric: fn(&SliceMetrics) -> Option<f64>| {
            let values: Vec<f64> = per_target.iter().filter_map(metric).collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        target_means.push(TargetMean {
            period,
            targets: per_target.len(),
            macro_f1: mean(|s| s.macro_f1),
            f_avg: mean(|s| s.f_avg),
        });
        slices.extend(per_target);
    }
    Report {
        gold: gold.files.clone(),
        rows: gold.len(),
        unlabelled: gold.unlabelled(),
        coders: gold.coders.as_ref().map(|c| c.names.clone()).unwrap_or_default(),
        weighted: gold.weights.is_some(),
        options: options.clone(),
        split,
        slices,
        target_means,
    }
}

fn slice(
    gold: &GoldSet,
    predictions: &Predictions,
    options: &EvalOptions,
    period: Period,
    target: Option<&String>,
    all_rows: &[usize],
) -> SliceMetrics {
    let rows: Vec<usize> = all_rows.iter().copied().filter(|&i| gold.labels[i].is_some()).collect();
    let g: Vec<Stance> = rows.iter().filter_map(|&i| gold.labels[i]).collect();
    let p: Vec<Stance> = rows.iter().map(|&i| predictions.labels[i]).collect();
    let confusion = Confusion::from_labels(&g, &p);
    // Each slice draws from its own stream, so its interval does not depend on the others.
    let identity = target.map_or(b"\0all".as_slice(), |t| t.as_bytes());
    let mut rng = Xoshiro256::seed_from_u64(derive_seed(
        options.seed,
        &[b"eval", period.as_str().as_bytes(), identity],
    ));
    let intervals = bootstrap_intervals(&g, &p, options.bootstrap, options.level, &mut rng);
    let calibration = predictions.probs.as_ref().and_then(|probs| {
        let confidence: Vec<f64> = rows.iter().map(|&i| probs[i][predictions.labels[i] as usize]).collect();
        let correct: Vec<bool> = g.iter().zip(&p).map(|(a, b)| a == b).collect();
        calibration(&confidence, &correct, options.bins)
    });
    let coders = gold.coders.as_ref().map(|coders| {
        let units = all_rows.iter().map(|&i| (class_counts(coders.labels[i].iter().copied()), 1.0));
        let vs_model = coders
            .names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let labelled: Vec<usize> =
                    all_rows.iter().copied().filter(|&i| coders.labels[i][k].is_some()).collect();
                let coder: Vec<Stance> = labelled.iter().filter_map(|&i| coders.labels[i][k]).collect();
                let model: Vec<Stance> = labelled.iter().map(|&i| predictions.labels[i]).collect();
                let confusion = Confusion::from_labels(&coder, &model);
                CoderVsModel {
                    coder: name.clone(),
                    n: labelled.len(),
                    kappa: confusion.kappa(),
                    alpha: confusion.alpha(),
                }
            })
            .collect();
        CoderAgreement { rows: all_rows.len(), alpha: krippendorff_alpha(units), vs_model }
    });
    let weighted = gold.weights.as_ref().and_then(|weights| {
        let w: Vec<f64> = rows.iter().map(|&i| weights[i]).collect();
        weighted(&g, &p, &w)
    });
    SliceMetrics {
        period,
        target: target.cloned(),
        n: rows.len(),
        accuracy: confusion.accuracy(),
        macro_f1: confusion.macro_f1(),
        macro_f1_ci: intervals.macro_f1,
        f_avg: confusion.f_avg(),
        f_avg_ci: intervals.f_avg,
        kappa: confusion.kappa(),
        kappa_ci: intervals.kappa,
        alpha: confusion.alpha(),
        classes: Stance::ALL.iter().map(|&s| confusion.class(s)).collect(),
        confusion,
        calibration,
        coders,
        weighted,
    }
}

impl Report {
    /// One row per slice: `period, target` (null for all targets), `n`, `accuracy`,
    /// `macro_f1` with `macro_f1_low/high`, `f_avg` with `f_avg_low/high`, `kappa` with
    /// `kappa_low/high`, `alpha`, `ece`, per class `precision_*, recall_*, f1_*, support_*,
    /// predicted_*`, and the confusion matrix as `gold_<stance>_pred_<stance>` counts. With
    /// several coders also `coders_rows`, `coders_alpha` and per coder `coder_<name>_n`,
    /// `coder_<name>_kappa`, `coder_<name>_alpha`; with sampling weights `weighted_population`,
    /// `weighted_accuracy`, `weighted_macro_f1`.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let s = &self.slices;
        let float = |name: &str, f: &dyn Fn(&SliceMetrics) -> Option<f64>| -> Column {
            Column::new(name.into(), s.iter().map(f).collect::<Vec<_>>())
        };
        let mut columns = vec![
            Column::new("period".into(), s.iter().map(|x| x.period.as_str()).collect::<Vec<_>>()),
            Column::new("target".into(), s.iter().map(|x| x.target.clone()).collect::<Vec<_>>()),
            Column::new("n".into(), s.iter().map(|x| x.n as u64).collect::<Vec<_>>()),
            float("accuracy", &|x| x.accuracy),
            float("macro_f1", &|x| x.macro_f1),
            float("macro_f1_low", &|x| x.macro_f1_ci.map(|c| c.low)),
            float("macro_f1_high", &|x| x.macro_f1_ci.map(|c| c.high)),
            float("f_avg", &|x| x.f_avg),
            float("f_avg_low", &|x| x.f_avg_ci.map(|c| c.low)),
            float("f_avg_high", &|x| x.f_avg_ci.map(|c| c.high)),
            float("kappa", &|x| x.kappa),
            float("kappa_low", &|x| x.kappa_ci.map(|c| c.low)),
            float("kappa_high", &|x| x.kappa_ci.map(|c| c.high)),
            float("alpha", &|x| x.alpha),
            float("ece", &|x| x.calibration.as_ref().map(|c| c.ece)),
        ];
        for (k, stance) in Stance::ALL.iter().enumerate() {
            columns.push(float(&format!("precision_{stance}"), &|x| x.classes[k].precision));
            columns.push(float(&format!("recall_{stance}"), &|x| x.classes[k].recall));
            columns.push(float(&format!("f1_{stance}"), &|x| x.classes[k].f1));
            columns.push(Column::new(
                format!("support_{stance}").into(),
                s.iter().map(|x| x.classes[k].support).collect::<Vec<_>>(),
            ));
            columns.push(Column::new(
                format!("predicted_{stance}").into(),
                s.iter().map(|x| x.classes[k].predicted).collect::<Vec<_>>(),
            ));
        }
        for (g, gold) in Stance::ALL.iter().enumerate() {
            for (p, predicted) in Stance::ALL.iter().enumerate() {
                columns.push(Column::new(
                    format!("gold_{gold}_pred_{predicted}").into(),
                    s.iter().map(|x| x.confusion.counts[g][p]).collect::<Vec<_>>(),
                ));
            }
        }
        if !self.coders.is_empty() {
            columns.push(Column::new(
                "coders_rows".into(),
                s.iter().map(|x| x.coders.as_ref().map(|c| c.rows as u64)).collect::<Vec<_>>(),
            ));
            columns.push(float("coders_alpha", &|x| x.coders.as_ref().and_then(|c| c.alpha)));
            for (k, name) in self.coders.iter().enumerate() {
                let coder = |x: &SliceMetrics| x.coders.as_ref().map(|c| c.vs_model[k].clone());
                columns.push(Column::new(
                    format!("coder_{name}_n").into(),
                    s.iter().map(|x| coder(x).map(|c| c.n as u64)).collect::<Vec<_>>(),
                ));
                columns.push(float(&format!("coder_{name}_kappa"), &|x| coder(x).and_then(|c| c.kappa)));
                columns.push(float(&format!("coder_{name}_alpha"), &|x| coder(x).and_then(|c| c.alpha)));
            }
        }
        if self.weighted {
            columns.push(float("weighted_population", &|x| x.weighted.map(|w| w.population)));
            columns.push(float("weighted_accuracy", &|x| x.weighted.and_then(|w| w.accuracy)));
            columns.push(float("weighted_macro_f1", &|x| x.weighted.and_then(|w| w.macro_f1)));
        }
        DataFrame::new(s.len(), columns)
    }

    /// The report for a terminal: a line per slice, then per-class metrics and the confusion
    /// matrix of all rows (and of each side of the split date).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let level = format!("{:.0}% CI", self.options.level * 100.0);
        for file in &self.gold {
            let _ = writeln!(
                out,
                "gold: {} ({} layout, {} rows)",
                file.path.display(),
                file.format.as_str(),
                file.rows
            );
        }
        if let Some(split) = &self.split {
            let _ = writeln!(
                out,
                "split at {}: {} rows before, {} from it on, {} undated",
                split.date, split.before, split.from, split.undated
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<36} {:>6} {:>8}  {:>8} {:<17} {:>6} {:<17} {:>6}",
            "slice", "n", "accuracy", "macro-F1", level, "F_avg", level, "ECE"
        );
        for s in &self.slices {
            let name = self.slice_name(s);
            let _ = writeln!(
                out,
                "{:<36} {:>6} {:>8}  {:>8} {:<17} {:>6} {:<17} {:>6}",
                name,
                s.n,
                num(s.accuracy),
                num(s.macro_f1),
                ci(s.macro_f1_ci),
                num(s.f_avg),
                ci(s.f_avg_ci),
                num(s.calibration.as_ref().map(|c| c.ece)),
            );
            // After a period's last target, the unweighted mean over its targets.
            let last_of_period = self.slices.iter().rev().find(|x| x.period == s.period) == Some(s);
            let mean = self.target_means.iter().find(|m| m.period == s.period && m.targets > 1);
            if let (true, Some(mean)) = (last_of_period, mean) {
                let _ = writeln!(
                    out,
                    "{:<36} {:>6} {:>8}  {:>8} {:<17} {:>6}",
                    format!("  mean over {} targets", mean.targets),
                    "",
                    "",
                    num(mean.macro_f1),
                    "",
                    num(mean.f_avg),
                );
            }
        }
        self.render_agreement(&mut out, &level);
        for s in self.slices.iter().filter(|s| s.target.is_none()) {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<10} {:>9} {:>7} {:>7} {:>8} {:>10}   ({})",
                "class",
                "precision",
                "recall",
                "F1",
                "support",
                "predicted",
                self.period_name(s.period)
            );
            for c in &s.classes {
                let _ = writeln!(
                    out,
                    "{:<10} {:>9} {:>7} {:>7} {:>8} {:>10}",
                    c.stance.as_str(),
                    num(c.precision),
                    num(c.recall),
                    num(c.f1),
                    c.support,
                    c.predicted
                );
            }
            let _ = writeln!(out, "confusion (rows: gold, columns: predicted)");
            let _ = writeln!(out, "{:<10} {:>8} {:>8} {:>8}", "", "favor", "against", "none");
            for (g, stance) in Stance::ALL.iter().enumerate() {
                let row = s.confusion.counts[g];
                let _ = writeln!(out, "{:<10} {:>8} {:>8} {:>8}", stance.as_str(), row[0], row[1], row[2]);
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "F_avg = mean of F1(favor) and F1(against) (SemEval-2016); intervals: percentile bootstrap, {} resamples, seed {}; ECE: {} equal-width bins",
            self.options.bootstrap, self.options.seed, self.options.bins
        );
        let _ = writeln!(out, "kappa: Cohen's κ; alpha: Krippendorff's α, nominal");
        if !self.coders.is_empty() {
            let _ = writeln!(
                out,
                "gold label with several coders: the label most of a row's coders chose; {} of {} rows tied (or were left blank) and count only in the coders' agreement",
                self.unlabelled, self.rows
            );
        }
        if self.weighted {
            let _ = writeln!(
                out,
                "design-weighted: each row counts sample_weight times (its inverse inclusion probability); accuracy = Σ w·[right] / Σ w, macro-F1 from the weighted confusion matrix"
            );
        }
        out
    }

    /// Agreement with the gold per slice; with several coders each coder's agreement with the
    /// model and theirs among themselves; with sampling weights the design-weighted estimates.
    fn render_agreement(&self, out: &mut String, level: &str) {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<36} {:>6} {:>8} {:<17} {:>6}",
            "agreement with the gold", "n", "kappa", level, "alpha"
        );
        for s in &self.slices {
            let _ = writeln!(
                out,
                "{:<36} {:>6} {:>8} {:<17} {:>6}",
                self.slice_name(s),
                s.n,
                num(s.kappa),
                ci(s.kappa_ci),
                num(s.alpha)
            );
        }
        if !self.coders.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<36} {:>6} {:>9}  {:<16} {:>6} {:>8} {:>6}",
                "coders", "rows", "coders' α", "coder vs model", "n", "kappa", "alpha"
            );
            for s in &self.slices {
                let Some(coders) = &s.coders else { continue };
                for (k, c) in coders.vs_model.iter().enumerate() {
                    let (name, rows, alpha) = if k == 0 {
                        (self.slice_name(s), coders.rows.to_string(), num(coders.alpha))
                    } else {
                        (String::new(), String::new(), String::new())
                    };
                    let _ = writeln!(
                        out,
                        "{:<36} {:>6} {:>9}  {:<16} {:>6} {:>8} {:>6}",
                        name,
                        rows,
                        alpha,
                        shorten(&c.coder, 16),
                        c.n,
                        num(c.kappa),
                        num(c.alpha)
                    );
                }
            }
        }
        if self.weighted {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{:<36} {:>10} {:>8}  {:>8}",
                "design-weighted (sample_weight)", "population", "accuracy", "macro-F1"
            );
            for s in &self.slices {
                let Some(w) = s.weighted else { continue };
                let _ = writeln!(
                    out,
                    "{:<36} {:>10.1} {:>8}  {:>8}",
                    self.slice_name(s),
                    w.population,
                    num(w.accuracy),
                    num(w.macro_f1)
                );
            }
        }
    }

    fn slice_name(&self, s: &SliceMetrics) -> String {
        match (&s.target, s.period) {
            (None, Period::All) => "all".to_owned(),
            (None, p) => self.period_name(p),
            (Some(t), _) => format!("  {}", shorten(t, 34)),
        }
    }

    fn period_name(&self, period: Period) -> String {
        let date = self.split.as_ref().map_or("", |s| s.date.as_str());
        match period {
            Period::All => "all rows".to_owned(),
            Period::Before => format!("before {date}"),
            Period::From => format!("from {date}"),
        }
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn ci(c: Option<Interval>) -> String {
    c.map_or_else(|| "-".to_owned(), |c| format!("[{:.3}, {:.3}]", c.low, c.high))
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::ParsedDate;
    use crate::eval::gold::GoldFormat;
    use crate::provenance::Provenance;
    use Stance::{Against as A, Favor as F, None as N};

    fn gold(labels: Vec<Stance>, targets: Vec<&str>) -> GoldSet {
        GoldSet {
            files: vec![GoldFile {
                path: "gold.csv".into(),
                format: GoldFormat::Table,
                rows: labels.len(),
                input_rows: labels.len(),
                columns: Default::default(),
                provenance: Provenance::default(),
                sha256: String::new(),
                scored: false,
                targets_seen: Vec::new(),
            }],
            texts: labels.iter().map(|l| l.to_string()).collect(),
            targets: targets.into_iter().map(str::to_owned).collect(),
            labels: labels.into_iter().map(Some).collect(),
            coders: None,
            weights: None,
            dates: None::<Vec<Option<ParsedDate>>>,
            given: None,
        }
    }

    #[test]
    fn restricted_predictions_renormalise() {
        let p = Predictions::from_probs(&[[0.2, 0.3, 0.5], [0.0, 0.0, 1.0]], &[F, A]);
        assert_eq!(p.labels, vec![A, F]);
        let probs = p.probs.unwrap();
        assert!((probs[0][1] - 0.6).abs() < 1e-12 && probs[0][2] == 0.0);
        assert_eq!(probs[1], [0.5, 0.5, 0.0]);
        // Ties go to favor, then against.
        assert_eq!(Predictions::from_probs(&[[0.4, 0.4, 0.2]], &Stance::ALL).labels, vec![F]);
    }

    #[test]
    fn slices_cover_all_rows_targets_and_split_sides() {
        let g = gold(vec![F, A, N, F, A, A], vec!["x", "x", "x", "y", "y", "y"]);
        let p = Predictions::from_labels(vec![F, A, A, F, F, A]);
        let sides =
            [Some(Period::Before), Some(Period::Before), None, Some(Period::From), Some(Period::From), None];
        let report = build_report(&g, &p, &EvalOptions::default(), Some(("2025-01-01", &sides)));
        let names: Vec<(Period, Option<&str>, usize)> =
            report.slices.iter().map(|s| (s.period, s.target.as_deref(), s.n)).collect();
        assert_eq!(
            names,
            [
                (Period::All, None, 6),
                (Period::All, Some("x"), 3),
                (Period::All, Some("y"), 3),
                (Period::Before, None, 2),
                (Period::Before, Some("x"), 2),
                (Period::From, None, 2),
                (Period::From, Some("y"), 2),
            ]
        );
        assert_eq!(report.split.as_ref().unwrap().undated, 2);
        // x: F1 favor 1, against 2/3 (TP 1, FP 1), none 0 (TP 0, FN 1) → F_avg 5/6.
        let x = &report.slices[1];
        assert!((x.f_avg.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // y: favor TP 1 FP 1 → 2/3; against TP 1 FN 1 → 2/3 → F_avg 2/3; mean over x, y.
        let mean = &report.target_means[0];
        assert_eq!(mean.targets, 2);
        assert!((mean.f_avg.unwrap() - (5.0 / 6.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // Labels only: no calibration.
        assert!(report.slices.iter().all(|s| s.calibration.is_none()));
        let frame = report.to_frame().unwrap();
        assert_eq!(frame.height(), 7);
        assert_eq!(frame.width(), 15 + 15 + 9);
        let text = report.render();
        assert!(text.contains("before 2025-01-01"), "{text}");
        assert!(text.contains("  mean over 2 targets"), "{text}");
    }
}
