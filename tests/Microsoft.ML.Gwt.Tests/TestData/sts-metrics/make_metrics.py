#!/usr/bin/env python3
"""Reference values of the STS metrics for GwtSentenceSimilarityMetricsTests, computed independently of the C# code.

Pearson: sum((x-mx)(y-my)) / sqrt(sum((x-mx)^2) sum((y-my)^2)) with math.fsum in float64. Spearman: Pearson of the
ranks, tied values given the average of the ranks they span (what scipy.stats.spearmanr does; scipy is not installed
here, so the ranking is written out by hand). MSE and MAE: fsum means. Inputs are float32 values (as ML.NET's Single
columns hold them), given here already rounded to float32 via struct. Run: /usr/bin/python3 make_metrics.py
"""
import json, math, os, random, struct

def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]

def pearson(x, y):
    n = len(x)
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)

def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        avg = (i + 1 + j + 1) / 2.0
        for k in range(i, j + 1):
            r[order[k]] = avg
        i = j + 1
    return r

def case(name, labels, scores):
    labels = [f32(v) for v in labels]
    scores = [f32(v) for v in scores]
    return {
        "name": name, "labels": labels, "scores": scores,
        "pearson": pearson(labels, scores), "spearman": pearson(ranks(labels), ranks(scores)),
        "mse": math.fsum((s - l) ** 2 for l, s in zip(labels, scores)) / len(labels),
        "mae": math.fsum(abs(s - l) for l, s in zip(labels, scores)) / len(labels),
        "label_ranks": ranks(labels),
    }

r = random.Random(28)
labels = [float(r.randint(0, 5)) for _ in range(200)]                          # STS-like labels with many ties
scores = [round(l * 0.6 + r.gauss(1.0, 1.1), 1) for l in labels]                # noisy predictions, ties after rounding
cases = [
    case("small with ties", [0, 1, 1, 2, 3, 3, 3, 5], [0.5, 0.2, 1.7, 1.7, 2.5, 4.0, 2.9, 4.4]),
    case("200 noisy", labels, scores),
    case("reversed", [1, 2, 3, 4, 5], [10, 8, 6, 4, 2]),
]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json"), "w") as f:
    json.dump(cases, f, indent=1)
