//! Training a stance head: class weights, seeded stratified k-fold cross-validation, an L2
//! penalty chosen by it when several are given, and the final fit on every row.

use serde::Serialize;

use super::logistic::{fit, Fit, LogisticOptions, Problem};
use super::metrics::Confusion;
use super::EvalError;
use crate::analysis::rng::{derive_seed, Xoshiro256};
use crate::targets::Stance;

/// How rows are weighted in the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Each class weighs the same in total: row weight n / (classes × rows of its class).
    Balanced,
    /// Every row weighs 1.
    None,
}

/// Options of `stance train`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainOptions {
    /// L2 penalties to try; with more than one, cross-validated macro-F1 picks (ties: the
    /// larger penalty).
    pub l2: Vec<f64>,
    pub class_weight: ClassWeight,
    /// Cross-validation folds; 0 skips cross-validation (then only one `l2` may be given).
    pub folds: usize,
    /// Seed of the fold assignment (the fit itself uses no randomness).
    pub seed: u64,
    pub max_iter: usize,
    pub tolerance: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            l2: vec![1e-5, 1e-4, 1e-3, 1e-2],
            class_weight: ClassWeight::Balanced,
            folds: 5,
            seed: 42,
            max_iter: LogisticOptions::default().max_iter,
            tolerance: LogisticOptions::default().tolerance,
        }
    }
}

/// Cross-validation of one penalty: metrics of the out-of-fold predictions of every row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidation {
    pub l2: f64,
    pub folds: usize,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub f_avg: Option<f64>,
    /// Macro-F1 of each fold's held-out rows.
    pub fold_macro_f1: Vec<Option<f64>>,
    pub confusion: Confusion,
}

/// A trained head's numbers, before it is tied to an embedding model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Training {
    /// The stances present in the data, in [`Stance::ALL`] order: the head's outputs.
    pub classes: Vec<Stance>,
    pub class_counts: [usize; 3],
    pub class_weights: Vec<f64>,
    pub cross_validation: Vec<CrossValidation>,
    pub l2: f64,
    pub fit: Fit,
    /// Accuracy of the final head on the rows it was trained on.
    pub train_accuracy: f64,
}

/// Trains on `x` (`labels.len()` rows of `d` features). `strata` (e.g. each row's target)
/// keeps folds balanced by stratum × label as well as by label.
pub fn train_on_features(
    x: &[f64],
    d: usize,
    labels: &[Stance],
    strata: &[usize],
    options: &TrainOptions,
) -> Result<Training, EvalError> {
    let n = labels.len();
    let mut class_counts = [0usize; 3];
    for &l in labels {
        class_counts[l as usize] += 1;
    }
    let classes: Vec<Stance> = Stance::ALL.into_iter().filter(|&s| class_counts[s as usize] > 0).collect();
    if classes.len() < 2 {
        return Err(EvalError::OneClass { class: labels.first().map_or("none", |s| s.as_str()) });
    }
    if options.l2.is_empty() || options.l2.iter().any(|&l| !(l > 0.0 && l.is_finite())) {
        return Err(EvalError::InvalidOption {
            option: "--l2",
            value: format!("{:?}", options.l2),
            expected: "one or more positive numbers",
        });
    }
    if options.folds == 1 {
        return Err(EvalError::InvalidOption {
            option: "--folds",
            value: "1".into(),
            expected: "0 (no cross-validation) or at least 2",
        });
    }
    if options.folds == 0 && options.l2.len() > 1 {
        return Err(EvalError::InvalidOption {
            option: "--l2",
            value: format!("{:?}", options.l2),
            expected: "a single value without cross-validation (--folds 0)",
        });
    }
    if options.folds > 0 {
        // Stratified folds give every training split each class that has two rows or more.
        if let Some(&class) = classes.iter().find(|&&c| class_counts[c as usize] < 2) {
            return Err(EvalError::TooFewRows { class: class.as_str(), rows: class_counts[class as usize] });
        }
        if n < options.folds {
            return Err(EvalError::InvalidOption {
                option: "--folds",
                value: options.folds.to_string(),
                expected: "at most the number of rows",
            });
        }
    }
    let index_of = |s: Stance| classes.iter().position(|&c| c == s).expect("class present");
    let y: Vec<usize> = labels.iter().map(|&s| index_of(s)).collect();
    let class_weights: Vec<f64> = classes
        .iter()
        .map(|&c| match options.class_weight {
            ClassWeight::Balanced => n as f64 / (classes.len() * class_counts[c as usize]) as f64,
            ClassWeight::None => 1.0,
        })
        .collect();
    let weights: Vec<f64> = y.iter().map(|&c| class_weights[c]).collect();
    let fit_options = |l2| LogisticOptions { l2, max_iter: options.max_iter, tolerance: options.tolerance };

    let mut cross_validation = Vec::new();
    if options.folds > 0 {
        let fold_of = stratified_folds(&y, strata, options.folds, options.seed);
        for &l2 in &options.l2 {
            cross_validation.push(cross_validate(
                x,
                d,
                &y,
                &classes,
                &weights,
                &fold_of,
                options.folds,
                fit_options(l2),
            ));
        }
    }
    let l2 = cross_validation
        .iter()
        .fold(None::<&CrossValidation>, |best, cv| match best {
            Some(b) if cv.macro_f1.unwrap_or(-1.0) < b.macro_f1.unwrap_or(-1.0) => Some(b),
            Some(b) if cv.macro_f1.unwrap_or(-1.0) == b.macro_f1.unwrap_or(-1.0) && cv.l2 < b.l2 => Some(b),
            _ => Some(cv),
        })
        .map_or(options.l2[0], |cv| cv.l2);

    let problem = Problem { x, d, y: &y, k: classes.len(), weights: &weights };
    let final_fit = fit(&problem, &fit_options(l2));
    let correct = x.chunks(d).zip(&y).filter(|(row, &c)| final_fit.predict(row) == c).count();
    Ok(Training {
        classes,
        class_counts,
        class_weights,
        cross_validation,
        l2,
        fit: final_fit,
        train_accuracy: correct as f64 / n as f64,
    })
}

