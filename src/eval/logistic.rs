//! Multinomial logistic regression with an L2 penalty and sample weights, fitted by full-batch
//! L-BFGS in f64.
//!
//! Objective, for rows `xᵢ` with classes `yᵢ` and weights `wᵢ`:
//! `(1 / Σwᵢ) Σ wᵢ (log Σ_c exp(z_ic) − z_iyᵢ) + (λ/2) ‖W‖²`, with `z_i = W xᵢ + b`; the
//! intercepts `b` are not penalised.
//!
//! Why this optimiser: with λ > 0 the objective is strictly convex in `W` and convex in `b`, so
//! the fitted model is the unique minimiser (up to adding one constant to every intercept,
//! which changes no probability; every gradient sums to zero over the intercepts, so starting
//! from zero the iterates keep them summing to zero). Full-batch L-BFGS from zero uses no
//! randomness at all: the same data give the same head, bit for bit, on any machine and any
//! number of threads (partial sums are taken over fixed blocks of rows and added in block
//! order). Stochastic gradient descent would need shuffling and a learning-rate schedule,
//! and would only approach that minimiser. On a few thousand rows of a few thousand features
//! an iteration costs milliseconds, so exactness is cheap.

use serde::Serialize;

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogisticOptions {
    /// L2 penalty λ on the weights (must be positive).
    pub l2: f64,
    pub max_iter: usize,
    /// Converged when the largest gradient entry falls below this.
    pub tolerance: f64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        Self { l2: 1e-3, max_iter: 1000, tolerance: 1e-6 }
    }
}

/// Training data: `n` rows of `d` features, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    pub x: &'a [f64],
    pub d: usize,
    /// Class index of each row, in `0..k`.
    pub y: &'a [usize],
    pub k: usize,
    /// Weight of each row (e.g. balancing the classes).
    pub weights: &'a [f64],
}

impl Problem<'_> {
    fn n(&self) -> usize {
        self.y.len()
    }
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// `k × d`, row-major.
    #[serde(skip)]
    pub weight: Vec<f64>,
    #[serde(skip)]
    pub bias: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub objective: f64,
    /// Largest absolute gradient entry at the end.
    pub gradient: f64,
}

impl Fit {
    /// Class scores (logits) of one row.
    pub fn logits(&self, row: &[f64]) -> Vec<f64> {
        let d = row.len();
        self.bias
            .iter()
            .enumerate()
            .map(|(c, b)| {
                b + self.weight[c * d..(c + 1) * d].iter().zip(row).map(|(w, x)| w * x).sum::<f64>()
            })
            .collect()
    }

    /// The most probable class of one row (ties: the lower index).
    pub fn predict(&self, row: &[f64]) -> usize {
        let logits = self.logits(row);
        let mut best = 0;
        for (c, &z) in logits.iter().enumerate() {
            if z > logits[best] {
                best = c;
            }
        }
        best
    }
}

/// Rows per block of the partial sums; fixed so that results do not depend on thread count.
const BLOCK: usize = 256;

