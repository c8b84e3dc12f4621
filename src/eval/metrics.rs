//! Classification metrics for stance: accuracy, per-class precision / recall / F1, macro-F1,
//! the SemEval-2016 F_avg, the confusion matrix, expected calibration error, agreement
//! (Cohen's κ, Krippendorff's α), design-weighted estimates, and percentile bootstrap
//! intervals.
//!
//! Conventions (they decide what happens when a class is missing):
//! - precision of a class is undefined (`None`) when it is never predicted, recall when it
//!   never occurs in the gold labels; F1 = 2·TP / (2·TP + FP + FN), undefined only when the
//!   class neither occurs nor is predicted (then there is nothing to score). So a class that
//!   is predicted but never occurs has F1 = 0, and pulls macro-F1 down, as in scikit-learn.
//! - macro-F1 is the mean F1 over the classes whose F1 is defined (those that occur or are
//!   predicted): a two-class gold set such as P-Stance, scored by a model that never says
//!   `none`, gets the two-class macro-F1 its papers report.
//! - F_avg (SemEval-2016 Task 6, Mohammad et al. 2016) is the mean of F1(favor) and
//!   F1(against), `none` excluded, computed from counts pooled over all rows (as the official
//!   script does, not averaged over targets); one of the two undefined counts as 0, as in
//!   the official script, so a slice without favor rows halves F1(against).

use serde::Serialize;

use crate::analysis::bootstrap::quantile_sorted;
use crate::analysis::rng::Xoshiro256;
use crate::targets::Stance;

/// Counts of gold label × predicted label, in [`Stance::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Confusion {
    /// `counts[gold][predicted]`.
    pub counts: [[u64; 3]; 3],
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub stance: Stance,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Rows whose gold label is this class.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// F1 of class `c` from counts (plain or weighted) `counts[gold][predicted]`:
/// 2·TP / (2·TP + FP + FN), undefined when the class neither occurs nor is predicted.
fn f1_of(counts: &[[f64; 3]; 3], c: usize) -> Option<f64> {
    let support: f64 = counts[c].iter().sum();
    let predicted: f64 = (0..3).map(|g| counts[g][c]).sum();
    ratio(2.0 * counts[c][c], support + predicted)
}

/// Share of the (weighted) rows on the diagonal.
fn accuracy_of(counts: &[[f64; 3]; 3]) -> Option<f64> {
    let total: f64 = counts.iter().flatten().sum();
    ratio((0..3).map(|i| counts[i][i]).sum(), total)
}

fn macro_f1_of(counts: &[[f64; 3]; 3]) -> Option<f64> {
    mean_defined((0..3).map(|c| f1_of(counts, c)))
}

impl Confusion {
    pub fn from_labels(gold: &[Stance], predicted: &[Stance]) -> Self {
        let mut confusion = Self::default();
        for (&g, &p) in gold.iter().zip(predicted) {
            confusion.add(g, p);
        }
        confusion
    }

