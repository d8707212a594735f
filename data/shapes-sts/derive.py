#!/usr/bin/env python3
"""Generates shapes-sts.tsv: a sentence-similarity data set constructed from a tiny compositional scene language.

Each sentence states one spatial relation between two objects, e.g. "the red cube is left of the blue ball". Its meaning
is five attributes once the relation is put in canonical direction (left of / above / in front of; "B is right of A" is
"A is left of B"): first object's color and shape, relation, second object's color and shape. The label of a pair is the
number of those attributes the two meanings share (0 to 5, the STS-B range): 5 = same scene (a paraphrase: synonyms,
filler words, or the inverse relation with the objects swapped), 0 = nothing in common. Surface forms vary (synonyms,
fillers, inverse relations), and a third of the pairs swap the second scene's objects, which keeps almost every word
but changes up to four attributes, so word overlap alone does not give the label.

Splits: train 16,000, validation 500, test 1,000 pairs, each from its own seed; the test split is held out (nothing is
tuned on it). Deterministic: the same file from every run (Python's random.Random with fixed seeds).
Run: /usr/bin/python3 derive.py   (writes shapes-sts.tsv beside this file: Label, Split, Sentence1, Sentence2)
"""
import os
import random

COLORS = ["red", "blue", "green", "yellow", "black", "white"]
SHAPES = {"cube": ["cube", "block"], "ball": ["ball", "sphere"], "cylinder": ["cylinder", "tube"],
          "pyramid": ["pyramid"], "ring": ["ring", "hoop"]}
# canonical relation -> (its surface forms, the inverse relation's surface forms)
RELATIONS = {
    "left": (["is left of", "is to the left of", "sits left of"], ["is right of", "is to the right of", "sits right of"]),
    "above": (["is above", "is on top of", "sits over"], ["is below", "is under", "is beneath"]),
    "front": (["is in front of", "stands before"], ["is behind", "is in back of"]),
}
FILLERS = ["", "", "", "in the picture ,", "we see that", "look :", "here", "apparently", "in this scene"]
SHAPE_NAMES = list(SHAPES)


def random_object(r):
    return (r.choice(COLORS), r.choice(SHAPE_NAMES))


def other(r, values, current):
    return r.choice([v for v in values if v != current])


def edit(r, meaning, k):
    """The meaning with k of its five attributes changed to another value."""
    (c1, s1), rel, (c2, s2) = meaning
    attrs = [c1, s1, rel, c2, s2]
    pools = [COLORS, SHAPE_NAMES, list(RELATIONS), COLORS, SHAPE_NAMES]
    for i in r.sample(range(5), k):
        attrs[i] = other(r, pools[i], attrs[i])
    return ((attrs[0], attrs[1]), attrs[2], (attrs[3], attrs[4]))


def shared(a, b):
    (a1, as1), ar, (a2, as2) = a
    (b1, bs1), br, (b2, bs2) = b
    return sum(x == y for x, y in [(a1, b1), (as1, bs1), (ar, br), (a2, b2), (as2, bs2)])


def say(r, meaning):
    """One surface form of a meaning: the canonical or the inverse direction, synonyms, an optional filler."""
    (c1, s1), rel, (c2, s2) = meaning
    forward, inverse = RELATIONS[rel]
    if r.random() < 0.5:
        first, verb, second = (c1, s1), r.choice(forward), (c2, s2)
    else:
        first, verb, second = (c2, s2), r.choice(inverse), (c1, s1)
    words = f"the {first[0]} {r.choice(SHAPES[first[1]])} {verb} the {second[0]} {r.choice(SHAPES[second[1]])}"
    filler = r.choice(FILLERS)
    return f"{filler} {words}".strip() if filler else words


def pairs(seed, n):
    r = random.Random(seed)
    rows = []
    for _ in range(n):
        a = (random_object(r), r.choice(list(RELATIONS)), random_object(r))
        b = edit(r, a, r.randint(0, 5))
        if r.random() < 1 / 3:
            b = (b[2], b[1], b[0])  # the second scene's objects swapped: the same words, another scene
        rows.append((shared(a, b), say(r, a), say(r, b)))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "shapes-sts.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("Label\tSplit\tSentence1\tSentence2\n")
        for split, seed, n in [("train", 1, 16000), ("validation", 2, 500), ("test", 3, 1000)]:
            for label, s1, s2 in pairs(seed, n):
                f.write(f"{label:.1f}\t{split}\t{s1}\t{s2}\n")


if __name__ == "__main__":
    main()
