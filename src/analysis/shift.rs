//! Shifts: dated, sized and tested change points in each actor × target series.
//!
//! # Detection
//! Each series is the statement-level sequence of scores ordered by date and time. Statements
//! at the same instant are ordered by a hash of their score: deterministic and independent of
//! row order, but (unlike sorting by value) it adds no artificial trend within a day that the
//! permutation test below would mistake for signal.
//!
//! Change points come from PELT (Killick, Fearnhead & Eckley, 2012), which finds the exact
//! minimiser of `Σ segments cost + β · (number of changes)` with every segment at least
//! `min_size` statements long. The cost is the Gaussian mean-change cost
//! `Σ (x − segment mean)² / σ²`. σ is estimated from the first differences,
//! `σ̂² = Σ (Δx − mean Δx)² / 2(n − 1)`, which a few mean shifts barely move (each adds `δ²/2n`),
//! so the penalty is on the scale of the noise, not of the shifts, whatever the noise's
//! distribution: scores piled at ±1 included (see [`difference_sigma`]). Penalties: BIC `β = 2 ln n` (a change adds a location
//! and a mean), AIC `β = 4`, or a number in the same units. Candidates for the last change are
//! pruned functionally (FPOP, Maidstone et al., 2017; see `Detector::admit`), which keeps the
//! search exact and near-linear also on series without change, where PELT's inequality pruning
//! removes nothing and the search grows with the square of the length.
//!
//! # Testing, and why the obvious test is wrong
//! PELT puts each change where the adjacent segment means differ most. A permutation test of
//! "segment means equal" that shuffles statements between the two chosen segments ignores that
//! selection: on pure noise it declares nearly every detected change significant (the
//! simulation tests measure it: 71% of stationary series with the AIC penalty). Three layers
//! replace it.
//!
//! 1. **Block test.** For a stretch `y` of a series, the null hypothesis is "no change in
//!    `y`": its statements are exchangeable. The statistic `T(y)` is the largest standardised
//!    mean difference `|mean_after − mean_before| / (σ̂ √(1/n_before + 1/n_after))` over every
//!    split of `y` that leaves `min_size` statements on each side (σ̂ below):
//!    the best single change PELT could place in `y`. Every permutation of `y` searches all
//!    splits again, so the reference distribution includes the search, and
//!    `p = (c + 1)/(P + 1)` is exact under the null: a max-statistic permutation test, as in
//!    circular binary segmentation (Olshen et al., 2004). σ̂ here is the standard deviation
//!    of `y`, the same for every permutation, so `T` measures the split alone: scaled by the
//!    difference-based σ̂ of each permutation, as detection is, `T` also grew with any order in
//!    `y` that shuffling destroys (von Neumann's ratio), serial correlation included, and 44%
//!    of series with lag-1 autocorrelation 0.3 and no change tested at p ≤ 0.05. (Moving
//!    blocks of neighbours instead of single statements, Kirch 2007, held that level better
//!    but cost most of the power against a change and its return a few weeks later, because
//!    the blocks carry the regimes' means too.) It costs O(L) per permutation of `L`
//!    statements; re-running PELT instead would cost O(L²), as pruning rarely applies to a
//!    series without change.
//!
//!    **Serial correlation** (`Dependence::Ar1`, the default). Shuffling also destroys the
//!    order that correlated noise has, so for such a series the permuted statistics are those
//!    of independent noise while the observed one is inflated by about √λ, with λ the
//!    long-run variance over the variance, `(1 + ρ)/(1 − ρ)` for AR(1) noise with lag-1
//!    autocorrelation ρ. Each block's observed statistic is therefore divided by √λ̂ before
//!    it meets the permutations, ρ̂ estimated from that block's own differences at lags 1 and
//!    2 (see [`difference_autocorrelation`]; 0 where it cannot be estimated) and clamped to
//!    `[0, 0.9]`. Per block, because after an established change the two sides may echo
//!    themselves to different degrees. Under independence λ̂ ≥ 1 only makes p-values larger,
//!    so the test stays valid, if conservative. Under correlated noise it is an approximation
//!    (the max over splits has no Brownian-bridge limit with a fixed minimum segment, so the
//!    argument is the scaling, not a limit theorem), checked by simulation. With the
//!    statistics audit's generators (200-series runs, 100–300 statements, BIC; about one
//!    statement in six shares its date with another), series without change tested at
//!    p ≤ 0.05, plain → discounted: independent noise 4.5% → 2.2%, AR φ = 0.3 26.5% → 9.2%
//!    (reported rows 74 → 5 in 600 series), φ = 0.6 71% → 19.2% (1677 → 43); with one
//!    statement a day (no ties) φ = 0.6 gives 5.5%. Power: one step of 0.6 sd in 100
//!    statements 0.48 → 0.33, in 200 0.88 → 0.85, 1 sd in 80 0.95 → 0.81, a 1.4-sd change
//!    and its return 0.31 → 0.33. What independent series pay is ρ̂'s noise, about ±1.5/√n.
//!    Known gaps: statements that share a date are in an arbitrary order, which hides part of
//!    their correlation from ρ̂ (a review measured half the series at p ≤ 0.05 with four
//!    statements a day at φ = 0.6); longer memory than AR(1) is under-corrected; and within
//!    series that really changed, strong correlation throughout (φ = 0.6) still gave spurious
//!    extra rows in half of them. Tried and rejected: ρ̂ recomputed on every permutation
//!    around its best split (exact under independence, but a change and its return in one
//!    block reads as correlation: power 0.31 → 0.02); ρ̂ within the PELT segments or from
//!    residuals around their means (the spurious segments that correlation makes PELT add
//!    hide it: φ = 0.6 read as 0.42–0.45, 15–17% at p ≤ 0.05 without ties).
//!    `Dependence::Independent` (`--dependence independent`) skips the discount: exact and
//!    more powerful for exchangeable statements, too optimistic for correlated ones.
//! 2. **Within a series, top-down.** The whole series is tested first; its p-value is the
//!    series' p-value and goes to its largest change, which splits the series into two blocks
//!    tested in turn, and so on. A block of `L` of the series' `n` statements gets the p-value
//!    `p · n / L` (Meinshausen's 2008 hierarchical weights: blocks at one depth are disjoint,
//!    so their levels sum to at most α) and never less than the block it came from. Testing
//!    each change against the whole series instead (single-step max-T) is exact only when the
//!    series has no change at all: with a real shift, the shuffled series mix both regimes,
//!    σ̂ inflates, the permuted statistics shrink, and a spurious second change looks
//!    significant (a first version did this: 13 spurious shifts next to 100 real ones in the
//!    power simulation). Blocks split at the established change are homogeneous again.
//! 3. **Across series.** The discoveries are first of all series: Benjamini–Hochberg runs on
//!    the series' p-values over the `m` series tested (every series long enough to hold two
//!    segments, including those where PELT proposes nothing: their p-value is 1). Running BH
//!    only over the changes PELT happened to propose would be invalid: that set is chosen by
//!    the data, and under no change at all it flags a series far more often than α. Within the
//!    `R` selected series, a change is reported when its p-value is at most `α · R / m`
//!    (Benjamini & Bogomolov, 2014), which keeps the error inside selected series at α. The
//!    reported `p_adjusted` is the larger of the series' BH-adjusted p-value and
//!    `p_value · m / R`, so a row is reported exactly when `p_adjusted ≤ alpha`.
//!
//! Sample splitting (detect on half the statements, test on the other half) would also be
//! valid, but halves the data for dating and for testing; asymptotic max-CUSUM laws assume
//! Gaussian noise and long series.
//!
//! Permutations of a block stop early once 20 permuted statistics have reached the observed
//! one (Besag & Clifford, 1991), with `p = 20 / L` after `L` permutations — also a valid
//! p-value. Blocks without a real change so cost a few dozen permutations; real changes get
//! all of them, so the smallest possible p-value is `1 / (permutations + 1)`: 1e-4 by default,
//! enough for one shift among 500 series (`α / m`). With more series, raise `permutations`.
//!
//! # Caveats
//! The AR(1) discount corrects correlation that decays as AR(1) does, approximately (see
//! above for what it misses). Each row carries the series' lag-1 `autocorrelation` (the
//! estimate above over the whole series, in `[−1, 1]`), and the command warns when reported
//! series exceed 0.5 (3/√n, two standard errors, with `--dependence independent`); series whose
//! estimate came out low are the ones that pass, so the warning misses many. `ci_low`/`ci_high` are a
//! percentile bootstrap (level `ci`, expanded percentiles as in `trend`) of
//! `after_mean − before_mean`, resampling each segment on its own; they take the detected date
//! as given. The change happened between `last_date_before` and `date`.
//!
//! # When: the interval on the date
//! `index` is the change's position in the series (the number of its statements before the new
//! segment). `index_ci_low..=index_ci_high` is an equal-tailed credible interval at level `ci`
//! of the exact posterior of a single change location within its window, the statements
//! between the neighbouring change points (or the series' ends): a Gaussian mean shift with the
//! segment means profiled out, `log p(τ) = −RSS(τ) / 2σ̂² + const`, where `RSS(τ)` is the
//! residual sum of squares of the window split at `τ` and σ̂² the pooled residual variance of
//! the whole segmentation (`Σ RSS / (n − segments)`), with a uniform prior on every split that
//! leaves `min_size` statements on each side: the normalised profile likelihood of the location
//! (Hinkley, 1970; Smith, 1975, integrates the means out instead, which adds a factor
//! `(n_before · n_after)^(−1/2)` favouring the window's ends). Fixing the neighbours and σ̂² makes it exact, small-sample and O(window)
//! with prefix sums, and keeps the interval inside the neighbouring segments by construction;
//! it takes the neighbours as given, as `strucchange::confint` does. The limit law that
//! `strucchange::confint` uses (Bai, 1997) assumes long segments and is symmetric in the
//! effect's units, so on short or skewed windows it can reach past a neighbouring change;
//! `mcp` samples the same kind of posterior by MCMC, with all changes and variances uncertain,
//! at a far higher cost. Equal-tailed rather than highest-density: one pass over cumulative
//! sums, and always one contiguous stretch. `date_ci_low`/`date_ci_high` are the dates of the
//! first statement of the new segment at the two ends, as `date` is at `index`.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::bootstrap::{expanded_tail, mean, percentile_interval, resample_means, variance};
use super::period::to_days;
use super::rng::{derive_seed, Xoshiro256};
use super::{
    check_level, check_positive, count_column, date_column, float_column, input, list_names, parallel_map,
    string_column, AnalysisError,
};