    pub fn add(&mut self, gold: Stance, predicted: Stance) {
        self.counts[gold as usize][predicted as usize] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> u64 {
        (0..3).map(|i| self.counts[i][i]).sum()
    }

    fn as_f64(&self) -> [[f64; 3]; 3] {
        self.counts.map(|row| row.map(|c| c as f64))
    }

    /// Share of rows predicted right; `None` without rows.
    pub fn accuracy(&self) -> Option<f64> {
        accuracy_of(&self.as_f64())
    }

    pub fn class(&self, stance: Stance) -> ClassMetrics {
        let c = stance as usize;
        let tp = self.counts[c][c];
        let support: u64 = self.counts[c].iter().sum();
        let predicted: u64 = (0..3).map(|g| self.counts[g][c]).sum();
        ClassMetrics {
            stance,
            precision: ratio(tp as f64, predicted as f64),
            recall: ratio(tp as f64, support as f64),
            f1: f1_of(&self.as_f64(), c),
            support,
            predicted,
        }
    }

    /// Mean F1 over the classes that occur or are predicted.
    pub fn macro_f1(&self) -> Option<f64> {
        macro_f1_of(&self.as_f64())
    }

    /// Cohen's κ of the predictions against the gold labels: (p_o − p_e) / (1 − p_e), with
    /// p_o the share of agreement and p_e = Σ_k (gold share of k)·(predicted share of k), the
    /// agreement expected by chance. `None` without rows, or when p_e = 1 (both sides use one
    /// and the same class only: κ is 0/0, as scikit-learn's `cohen_kappa_score` gives NaN).
    pub fn kappa(&self) -> Option<f64> {
        let n = self.total() as f64;
        if n == 0.0 {
            return None;
        }
        let observed = self.correct() as f64 / n;
        let expected: f64 = (0..3)
            .map(|k| {
                let gold: u64 = self.counts[k].iter().sum();
                let predicted: u64 = (0..3).map(|g| self.counts[g][k]).sum();
                gold as f64 * predicted as f64
            })
            .sum::<f64>()
            / (n * n);
        (expected < 1.0).then(|| (observed - expected) / (1.0 - expected))
    }

    /// Krippendorff's α (nominal) with the gold labels and the predictions as two coders of
    /// every row.
    pub fn alpha(&self) -> Option<f64> {
        let mut units = Vec::with_capacity(9);
        for g in 0..3 {
            for p in 0..3 {
                let mut counts = [0u32; 3];
                counts[g] += 1;
                counts[p] += 1;
                units.push((counts, self.counts[g][p] as f64));
            }
        }
        krippendorff_alpha(units)
    }

    /// SemEval-2016's F_avg as its official script (`eval.pl`) computes it: the mean of
    /// F1(favor) and F1(against), a class neither present nor predicted counting as 0 (the
    /// script's P = R = F = 0), so the sum is always halved. `None` when neither class is
    /// present or predicted.
    pub fn f_avg(&self) -> Option<f64> {
        let f1 = [Stance::Favor, Stance::Against].map(|s| self.class(s).f1);
        f1.iter().any(Option::is_some).then(|| f1.iter().map(|f| f.unwrap_or(0.0)).sum::<f64>() / 2.0)
    }
}

fn mean_defined(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let defined: Vec<f64> = values.flatten().collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

/// Krippendorff's α for nominal data (Krippendorff 2011, "Computing Krippendorff's
/// Alpha-Reliability"). Each unit is given by how many of its coders chose each class, with a
/// multiplicity (identical units counted once). Units with fewer than two values are not
/// pairable and are left out; a unit with m values adds `n_c·(n_k − [c = k]) / (m − 1)` to
/// the coincidence of classes c and k. With n_c the coincidence margins and n their sum,
/// α = 1 − (n − 1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k. `None` when no two values are pairable or
/// every pairable value is the same class (0/0).
pub fn krippendorff_alpha(units: impl IntoIterator<Item = ([u32; 3], f64)>) -> Option<f64> {
    let mut coincidence = [[0.0f64; 3]; 3];
    for (counts, multiplicity) in units {
        let m: u32 = counts.iter().sum();
        if m < 2 || multiplicity == 0.0 {
            continue;
        }
        let scale = multiplicity / f64::from(m - 1);
        for c in 0..3 {
            for k in 0..3 {
                let others = f64::from(counts[k]) - if c == k { 1.0 } else { 0.0 };
                coincidence[c][k] += f64::from(counts[c]) * others * scale;
            }
        }
    }
    let margins: [f64; 3] = coincidence.map(|row| row.iter().sum());
    let n: f64 = margins.iter().sum();
    let mut disagreement = 0.0;
    let mut chance = 0.0;
    for c in 0..3 {
        for k in (0..3).filter(|&k| k != c) {
            disagreement += coincidence[c][k];
            chance += margins[c] * margins[k];
        }
    }
    (n > 1.0 && chance > 0.0).then(|| 1.0 - (n - 1.0) * disagreement / chance)
}

/// How many coders chose each class, from one unit's labels (missing ones skipped).
pub fn class_counts(labels: impl IntoIterator<Item = Option<Stance>>) -> [u32; 3] {
    let mut counts = [0u32; 3];
    for label in labels.into_iter().flatten() {
        counts[label as usize] += 1;
    }
    counts
}

/// The label more coders chose than any other; `None` on a tie for the most votes (or
/// without any label).
pub fn majority(counts: [u32; 3]) -> Option<Stance> {
    let most = counts.iter().copied().max().unwrap_or(0);
    if most == 0 {
        return None;
    }
    let mut winners = Stance::ALL.into_iter().filter(|&s| counts[s as usize] == most);
    let winner = winners.next();
    if winners.next().is_some() {
        None
    } else {
        winner
    }
}

/// Design-weighted estimates for the population a stratified sample was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weighted {
    /// Σ weights: the estimated number of rows in the population.
    pub population: f64,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
}

/// Each row counts `weights[i]` times (its inverse inclusion probability) in a weighted
/// confusion matrix, which estimates the population's: accuracy is Σ w·[right] / Σ w (the
/// Hájek ratio estimator) and macro-F1 is computed from the weighted counts as from plain
/// ones. `None` without rows.
pub fn weighted(gold: &[Stance], predicted: &[Stance], weights: &[f64]) -> Option<Weighted> {
    if gold.is_empty() {
        return None;
    }
    let mut counts = [[0.0f64; 3]; 3];
    for ((&g, &p), &w) in gold.iter().zip(predicted).zip(weights) {
        counts[g as usize][p as usize] += w;
    }
    Some(Weighted {
        population: weights.iter().sum(),
        accuracy: accuracy_of(&counts),
        macro_f1: macro_f1_of(&counts),
    })
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub n: u64,
    /// Mean confidence of the rows in the bin.
    pub confidence: f64,
    /// Share of the bin's rows predicted right.
    pub accuracy: f64,
}

/// Expected calibration error and the non-empty bins it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub ece: f64,
    pub bins: Vec<CalibrationBin>,
}

