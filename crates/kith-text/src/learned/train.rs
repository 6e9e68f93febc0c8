//! Training of the learned intent model ([`super::Model`]): one L2-regularised, class-weighted
//! logistic regression per intent of [`super::LEARNED`], fitted by L-BFGS from zero weights
//! (deterministic: no random numbers), and each intent's decision threshold chosen by
//! cross-validation over fixed folds (the one that maximises F1 over the pooled held-out
//! predictions). Used by `examples/train_intents.rs`; pure, no I/O.

use super::{DENSE, Input, LEARNED, Model};

/// One labelled message: the model's input, the labelled intents ([`crate::Intent::bit`]s)
/// and the cross-validation fold it is held out in (`None`: always trained on).
#[derive(Debug, Clone)]
pub struct Example {
    pub input: Input,
    pub gold: u16,
    pub fold: Option<u8>,
}

/// True positives, false positives and false negatives of each intent of
/// [`super::LEARNED`].
pub type Counts5 = [(u32, u32, u32); 5];

/// How training went, per intent of [`super::LEARNED`]: the threshold chosen and what the
/// cross-validated predictions scored at it (true positives, false positives, false
/// negatives over every held-out fold).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub thresholds: [f32; 5],
    pub cv: Counts5,
    /// The same at the chosen thresholds, fold by fold.
    pub by_fold: Vec<(u8, Counts5)>,
}

/// The inverse regularisation strength (as scikit-learn's `C`): the loss is
/// `C · Σ weight_i · log-loss_i + ½ ‖w‖²` (the bias not penalised).
pub const C: f64 = 2.0;

/// A word bucket gets a weight only when at least this many training messages have it: rarer
/// words say nothing general (cross-validated F1 the same as with 2, a quarter of the file).
pub const MIN_MESSAGES: usize = 5;

/// Thresholds tried: 0.05, 0.075, …, 0.95.
fn thresholds() -> impl Iterator<Item = f32> {
    (0..=36).map(|i| 0.05 + 0.025 * i as f32)
}

/// FNV-1a-64 over every example's grams, dense inputs, labels and fold, in order: what a
/// model was trained on ([`Model::trained_on`]).
pub fn fingerprint(examples: &[Example]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for e in examples {
        eat(&(e.input.grams.len() as u32).to_le_bytes());
        e.input.grams.iter().for_each(|g| eat(&g.to_le_bytes()));
        e.input
            .dense
            .iter()
            .for_each(|x| eat(&x.to_bits().to_le_bytes()));
        eat(&e.gold.to_le_bytes());
        eat(&[e.fold.unwrap_or(u8::MAX)]);
    }
    h
}

/// Fits the model on every example, its thresholds chosen by cross-validation over the
/// examples' folds.
pub fn train(examples: &[Example]) -> (Model, Report) {
    let mut folds: Vec<u8> = examples.iter().filter_map(|e| e.fold).collect();
    folds.sort_unstable();
    folds.dedup();
    // Held-out probabilities of every example that has a fold.
    let mut held: Vec<Option<[f32; 5]>> = vec![None; examples.len()];
    for &f in &folds {
        let train: Vec<&Example> = examples.iter().filter(|e| e.fold != Some(f)).collect();
        let model = fit(&train, [0.5; 5]);
        for (i, e) in examples.iter().enumerate() {
            if e.fold == Some(f) {
                held[i] = Some(model.probabilities(&e.input));
            }
        }
    }
    let mut report = Report {
        thresholds: [0.5; 5],
        cv: [(0, 0, 0); 5],
        by_fold: Vec::new(),
    };
    for (k, intent) in LEARNED.into_iter().enumerate() {
        let mut best = (-1.0f64, 0.5f32, (0, 0, 0));
        for t in thresholds() {
            let mut c = (0u32, 0u32, 0u32);
            for (e, p) in examples.iter().zip(&held) {
                let Some(p) = p else { continue };
                let (predicted, actual) = (p[k] >= t, e.gold & intent.bit() != 0);
                match (predicted, actual) {
                    (true, true) => c.0 += 1,
                    (true, false) => c.1 += 1,
                    (false, true) => c.2 += 1,
                    (false, false) => {}
                }
            }
            let f1 = f64::from(2 * c.0) / f64::from((2 * c.0 + c.1 + c.2).max(1));
            if f1 > best.0 {
                best = (f1, t, c);
            }
        }
        report.thresholds[k] = best.1;
        report.cv[k] = best.2;
    }
    for &f in &folds {
        let mut counts = [(0u32, 0u32, 0u32); 5];
        for (e, p) in examples.iter().zip(&held) {
            let Some(p) = p.filter(|_| e.fold == Some(f)) else {
                continue;
            };
            for (k, intent) in LEARNED.into_iter().enumerate() {
                let c = &mut counts[k];
                match (p[k] >= report.thresholds[k], e.gold & intent.bit() != 0) {
                    (true, true) => c.0 += 1,
                    (true, false) => c.1 += 1,
                    (false, true) => c.2 += 1,
                    (false, false) => {}
                }
            }
        }
        report.by_fold.push((f, counts));
    }
    let all: Vec<&Example> = examples.iter().collect();
    let mut model = fit(&all, report.thresholds);
    model.trained_on = fingerprint(examples);
    (model, report)
}