/// The PELT penalty per change point, in units of the standardised cost `Σ (x − mean)² / σ̂²`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// `2 ln n` for a series of `n` statements.
    Bic,
    /// `4`.
    Aic,
    Manual(f64),
}

impl Penalty {
    /// The penalty for a series of `n` statements.
    pub fn value(self, n: usize) -> f64 {
        match self {
            Penalty::Bic => 2.0 * (n.max(1) as f64).ln(),
            Penalty::Aic => 4.0,
            Penalty::Manual(beta) => beta,
        }
    }
}

impl fmt::Display for Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Penalty::Bic => f.write_str("bic"),
            Penalty::Aic => f.write_str("aic"),
            Penalty::Manual(beta) => write!(f, "{beta}"),
        }
    }
}

impl FromStr for Penalty {
    type Err = AnalysisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bic" | "sic" => Ok(Penalty::Bic),
            "aic" => Ok(Penalty::Aic),
            other => match other.parse::<f64>() {
                Ok(beta) if beta.is_finite() && beta >= 0.0 => Ok(Penalty::Manual(beta)),
                _ => Err(AnalysisError::UnknownPenalty(s.to_owned())),
            },
        }
    }
}

/// What the block test assumes about the order of a series' statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Dependence {
    /// Noise may echo the previous statement (AR(1)): each observed statistic is discounted by
    /// the long-run variance its block's lag-1 autocorrelation implies. Conservative on
    /// independent statements.
    #[default]
    Ar1,
    /// Statements are exchangeable: the permutation test is exact, and more powerful, when
    /// they are; too optimistic when they are not.
    Independent,
}

/// Options of [`shifts`]; serialisable so the options can be recorded as provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShiftOptions {
    /// Only this target (all targets when `None`).
    pub target: Option<String>,
    /// Only this actor (all actors when `None`).
    pub actor: Option<String>,
    pub penalty: Penalty,
    /// Minimum number of statements in a segment (at least 2).
    pub min_size: usize,
    /// False discovery rate.
    pub alpha: f64,
    /// Level of the intervals on the size (`ci_low`, `ci_high`) and on the date of each shift.
    pub ci: f64,
    /// Maximum number of permutations per tested block (sets the smallest p-value,
    /// `1 / (permutations + 1)`).
    pub permutations: usize,
    /// Bootstrap resamples for the interval of each shift.
    pub bootstrap: usize,
    pub seed: u64,
    /// Serial dependence the test allows for.
    pub dependence: Dependence,
}

impl Default for ShiftOptions {
    fn default() -> Self {
        Self {
            target: None,
            actor: None,
            penalty: Penalty::Bic,
            min_size: 5,
            alpha: 0.05,
            ci: 0.95,
            permutations: 9999,
            bootstrap: 2000,
            seed: 42,
            dependence: Dependence::Ar1,
        }
    }
}

/// A jump between segment means beyond this many residual sds is left out of the estimate of
/// the autocorrelation (see [`difference_autocorrelation`]).
const CLEAR_JUMP: f64 = 3.0;

/// Lag-1 autocorrelation above which the AR(1) discount leaves p-values clearly too small (in
/// simulations at 0.6 with some dates shared, 19% of series without change tested at p ≤ 0.05).
const STRONG_CORRELATION: f64 = 0.5;

/// Permuted statistics reaching the observed one before a block's permutations stop.
const SEQUENTIAL_HITS: usize = 20;