/// The objective and its gradient at `theta` (`W` row-major, then `b`).
fn evaluate(problem: &Problem, theta: &[f64], l2: f64) -> (f64, Vec<f64>) {
    let (d, k, n) = (problem.d, problem.k, problem.n());
    let total_weight: f64 = problem.weights.iter().sum();
    let blocks: Vec<std::ops::Range<usize>> =
        (0..n.div_ceil(BLOCK)).map(|b| b * BLOCK..((b + 1) * BLOCK).min(n)).collect();
    let partial = |rows: &std::ops::Range<usize>| -> (f64, Vec<f64>) {
        let mut loss = 0.0;
        let mut grad = vec![0.0; k * (d + 1)];
        let mut z = vec![0.0; k];
        for i in rows.clone() {
            let x = &problem.x[i * d..(i + 1) * d];
            for (c, zc) in z.iter_mut().enumerate() {
                *zc = theta[k * d + c]
                    + theta[c * d..(c + 1) * d].iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum_exp: f64 = z.iter().map(|v| (v - max).exp()).sum();
            let log_sum = max + sum_exp.ln();
            let w = problem.weights[i];
            loss += w * (log_sum - z[problem.y[i]]);
            for c in 0..k {
                let residual = w * ((z[c] - log_sum).exp() - f64::from(u8::from(c == problem.y[i])));
                grad[c * d..(c + 1) * d].iter_mut().zip(x).for_each(|(g, v)| *g += residual * v);
                grad[k * d + c] += residual;
            }
        }
        (loss, grad)
    };
    let partials = parallel_blocks(&blocks, partial);
    let mut loss = 0.0;
    let mut grad = vec![0.0; k * (d + 1)];
    for (l, g) in partials {
        loss += l;
        grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    loss /= total_weight;
    grad.iter_mut().for_each(|g| *g /= total_weight);
    let weights = &theta[..k * d];
    loss += 0.5 * l2 * weights.iter().map(|w| w * w).sum::<f64>();
    grad[..k * d].iter_mut().zip(weights).for_each(|(g, w)| *g += l2 * w);
    (loss, grad)
}

/// Runs `work` on each block over the available threads; results in block order.
fn parallel_blocks<R: Send>(
    blocks: &[std::ops::Range<usize>],
    work: impl Fn(&std::ops::Range<usize>) -> R + Sync,
) -> Vec<R> {
    let threads = crate::threads().min(blocks.len());
    if threads <= 1 {
        return blocks.iter().map(work).collect();
    }
    let per_thread = blocks.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = blocks
            .chunks(per_thread)
            .map(|chunk| {
                let work = &work;
                scope.spawn(move || chunk.iter().map(work).collect::<Vec<R>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Fits the model by L-BFGS (10 correction pairs, backtracking Armijo line search).
pub fn fit(problem: &Problem, options: &LogisticOptions) -> Fit {
    const MEMORY: usize = 10;
    const ARMIJO: f64 = 1e-4;
    let (d, k) = (problem.d, problem.k);
    let mut theta = vec![0.0; k * (d + 1)];
    let (mut f, mut g) = evaluate(problem, &theta, options.l2);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut iterations = 0;
    let mut converged = max_abs(&g) <= options.tolerance;
    while !converged && iterations < options.max_iter {
        iterations += 1;
        // Two-loop recursion: direction = −H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let alpha = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(a, b)| *a -= alpha * b);
            alphas.push(alpha);
        }
        let gamma = match history.back() {
            Some((s, y, _)) => dot(s, y) / dot(y, y),
            // First step: a unit-length move along the gradient.
            None => 1.0 / dot(&g, &g).sqrt().max(f64::MIN_POSITIVE),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), alpha) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(a, b)| *a += (alpha - beta) * b);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &direction);
        if slope >= 0.0 {
            // Not a descent direction (curvature information gone stale): restart.
            history.clear();
            let scale = 1.0 / dot(&g, &g).sqrt().max(f64::MIN_POSITIVE);
            direction = g.iter().map(|v| -v * scale).collect();
            slope = dot(&g, &direction);
        }
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let candidate: Vec<f64> = theta.iter().zip(&direction).map(|(t, p)| t + step * p).collect();
            let (f_new, g_new) = evaluate(problem, &candidate, options.l2);
            if f_new <= f + ARMIJO * step * slope {
                accepted = Some((candidate, f_new, g_new));
                break;
            }
            step *= 0.5;
        }
        let Some((candidate, f_new, g_new)) = accepted else {
            // No decrease is representable any more: the minimum is reached to precision.
            converged = true;
            break;
        };
        let s: Vec<f64> = candidate.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).max(f64::MIN_POSITIVE) {
            if history.len() == MEMORY {
                history.pop_front();
            }
            history.push_back((s, y, 1.0 / sy));
        }
        let decrease = f - f_new;
        theta = candidate;
        f = f_new;
        g = g_new;
        converged = max_abs(&g) <= options.tolerance || decrease <= 1e-15 * f.abs().max(1.0);
    }
    let gradient = max_abs(&g);
    let bias = theta.split_off(k * d);
    Fit { weight: theta, bias, iterations, converged, objective: f, gradient }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features, three well separated clusters.
    fn clusters() -> (Vec<f64>, Vec<usize>) {
        let centres = [(2.0, 0.0), (-1.0, 1.7), (-1.0, -1.7)];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (c, (cx, cy)) in centres.iter().enumerate() {
            for j in 0..20 {
                let angle = j as f64 * 0.7;
                x.extend([cx + 0.3 * angle.cos(), cy + 0.3 * angle.sin()]);
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn separable_clusters_are_classified_perfectly() {
        let (x, y) = clusters();
        let weights = vec![1.0; y.len()];
        let problem = Problem { x: &x, d: 2, y: &y, k: 3, weights: &weights };
        let fit = fit(&problem, &LogisticOptions { l2: 1e-3, ..LogisticOptions::default() });
        assert!(fit.converged, "{fit:?}");
        for (row, &label) in x.chunks(2).zip(&y) {
            assert_eq!(fit.predict(row), label);
        }
        // Intercepts stay centred (softmax is invariant to a common shift).
        assert!(fit.bias.iter().sum::<f64>().abs() < 1e-9);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y) = clusters();
        let weights: Vec<f64> = (0..y.len()).map(|i| 0.5 + (i % 3) as f64).collect();
        let problem = Problem { x: &x, d: 2, y: &y, k: 3, weights: &weights };
        let theta: Vec<f64> = (0..9).map(|i| (i as f64 * 0.9).sin()).collect();
        let (_, grad) = evaluate(&problem, &theta, 0.1);
        for j in 0..theta.len() {
            let h = 1e-6;
            let mut plus = theta.clone();
            plus[j] += h;
            let mut minus = theta.clone();
            minus[j] -= h;
            let numeric = (evaluate(&problem, &plus, 0.1).0 - evaluate(&problem, &minus, 0.1).0) / (2.0 * h);
            assert!((numeric - grad[j]).abs() < 1e-7, "{j}: {numeric} vs {}", grad[j]);
        }
    }

    #[test]
    fn matches_the_closed_form_of_a_one_feature_problem() {
        // Two classes, one feature x ∈ {−1, +1} with labels equal to the sign, no penalty on b.
        // By symmetry b = 0 and the logit gap is 2w·x; the optimum of
        // log(1 + e^{−2w}) + λ w²/2 · 2 (two rows of W: w and −w) solves 2/(1 + e^{2w}) = 2λw.
        let x = [-1.0, 1.0];
        let y = [0, 1];
        let weights = [1.0, 1.0];
        let l2 = 0.1;
        let problem = Problem { x: &x, d: 1, y: &y, k: 2, weights: &weights };
        let fit = fit(&problem, &LogisticOptions { l2, max_iter: 500, tolerance: 1e-12 });
        let w = fit.weight[1];
        assert!((fit.weight[0] + w).abs() < 1e-9);
        assert!((2.0 / (1.0 + (2.0 * w).exp()) - 2.0 * l2 * w).abs() < 1e-9, "w = {w}");
    }

    #[test]
    fn weights_shift_the_boundary_toward_the_lighter_class() {
        // Overlapping classes on one feature; upweighting class 1 makes it win at x = 0.
        let x = [-1.0, -0.2, 0.2, 1.0, -0.5, 0.5];
        let y = [0, 0, 0, 1, 1, 1];
        let run = |w1: f64| {
            let weights = [1.0, 1.0, 1.0, w1, w1, w1];
            let problem = Problem { x: &x, d: 1, y: &y, k: 2, weights: &weights };
            fit(&problem, &LogisticOptions::default()).predict(&[0.0])
        };
        assert_eq!(run(1.0), 0);
        assert_eq!(run(3.0), 1);
    }
}