/// Fold of every row: rows of each stratum × class are shuffled (seeded) and dealt round-robin,
/// continuing the count from one group to the next, so folds differ in size by at most one and
/// each holds every class in proportion.
pub fn stratified_folds(y: &[usize], strata: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut groups: std::collections::BTreeMap<(usize, usize), Vec<usize>> = Default::default();
    for (i, &c) in y.iter().enumerate() {
        groups.entry((strata.get(i).copied().unwrap_or(0), c)).or_default().push(i);
    }
    let mut rng = Xoshiro256::seed_from_u64(derive_seed(seed, &[b"train-folds"]));
    let mut fold_of = vec![0; y.len()];
    let mut next = 0;
    for rows in groups.values_mut() {
        rng.shuffle(rows);
        for &i in rows.iter() {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    fold_of
}

#[allow(clippy::too_many_arguments)]
fn cross_validate(
    x: &[f64],
    d: usize,
    y: &[usize],
    classes: &[Stance],
    weights: &[f64],
    fold_of: &[usize],
    folds: usize,
    options: LogisticOptions,
) -> CrossValidation {
    let mut pooled = Confusion::default();
    let mut fold_macro_f1 = Vec::with_capacity(folds);
    for fold in 0..folds {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] != fold).collect();
        let held_out: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] == fold).collect();
        let train_x: Vec<f64> = train.iter().flat_map(|&i| x[i * d..(i + 1) * d].iter().copied()).collect();
        let train_y: Vec<usize> = train.iter().map(|&i| y[i]).collect();
        let train_w: Vec<f64> = train.iter().map(|&i| weights[i]).collect();
        let problem = Problem { x: &train_x, d, y: &train_y, k: classes.len(), weights: &train_w };
        let model = fit(&problem, &options);
        let mut confusion = Confusion::default();
        for &i in &held_out {
            let predicted = model.predict(&x[i * d..(i + 1) * d]);
            confusion.add(classes[y[i]], classes[predicted]);
        }
        fold_macro_f1.push(confusion.macro_f1());
        for g in 0..3 {
            for p in 0..3 {
                pooled.counts[g][p] += confusion.counts[g][p];
            }
        }
    }
    CrossValidation {
        l2: options.l2,
        folds,
        accuracy: pooled.accuracy(),
        macro_f1: pooled.macro_f1(),
        f_avg: pooled.f_avg(),
        fold_macro_f1,
        confusion: pooled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 rows in 8 dimensions: three classes in separate corners, with a deterministic wobble.
    fn separable() -> (Vec<f64>, Vec<Stance>, Vec<usize>) {
        let mut x = Vec::new();
        let mut labels = Vec::new();
        let mut strata = Vec::new();
        for i in 0..60 {
            let class = i % 3;
            for j in 0..8 {
                let centre = if j == class { 1.0 } else { 0.0 };
                x.push(centre + 0.2 * ((i * 7 + j * 3) as f64).sin());
            }
            labels.push(Stance::ALL[class]);
            strata.push(i % 2);
        }
        (x, labels, strata)
    }

    #[test]
    fn separable_data_reaches_full_accuracy_in_and_out_of_fold() {
        let (x, labels, strata) = separable();
        let training = train_on_features(&x, 8, &labels, &strata, &TrainOptions::default()).unwrap();
        assert_eq!(training.classes, Stance::ALL.to_vec());
        assert_eq!(training.train_accuracy, 1.0);
        assert_eq!(training.cross_validation.len(), 4);
        for cv in &training.cross_validation {
            assert_eq!(cv.accuracy, Some(1.0), "{cv:?}");
            assert_eq!(cv.confusion.total(), 60);
        }
        assert!(training.fit.converged);
        // Same inputs, same head.
        let again = train_on_features(&x, 8, &labels, &strata, &TrainOptions::default()).unwrap();
        assert_eq!(again, training);
    }

    #[test]
    fn folds_are_balanced_and_seeded() {
        let y: Vec<usize> = (0..23).map(|i| usize::from(i % 4 == 0)).collect();
        let strata = vec![0; 23];
        let folds = stratified_folds(&y, &strata, 5, 1);
        let mut sizes = [0; 5];
        let mut minority = [0; 5];
        for (i, &f) in folds.iter().enumerate() {
            sizes[f] += 1;
            minority[f] += y[i];
        }
        assert!(sizes.iter().all(|&s| s == 4 || s == 5), "{sizes:?}");
        // 6 minority rows over 5 folds: one or two each.
        assert!(minority.iter().all(|&m| m == 1 || m == 2), "{minority:?}");
        assert_eq!(folds, stratified_folds(&y, &strata, 5, 1));
        assert_ne!(folds, stratified_folds(&y, &strata, 5, 2));
    }

    #[test]
    fn two_classes_give_a_two_output_head() {
        let (x, labels, strata) = separable();
        let keep: Vec<usize> = (0..60).filter(|&i| labels[i] != Stance::None).collect();
        let x2: Vec<f64> = keep.iter().flat_map(|&i| x[i * 8..(i + 1) * 8].iter().copied()).collect();
        let l2: Vec<Stance> = keep.iter().map(|&i| labels[i]).collect();
        let s2: Vec<usize> = keep.iter().map(|&i| strata[i]).collect();
        let training = train_on_features(&x2, 8, &l2, &s2, &TrainOptions::default()).unwrap();
        assert_eq!(training.classes, vec![Stance::Favor, Stance::Against]);
        assert_eq!(training.fit.bias.len(), 2);
    }

    #[test]
    fn refuses_what_cannot_be_trained() {
        let (x, labels, strata) = separable();
        let one = vec![Stance::Favor; 60];
        assert!(matches!(
            train_on_features(&x, 8, &one, &strata, &TrainOptions::default()),
            Err(EvalError::OneClass { .. })
        ));
        let mut rare = labels.clone();
        rare.iter_mut().for_each(|l| {
            if *l == Stance::None {
                *l = Stance::Favor
            }
        });
        rare[0] = Stance::None;
        assert!(matches!(
            train_on_features(&x, 8, &rare, &strata, &TrainOptions::default()),
            Err(EvalError::TooFewRows { class: "none", rows: 1 })
        ));
        for options in [
            TrainOptions { l2: vec![0.0], ..TrainOptions::default() },
            TrainOptions { folds: 1, ..TrainOptions::default() },
            TrainOptions { folds: 0, ..TrainOptions::default() },
        ] {
            assert!(matches!(
                train_on_features(&x, 8, &labels, &strata, &options),
                Err(EvalError::InvalidOption { .. })
            ));
        }
    }
}