/// Finds, tests and dates the shifts in every actor × target series of `scores` (see the
/// module doc) and returns those with `p_adjusted <= alpha`.
///
/// Columns: `actor`, `target`, `date` (first statement of the new segment), `before_mean`,
/// `after_mean`, `delta`, `ci_low`, `ci_high`, `p_value` (the change's p-value within its
/// series), `p_adjusted`, `n_before`, `n_after` (UInt32), `segment_index` (UInt32, 1 for a
/// series' first change), `statistic` (the block test's statistic `T`, divided by the AR(1)
/// discount with `Dependence::Ar1`), `series_p_value` (the
/// test of "no change anywhere in this series"), `last_date_before` (last statement of the
/// old segment), `index` (UInt32, statements of the series before the change) and the interval
/// on the change's location at level `ci`: `index_ci_low`, `index_ci_high` (UInt32) and
/// `date_ci_low`, `date_ci_high` (Date), and the series' lag-1 `autocorrelation`. Rows are
/// sorted by actor, target, date.
pub fn shifts(scores: &DataFrame, options: &ShiftOptions) -> Result<DataFrame, AnalysisError> {
    check_level("alpha", options.alpha)?;
    check_level("ci", options.ci)?;
    check_positive("permutations", options.permutations)?;
    check_positive("bootstrap", options.bootstrap)?;
    if options.min_size < 2 {
        return Err(AnalysisError::InvalidOption {
            option: "min_size",
            value: options.min_size.to_string(),
            expected: "at least 2 statements",
        });
    }
    if let Penalty::Manual(beta) = options.penalty {
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(AnalysisError::UnknownPenalty(beta.to_string()));
        }
    }
    let table = input::read(scores, &["actor", "target"], false)?;
    let selected = select_series(&table.keys, options)?;

    let mut series: Vec<Vec<Point>> = vec![Vec::new(); table.keys.len()];
    for o in &table.obs {
        if selected[o.group as usize] {
            let tie = derive_seed(0, &[&o.score.to_bits().to_le_bytes()]);
            series[o.group as usize].push(Point { instant: o.instant, tie, date: o.date, score: o.score });
        }
    }
    let mut order: Vec<usize> = (0..series.len()).filter(|&g| selected[g]).collect();
    order.sort_by(|&a, &b| table.keys[a].cmp(&table.keys[b]));
    let jobs: Vec<(&[String], Vec<Point>)> =
        order.iter().map(|&g| (table.keys[g].as_slice(), std::mem::take(&mut series[g]))).collect();
    let tested = parallel_map(&jobs, |(key, points)| test_series(key, points, options));

    // Series too short for two segments cannot be tested whatever their scores; they are not
    // part of the family.
    let series_p: Vec<f64> = tested.iter().flatten().map(|t| t.p_value).collect();
    let series_adjusted = benjamini_hochberg(&series_p);
    let m = series_p.len() as f64;
    let smallest_p = 1.0 / (options.permutations as f64 + 1.0);
    if smallest_p * m > options.alpha {
        tracing::warn!(
            "{m} series tested: even the smallest p-value {options_permutations} permutations give, {smallest_p:.1e}, \
             cannot pass the correction across them at alpha {alpha}; for shifts to be found, raise \
             --permutations to at least {needed}",
            options_permutations = options.permutations,
            alpha = options.alpha,
            needed = (m / options.alpha).ceil() as u64,
        );
    }
    let discoveries = series_adjusted.iter().filter(|&&q| q <= options.alpha).count() as f64;
    let mut series_adjusted = series_adjusted.into_iter();
    let mut out = ShiftColumns::default();
    let (mut reported, mut correlated) = (0, 0);
    for ((key, _), tested) in jobs.iter().zip(&tested) {
        let Some(tested) = tested else { continue };
        let q = series_adjusted.next().unwrap_or(1.0);
        let rows = out.actor.len();
        for change in &tested.changes {
            // With no series selected nothing is reported; the ratio is then irrelevant.
            let within = if discoveries > 0.0 { (change.p_value * m / discoveries).min(1.0) } else { 1.0 };
            let p_adjusted = q.max(within);
            if p_adjusted <= options.alpha {
                out.push(key, change, tested, p_adjusted);
            }
        }
        if out.actor.len() > rows {
            reported += 1;
            let worrying = match options.dependence {
                // Two standard errors of the estimate for independent statements.
                Dependence::Independent => 3.0 / (tested.statements as f64).sqrt(),
                Dependence::Ar1 => STRONG_CORRELATION,
            };
            correlated += usize::from(tested.autocorrelation.is_some_and(|r| r > worrying));
        }
    }
    if correlated > 0 {
        match options.dependence {
            Dependence::Independent => tracing::warn!(
                "{correlated} of the {reported} series with reported shifts have a lag-1 autocorrelation above \
                 3/√n (column `autocorrelation`): where statements echo their predecessors, the permutation \
                 p-values of `--dependence independent` are too small"
            ),
            Dependence::Ar1 => tracing::warn!(
                "{correlated} of the {reported} series with reported shifts have a lag-1 autocorrelation above \
                 {STRONG_CORRELATION} (column `autocorrelation`): the test's AR(1) discount only partly \
                 corrects correlation that strong, and their p-values are still too small"
            ),
        }
    }
    out.into_frame()
}

/// Which groups to test, after checking that the requested target and actor exist.
fn select_series(keys: &[Vec<String>], options: &ShiftOptions) -> Result<Vec<bool>, AnalysisError> {
    if let Some(target) = &options.target {
        if !keys.iter().any(|k| &k[1] == target) {
            return Err(AnalysisError::UnknownTarget {
                target: target.clone(),
                available: list_names(keys.iter().map(|k| k[1].as_str())),
            });
        }
    }
    let target_ok = |k: &Vec<String>| options.target.as_ref().is_none_or(|t| &k[1] == t);
    if let Some(actor) = &options.actor {
        if !keys.iter().any(|k| &k[0] == actor && target_ok(k)) {
            return Err(AnalysisError::UnknownActor {
                actor: actor.clone(),
                scope: options.target.as_ref().map(|t| format!(" on target `{t}`")).unwrap_or_default(),
                available: list_names(keys.iter().filter(|k| target_ok(k)).map(|k| k[0].as_str())),
            });
        }
    }
    Ok(keys.iter().map(|k| target_ok(k) && options.actor.as_ref().is_none_or(|a| &k[0] == a)).collect())
}

#[derive(Debug, Clone, Copy)]
struct Point {
    instant: i64,
    tie: u64,
    date: NaiveDate,
    score: f64,
}

/// A detected change with its test, before multiple-testing adjustment.
#[derive(Debug, Clone)]
struct Change {
    segment_index: usize,
    date: NaiveDate,
    last_date_before: NaiveDate,
    before_mean: f64,
    after_mean: f64,
    ci: Option<(f64, f64)>,
    statistic: f64,
    p_value: f64,
    n_before: usize,
    n_after: usize,
    index: usize,
    index_ci: (usize, usize),
    date_ci: (NaiveDate, NaiveDate),
}

/// A tested series: its p-value for "no change anywhere" and its detected changes.
struct Tested {
    p_value: f64,
    /// Lag-1 autocorrelation of the statements from their differences (clear jumps left out).
    autocorrelation: Option<f64>,
    statements: usize,
    changes: Vec<Change>,
}

/// Detects and tests the changes of one series; `None` if it is too short to hold two
/// segments.
fn test_series(key: &[String], points: &[Point], options: &ShiftOptions) -> Option<Tested> {
    if points.len() < 2 * options.min_size {
        return None;
    }
    let mut points = points.to_vec();
    points.sort_unstable_by(|a, b| {
        (a.instant, a.tie).cmp(&(b.instant, b.tie)).then_with(|| a.score.total_cmp(&b.score))
    });
    let x: Vec<f64> = points.iter().map(|p| p.score).collect();
    let mut detector = Detector::new(options.min_size);
    if !detector.detect(&x, options.penalty.value(x.len())) || detector.changes.is_empty() {
        // T = 0 is reached by every permutation.
        return Some(Tested {
            p_value: 1.0,
            autocorrelation: None,
            statements: x.len(),
            changes: Vec::new(),
        });
    }
    let mut bounds = vec![0];
    bounds.extend(&detector.changes);
    bounds.push(x.len());

    let [actor, target] = [key[0].as_bytes(), key[1].as_bytes()];
    let autocorrelation = difference_autocorrelation(&x, &bounds);
    let (statistics, p_values) = test_changes(&x, &bounds, options, [actor, target]);
    // Every segment holds at least `min_size >= 2` statements, so the degrees of freedom are
    // positive.
    let residual: f64 = bounds.windows(2).map(|w| squared_deviations(&x[w[0]..w[1]])).sum();
    let pooled_variance = residual / (x.len() - (bounds.len() - 1)) as f64;
    let mut out = Vec::with_capacity(bounds.len() - 2);
    for k in 0..bounds.len() - 2 {
        let before = &x[bounds[k]..bounds[k + 1]];
        let after = &x[bounds[k + 1]..bounds[k + 2]];
        let (low, high) =
            location_interval(&x[bounds[k]..bounds[k + 2]], options.min_size, pooled_variance, options.ci);
        let index_ci = (bounds[k] + low, bounds[k] + high);
        let index = (k as u64 + 1).to_le_bytes();
        let mut rng =
            Xoshiro256::seed_from_u64(derive_seed(options.seed, &[b"shift-interval", actor, target, &index]));
        let mut deltas = resample_means(after, options.bootstrap, &mut rng);
        for (d, b) in deltas.iter_mut().zip(resample_means(before, options.bootstrap, &mut rng)) {
            *d -= b;
        }
        out.push(Change {
            segment_index: k + 1,
            date: points[bounds[k + 1]].date,
            last_date_before: points[bounds[k + 1] - 1].date,
            before_mean: mean(before),
            after_mean: mean(after),
            ci: percentile_interval(
                &mut deltas,
                expanded_tail(
                    options.ci,
                    &[(variance(before), before.len()), (variance(after), after.len())],
                ),
            ),
            statistic: statistics[k],
            p_value: p_values[k],
            n_before: before.len(),
            n_after: after.len(),
            index: bounds[k + 1],
            index_ci,
            date_ci: (points[index_ci.0].date, points[index_ci.1].date),
        });
    }
    // The whole series is the first block tested, and its largest change carries its p-value.
    let p_value = p_values.iter().copied().fold(1.0, f64::min);
    Some(Tested { p_value, autocorrelation, statements: x.len(), changes: out })
}

