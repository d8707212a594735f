#!/usr/bin/env python3
"""Baselines on spamassassin-qa's splits, scored with SQuAD v1.1's exact match and F1 (the official script's functions,
in ../../tests/Microsoft.ML.Gwt.Tests/TestData/qa-metrics/make_metrics.py's copy).

- most-frequent: every question answered with the most frequent training answer.
- sliding-window: lexical overlap without knowing answer types, after the SQuAD paper's sliding-window baseline: each
  word position is scored by how many distinct question words (lower case) occur among the 6 words before it; the answer
  starts at the best position (the first on ties) and is as long, in words, as the median training answer.
- type-rule (a reference, not a trivial baseline): the question's type word (URL, price, ...) picks the type's regular
  expression from derive.py, and the first span of that type is the answer. It uses the very rules that built the set,
  so it shows how far shape alone goes; ordinal and anchored questions are what it misses.
Run: python3 baselines.py
"""
import gzip, os, re, statistics, sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "Microsoft.ML.Gwt.Tests", "TestData", "qa-metrics"))
import make_metrics as squad  # noqa: E402
import derive  # noqa: E402


def load():
    with gzip.open(os.path.join(HERE, "spamassassin-qa.tsv.gz"), "rt", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f]


def score(rows, predict):
    em = f1 = 0.0
    for r in rows:
        p = predict(r)
        em += squad.exact_match_score(p, r["TrainingAnswer"])
        f1 += squad.f1_score(p, r["TrainingAnswer"])
    return 100 * em / len(rows), 100 * f1 / len(rows)


def main():
    rows = load()
    train = [r for r in rows if r["Split"] == "train"]
    frequent = Counter(r["TrainingAnswer"] for r in train).most_common(1)[0][0]
    median_words = int(statistics.median(len(derive.word_spans(r["TrainingAnswer"])) for r in train))

    def sliding(r):
        c, q = r["Context"], r["Question"]
        spans = derive.word_spans(c)
        qwords = {w.lower() for w in re.findall(r"\w+", q)}
        best, best_i = -1, 0
        for i in range(len(spans)):
            window = {c[a:b].lower() for a, b in spans[max(0, i - 6):i]}
            s = len(qwords & window)
            if s > best:
                best, best_i = s, i
        end = min(len(spans), best_i + median_words) - 1
        return c[spans[best_i][0]:spans[end][1]] if spans else ""

    words = sorted(((w.lower(), k) for k, (_, ws) in derive.TYPES.items() for w in ws), key=lambda t: -len(t[0]))

    def type_rule(r):
        q = r["Question"].lower()
        kind = next((k for w, k in words if w in q), None)
        if kind is None:
            return ""
        spans = derive.word_spans(r["Context"])
        hits = derive.find(r["Context"], kind, {a for a, _ in spans}, {b for _, b in spans})
        return r["Context"][hits[0][0]:hits[0][1]] if hits else ""

    print(f"most frequent training answer: {frequent!r}; median answer length {median_words} words")
    for split in ("validation", "test"):
        part = [r for r in rows if r["Split"] == split]
        for name, fn in (("most-frequent", lambda r: frequent), ("sliding-window", sliding), ("type-rule", type_rule)):
            em, f1 = score(part, fn)
            print(f"{split:10} {name:15} EM {em:6.2f}  F1 {f1:6.2f}  ({len(part)} questions)")


if __name__ == "__main__":
    main()
