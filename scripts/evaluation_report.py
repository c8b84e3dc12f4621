"""Writes EVALUATION.md (to stdout) from the outputs of scripts/evaluate.sh in DIR.

Usage: python3 scripts/evaluation_report.py DIR > EVALUATION.md
Standard library only.
"""

import datetime
import json
import os
import platform
import re
import struct
import subprocess
import sys


def load(out, name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        return json.load(f)


def head_training(path):
    """The training record stored in a stance head's safetensors metadata."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    return json.loads(header["__metadata__"]["training"])


def pct(value):
    return "–" if value is None else f"{100 * value:.2f}"


def with_ci(value, ci):
    if value is None:
        return "–"
    if ci is None:
        return pct(value)
    return f"{pct(value)} [{pct(ci['low'])}, {pct(ci['high'])}]"


def overall(report):
    return next(s for s in report["slices"] if s["period"] == "all" and s["target"] is None)


def per_target(report):
    return {s["target"]: s for s in report["slices"] if s["period"] == "all" and s["target"] is not None}


def target_mean(report):
    return next(m for m in report["target_means"] if m["period"] == "all")


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def git_commit():
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        # EVALUATION.md itself is being rewritten: it does not count as a change.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!EVALUATION.md"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def summary_rows(head, zero):
    rows = []
    for name, report in [("all-MiniLM-L6-v2 + trained head", head), ("all-MiniLM-L6-v2 prototypes (zero-shot)", zero)]:
        s = overall(report)
        m = target_mean(report)
        ece = s["calibration"]["ece"] if s["calibration"] else None
        rows.append(
            f"| {name} | {with_ci(s['f_avg'], s['f_avg_ci'])} | {with_ci(s['macro_f1'], s['macro_f1_ci'])} "
            f"| {pct(m['f_avg'])} | {pct(s['accuracy'])} | {'–' if ece is None else f'{ece:.3f}'} |"
        )
    return rows


def agreement_rows(head, zero):
    """Cohen's kappa (with its bootstrap interval) and Krippendorff's alpha, as decimals."""

    def dec(value):
        return "–" if value is None else f"{value:.3f}"

    rows = []
    for name, report in [("all-MiniLM-L6-v2 + trained head", head), ("all-MiniLM-L6-v2 prototypes (zero-shot)", zero)]:
        s = overall(report)
        ci = s["kappa_ci"]
        kappa = dec(s["kappa"]) if ci is None else f"{dec(s['kappa'])} [{dec(ci['low'])}, {dec(ci['high'])}]"
        rows.append(f"| {name} | {kappa} | {dec(s['alpha'])} |")
    return rows


def target_rows(head, zero):
    rows = []
    zero_targets = per_target(zero)
    for target, s in per_target(head).items():
        z = zero_targets[target]
        rows.append(
            f"| {target} | {s['n']} | {with_ci(s['f_avg'], s['f_avg_ci'])} | {pct(s['macro_f1'])} "
            f"| {pct(z['f_avg'])} | {pct(z['macro_f1'])} |"
        )
    return rows


def cv_rows(training):
    rows = []
    for cv in training["cross_validation"]:
        chosen = " (chosen)" if cv["l2"] == training["l2"] else ""
        rows.append(
            f"| {cv['l2']:g}{chosen} | {pct(cv['accuracy'])} | {pct(cv['macro_f1'])} | {pct(cv['f_avg'])} |"
        )
    return rows


def commands(out):
    with open(os.path.join(out, "commands.txt"), encoding="utf-8") as f:
        text = f.read()
    # Where the datasets lie on this machine says nothing to a reader.
    return re.sub(r"\S*/(?=(semeval2016_task6|pstance)/)", "$STANCE_DATASETS/", text).rstrip()


def main():
    out = sys.argv[1]
    sem_head, sem_zero = load(out, "semeval-head.json"), load(out, "semeval-zeroshot.json")
    ps_head, ps_zero = load(out, "pstance-head.json"), load(out, "pstance-zeroshot.json")
    sem_train = head_training(os.path.join(out, "semeval-head.safetensors"))
    ps_train = head_training(os.path.join(out, "pstance-head.safetensors"))
    provenance = sem_head["provenance"]
    summary_header = [
        "| system | F_avg [95% CI] | macro-F1 [95% CI] | F_avg, mean over targets | accuracy | ECE |",
        "|---|---|---|---|---|---|",
    ]
    target_header = [
        "| target | n | head F_avg [95% CI] | head macro-F1 | zero-shot F_avg | zero-shot macro-F1 |",
        "|---|---|---|---|---|---|",
    ]
    cv_header = ["| L2 penalty | accuracy | macro-F1 | F_avg |", "|---|---|---|---|"]
    agreement_header = [
        "Agreement with the gold labels over all test tweets (decimals, not percent): Cohen's κ",
        "with its 95% bootstrap interval, and Krippendorff's α (nominal), the model and the gold",
        "label as two coders:",
        "",
        "| system | Cohen's κ [95% CI] | Krippendorff's α |",
        "|---|---|---|",
    ]
    lines = [
        "# Evaluation on public stance benchmarks",
        "",
        "Generated by `bash scripts/evaluate.sh` (not part of CI; it reads the datasets in",
        "`$STANCE_DATASETS`, by default `../shared/datasets`, in place: their terms forbid",
        "redistribution, so nothing of them is committed). Every number is in percent; intervals",
        "are 95% percentile bootstraps over test rows (1000 resamples, seed 42).",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}, CPU inference (candle, f32)",
        f"- stance {provenance.get('tool_version', '?')}, commit {git_commit()}",
        f"- model: all-MiniLM-L6-v2 (sentence-transformers; weights sha256 "
        f"`{provenance.get('model.weights_sha256', '?')}`), max 256 tokens",
        "",
        "## SemEval-2016 Task 6, subtask A",
        "",
        f"Trained on `train_taskA.tsv` ({sem_train['data']['rows']} tweets, 5 targets), tested on",
        f"`test_taskA_gold.tsv` ({sem_head['rows']} tweets). F_avg is the task's official metric: the mean",
        "of F1(favor) and F1(against) over all test tweets pooled (`none` excluded).",
        "",
        *summary_header,
        "| best participating system, MITRE (Mohammad et al. 2016) | 67.82 | – | – | – | – |",
        *summary_rows(sem_head, sem_zero),
        "",
        *agreement_header,
        *agreement_rows(sem_head, sem_zero),
        "",
        *target_header,
        *target_rows(sem_head, sem_zero),
        "",
        "Cross-validation of the head on the training set (5 folds stratified by target and label,",
        "balanced class weights); the penalty with the best macro-F1 was refitted on all of it:",
        "",
        *cv_header,
        *cv_rows(sem_train),
        "",
        "## P-Stance",
        "",
        f"Trained on `raw_train_{{trump,biden,bernie}}.csv` ({ps_train['data']['rows']} tweets, one head for",
        f"the three targets), tested on `raw_test_{{trump,biden,bernie}}.csv` ({ps_head['rows']} tweets).",
        "P-Stance has no `none` class, so predictions are restricted to favor and against",
        "(`--classes favor,against`) and macro-F1 equals F_avg. The published figure is the mean",
        "over the three targets of the per-target macro-F1 of BERTweet fine-tuned on each target",
        "separately (Li et al. 2021): compare it with the *mean over targets* column.",
        "",
        *summary_header,
        "| BERTweet, in-target (Li et al. 2021) | – | – | 80.53 | – | – |",
        *summary_rows(ps_head, ps_zero),
        "",
        *agreement_header,
        *agreement_rows(ps_head, ps_zero),
        "",
        *target_header,
        *target_rows(ps_head, ps_zero),
        "",
        "Cross-validation of the head on the training set:",
        "",
        *cv_header,
        *cv_rows(ps_train),
        "",
        "## How these were obtained",
        "",
        "- **Trained head** (`stance train`): multinomial logistic regression (L2, balanced class",
        "  weights, full-batch L-BFGS in f64, deterministic) on `[s, t, √d·(s⊙t)]`, where `s` and `t`",
        "  are the unit-length mean-pooled MiniLM embeddings of the tweet and of the target name.",
        "  MiniLM itself is frozen: only classes × 1153 numbers are fitted. Every option is",
        "  `stance train`'s default; no choice was made on the test sets: the L2 penalty is the",
        "  one of 1e-5, 1e-4, 1e-3, 1e-2 with the best cross-validated macro-F1 on the training data.",
        "- **Zero-shot prototypes** (`--method embedding`): softmax over cosine similarities",
        "  (temperature 0.05) between the tweet and the three default hypotheses (\"The author of",
        "  this text supports / opposes / is neutral towards {target}.\"). No training data at all.",
        "- The published systems fine-tune a whole transformer (BERTweet on P-Stance) or learn from",
        "  large amounts of extra, unlabelled tweets (MITRE on SemEval-2016); these rows show what a",
        "  frozen 22M-parameter sentence encoder with a linear head reaches on a CPU in minutes, and",
        "  how far prototype similarity alone is from it.",
        "",
        "Commands (run by `scripts/evaluate.sh`) and wall times, which include embedding every",
        "text once per command on the CPU and depend on what else the machine was running:",
        "",
        "```",
        commands(out),
        "```",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
