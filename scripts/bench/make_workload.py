"""Generates the benchmark's models and workload into .cache/bench/ (idempotent).

- bert/: random-weight BERT-base NLI model (BertConfig defaults: 12 layers, 768 hidden,
  3072 FFN) with the all-MiniLM-L6-v2 WordPiece tokenizer.
- deberta/: random-weight DeBERTa-v3-base NLI model (microsoft/deberta-v3-base config) with a
  SentencePiece unigram tokenizer trained here on the corpus, converted by DebertaV2TokenizerFast.
- pairs.json: 512 statement/hypothesis pairs from corpus/statements.csv × corpus/targets.toml.
- <model>/pairs-tokens.json: those pairs tokenized by the model's tokenizer (what the forward
  benchmarks feed both PyTorch and stance).
- e2e.csv: 320 statements (the 190 demo statements plus 130 two-statement combinations), to be
  scored against the 3 targets of corpus/targets.toml.
- short.csv, short-targets.toml, <model>/short-tokens.json: the short, uniform workload: the
  first sentence of 120 demo statements against the first target of corpus/targets.toml (3
  hypotheses each, 360 pairs), where length-sorted batches have little padding to save.
"""
import csv
import json
import os
import random
import sys
import tomllib

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, ".cache", "bench")
MINILM = os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2")
LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}


def statements():
    with open(os.path.join(ROOT, "corpus", "statements.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def hypotheses():
    with open(os.path.join(ROOT, "corpus", "targets.toml"), "rb") as f:
        spec = tomllib.load(f)
    templates = spec.get("templates", {})
    out = []
    for target in spec["target"]:
        for stance in ("favor", "against", "none"):
            text = target.get(stance, templates[stance])
            out.append(text.replace("{target}", target["name"]))
    return out


def save_tokens(tokenizer, pairs, folder, name="pairs-tokens.json"):
    enc = tokenizer([p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=512)
    rows = [
        {"input_ids": ids, "type_ids": enc["token_type_ids"][i] if "token_type_ids" in enc else [0] * len(ids)}
        for i, ids in enumerate(enc["input_ids"])
    ]
    with open(os.path.join(folder, name), "w") as f:
        json.dump({"pad_token_id": tokenizer.pad_token_id, "rows": rows}, f)


def first_sentences(rows, count):
    """The first sentence of each statement (up to its first ". "), distinct, the first `count`."""
    out, seen = [], set()
    for r in rows:
        sentence = r["text"].split(". ")[0].rstrip(".") + "."
        if sentence not in seen:
            seen.add(sentence)
            out.append(dict(r, text=sentence))
    return out[:count]


def write_short(rows, hyps):
    """short.csv and short-targets.toml (the first target only); returns its 360 pairs."""
    short = first_sentences(rows, 120)
    with open(os.path.join(OUT, "short.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "actor", "date", "text"])
        for r in short:
            writer.writerow([r["id"], r["actor"], r["date"], r["text"]])
    with open(os.path.join(ROOT, "corpus", "targets.toml"), "rb") as f:
        spec = tomllib.load(f)
    target = spec["target"][0]
    lines = ["[templates]"] + [f"{k} = {json.dumps(v)}" for k, v in spec["templates"].items()]
    lines += ["", "[[target]]"] + [f"{k} = {json.dumps(v)}" for k, v in target.items() if k != "keywords"]
    with open(os.path.join(OUT, "short-targets.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return [(r["text"], h) for r in short for h in hyps[:3]]


def make_bert(folder, pairs):
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    torch.manual_seed(0)
    config = transformers.BertConfig(num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model = transformers.BertForSequenceClassification(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(MINILM)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(folder)
    # The MiniLM tokenizer.json ships 128-token truncation and padding; drop both.
    path = os.path.join(folder, "tokenizer.json")
    with open(path) as f:
        spec = json.load(f)
    spec["truncation"] = None
    spec["padding"] = None
    with open(path, "w") as f:
        json.dump(spec, f)
    save_tokens(transformers.AutoTokenizer.from_pretrained(folder), pairs, folder)


def make_deberta(folder, pairs, texts):
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    import sentencepiece as spm

    os.makedirs(folder, exist_ok=True)
    corpus = os.path.join(folder, "spm-corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    prefix = os.path.join(folder, "spm")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="unigram", vocab_size=1500, hard_vocab_limit=False,
        pad_id=0, unk_id=3, bos_id=1, eos_id=2, pad_piece="[PAD]", bos_piece="[CLS]", eos_piece="[SEP]",
        unk_piece="[UNK]", user_defined_symbols=["[MASK]"], minloglevel=2,
    )
    tokenizer = transformers.DebertaV2TokenizerFast(vocab_file=prefix + ".model")
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(folder)
    for name in ("spm-corpus.txt", "spm.vocab"):
        os.remove(os.path.join(folder, name))
    torch.manual_seed(0)
    # microsoft/deberta-v3-base's config.json.
    config = transformers.DebertaV2Config(
        vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=0,
        layer_norm_eps=1e-7, relative_attention=True, max_relative_positions=-1, position_buckets=256,
        norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
        position_biased_input=False, pad_token_id=0, pooler_hidden_size=768, pooler_hidden_act="gelu",
        num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
    )
    model = transformers.DebertaV2ForSequenceClassification(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    save_tokens(transformers.AutoTokenizer.from_pretrained(folder), pairs, folder)


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = statements()
    texts = [r["text"] for r in rows]
    hyps = hypotheses()
    rng = random.Random(6)
    all_pairs = [(t, h) for t in texts for h in hyps]
    pairs = rng.sample(all_pairs, 512)
    with open(os.path.join(OUT, "pairs.json"), "w") as f:
        json.dump(pairs, f)
    with open(os.path.join(OUT, "e2e.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "actor", "date", "text"])
        for r in rows:
            writer.writerow([r["id"], r["actor"], r["date"], r["text"]])
        for i in range(320 - len(rows)):
            a, b = rng.sample(rows, 2)
            writer.writerow([f"combo-{i:04d}", a["actor"], a["date"], a["text"] + " " + b["text"]])
    make_bert(os.path.join(OUT, "bert"), pairs)
    make_deberta(os.path.join(OUT, "deberta"), pairs, texts + hyps)
    short = write_short(rows, hyps)
    for model in ("bert", "deberta"):
        folder = os.path.join(OUT, model)
        save_tokens(transformers.AutoTokenizer.from_pretrained(folder), short, folder, "short-tokens.json")
    print(f"workload ready in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