/// Lag-1 autocorrelation of `x` from its differences at lags 1 and 2: for AR(1) noise
/// `E (x_(t+2) − x_t)² / E (x_(t+1) − x_t)² = 1 + ρ` (Chakar et al., 2017, *Bernoulli* 23, use
/// the same ratio with medians, which fail on scores piled at ±1). Taken over all of `x`,
/// except the differences that straddle a change (`bounds`: 0, the changes, `x.len()`) whose
/// jump between segment means exceeds [`CLEAR_JUMP`] residual sds: a step of δ adds `δ²` to
/// one difference of each kind, negligible unless δ is large next to the noise, and then it
/// would read as strong correlation. Smaller fitted changes are kept: where correlation makes
/// PELT add spurious ones, they sit where the series wanders most, and leaving them out (or
/// correlating residuals around the segment means) understates ρ. Clamped to `[−1, 1]` (the
/// ratio reaches 3 on smooth drifts); about ±1.5/√n by chance for independent statements;
/// `None` with fewer than three statements or without spread.
fn difference_autocorrelation(x: &[f64], bounds: &[usize]) -> Option<f64> {
    if x.len() < 3 {
        return None;
    }
    let means: Vec<f64> = bounds.windows(2).map(|w| mean(&x[w[0]..w[1]])).collect();
    let residual: f64 = bounds.windows(2).map(|w| squared_deviations(&x[w[0]..w[1]])).sum();
    let sd = (residual / x.len() as f64).sqrt();
    // Statement i is the first after a clear jump.
    let mut after_jump = vec![false; x.len()];
    for (k, pair) in means.windows(2).enumerate() {
        if (pair[1] - pair[0]).abs() > CLEAR_JUMP * sd {
            after_jump[bounds[k + 1]] = true;
        }
    }
    let mut sums = [(0.0, 0usize); 2];
    for (lag, (sum, count)) in sums.iter_mut().enumerate().map(|(i, s)| (i + 1, s)) {
        for t in lag..x.len() {
            if !after_jump[t + 1 - lag..=t].iter().any(|&jump| jump) {
                *sum += (x[t] - x[t - lag]) * (x[t] - x[t - lag]);
                *count += 1;
            }
        }
    }
    let [(first, n1), (second, n2)] = sums;
    (n1 > 0 && n2 > 0 && first > 0.0)
        .then(|| ((second / n2 as f64) / (first / n1 as f64) - 1.0).clamp(-1.0, 1.0))
}

/// What lag-1 autocorrelation ρ multiplies the variance of a mean difference by, as for AR(1)
/// noise: `(1 + ρ)/(1 − ρ)`, the long-run variance over the variance. ρ is clamped to
/// `[0, 0.9]`: a negative or unknown correlation never strengthens the evidence, and the
/// factor stays finite.
fn dependence_factor(autocorrelation: Option<f64>) -> f64 {
    let rho = autocorrelation.unwrap_or(0.0).clamp(0.0, 0.9);
    (1.0 + rho) / (1.0 - rho)
}

/// `Σ (x − mean)²`.
fn squared_deviations(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum()
}

/// The equal-tailed interval at `level` of the posterior of a single change location in
/// `window` (see the module doc): the first and last location `τ` kept, each the index of the
/// first statement of the new segment, with `min_size <= τ <= window.len() − min_size`.
/// `variance` is the noise variance σ̂²; at 0 (a noiseless fit) the posterior is its mode.
fn location_interval(window: &[f64], min_size: usize, variance: f64, level: f64) -> (usize, usize) {
    let n = window.len();
    let (first, last) = (min_size, n - min_size);
    // −RSS(τ) = Σ_left²/n_left + Σ_right²/n_right − Σ x², on values centred on the window mean
    // so the sums stay small; the constant Σ x² drops out.
    let centre = mean(window);
    let total: f64 = window.iter().map(|v| v - centre).sum();
    let mut left = 0.0;
    let mut fit = Vec::with_capacity(last - first + 1);
    for (i, v) in window.iter().enumerate().take(last) {
        left += v - centre;
        let tau = i + 1;
        if tau >= first {
            let right = total - left;
            fit.push(left * left / tau as f64 + right * right / (n - tau) as f64);
        }
    }
    let best = fit.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(variance > 0.0) {
        let mode = fit.iter().position(|&f| f == best).unwrap_or(0);
        return (first + mode, first + mode);
    }
    let weights: Vec<f64> = fit.iter().map(|f| ((f - best) / (2.0 * variance)).exp()).collect();
    let tail = (1.0 - level) / 2.0 * weights.iter().sum::<f64>();
    // Each end drops the locations whose cumulative mass stays within the tail, so at most
    // `1 − level` is left out in all and at least one location is kept.
    let dropped = |weights: &mut dyn Iterator<Item = f64>| {
        weights
            .scan(0.0, |mass, w| {
                *mass += w;
                Some(*mass)
            })
            .take_while(|&mass| mass <= tail)
            .count()
    };
    let low = dropped(&mut weights.iter().copied());
    let high = fit.len() - 1 - dropped(&mut weights.iter().rev().copied());
    (first + low, first + high)
}

/// Test statistics and p-values of the changes at `bounds[1..len - 1]`, top-down: the whole
/// series is tested first and its p-value goes to its largest change, which splits it into
/// two blocks tested the same way, with Meinshausen's weight `n / L` for a block of `L`
/// statements (see the module doc). A change's p-value is at least that of its parent block.
fn test_changes(
    x: &[f64],
    bounds: &[usize],
    options: &ShiftOptions,
    [actor, target]: [&[u8]; 2],
) -> (Vec<f64>, Vec<f64>) {
    let changes = bounds.len() - 2;
    // Standardised mean differences at each change; the common σ̂ does not change the order.
    let size = |k: usize| {
        let (a, b, c) = (bounds[k], bounds[k + 1], bounds[k + 2]);
        let (nb, na) = ((b - a) as f64, (c - b) as f64);
        (mean(&x[b..c]) - mean(&x[a..b])).abs() / (1.0 / nb + 1.0 / na).sqrt()
    };
    let sizes: Vec<f64> = (0..changes).map(size).collect();
    let mut statistics = vec![0.0; changes];
    let mut p_values = vec![1.0; changes];
    // Blocks as (first, last) indices into `bounds`, with the p-value of the block they split.
    let mut blocks = vec![(0, changes + 1, 0.0)];
    while let Some((first, last, parent)) = blocks.pop() {
        if last - first < 2 {
            continue;
        }
        let top = (first..last - 1).fold(first, |best, k| if sizes[k] > sizes[best] { k } else { best });
        let index = (top as u64 + 1).to_le_bytes();
        let seed = derive_seed(options.seed, &[b"shift-permutation", actor, target, &index]);
        let block = &x[bounds[first]..bounds[last]];
        // Each block's own correlation: a pooled one would be dominated by the calmer regime
        // when only one side of an established change echoes itself.
        let discount = match options.dependence {
            Dependence::Ar1 => {
                let inner: Vec<usize> = bounds[first..=last].iter().map(|b| b - bounds[first]).collect();
                dependence_factor(difference_autocorrelation(block, &inner)).sqrt()
            }
            Dependence::Independent => 1.0,
        };
        let (statistic, p) = block_test(block, discount, options.min_size, options.permutations, seed);
        let weighted = (p * x.len() as f64 / block.len() as f64).min(1.0);
        statistics[top] = statistic;
        p_values[top] = weighted.max(parent);
        blocks.push((first, top + 1, p_values[top]));
        blocks.push((top + 1, last, p_values[top]));
    }
    (statistics, p_values)
}

