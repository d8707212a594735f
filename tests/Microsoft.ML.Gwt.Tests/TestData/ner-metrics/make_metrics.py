#!/usr/bin/env python3
"""Reference values of the entity-level NER metrics for NamedEntityRecognitionMetricsTests, computed independently of the
C# code by a port of seqeval's default mode (seqeval/metrics/sequence_labeling.py: get_entities, end_of_chunk,
start_of_chunk; precision/recall/F1 as f1_score and classification_report count them). seqeval is not installed here,
so its few functions are written out below. Default mode = CoNLL's conlleval counting: a chunk starts at B- (and S-), or
at an I-/E- whose type differs from the previous tag's or that follows O (non-strict: an I- without a preceding B- starts
an entity); sentences are joined with an 'O' between them; an entity is (type, first word, last word) and counts as
correct only when the same triple is predicted. Micro-averaged P/R/F1 over all entities; per type over the union of the
true and predicted types; 0 where a denominator is 0. Token accuracy: equal tags over all words.
Run: /usr/bin/python3 make_metrics.py
"""
import json, os, random


def end_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_end = False
    if prev_tag == 'E': chunk_end = True
    if prev_tag == 'S': chunk_end = True
    if prev_tag == 'B' and tag == 'B': chunk_end = True
    if prev_tag == 'B' and tag == 'S': chunk_end = True
    if prev_tag == 'B' and tag == 'O': chunk_end = True
    if prev_tag == 'I' and tag == 'B': chunk_end = True
    if prev_tag == 'I' and tag == 'S': chunk_end = True
    if prev_tag == 'I' and tag == 'O': chunk_end = True
    if prev_tag != 'O' and prev_tag != '.' and prev_type != type_: chunk_end = True
    return chunk_end


def start_of_chunk(prev_tag, tag, prev_type, type_):
    chunk_start = False
    if tag == 'B': chunk_start = True
    if tag == 'S': chunk_start = True
    if prev_tag == 'E' and tag == 'E': chunk_start = True
    if prev_tag == 'E' and tag == 'I': chunk_start = True
    if prev_tag == 'S' and tag == 'E': chunk_start = True
    if prev_tag == 'S' and tag == 'I': chunk_start = True
    if prev_tag == 'O' and tag == 'E': chunk_start = True
    if prev_tag == 'O' and tag == 'I': chunk_start = True
    if tag != 'O' and tag != '.' and prev_type != type_: chunk_start = True
    return chunk_start


def get_entities(seq):
    if any(isinstance(s, list) for s in seq):
        seq = [item for sublist in seq for item in sublist + ['O']]
    prev_tag, prev_type, begin, chunks = 'O', '', 0, []
    for i, chunk in enumerate(seq + ['O']):
        tag = chunk[0]
        type_ = chunk[1:].split('-', maxsplit=1)[-1] or '_'
        if end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def prf(correct, pred, true):
    p = correct / pred if pred > 0 else 0.0
    r = correct / true if true > 0 else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def metrics(y_true, y_pred):
    t, p = set(get_entities(y_true)), set(get_entities(y_pred))
    P, R, F = prf(len(t & p), len(p), len(t))
    types = sorted({e[0] for e in t} | {e[0] for e in p})
    per = {}
    for ty in types:
        tt, pp = {e for e in t if e[0] == ty}, {e for e in p if e[0] == ty}
        a, b, c = prf(len(tt & pp), len(pp), len(tt))
        per[ty] = {"precision": a, "recall": b, "f1": c, "support": len(tt), "predicted": len(pp), "correct": len(tt & pp)}
    flat_t = [x for s in y_true for x in s]
    flat_p = [x for s in y_pred for x in s]
    acc = sum(a == b for a, b in zip(flat_t, flat_p)) / len(flat_t)
    return {"precision": P, "recall": R, "f1": F, "true_entities": len(t), "predicted_entities": len(p),
            "correct_entities": len(t & p), "token_accuracy": acc, "per_type": per,
            "entities_true": sorted(t), "entities_pred": sorted(p)}


CASES = [
    # seqeval's own docstring example (F1 0.50)
    ("docstring", [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']],
                  [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']]),
    # I- without B- starts an entity (non-strict); a type change inside I- splits; B after B splits
    ("lonely-i", [['I-PER', 'I-PER', 'O', 'B-LOC', 'I-ORG', 'B-LOC', 'B-LOC']],
                 [['B-PER', 'I-PER', 'O', 'B-LOC', 'B-ORG', 'B-LOC', 'I-LOC']]),
    # an entity running to the sentence's end, and one starting the next sentence (joined by an O)
    ("sentence-ends", [['O', 'B-DATE', 'I-DATE'], ['I-DATE', 'O'], ['B-MONEY']],
                      [['O', 'B-DATE', 'I-DATE'], ['B-DATE', 'O'], ['O']]),
    # IOBES tags and a bare B (type '_')
    ("iobes", [['S-PER', 'B-LOC', 'E-LOC', 'O', 'B', 'I']],
              [['S-PER', 'B-LOC', 'I-LOC', 'E-LOC', 'B', 'I']]),
    # nothing predicted; nothing true
    ("all-o", [['B-URL', 'O', 'O']], [['O', 'O', 'O']]),
    ("none-true", [['O', 'O']], [['B-URL', 'I-URL']]),
]


def random_case(seed):
    rnd = random.Random(seed)
    tags = ['O', 'O', 'O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-EMAIL', 'I-EMAIL']
    yt, yp = [], []
    for _ in range(12):
        n = rnd.randint(1, 9)
        t = [rnd.choice(tags) for _ in range(n)]
        p = [x if rnd.random() < 0.6 else rnd.choice(tags) for x in t]
        yt.append(t)
        yp.append(p)
    return (f"random-{seed}", yt, yp)


def main():
    cases = CASES + [random_case(s) for s in (1, 2, 3)]
    out = []
    for name, yt, yp in cases:
        m = metrics(yt, yp)
        out.append({"name": name, "true": yt, "pred": yp, **m})
        print(f"{name}: P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f} acc {m['token_accuracy']:.4f}")
    assert abs(out[0]["f1"] - 0.5) < 1e-12 and abs(out[0]["token_accuracy"] - 0.8) < 1e-12  # seqeval's docstring values
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
