#!/usr/bin/env python3
"""Reference values of the SQuAD v1.1 metrics for QuestionAnsweringMetricsTests, computed by the official
evaluate-v1.1.py's functions (normalize_answer, f1_score, exact_match_score, metric_max_over_ground_truths and the
100 * mean over questions), copied here in their logic, independently of the C# code.
Run: /usr/bin/python3 make_metrics.py
"""
import json, os, re, string
from collections import Counter


def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


CASES = [
    ("The Eiffel Tower", ["Eiffel Tower"]),
    ("eiffel tower!", ["The Eiffel  Tower."]),
    ("a cat and the hat", ["cat hat"]),
    ("theatre", ["the atre"]),                      # articles only as whole words
    ("Anne's car", ["annes car"]),                  # apostrophe removed, not split
    ("$1,299.00", ["1299.00", "$1,299"]),           # max over gold answers
    ("call 555-0199 now", ["555-0199"]),
    ("the the the", ["the"]),                       # normalizes to empty on both sides
    ("", ["Paris"]),                                # no answer
    ("Paris Paris", ["Paris"]),                     # multiset counting
    ("New York City", ["York", "New York"]),
    ("john@example.com", ["john@example.com."]),
    ("Über Straße", ["über straße"]),               # non-ASCII lower-casing
    ("tab\tand\nnewline", ["tab and newline"]),
    ("an apple a day", ["An Apple"]),
    ("«quoted» text", ["quoted text"]),             # non-ASCII punctuation is kept
    ("x_y", ["xy"]),                                # underscore is punctuation
    ("2026-12-08", ["December 8, 2026"]),
]


def main():
    rows = []
    for pred, golds in CASES:
        rows.append({"prediction": pred, "answers": golds, "normalized": normalize_answer(pred),
                     "exact": float(metric_max_over_ground_truths(exact_match_score, pred, golds)),
                     "f1": metric_max_over_ground_truths(f1_score, pred, golds)})
    total = {"exact_match": 100.0 * sum(r["exact"] for r in rows) / len(rows),
             "f1": 100.0 * sum(r["f1"] for r in rows) / len(rows)}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"rows": rows, "total": total}, f, ensure_ascii=False, indent=1)
    for r in rows:
        print(f"{r['prediction']!r:28} {r['exact']:.0f} {r['f1']:.4f} {r['normalized']!r}")
    print(total)


if __name__ == "__main__":
    main()