/// The max-statistic permutation test of "no change in `y`": returns `T(y) / discount` (see
/// [`max_split_statistic`]; `discount ≥ 1` accounts for serial correlation, which the shuffles
/// destroy) and its p-value over shuffles of `y`. Stops early after [`SEQUENTIAL_HITS`]
/// permuted statistics reach it (Besag & Clifford).
fn block_test(y: &[f64], discount: f64, min_size: usize, permutations: usize, seed: u64) -> (f64, f64) {
    let observed = max_split_statistic(y, min_size) / discount;
    let mut rng = Xoshiro256::seed_from_u64(seed);
    let mut shuffled = y.to_vec();
    let mut hits = 0;
    for l in 1..=permutations {
        rng.shuffle(&mut shuffled);
        // A relative tolerance counts rounding-level ties as hits (the conservative side).
        if max_split_statistic(&shuffled, min_size) >= observed * (1.0 - 1e-12) {
            hits += 1;
            if hits == SEQUENTIAL_HITS {
                return (observed, SEQUENTIAL_HITS as f64 / l as f64);
            }
        }
    }
    (observed, (hits + 1) as f64 / (permutations + 1) as f64)
}

/// The largest standardised mean difference `|mean_after − mean_before| / (σ̂ √(1/n_before +
/// 1/n_after))` over all splits of `y` leaving `min_size` statements on each side, with σ̂
/// the standard deviation of `y` (see the module doc); 0 when `y` is too short or constant.
fn max_split_statistic(y: &[f64], min_size: usize) -> f64 {
    let n = y.len();
    if n < 2 * min_size {
        return 0.0;
    }
    // Equal values: their mean's rounding would otherwise leave a spread of ~1e-17.
    if y.iter().all(|&v| v == y[0]) {
        return 0.0;
    }
    let total: f64 = y.iter().sum();
    let centre = total / n as f64;
    let sigma = (y.iter().map(|v| (v - centre) * (v - centre)).sum::<f64>() / n as f64).sqrt();
    let mut left = 0.0;
    let mut best: f64 = 0.0;
    for (i, v) in y.iter().enumerate().take(n - min_size) {
        left += v;
        let (nl, nr) = ((i + 1) as f64, (n - i - 1) as f64);
        if i + 1 >= min_size {
            let diff = (total - left) / nr - left / nl;
            best = best.max(diff.abs() / (1.0 / nl + 1.0 / nr).sqrt());
        }
    }
    best / sigma
}

/// PELT change points of `series` under `penalty` with segments of at least `min_size`
/// (see the module doc): the index of the first element of each new segment, ascending.
/// Empty when the series is shorter than `2 · min_size` or has no spread.
pub fn pelt(series: &[f64], penalty: Penalty, min_size: usize) -> Vec<usize> {
    let mut detector = Detector::new(min_size.max(1));
    detector.detect(series, penalty.value(series.len()));
    detector.changes
}

/// A candidate last change `tau`, with the interval of last-segment means where it can still
/// beat every later candidate (see [`Detector::admit`]).
struct Candidate {
    tau: usize,
    low: f64,
    high: f64,
}

/// PELT with its working buffers.
struct Detector {
    min_size: usize,
    /// Prefix sums of the standardised series and of its squares.
    s1: Vec<f64>,
    s2: Vec<f64>,
    best: Vec<f64>,
    last: Vec<usize>,
    candidates: Vec<Candidate>,
    changes: Vec<usize>,
}