/// The training examples in compact form: vocabulary indices of their grams.
struct Data<'a> {
    rows: Vec<(Vec<u32>, f64, &'a [f32; DENSE])>,
    vocab: Vec<u32>,
}

impl<'a> Data<'a> {
    /// Only buckets present in at least [`MIN_MESSAGES`] examples get a weight.
    fn new(examples: &[&'a Example]) -> Data<'a> {
        let mut all: Vec<u32> = examples
            .iter()
            .flat_map(|e| e.input.grams.iter().copied())
            .collect();
        all.sort_unstable();
        let mut vocab = Vec::new();
        let mut i = 0;
        while i < all.len() {
            let mut j = i;
            while j < all.len() && all[j] == all[i] {
                j += 1;
            }
            if j - i >= MIN_MESSAGES {
                vocab.push(all[i]);
            }
            i = j;
        }
        let rows = examples
            .iter()
            .map(|e| {
                let idx: Vec<u32> = e
                    .input
                    .grams
                    .iter()
                    .filter_map(|g| vocab.binary_search(g).ok().map(|i| i as u32))
                    .collect();
                (idx, f64::from(e.input.gram_value()), &e.input.dense)
            })
            .collect();
        Data { rows, vocab }
    }
}

/// Fits all five intents on `examples` (two threads) into a model with `thresholds`.
fn fit(examples: &[&Example], thresholds: [f32; 5]) -> Model {
    let data = Data::new(examples);
    let labels: Vec<[bool; 5]> = examples
        .iter()
        .map(|e| LEARNED.map(|i| e.gold & i.bit() != 0))
        .collect();
    let thetas: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..5)
            .map(|k| {
                let (data, labels) = (&data, &labels);
                s.spawn(move || {
                    let y: Vec<bool> = labels.iter().map(|l| l[k]).collect();
                    fit_one(data, &y)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let nv = data.vocab.len();
    let mut model = Model {
        trained_on: 0,
        thresholds,
        bias: [0.0; 5],
        dense: [[0.0; 5]; DENSE],
        buckets: data.vocab.clone(),
        weights: vec![[0.0; 5]; nv],
        index: super::Index::default(),
    };
    for (k, theta) in thetas.iter().enumerate() {
        for (w, t) in model.weights.iter_mut().zip(&theta[..nv]) {
            w[k] = *t as f32;
        }
        for (d, row) in model.dense.iter_mut().enumerate() {
            row[k] = theta[nv + d] as f32;
        }
        model.bias[k] = theta[nv + DENSE] as f32;
    }
    // Buckets whose weights all round to nothing are left out of the file.
    let keep: Vec<bool> = model
        .weights
        .iter()
        .map(|w| w.iter().any(|x| x.abs() >= 1e-4))
        .collect();
    let mut it = keep.iter();
    model.buckets.retain(|_| *it.next().unwrap_or(&false));
    let mut it = keep.iter();
    model.weights.retain(|_| *it.next().unwrap_or(&false));
    model.indexed()
}

/// The loss and its gradient for one intent at `theta` (vocabulary weights, dense weights,
/// bias).
fn loss_grad(data: &Data, y: &[bool], cw: (f64, f64), theta: &[f64], grad: &mut [f64]) -> f64 {
    let nv = data.vocab.len();
    let mut loss = 0.0;
    grad.fill(0.0);
    for ((idx, v, dense), &yi) in data.rows.iter().zip(y) {
        let mut z = theta[nv + DENSE];
        for &i in idx {
            z += v * theta[i as usize];
        }
        for (d, x) in dense.iter().enumerate() {
            z += f64::from(*x) * theta[nv + d];
        }
        let (s, w) = if yi { (1.0, cw.1) } else { (-1.0, cw.0) };
        // log(1 + e^(−s·z)), computed without overflow.
        let m = -s * z;
        loss += C
            * w
            * if m > 0.0 {
                m + (-m).exp().ln_1p()
            } else {
                m.exp().ln_1p()
            };
        // d/dz = −s·σ(−s·z)
        let g = C * w * -s / (1.0 + (-m).exp());
        for &i in idx {
            grad[i as usize] += g * v;
        }
        for (d, x) in dense.iter().enumerate() {
            grad[nv + d] += g * f64::from(*x);
        }
        grad[nv + DENSE] += g;
    }
    for j in 0..nv + DENSE {
        loss += 0.5 * theta[j] * theta[j];
        grad[j] += theta[j];
    }
    loss
}

/// L-BFGS (memory 10, backtracking Armijo line search) for one intent; class weights
/// balanced (`n / (2 · n_class)`).
fn fit_one(data: &Data, y: &[bool]) -> Vec<f64> {
    let n = y.len() as f64;
    let pos = y.iter().filter(|&&b| b).count() as f64;
    let cw = (n / (2.0 * (n - pos).max(1.0)), n / (2.0 * pos.max(1.0)));
    let dim = data.vocab.len() + DENSE + 1;
    let mut theta = vec![0.0; dim];
    let mut grad = vec![0.0; dim];
    let mut loss = loss_grad(data, y, cw, &theta, &mut grad);
    let mut hist: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut next = vec![0.0; dim];
    let mut next_grad = vec![0.0; dim];
    for iter in 0..500 {
        // Two-loop recursion: direction = −H·grad.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, yv, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(yv).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, yv, _)) = hist.last() {
            let gamma = dot(s, yv) / dot(yv, yv);
            q.iter_mut().for_each(|qi| *qi *= gamma);
        } else {
            let norm = dot(&grad, &grad).sqrt().max(1e-12);
            q.iter_mut().for_each(|qi| *qi /= norm);
        }
        for ((s, yv, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(yv, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let dir: Vec<f64> = q.iter().map(|x| -x).collect();
        let slope = dot(&grad, &dir);
        if slope >= 0.0 {
            break;
        }
        let mut step = 1.0;
        let mut new_loss = f64::INFINITY;
        for _ in 0..30 {
            next.iter_mut()
                .zip(&theta)
                .zip(&dir)
                .for_each(|((n, t), d)| *n = t + step * d);
            new_loss = loss_grad(data, y, cw, &next, &mut next_grad);
            if new_loss <= loss + 1e-4 * step * slope {
                break;
            }
            step *= 0.5;
        }
        if !new_loss.is_finite() || new_loss > loss {
            break;
        }
        let s: Vec<f64> = next.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        std::mem::swap(&mut theta, &mut next);
        std::mem::swap(&mut grad, &mut next_grad);
        let done = (loss - new_loss).abs() <= 1e-10 * loss.abs().max(1.0);
        loss = new_loss;
        if sy > 1e-12 {
            if hist.len() == 10 {
                hist.remove(0);
            }
            hist.push((s, yv, 1.0 / sy));
        }
        if done || (iter > 0 && dot(&grad, &grad).sqrt() < 1e-6) {
            break;
        }
    }
    theta
}
