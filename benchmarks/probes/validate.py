#!/usr/bin/env python3
"""Sanity checks for the probe sets (standard library only).

    python benchmarks/probes/validate.py

Exits non-zero if any check fails; prints counts and distributions.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FG_CATS = {"general_knowledge", "everyday_reasoning", "reading_comprehension", "arithmetic"}
UNKNOWN_LABEL = "unknown"
errors: list[str] = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def load(name):
    with open(HERE / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def validate_forgetting():
    rows = load("forgetting.jsonl")
    ids = [r["id"] for r in rows]
    check(len(ids) == len(set(ids)), "forgetting: duplicate ids")
    check(len(rows) >= 220, f"forgetting: only {len(rows)} items")
    cats = Counter(r["category"] for r in rows)
    for c in FG_CATS:
        check(cats[c] >= 50, f"forgetting: {c} has {cats[c]} < 50")
    check(set(cats) == FG_CATS, f"forgetting: unexpected categories {set(cats) - FG_CATS}")
    gold = {c: Counter() for c in FG_CATS}
    nchoice = Counter()
    for r in rows:
        ch = r["choices"]
        check(3 <= len(ch) <= 4, f"{r['id']}: {len(ch)} choices")
        check(len(set(ch)) == len(ch), f"{r['id']}: duplicate choices")
        check(all(c.startswith(" ") and not c.startswith("  ") for c in ch), f"{r['id']}: choice without single leading space")
        check(isinstance(r["answer"], int) and 0 <= r["answer"] < len(ch), f"{r['id']}: bad answer index")
        check(not r["context"].endswith(" "), f"{r['id']}: context ends with a space")
        gold[r["category"]][r["answer"]] += 1
        nchoice[len(ch)] += 1
    print(f"forgetting.jsonl: {len(rows)} items")
    for c in sorted(FG_CATS):
        print(f"  {c:24s} n={cats[c]:3d} gold index dist={dict(sorted(gold[c].items()))}")
    print(f"  choices per item: {dict(sorted(nchoice.items()))}")
    chance = sum(1 / len(r["choices"]) for r in rows) / len(rows)
    print(f"  chance accuracy: {chance:.3f}")


def validate_text():
    rows = load("general_text.jsonl")
    ids = [r["id"] for r in rows]
    check(len(ids) == len(set(ids)), "general_text: duplicate ids")
    check(len(rows) >= 40, f"general_text: only {len(rows)} paragraphs")
    lens = []
    for r in rows:
        n = len(r["text"].split())
        lens.append(n)
        check(60 <= n <= 150, f"{r['id']}: {n} words (want 60-150)")
    print(f"general_text.jsonl: {len(rows)} paragraphs, words min={min(lens)} max={max(lens)} "
          f"mean={sum(lens) / len(lens):.0f} total={sum(lens)}")


def validate_bbq():
    rows = load("bbq.jsonl")
    ids = [r["example_id"] for r in rows]
    check(len(ids) == len(set(ids)), "bbq: duplicate example_id")
    check(len(rows) >= 160, f"bbq: only {len(rows)} items")
    cats = Counter(r["category"] for r in rows)
    check(len(cats) >= 4, f"bbq: only {len(cats)} categories")
    keys = ["example_id", "question_index", "question_polarity", "context_condition", "category",
            "answer_info", "additional_metadata", "context", "question", "ans0", "ans1", "ans2", "label"]
    cond_pol = Counter()
    unk_slot = Counter()
    unk_phr = Counter()
    label_dist = Counter()
    dis_bias = Counter()  # disambiguated: does the gold answer match the stereotype?
    for r in rows:
        check(list(r) == keys, f"bbq {r['example_id']}: keys {list(r)}")
        check(r["context_condition"] in ("ambig", "disambig"), f"bbq {r['example_id']}: bad condition")
        check(r["question_polarity"] in ("neg", "nonneg"), f"bbq {r['example_id']}: bad polarity")
        check(r["label"] in (0, 1, 2), f"bbq {r['example_id']}: bad label")
        info = r["answer_info"]
        kinds = [info[f"ans{i}"][1] for i in range(3)]
        check(kinds.count(UNKNOWN_LABEL) == 1, f"bbq {r['example_id']}: need exactly one unknown")
        u = kinds.index(UNKNOWN_LABEL)
        check(r[f"ans{u}"] == info[f"ans{u}"][0], f"bbq {r['example_id']}: unknown text mismatch")
        unk_slot[u] += 1
        unk_phr[r[f"ans{u}"]] += 1
        label_dist[r["label"]] += 1
        cond_pol[(r["context_condition"], r["question_polarity"])] += 1
        stereo = r["additional_metadata"]["stereotyped_groups"]
        check(sum(k in stereo for k in kinds) == 1, f"bbq {r['example_id']}: stereotyped group not exactly one answer")
        gold_kind = kinds[r["label"]]
        if r["context_condition"] == "ambig":
            check(gold_kind == UNKNOWN_LABEL, f"bbq {r['example_id']}: ambig gold is not unknown")
        else:
            check(gold_kind != UNKNOWN_LABEL, f"bbq {r['example_id']}: disambig gold is unknown")
            # the person named in the added sentence must be the gold answer
            gold_term = info[f"ans{r['label']}"][0]
            added = r["context"].split(". ", 1)[1] if ". " in r["context"] else r["context"]
            if r["question_polarity"] == "neg":
                ok = added.startswith(f"The {gold_term} ")
            else:
                ok = f"while the {gold_term} " in added
            check(ok, f"bbq {r['example_id']}: gold person is not the one the added sentence names")
            in_stereo = gold_kind in stereo
            biased = in_stereo if r["question_polarity"] == "neg" else not in_stereo
            dis_bias["stereotype-consistent" if biased else "anti-stereotypical"] += 1
    print(f"bbq.jsonl: {len(rows)} items, categories={dict(cats)}")
    print(f"  condition x polarity: {dict(cond_pol)}")
    print(f"  label dist: {dict(sorted(label_dist.items()))}  unknown slot dist: {dict(sorted(unk_slot.items()))}")
    print(f"  unknown phrasings: {dict(unk_phr)}")
    print(f"  disambiguated gold vs stereotype: {dict(dis_bias)}")


def main():
    validate_forgetting()
    validate_text()
    validate_bbq()
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors[:50]:
            print("  -", e)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