impl Detector {
    fn new(min_size: usize) -> Self {
        Self {
            min_size,
            s1: Vec::new(),
            s2: Vec::new(),
            best: Vec::new(),
            last: Vec::new(),
            candidates: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Runs PELT with penalty `beta` on `x`, leaving the change points in `self.changes`.
    /// False (and no changes) when `x` is too short to split or has no spread.
    fn detect(&mut self, x: &[f64], beta: f64) -> bool {
        self.changes.clear();
        let n = x.len();
        let m = self.min_size;
        if n < 2 * m {
            return false;
        }
        let Some(sigma) = difference_sigma(x) else { return false };
        let centre = mean(x);
        self.s1.clear();
        self.s2.clear();
        self.s1.push(0.0);
        self.s2.push(0.0);
        let (mut a, mut b) = (0.0, 0.0);
        for v in x {
            let z = (v - centre) / sigma;
            a += z;
            b += z * z;
            self.s1.push(a);
            self.s2.push(b);
        }
        self.best.clear();
        self.best.resize(n + 1, f64::INFINITY);
        self.best[0] = -beta;
        self.last.clear();
        self.last.resize(n + 1, 0);
        self.candidates.clear();
        for t in m..=n {
            // The newest admissible last change: one that leaves a full segment before t.
            let newest = t - m;
            if newest == 0 || newest >= m {
                self.admit(newest);
            }
            let (mut value, mut arg) = (f64::INFINITY, 0);
            for candidate in &self.candidates {
                let v = self.best[candidate.tau] + self.cost(candidate.tau, t) + beta;
                if v < value {
                    value = v;
                    arg = candidate.tau;
                }
            }
            self.best[t] = value;
            self.last[t] = arg;
        }
        let mut t = n;
        while t > 0 {
            t = self.last[t];
            if t > 0 {
                self.changes.push(t);
            }
        }
        self.changes.reverse();
        true
    }

    /// Cost of the segment `from..to` of the standardised series.
    fn cost(&self, from: usize, to: usize) -> f64 {
        let sum = self.s1[to] - self.s1[from];
        (self.s2[to] - self.s2[from]) - sum * sum / (to - from) as f64
    }

    /// Adds `tau` as a candidate last change, and prunes the candidates it dominates.
    ///
    /// Functional pruning (FPOP, Maidstone et al., 2017), one-sided: candidate `τ`'s cost at
    /// time `t` as a function of the last segment's mean `μ` is
    /// `q_τ(μ) = F(τ) + β + Σ_{τ ≤ i < t} (x_i − μ)²`. Every candidate gains the same term at
    /// each step, so `q_τ − q_j` for a later candidate `j` is fixed once `j` exists: the convex
    /// quadratic `F(τ) − F(j) + Σ_{τ ≤ i < j} (x_i − μ)²`. `τ` can only be optimal where it is
    /// below every later candidate, an interval; once that interval is empty, `τ` loses to a
    /// later candidate at every `μ`, now and at every later step, and is removed. Inequality
    /// pruning (PELT) removes nothing on a series without change, so its cost grows with the
    /// square of the length; this keeps about a thousand of 100,000 there (measured). Later candidates only
    /// enter once admissible (`min_size` after them), which keeps the pruning exact under the
    /// minimum segment size.
    fn admit(&mut self, tau: usize) {
        let f_new = self.best[tau];
        if !f_new.is_finite() {
            return;
        }
        let (s1, s2, best) = (&self.s1, &self.s2, &self.best);
        self.candidates.retain_mut(|candidate| {
            let (a, b) = ((tau - candidate.tau) as f64, s1[tau] - s1[candidate.tau]);
            let c = s2[tau] - s2[candidate.tau] + best[candidate.tau] - f_new;
            // q_τ − q_new = a μ² − 2 b μ + c ≤ 0 between its roots.
            let discriminant = b * b - a * c;
            // A margin keeps near-ties: pruning them on rounding error could lose the optimum.
            let margin = 1e-9 * (b * b).max((a * c).abs()).max(1.0);
            if discriminant < -margin {
                return false;
            }
            let half_width = discriminant.max(0.0).sqrt() / a;
            let centre = b / a;
            candidate.low = candidate.low.max(centre - half_width);
            candidate.high = candidate.high.min(centre + half_width);
            candidate.low <= candidate.high + 1e-9 * (1.0 + candidate.high.abs())
        });
        self.candidates.push(Candidate { tau, low: f64::NEG_INFINITY, high: f64::INFINITY });
    }
}

/// Noise scale from first differences, `σ̂ = √(Σ (Δx − mean Δx)² / 2(n − 1))`: for independent
/// statements `E[Δx²] = 2σ²` whatever their distribution, and each mean shift `δ` adds only
/// `δ² / 2n`. Not the median-based `1.4826 · MAD(Δx) / √2`, which holds for Gaussian noise
/// only: on scores piled at ±1 (what NLI scoring gives) it was 0.06–0.23 of the true spread,
/// and PELT cut such series into dozens of short runs. `None` for a constant series.
fn difference_sigma(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let diffs = x.windows(2).map(|w| w[1] - w[0]);
    let m = diffs.clone().sum::<f64>() / (x.len() - 1) as f64;
    let sd = (diffs.map(|d| (d - m) * (d - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt();
    (sd > 0.0).then(|| sd / std::f64::consts::SQRT_2)
}

/// Benjamini–Hochberg adjusted p-values (step-up, monotone, capped at 1), in input order.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p_values[i] * m as f64 / (rank + 1) as f64);
        adjusted[i] = running;
    }
    adjusted
}

#[derive(Default)]
struct ShiftColumns {
    actor: Vec<String>,
    target: Vec<String>,
    date: Vec<Option<i32>>,
    before_mean: Vec<Option<f64>>,
    after_mean: Vec<Option<f64>>,
    delta: Vec<Option<f64>>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
    p_value: Vec<Option<f64>>,
    p_adjusted: Vec<Option<f64>>,
    n_before: Vec<u32>,
    n_after: Vec<u32>,
    segment_index: Vec<u32>,
    statistic: Vec<Option<f64>>,
    series_p_value: Vec<Option<f64>>,
    last_date_before: Vec<Option<i32>>,
    index: Vec<u32>,
    index_ci_low: Vec<u32>,
    index_ci_high: Vec<u32>,
    date_ci_low: Vec<Option<i32>>,
    date_ci_high: Vec<Option<i32>>,
    autocorrelation: Vec<Option<f64>>,
}

impl ShiftColumns {
    fn push(&mut self, key: &[String], c: &Change, series: &Tested, p_adjusted: f64) {
        self.actor.push(key[0].clone());
        self.target.push(key[1].clone());
        self.date.push(Some(to_days(c.date)));
        self.before_mean.push(Some(c.before_mean));
        self.after_mean.push(Some(c.after_mean));
        self.delta.push(Some(c.after_mean - c.before_mean));
        self.ci_low.push(c.ci.map(|ci| ci.0));
        self.ci_high.push(c.ci.map(|ci| ci.1));
        self.p_value.push(Some(c.p_value));
        self.p_adjusted.push(Some(p_adjusted));
        self.n_before.push(c.n_before as u32);
        self.n_after.push(c.n_after as u32);
        self.segment_index.push(c.segment_index as u32);
        self.statistic.push(Some(c.statistic));
        self.series_p_value.push(Some(series.p_value));
        self.autocorrelation.push(series.autocorrelation);
        self.last_date_before.push(Some(to_days(c.last_date_before)));
        self.index.push(c.index as u32);
        self.index_ci_low.push(c.index_ci.0 as u32);
        self.index_ci_high.push(c.index_ci.1 as u32);
        self.date_ci_low.push(Some(to_days(c.date_ci.0)));
        self.date_ci_high.push(Some(to_days(c.date_ci.1)));
    }

    fn into_frame(self) -> Result<DataFrame, AnalysisError> {
        Ok(DataFrame::new_infer_height(vec![
            string_column("actor", self.actor),
            string_column("target", self.target),
            date_column("date", self.date)?,
            float_column("before_mean", self.before_mean),
            float_column("after_mean", self.after_mean),
            float_column("delta", self.delta),
            float_column("ci_low", self.ci_low),
            float_column("ci_high", self.ci_high),
            float_column("p_value", self.p_value),
            float_column("p_adjusted", self.p_adjusted),
            count_column("n_before", self.n_before),
            count_column("n_after", self.n_after),
            count_column("segment_index", self.segment_index),
            float_column("statistic", self.statistic),
            float_column("series_p_value", self.series_p_value),
            date_column("last_date_before", self.last_date_before)?,
            count_column("index", self.index),
            count_column("index_ci_low", self.index_ci_low),
            count_column("index_ci_high", self.index_ci_high),
            date_column("date_ci_low", self.date_ci_low)?,
            date_column("date_ci_high", self.date_ci_high)?,
            float_column("autocorrelation", self.autocorrelation),
        ])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benjamini_hochberg_matches_hand_worked_values() {
        // m = 4: sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.02, 0.04, 0.04.
        let adj = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
        for (a, want) in adj.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((a - want).abs() < 1e-12, "{adj:?}");
        }
        // m = 8: raw p·m/rank = .008 .032 .104 .082 .0672 .08 .084571 .205; the running
        // minimum from the top lowers ranks 3 and 4 to .0672.
        let p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205];
        let want = [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.074 * 8.0 / 7.0, 0.205];
        for (a, w) in benjamini_hochberg(&p).iter().zip(want) {
            assert!((a - w).abs() < 1e-12);
        }
        assert_eq!(benjamini_hochberg(&[0.9, 0.8]), [0.9, 0.9]);
        assert_eq!(benjamini_hochberg(&[0.7]), [0.7]);
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    /// Exhaustive search over all segmentations with segments >= m (small n only).
    fn brute_force(z: &[f64], beta: f64, m: usize) -> f64 {
        let n = z.len();
        let cost = |a: usize, b: usize| {
            let s: f64 = z[a..b].iter().sum();
            z[a..b].iter().map(|v| v * v).sum::<f64>() - s * s / (b - a) as f64
        };
        let mut best = vec![f64::INFINITY; n + 1];
        best[0] = -beta;
        for t in m..=n {
            for tau in (0..=t - m).filter(|&tau| tau == 0 || tau >= m) {
                best[t] = best[t].min(best[tau] + cost(tau, t) + beta);
            }
        }
        best[n]
    }

    /// Asserts that the detector's segmentation of `x` attains the exhaustive optimum.
    fn assert_exact(x: &[f64], m: usize, beta: f64, case: &str) {
        let n = x.len();
        let mut d = Detector::new(m);
        if !d.detect(x, beta) {
            assert!(n < 2 * m, "{case}");
            return;
        }
        let z: Vec<f64> = (1..=n).map(|i| d.s1[i] - d.s1[i - 1]).collect();
        let mut bounds = vec![0];
        bounds.extend(&d.changes);
        bounds.push(n);
        assert!(bounds.windows(2).all(|w| w[1] - w[0] >= m), "{case}: {bounds:?} m={m}");
        let objective: f64 = bounds
            .windows(2)
            .map(|w| {
                let s: f64 = z[w[0]..w[1]].iter().sum();
                z[w[0]..w[1]].iter().map(|v| v * v).sum::<f64>() - s * s / (w[1] - w[0]) as f64 + beta
            })
            .sum::<f64>()
            - beta;
        let optimum = brute_force(&z, beta, m);
        assert!((objective - optimum).abs() < 1e-9, "{case}: {objective} vs {optimum}");
    }

    #[test]
    fn pelt_is_exact_with_minimum_segment_size() {
        let mut rng = Xoshiro256::seed_from_u64(11);
        for case in 0..400 {
            let n = 10 + case % 30;
            let m = 1 + case % 5;
            // Half the series have two steps, half none (where pruning works hardest).
            let steps = case % 2 == 0;
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    let step = if i > n / 3 { 1.5 } else { 0.0 } + if i > 2 * n / 3 { -1.0 } else { 0.0 };
                    rng.next_f64() + if steps { step } else { 0.0 }
                })
                .collect();
            let beta = 1.0 + (case % 4) as f64;
            assert_exact(&x, m, beta, &format!("case {case}"));
        }
        // Longer series, coarse repeated values (ties between candidates) and many steps.
        for case in 0..6 {
            let x: Vec<f64> = (0..240)
                .map(|i| {
                    let level = if case % 2 == 0 { 0.0 } else { ((i / 40) % 2) as f64 };
                    level + (rng.next_f64() * 4.0).round() / 4.0
                })
                .collect();
            assert_exact(&x, 1 + case % 3 * 4, 2.0 * (240f64).ln(), &format!("long case {case}"));
        }
    }

    #[test]
    fn few_candidates_survive_on_a_long_series_without_change() {
        let mut rng = Xoshiro256::seed_from_u64(3);
        let x: Vec<f64> = (0..100_000).map(|_| rng.next_f64()).collect();
        let mut d = Detector::new(5);
        d.detect(&x, Penalty::Bic.value(x.len()));
        assert!(d.changes.is_empty());
        // Inequality pruning alone keeps all 99,996 here.
        assert!(d.candidates.len() < 2_000, "{} candidates", d.candidates.len());
    }

    #[test]
    fn pelt_finds_a_clear_step() {
        let mut rng = Xoshiro256::seed_from_u64(9);
        let x: Vec<f64> = (0..40).map(|i| if i < 25 { -0.5 } else { 0.5 } + 0.2 * rng.next_f64()).collect();
        assert_eq!(pelt(&x, Penalty::Bic, 5), [25]);
        assert!(pelt(&[0.3; 30], Penalty::Bic, 5).is_empty());
        assert!(pelt(&x[..9], Penalty::Bic, 5).is_empty());
    }

    #[test]
    fn max_split_statistic_searches_every_admissible_split() {
        let y = [0.0, 0.1, -0.1, 0.05, 1.0, 0.9, 1.1, 0.95];
        let centre = y.iter().sum::<f64>() / 8.0;
        let sigma = (y.iter().map(|v| (v - centre) * (v - centre)).sum::<f64>() / 8.0).sqrt();
        // The best split is after the fourth value: means 0.0125 and 0.9875, 4 and 4.
        let want = (0.9875 - 0.0125) / (0.5f64).sqrt() / sigma;
        assert!((max_split_statistic(&y, 2) - want).abs() < 1e-12);
        // With a minimum of 5 on each side no split is admissible.
        assert_eq!(max_split_statistic(&y, 5), 0.0);
        assert_eq!(max_split_statistic(&[0.2; 10], 2), 0.0);
        // Splits next to the ends are excluded by min_size: an outlier at the end is ignored.
        let y = [0.0, 0.1, -0.1, 0.05, 0.0, 0.1, -0.1, 5.0];
        let at_three = max_split_statistic(&y, 3);
        let at_one = max_split_statistic(&y, 1);
        assert!(at_one > at_three);
    }

    #[test]
    fn difference_sigma_is_the_spread_whatever_the_distribution() {
        let mut rng = Xoshiro256::seed_from_u64(5);
        // Uniform(-0.5, 0.5) noise has sd 0.2887; a step of 3 moves the estimate by 3²/2n.
        let x: Vec<f64> =
            (0..4000).map(|i| rng.next_f64() - 0.5 + if i >= 2000 { 3.0 } else { 0.0 }).collect();
        let sigma = difference_sigma(&x).unwrap();
        assert!((sigma - 0.2887).abs() < 0.01, "{sigma}");
        // Scores piled at ±0.95, four in five at +0.95: sd 0.76 (a median of the differences
        // would say 0).
        let piled: Vec<f64> = (0..4000).map(|_| if rng.next_f64() < 0.8 { 0.95 } else { -0.95 }).collect();
        let sigma = difference_sigma(&piled).unwrap();
        assert!((sigma - 0.76).abs() < 0.03, "{sigma}");
        assert_eq!(difference_sigma(&[1.0; 10]), None);
        assert_eq!(difference_sigma(&[1.0]), None);
    }

    #[test]
    fn autocorrelation_from_differences_ignores_clear_mean_shifts() {
        let mut rng = Xoshiro256::seed_from_u64(11);
        // AR(1) with φ = 0.3 (uniform innovations); a step of ten noise sds halfway.
        let mut ar = vec![0.0f64];
        for _ in 1..20_000 {
            ar.push(0.3 * ar[ar.len() - 1] + rng.next_f64() - 0.5);
        }
        let whole = [0, ar.len()];
        let rho = difference_autocorrelation(&ar, &whole).unwrap();
        assert!((rho - 0.3).abs() < 0.03, "{rho}");
        // Split where nothing changes, nothing is left out: the fitted jump is tiny.
        let split = difference_autocorrelation(&ar, &[0, 7_000, ar.len()]).unwrap();
        assert_eq!(split, rho);
        // A step of ten noise sds in 200 statements: read as correlation when it is inside a
        // segment, left out when it bounds one.
        let short = &ar[..200];
        let stepped: Vec<f64> =
            short.iter().enumerate().map(|(i, v)| v + if i >= 100 { 3.0 } else { 0.0 }).collect();
        let inside = difference_autocorrelation(&stepped, &[0, 200]).unwrap();
        assert!(inside > difference_autocorrelation(short, &[0, 200]).unwrap() + 0.1, "{inside}");
        let bounds = [0, 100, 200];
        let at_step = difference_autocorrelation(&stepped, &bounds).unwrap();
        assert!((at_step - difference_autocorrelation(short, &[0, 200]).unwrap()).abs() < 0.05);
        let independent: Vec<f64> = (0..20_000).map(|_| rng.next_f64()).collect();
        assert!(difference_autocorrelation(&independent, &[0, 20_000]).unwrap().abs() < 0.03);
        // Alternating: every lag-2 difference is 0, ρ = −1.
        assert_eq!(difference_autocorrelation(&[0.1, -0.1, 0.1, -0.1, 0.1], &[0, 5]), Some(-1.0));
        assert_eq!(difference_autocorrelation(&[0.3; 6], &[0, 3, 6]), None);
        // A straight ramp: lag-2 differences are twice the lag-1 ones, a ratio of 4, clamped.
        let ramp: Vec<f64> = (0..20).map(|i| 0.01 * i as f64).collect();
        assert_eq!(difference_autocorrelation(&ramp, &[0, 20]), Some(1.0));
        assert_eq!(difference_autocorrelation(&[0.3, 0.5], &[0, 2]), None);
    }

    #[test]
    fn each_block_is_discounted_by_its_own_correlation() {
        // First half a slow wave (strongly correlated), second half alternating (negatively
        // correlated), a clear step between them and a small fitted change inside each half.
        let x: Vec<f64> = (0..200)
            .map(|i| {
                let noise = if i < 100 {
                    0.3 * (i as f64 / 8.0).sin()
                } else {
                    0.3 * if i % 2 == 0 { 1.0 } else { -1.0 }
                };
                noise + if i >= 100 { 3.0 } else { 0.0 } + if i % 100 >= 50 { 0.1 } else { 0.0 }
            })
            .collect();
        let bounds = [0, 50, 100, 150, 200];
        let options = ShiftOptions { permutations: 19, ..ShiftOptions::default() };
        let (statistics, _) = test_changes(&x, &bounds, &options, [b"a", b"t"]);
        let own = |block: &[f64], inner: &[usize]| {
            max_split_statistic(block, options.min_size)
                / dependence_factor(difference_autocorrelation(block, inner)).sqrt()
        };
        let first = own(&x[..100], &[0, 50, 100]);
        let second = own(&x[100..], &[0, 50, 100]);
        assert_eq!(statistics[0], first);
        assert_eq!(statistics[2], second);
        // The series' own estimate would discount both halves alike.
        let series = dependence_factor(difference_autocorrelation(&x, &bounds));
        assert!(dependence_factor(difference_autocorrelation(&x[..100], &[0, 50, 100])) > series + 1.0);
        assert_eq!(dependence_factor(difference_autocorrelation(&x[100..], &[0, 50, 100])), 1.0);
    }

    #[test]
    fn dependence_factor_is_the_ar1_long_run_variance_ratio() {
        assert!((dependence_factor(Some(0.5)) - 3.0).abs() < 1e-12);
        assert_eq!(dependence_factor(Some(0.0)), 1.0);
        assert_eq!(dependence_factor(Some(-0.4)), 1.0);
        assert_eq!(dependence_factor(None), 1.0);
        assert!((dependence_factor(Some(0.97)) - 19.0).abs() < 1e-12);
    }

    #[test]
    fn location_interval_matches_a_hand_worked_posterior() {
        // τ ∈ {2, 3, 4}; −RSS + Σx² = 0.75, 1.5, 0.75. With σ² = 0.375 / ln 4 the posterior is
        // (1/6, 2/3, 1/6): a tail of 0.2 drops both sides, a tail of 0.15 neither.
        let window = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let variance = 0.375 / 4f64.ln();
        assert_eq!(location_interval(&window, 2, variance, 0.6), (3, 3));
        assert_eq!(location_interval(&window, 2, variance, 0.7), (2, 4));
        // A noiseless fit is sure of its mode; min_size bounds the locations.
        assert_eq!(location_interval(&window, 2, 0.0, 0.99), (3, 3));
        assert_eq!(location_interval(&window, 3, 100.0, 0.99), (3, 3));
        // Flat data: the posterior is uniform over 2..=8 (7 locations of 1/7 each); a 60%
        // interval drops one location at each end (1/7 < 0.2 < 2/7), an 80% one none.
        assert_eq!(location_interval(&[0.5; 10], 2, 0.1, 0.6), (3, 7));
        assert_eq!(location_interval(&[0.5; 10], 2, 0.1, 0.8), (2, 8));
    }

    #[test]
    fn location_interval_matches_the_posterior_computed_directly() {
        let mut rng = Xoshiro256::seed_from_u64(17);
        for case in 0..200 {
            let n = 6 + case % 25;
            let m = 2 + case % 3;
            if n < 2 * m {
                continue;
            }
            let step = (case % 5) as f64 * 0.3;
            let x: Vec<f64> = (0..n).map(|i| rng.next_f64() + if i >= n / 2 { step } else { 0.0 }).collect();
            let (variance, level) = (1.0 / 12.0, [0.5, 0.8, 0.95][case % 3]);
            // Straight from the definition: RSS of each split, normalised likelihoods.
            let rss = |tau: usize| squared_deviations(&x[..tau]) + squared_deviations(&x[tau..]);
            let taus: Vec<usize> = (m..=n - m).collect();
            let least = taus.iter().map(|&t| rss(t)).fold(f64::INFINITY, f64::min);
            let p: Vec<f64> = taus.iter().map(|&t| (-(rss(t) - least) / (2.0 * variance)).exp()).collect();
            let total: f64 = p.iter().sum();
            let tail = (1.0 - level) / 2.0;
            let mut below = 0.0;
            let low = taus.iter().zip(&p).find(|(_, w)| {
                below += *w / total;
                below > tail
            });
            let mut above = 0.0;
            let high = taus.iter().zip(&p).rev().find(|(_, w)| {
                above += *w / total;
                above > tail
            });
            let want = (*low.unwrap().0, *high.unwrap().0);
            assert_eq!(location_interval(&x, m, variance, level), want, "case {case}");
        }
    }

    #[test]
    fn penalties_parse_and_scale() {
        assert_eq!("BIC".parse::<Penalty>().unwrap(), Penalty::Bic);
        assert_eq!("aic".parse::<Penalty>().unwrap(), Penalty::Aic);
        assert_eq!("12.5".parse::<Penalty>().unwrap(), Penalty::Manual(12.5));
        assert!("-1".parse::<Penalty>().is_err());
        assert!("mbic".parse::<Penalty>().is_err());
        assert!((Penalty::Bic.value(100) - 2.0 * 100f64.ln()).abs() < 1e-12);
        assert_eq!(serde_json::to_string(&Penalty::Manual(3.0)).unwrap(), r#"{"manual":3.0}"#);
        let json = serde_json::to_string(&ShiftOptions::default()).unwrap();
        assert_eq!(serde_json::from_str::<ShiftOptions>(&json).unwrap(), ShiftOptions::default());
    }

    fn table(rows: &[(&str, &str, i32, f64)]) -> DataFrame {
        let mut df = df!(
            "actor" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "target" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "date" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "score" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )
        .unwrap();
        let date = df.column("date").unwrap().cast(&DataType::Date).unwrap();
        df.with_column(date).unwrap();
        df
    }

    /// 60 daily statements with a jump from -0.4 to 0.4 on day 30, plus a short series.
    fn rows() -> Vec<(&'static str, &'static str, i32, f64)> {
        let mut rng = Xoshiro256::seed_from_u64(3);
        let mut rows: Vec<_> = (0..60)
            .map(|d| {
                (
                    "kremlin",
                    "peace",
                    19_000 + d,
                    if d < 30 { -0.4 } else { 0.4 } + 0.3 * (rng.next_f64() - 0.5),
                )
            })
            .collect();
        rows.extend((0..6).map(|d| ("kyiv", "sanctions", 19_000 + d, 0.1 * d as f64)));
        rows
    }

    #[test]
    fn reports_a_clear_shift_with_its_columns() {
        let out = shifts(&table(&rows()), &ShiftOptions::default()).unwrap();
        assert_eq!(out.height(), 1, "{out}");
        let names: Vec<&str> = out.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "actor",
                "target",
                "date",
                "before_mean",
                "after_mean",
                "delta",
                "ci_low",
                "ci_high",
                "p_value",
                "p_adjusted",
                "n_before",
                "n_after",
                "segment_index",
                "statistic",
                "series_p_value",
                "last_date_before",
                "index",
                "index_ci_low",
                "index_ci_high",
                "date_ci_low",
                "date_ci_high",
                "autocorrelation"
            ]
        );
        assert_eq!(out.column("date").unwrap().date().unwrap().phys.get(0), Some(19_030));
        assert_eq!(out.column("last_date_before").unwrap().date().unwrap().phys.get(0), Some(19_029));
        // A jump of 9 noise sds leaves no doubt about the location.
        for (name, want) in [("index", 30), ("index_ci_low", 30), ("index_ci_high", 30)] {
            assert_eq!(out.column(name).unwrap().u32().unwrap().get(0), Some(want), "{name}");
        }
        for name in ["date_ci_low", "date_ci_high"] {
            assert_eq!(out.column(name).unwrap().date().unwrap().phys.get(0), Some(19_030), "{name}");
        }
        let get = |name: &str| out.column(name).unwrap().f64().unwrap().get(0).unwrap();
        assert!((get("delta") - 0.8).abs() < 0.1);
        assert!(get("ci_low") < get("delta") && get("delta") < get("ci_high"));
        // The best possible p-value with 9999 permutations; one of one series is selected.
        assert_eq!(get("p_value"), 1e-4);
        assert_eq!(get("p_adjusted"), 1e-4);
        // The short Kyiv series cannot be tested and does not count in the family.
        let only_kyiv = ShiftOptions { actor: Some("kyiv".into()), ..ShiftOptions::default() };
        assert_eq!(shifts(&table(&rows()), &only_kyiv).unwrap().height(), 0);
    }

    #[test]
    fn filters_name_what_exists() {
        let df = table(&rows());
        let e =
            shifts(&df, &ShiftOptions { target: Some("war".into()), ..ShiftOptions::default() }).unwrap_err();
        assert!(e.to_string().contains("`peace`, `sanctions`"), "{e}");
        let options = ShiftOptions {
            target: Some("peace".into()),
            actor: Some("kyiv".into()),
            ..ShiftOptions::default()
        };
        let e = shifts(&df, &options).unwrap_err().to_string();
        assert!(e.contains("`kyiv`") && e.contains("on target `peace`") && e.contains("`kremlin`"), "{e}");
        for bad in [
            ShiftOptions { min_size: 1, ..ShiftOptions::default() },
            ShiftOptions { alpha: 0.0, ..ShiftOptions::default() },
            ShiftOptions { permutations: 0, ..ShiftOptions::default() },
        ] {
            assert!(matches!(shifts(&df, &bad), Err(AnalysisError::InvalidOption { .. })));
        }
        let empty = table(&[]);
        assert_eq!(shifts(&empty, &ShiftOptions::default()).unwrap().height(), 0);
    }
}