/// Expected calibration error (Guo et al. 2017) of the predicted class's probability:
/// confidences fall into `bins` equal-width bins of [0, 1], bin `k` holding
/// `k/bins < c ≤ (k+1)/bins` (the first bin also holds 0); ECE = Σ (nₖ/n) |accₖ − confₖ|.
/// `None` without rows or bins.
pub fn calibration(confidence: &[f64], correct: &[bool], bins: usize) -> Option<Calibration> {
    if confidence.is_empty() || bins == 0 {
        return None;
    }
    let mut sums = vec![(0u64, 0.0f64, 0u64); bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let c = c.clamp(0.0, 1.0);
        let k = ((c * bins as f64).ceil() as usize).saturating_sub(1).min(bins - 1);
        sums[k].0 += 1;
        sums[k].1 += c;
        sums[k].2 += u64::from(ok);
    }
    let n = confidence.len() as f64;
    let mut ece = 0.0;
    let mut out = Vec::new();
    for (k, &(count, confidence_sum, hits)) in sums.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let confidence = confidence_sum / count as f64;
        let accuracy = hits as f64 / count as f64;
        ece += count as f64 / n * (accuracy - confidence).abs();
        out.push(CalibrationBin {
            lower: k as f64 / bins as f64,
            upper: (k + 1) as f64 / bins as f64,
            n: count,
            confidence,
            accuracy,
        });
    }
    Some(Calibration { ece, bins: out })
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Bootstrap intervals of the metrics that take one gold label per row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Intervals {
    pub macro_f1: Option<Interval>,
    pub f_avg: Option<Interval>,
    pub kappa: Option<Interval>,
}

