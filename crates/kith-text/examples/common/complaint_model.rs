//! The complaint-model experiment shared by the `complaint_cv` and `accuracy` examples:
//! multinomial naive Bayes and class-weighted logistic regression over word and bigram
//! features of the author's prose, cross-validated on 5 folds of the **tune split only** (fixed
//! by the FNV-1a hash of the id), alone and combined with the rules. Deterministic: no random
//! numbers, full-batch gradient descent from zero weights.

use std::collections::{BTreeMap, HashMap};

use kith_text::Intent;
use kith_text::eval::{Counts, Labelled, split_hash};

const FOLDS: u64 = 5;

/// Lower-case words of the prose (letters, digits, apostrophes), then bigrams.
fn features(text: &str) -> Vec<String> {
    let prose = kith_text::prose::extract(text);
    let words: Vec<String> = prose
        .text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let mut out: Vec<String> = words.clone();
    out.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    out.sort();
    out.dedup();
    out
}

struct Vocab {
    index: HashMap<String, usize>,
}

impl Vocab {
    fn new(docs: &[&Vec<String>]) -> Vocab {
        // Features seen in at least two training messages.
        let mut df: BTreeMap<&str, u32> = BTreeMap::new();
        for d in docs {
            for f in d.iter() {
                *df.entry(f).or_default() += 1;
            }
        }
        let index = df
            .into_iter()
            .filter(|&(_, n)| n >= 2)
            .enumerate()
            .map(|(i, (f, _))| (f.to_owned(), i))
            .collect();
        Vocab { index }
    }

    fn ids(&self, d: &[String]) -> Vec<usize> {
        d.iter()
            .filter_map(|f| self.index.get(f).copied())
            .collect()
    }
}

trait Model {
    fn p(&self, x: &[usize]) -> f64;
}

/// Multinomial naive Bayes with add-one smoothing over binary feature occurrences.
struct NaiveBayes {
    log_prior: [f64; 2],
    log_like: [Vec<f64>; 2],
}

impl NaiveBayes {
    fn train(xs: &[Vec<usize>], ys: &[bool], n: usize) -> NaiveBayes {
        let mut counts = [vec![1.0; n], vec![1.0; n]];
        let mut docs = [0.0f64; 2];
        for (x, &y) in xs.iter().zip(ys) {
            let c = usize::from(y);
            docs[c] += 1.0;
            for &f in x {
                counts[c][f] += 1.0;
            }
        }
        let total = docs[0] + docs[1];
        let log_like = counts.map(|v| {
            let sum: f64 = v.iter().sum();
            v.iter().map(|c| (c / sum).ln()).collect()
        });
        NaiveBayes {
            log_prior: docs.map(|d| (d / total).ln()),
            log_like,
        }
    }
}

impl Model for NaiveBayes {
    fn p(&self, x: &[usize]) -> f64 {
        let s = |c: usize| self.log_prior[c] + x.iter().map(|&f| self.log_like[c][f]).sum::<f64>();
        let (a, b) = (s(0), s(1));
        1.0 / (1.0 + (a - b).exp())
    }
}

/// Logistic regression, L2-regularised, full-batch gradient descent from zero weights; each
/// class weighted by the inverse of its frequency (complaints are an eighth of the messages).
struct Logistic {
    w: Vec<f64>,
    b: f64,
}

impl Logistic {
    fn train(xs: &[Vec<usize>], ys: &[bool], n: usize) -> Logistic {
        let (mut w, mut b) = (vec![0.0; n], 0.0);
        let (rate, l2, epochs) = (0.5, 1e-3, 300);
        let m = xs.len() as f64;
        let positives = ys.iter().filter(|&&y| y).count().max(1) as f64;
        let weight = |y: bool| {
            if y {
                m / (2.0 * positives)
            } else {
                m / (2.0 * (m - positives).max(1.0))
            }
        };
        for _ in 0..epochs {
            let mut gw = vec![0.0; n];
            let mut gb = 0.0;
            for (x, &y) in xs.iter().zip(ys) {
                let z = b + x.iter().map(|&f| w[f]).sum::<f64>();
                let err = (1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(y))) * weight(y);
                gb += err;
                for &f in x {
                    gw[f] += err;
                }
            }
            for (wi, g) in w.iter_mut().zip(&gw) {
                *wi -= rate * (g / m + l2 * *wi);
            }
            b -= rate * gb / m;
        }
        Logistic { w, b }
    }
}

impl Model for Logistic {
    fn p(&self, x: &[usize]) -> f64 {
        let z = self.b + x.iter().map(|&f| self.w[f]).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Cross-validated complaint figures on the tune split: (what was predicted, counts), the
/// rules first.
pub fn cross_validate(set: &[Labelled]) -> Vec<(String, Counts)> {
    let tune: Vec<&Labelled> = set.iter().filter(|m| !m.test).collect();
    let feats: Vec<Vec<String>> = tune.iter().map(|m| features(&m.text)).collect();
    let ys: Vec<bool> = tune
        .iter()
        .map(|m| m.intents.contains(&Intent::Complaint))
        .collect();
    let rules: Vec<bool> = tune
        .iter()
        .map(|m| {
            kith_text::analyze(&m.text)
                .intents
                .iter()
                .any(|i| i.intent == Intent::Complaint)
        })
        .collect();
    let fold: Vec<u64> = tune
        .iter()
        .map(|m| (split_hash(&m.id) / 3) % FOLDS)
        .collect();
    // Held-out probabilities of every tune message, per model.
    let mut p_nb = vec![0.0; tune.len()];
    let mut p_lr = vec![0.0; tune.len()];
    for k in 0..FOLDS {
        let train: Vec<usize> = (0..tune.len()).filter(|&i| fold[i] != k).collect();
        let vocab = Vocab::new(&train.iter().map(|&i| &feats[i]).collect::<Vec<_>>());
        let n = vocab.index.len();
        let xs: Vec<Vec<usize>> = train.iter().map(|&i| vocab.ids(&feats[i])).collect();
        let y: Vec<bool> = train.iter().map(|&i| ys[i]).collect();
        let nb = NaiveBayes::train(&xs, &y, n);
        let lr = Logistic::train(&xs, &y, n);
        for i in (0..tune.len()).filter(|&i| fold[i] == k) {
            let x = vocab.ids(&feats[i]);
            p_nb[i] = nb.p(&x);
            p_lr[i] = lr.p(&x);
        }
    }
    let tally = |pred: &dyn Fn(usize) -> bool| {
        let mut c = Counts::default();
        for (i, &y) in ys.iter().enumerate() {
            c.add(pred(i), y);
        }
        c
    };
    let mut rows = vec![(
        "rules (tuned on every fold)".to_owned(),
        tally(&|i| rules[i]),
    )];
    for (name, p) in [("naive Bayes", &p_nb), ("logistic regression", &p_lr)] {
        for t in [0.5, 0.7, 0.9] {
            rows.push((format!("{name}, p ≥ {t}"), tally(&|i| p[i] >= t)));
        }
        for t in [0.5, 0.7, 0.9] {
            rows.push((
                format!("rules or {name} p ≥ {t}"),
                tally(&|i| rules[i] || p[i] >= t),
            ));
        }
        for t in [0.1, 0.3] {
            rows.push((
                format!("rules and {name} p ≥ {t}"),
                tally(&|i| rules[i] && p[i] >= t),
            ));
        }
    }
    rows
}