/// Percentile bootstrap intervals of macro-F1, F_avg and Cohen's κ: `replicates` resamples of
/// the rows (with replacement, same size), each scored like the original, read at the
/// `(1 − level)/2` and `(1 + level)/2` quantiles (type 7). Resamples on which a metric is
/// undefined are left out of its interval. `None` without rows or replicates.
pub fn bootstrap_intervals(
    gold: &[Stance],
    predicted: &[Stance],
    replicates: usize,
    level: f64,
    rng: &mut Xoshiro256,
) -> Intervals {
    let n = gold.len();
    if n == 0 || replicates == 0 {
        return Intervals::default();
    }
    let mut macro_f1 = Vec::with_capacity(replicates);
    let mut f_avg = Vec::with_capacity(replicates);
    let mut kappa = Vec::with_capacity(replicates);
    for _ in 0..replicates {
        let mut confusion = Confusion::default();
        for _ in 0..n {
            let i = rng.below(n);
            confusion.add(gold[i], predicted[i]);
        }
        macro_f1.extend(confusion.macro_f1());
        f_avg.extend(confusion.f_avg());
        kappa.extend(confusion.kappa());
    }
    let tail = (1.0 - level) / 2.0;
    let interval = |mut values: Vec<f64>| {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable_by(f64::total_cmp);
        Some(Interval { low: quantile_sorted(&values, tail), high: quantile_sorted(&values, 1.0 - tail) })
    };
    Intervals { macro_f1: interval(macro_f1), f_avg: interval(f_avg), kappa: interval(kappa) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stance::{Against as A, Favor as F, None as N};

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// Worked by hand. Gold × predicted:
    /// ```text
    ///            pred F  pred A  pred N
    /// gold F        3       1       1     (5)
    /// gold A        1       4       0     (5)
    /// gold N        0       2       2     (4)
    /// ```
    fn example() -> Confusion {
        let pairs = [(F, F, 3), (F, A, 1), (F, N, 1), (A, F, 1), (A, A, 4), (N, A, 2), (N, N, 2)];
        let mut gold = Vec::new();
        let mut predicted = Vec::new();
        for (g, p, k) in pairs {
            for _ in 0..k {
                gold.push(g);
                predicted.push(p);
            }
        }
        Confusion::from_labels(&gold, &predicted)
    }

    #[test]
    fn hand_worked_three_class_example() {
        let c = example();
        assert_eq!(c.counts, [[3, 1, 1], [1, 4, 0], [0, 2, 2]]);
        assert_eq!(c.total(), 14);
        close(c.accuracy(), 9.0 / 14.0);
        // favor: TP 3, predicted 4, support 5 → P 3/4, R 3/5, F1 6/9.
        let f = c.class(F);
        close(f.precision, 0.75);
        close(f.recall, 0.6);
        close(f.f1, 2.0 / 3.0);
        // against: TP 4, predicted 7, support 5 → P 4/7, R 4/5, F1 8/12.
        let a = c.class(A);
        close(a.precision, 4.0 / 7.0);
        close(a.recall, 0.8);
        close(a.f1, 2.0 / 3.0);
        // none: TP 2, predicted 3, support 4 → P 2/3, R 1/2, F1 4/7.
        let n = c.class(N);
        close(n.precision, 2.0 / 3.0);
        close(n.recall, 0.5);
        close(n.f1, 4.0 / 7.0);
        close(c.macro_f1(), (2.0 / 3.0 + 2.0 / 3.0 + 4.0 / 7.0) / 3.0);
        // F_avg leaves none out.
        close(c.f_avg(), 2.0 / 3.0);
    }

    #[test]
    fn kappa_and_alpha_by_hand() {
        let c = example();
        // p_o = 9/14; margins gold 5, 5, 4 and predicted 4, 7, 3 → p_e = 67/196.
        close(c.kappa(), 59.0 / 129.0);
        // Coincidences o = C + Cᵀ: margins 9, 12, 7 (n = 28), 10 off the diagonal, and
        // Σ_{c≠k} n_c·n_k = 28² − (81 + 144 + 49) = 510 → α = 1 − 27·10/510.
        close(c.alpha(), 8.0 / 17.0);
        // All rows one class on both sides: chance agreement is 1, κ and α are 0/0.
        let same = Confusion::from_labels(&[F, F], &[F, F]);
        assert_eq!((same.kappa(), same.alpha()), (None, None));
        assert_eq!(Confusion::default().kappa(), None);
        // Perfect agreement over two classes.
        let perfect = Confusion::from_labels(&[F, A], &[F, A]);
        close(perfect.kappa(), 1.0);
        close(perfect.alpha(), 1.0);
    }

    #[test]
    fn alpha_leaves_out_units_with_one_value_and_majority_drops_ties() {
        // Three coders; the last unit has one value only and does not count.
        let units = [[F, F, A], [A, A, A], [N, N, F], [F, F, F]].map(|u| class_counts(u.map(Some)));
        let with_lone = units.iter().map(|&u| (u, 1.0)).chain([(class_counts([Some(A)]), 1.0)]);
        assert_eq!(krippendorff_alpha(with_lone), krippendorff_alpha(units.iter().map(|&u| (u, 1.0))));
        // Coincidences (each unit's pairs over m − 1 = 2): favor-favor 1 + 3, against-against 3,
        // none-none 1, favor-against 1 each way, favor-none 1 each way. Margins 6, 4, 2
        // (n = 12), 4 off the diagonal → α = 1 − 11·4 / (144 − 36 − 16 − 4).
        close(krippendorff_alpha(units.iter().map(|&u| (u, 1.0))), 1.0 - 44.0 / 88.0);
        assert_eq!(majority(class_counts([Some(F), Some(A), None])), None);
        assert_eq!(majority(class_counts([Some(F), Some(A), Some(A)])), Some(A));
        assert_eq!(majority(class_counts([None, None])), None);
        assert_eq!(majority(class_counts([Some(N)])), Some(N));
    }

    #[test]
    fn weighted_estimates_count_rows_by_their_weights() {
        // Two strata: 2 rows standing for 10 each (both right), 2 rows for 1 each (both wrong).
        let gold = [F, F, A, A];
        let predicted = [F, F, F, F];
        let w = weighted(&gold, &predicted, &[10.0, 10.0, 1.0, 1.0]).unwrap();
        assert_eq!(w.population, 22.0);
        close(w.accuracy, 20.0 / 22.0);
        // favor: TP 20, FP 2 → F1 40/42; against: TP 0, FN 2 → 0.
        close(w.macro_f1, (40.0 / 42.0) / 2.0);
        // Equal weights give the plain estimates.
        let plain = Confusion::from_labels(&gold, &predicted);
        let w = weighted(&gold, &predicted, &[3.0; 4]).unwrap();
        close(w.accuracy, plain.accuracy().unwrap());
        close(w.macro_f1, plain.macro_f1().unwrap());
        assert_eq!(weighted(&[], &[], &[]), None);
    }

    #[test]
    fn f_avg_is_the_mean_of_favor_and_against_f1_only() {
        // Perfect on none, poor on favor and against: F_avg ignores the none class.
        let gold = [F, F, A, A, N, N, N, N];
        let predicted = [F, A, A, F, N, N, N, N];
        let c = Confusion::from_labels(&gold, &predicted);
        close(c.class(F).f1, 0.5);
        close(c.class(A).f1, 0.5);
        close(c.class(N).f1, 1.0);
        close(c.f_avg(), 0.5);
        close(c.macro_f1(), 2.0 / 3.0);
    }

    #[test]
    fn class_that_never_occurs() {
        // No `none` in gold (as in P-Stance), but the model predicts it once.
        let gold = [F, F, A, A];
        let predicted = [F, N, A, A];
        let c = Confusion::from_labels(&gold, &predicted);
        let n = c.class(N);
        assert_eq!((n.support, n.predicted), (0, 1));
        assert_eq!(n.recall, None);
        close(n.precision, 0.0);
        close(n.f1, 0.0);
        // favor: TP 1, FN 1 → F1 2/3; against: TP 2, FP 0 → F1 1.
        close(c.macro_f1(), (2.0 / 3.0 + 1.0 + 0.0) / 3.0);
        close(c.f_avg(), (2.0 / 3.0 + 1.0) / 2.0);

        // Never predicted either: undefined, and left out of macro-F1.
        let c = Confusion::from_labels(&gold, &[F, A, A, A]);
        let n = c.class(N);
        assert_eq!((n.precision, n.recall, n.f1), (None, None, None));
        // favor: TP 1, FN 1 → 2/3; against: TP 2, FP 1 → 4/5.
        close(c.macro_f1(), (2.0 / 3.0 + 0.8) / 2.0);

        // A class that occurs but is never predicted has no precision and F1 0.
        let favor = c.class(F);
        assert_eq!(favor.predicted, 1);
        let c = Confusion::from_labels(&[F, A], &[A, A]);
        assert_eq!(c.class(F).precision, None);
        close(c.class(F).f1, 0.0);

        // No favor in gold or predictions: F1(favor) is undefined, and F_avg counts it as 0,
        // as SemEval's eval.pl does (a per-target breakdown can lack a class).
        let c = Confusion::from_labels(&[A, A, N, N], &[A, N, N, N]);
        assert_eq!(c.class(F).f1, None);
        // against: TP 1, FN 1 → 2/3.
        close(c.f_avg(), (2.0 / 3.0) / 2.0);
    }

    #[test]
    fn empty_input_has_no_metrics() {
        let c = Confusion::default();
        assert_eq!(c.accuracy(), None);
        assert_eq!(c.macro_f1(), None);
        assert_eq!(c.f_avg(), None);
        assert_eq!(calibration(&[], &[], 10), None);
    }

    #[test]
    fn expected_calibration_error_by_hand() {
        // Bin (0.5, 0.6]: 0.55, 0.6 (one right) → conf 0.575, acc 0.5;
        // bin (0.9, 1.0]: 0.95, 1.0 (both right) → conf 0.975, acc 1.
        let confidence = [0.55, 0.6, 0.95, 1.0];
        let correct = [true, false, true, true];
        let cal = calibration(&confidence, &correct, 10).unwrap();
        assert_eq!(cal.bins.len(), 2);
        assert_eq!(cal.bins[0].n, 2);
        assert!((cal.bins[0].lower - 0.5).abs() < 1e-12 && (cal.bins[0].upper - 0.6).abs() < 1e-12);
        assert!((cal.bins[1].lower - 0.9).abs() < 1e-12);
        let expected = 0.5 * (0.575f64 - 0.5).abs() + 0.5 * (0.975f64 - 1.0).abs();
        assert!((cal.ece - expected).abs() < 1e-12, "{}", cal.ece);
        // A confidence of exactly 0 lands in the first bin.
        let cal = calibration(&[0.0], &[false], 10).unwrap();
        assert_eq!(cal.bins[0].lower, 0.0);
        assert_eq!(cal.ece, 0.0);
        // Perfectly calibrated: confidence 1 and always right.
        assert_eq!(calibration(&[1.0, 1.0], &[true, true], 10).unwrap().ece, 0.0);
    }

    #[test]
    fn bootstrap_intervals_bracket_the_estimate_and_are_seeded() {
        let c = example();
        let mut gold = Vec::new();
        let mut predicted = Vec::new();
        for (g, row) in c.counts.iter().enumerate() {
            for (p, &k) in row.iter().enumerate() {
                for _ in 0..k * 5 {
                    gold.push(Stance::ALL[g]);
                    predicted.push(Stance::ALL[p]);
                }
            }
        }
        let run =
            |seed| bootstrap_intervals(&gold, &predicted, 500, 0.95, &mut Xoshiro256::seed_from_u64(seed));
        let Intervals { macro_f1: m, f_avg: f, kappa: k } = run(1);
        let (m, f, k) = (m.unwrap(), f.unwrap(), k.unwrap());
        let kappa = c.kappa().unwrap();
        assert!(k.low < kappa && kappa < k.high, "{k:?} vs {kappa}");
        let estimate = c.macro_f1().unwrap();
        assert!(m.low < estimate && estimate < m.high, "{m:?} vs {estimate}");
        assert!(f.low < 2.0 / 3.0 && 2.0 / 3.0 < f.high, "{f:?}");
        // 70 rows: the interval is wide but well inside [0, 1].
        assert!(m.high - m.low > 0.05 && m.high - m.low < 0.5, "{m:?}");
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        // All rows right: a degenerate interval at 1.
        let all_right = bootstrap_intervals(&gold, &gold, 50, 0.95, &mut Xoshiro256::seed_from_u64(3));
        assert_eq!(all_right.macro_f1, Some(Interval { low: 1.0, high: 1.0 }));
        assert_eq!(all_right.kappa, Some(Interval { low: 1.0, high: 1.0 }));
    }
}
