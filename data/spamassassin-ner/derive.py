#!/usr/bin/env python3
"""Builds spamassassin-ner.tsv: sentences of the SpamAssassin emails in ../spamassassin/spamassassin.tsv.gz, each word
tagged in IOB2 by the deterministic rules below (no model, no hand labelling). Run: python3 derive.py

Sentences: each email's text split at whitespace into words, cut after a word ending in . ! or ? and after 24 words;
sentences of fewer than 4 words are dropped. A sentence keeps its email's Split (train/validation/test: 80/10/10 by a
SHA-1 of the email, see ../spamassassin/NOTICE), so no email gives sentences to two splits. Every sentence with an
entity is kept; of the others, those whose SHA-1 falls in the first sixteenth, so that entity-free text stays common. Then
per split the first rows in SHA-1 order up to a cap (train 6,000, validation 600, test 1,200), and duplicates dropped.

Rules (applied to each word's core: the word without leading ( < [ " ' and trailing . , ; : ! ? ) > ] " '):
  EMAIL    the core is name@domain.tld                                        (one word)
  URL      the core starts with http:// https:// ftp:// or www.               (one word)
  MONEY    $ amount ($5, $1,000.00, $5k), optionally followed by million/billion/thousand/k;
           or an amount (5, 1,000.00) followed by dollars/USD/bucks            (the amount and its unit word)
  PERCENT  12% / 12.5%, or a number followed by percent/per cent               (1-3 words)
  PHONE    (800) 555-1234, 800-555-1234, 800.555.1234, 1-800-555-1234, +1 800 555 1234 shapes (1-4 words)
  DATE     a month name or abbreviation with a day and/or year next to it (Aug 21 2002, 21 Aug 2002, August 2002,
           with an optional weekday before: Wed, 21 Aug 2002); 2002-08-21; 8/21/2002 or 8/21/02
  TIME     12:34 or 12:34:56, optionally followed by am/pm, AM/PM, or a zone like -0500 / +0100 / EST / GMT
Everything else is O. The labels are therefore rule-made: they say what these rules find, which is mostly but not
always what a person would tag (a "$" price in a signature is MONEY; "May" as a verb next to a year would be DATE).
"""
import csv, gzip, hashlib, io, os, re

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "spamassassin", "spamassassin.tsv.gz")
CAPS = {"train": 6000, "validation": 600, "test": 1200}
MAX_WORDS = 24

MONTHS = {m.lower() for m in "January February March April May June July August September October November December".split()}
MONTHS |= {m[:3] for m in MONTHS} | {"sept"}
WEEKDAYS = {d.lower() for d in "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()}
WEEKDAYS |= {d[:3] for d in WEEKDAYS}

EMAIL = re.compile(r"[A-Za-z0-9._%+=-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
URL = re.compile(r"(https?://|ftp://|www\.)\S+", re.I)
DOLLAR = re.compile(r"\$\d[\d,]*(\.\d+)?[kKmM]?")
AMOUNT = re.compile(r"\d[\d,]*(\.\d+)?")
PERCENT1 = re.compile(r"\d+(\.\d+)?%")
NUMBER = re.compile(r"\d+(\.\d+)?")
PHONE1 = re.compile(r"(1-)?\(?\d{3}\)?[-.]\d{3}[-.]\d{4}")
AREA = re.compile(r"\(\d{3}\)")
LOCAL = re.compile(r"\d{3}-\d{4}")
ISO = re.compile(r"(19|20)\d\d-[01]\d-[0-3]\d")
SLASH = re.compile(r"[01]?\d/[0-3]?\d/(19|20)?\d\d")
DAY = re.compile(r"[0-3]?\d(st|nd|rd|th)?")
YEAR = re.compile(r"(19|20)\d\d")
TIME = re.compile(r"[0-2]?\d:[0-5]\d(:[0-5]\d)?")
ZONE = re.compile(r"([+-]\d{4}|am|pm|AM|PM|a\.m|p\.m|EST|EDT|PST|PDT|CST|CDT|GMT|UTC|UT)")
SCALE = {"million", "billion", "thousand", "k", "mil"}
UNIT = {"dollars", "usd", "bucks", "us$"}


def core(word):
    return word.lstrip("(<[\"'").rstrip(".,;:!?)>]\"'")


def full(rx, s):
    return rx.fullmatch(s) is not None


def tag(words):
    c = [core(w) for w in words]
    low = [x.lower() for x in c]
    n = len(words)
    tags = ["O"] * n

    def put(i, j, label):  # words i..j-1, only where still untagged
        if any(t != "O" for t in tags[i:j]):
            return False
        tags[i] = "B-" + label
        for k in range(i + 1, j):
            tags[k] = "I-" + label
        return True

    i = 0
    while i < n:
        w, x = c[i], low[i]
        nxt = low[i + 1] if i + 1 < n else ""
        nxt2 = low[i + 2] if i + 2 < n else ""
        if full(EMAIL, w):
            put(i, i + 1, "EMAIL")
        elif full(URL, w):
            put(i, i + 1, "URL")
        elif full(DOLLAR, w):
            put(i, i + 2 if nxt in SCALE else i + 1, "MONEY")
        elif full(AMOUNT, w) and nxt in UNIT:
            put(i, i + 2, "MONEY")
        elif full(AMOUNT, w) and nxt in SCALE and nxt2 in UNIT:
            put(i, i + 3, "MONEY")
        elif full(PERCENT1, w):
            put(i, i + 1, "PERCENT")
        elif full(NUMBER, w) and nxt == "percent":
            put(i, i + 2, "PERCENT")
        elif full(NUMBER, w) and nxt == "per" and nxt2 == "cent":
            put(i, i + 3, "PERCENT")
        elif full(PHONE1, w):
            put(i, i + 1, "PHONE")
        elif full(AREA, words[i].rstrip(".,;:")) and i + 1 < n and full(LOCAL, c[i + 1]):
            put(i, i + 2, "PHONE")
        elif full(ISO, w) or full(SLASH, w):
            put(i, i + 1, "DATE")
        elif full(TIME, w):
            put(i, i + 2 if full(ZONE, c[i + 1] if i + 1 < n else "") else i + 1, "TIME")
        elif x.rstrip(".") in MONTHS:
            # month with a day and/or a year around it: [weekday] [day] Month [day] [year]
            start, end = i, i + 1
            if end < n and full(DAY, low[end]):
                end += 1
            if end < n and full(YEAR, c[end]):
                end += 1
            if start > 0 and full(DAY, low[start - 1]) and tags[start - 1] == "O":
                start -= 1
            if start > 0 and low[start - 1].rstrip(",") in WEEKDAYS and tags[start - 1] == "O":
                start -= 1
            if end - start >= 2:
                put(start, end, "DATE")
                i = end
                continue
        i += 1
    return tags


def sentences(text):
    words = text.split()
    cur = []
    for w in words:
        cur.append(w)
        if w[-1] in ".!?" or len(cur) == MAX_WORDS:
            yield cur
            cur = []
    if cur:
        yield cur


def sha(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def main():
    rows = {k: [] for k in CAPS}
    with gzip.open(SRC, "rt", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        si, ti = header.index("Split"), header.index("Text")
        for r in reader:
            for words in sentences(r[ti]):
                if len(words) < 4:
                    continue
                s = " ".join(words)
                tags = tag(words)
                h = sha(s)
                if all(t == "O" for t in tags) and int(h[:2], 16) >= 16:
                    continue
                rows[r[si]].append((h, s, tags))
    out = io.StringIO()
    out.write("Split\tSentence\tTags\n")
    for split, cap in CAPS.items():
        seen, kept = set(), []
        for h, s, tags in sorted(rows[split]):
            if s in seen:
                continue
            seen.add(s)
            kept.append((s, tags))
            if len(kept) == cap:
                break
        counts = {}
        for s, tags in kept:
            for t in tags:
                if t.startswith("B-"):
                    counts[t[2:]] = counts.get(t[2:], 0) + 1
            out.write(f"{split}\t{s}\t{' '.join(tags)}\n")
        print(split, len(kept), "rows,", sum(len(s.split()) for s, _ in kept), "words, entities", dict(sorted(counts.items())),
              "with an entity:", sum(any(t != "O" for t in tags) for _, tags in kept))
    with open(os.path.join(HERE, "spamassassin-ner.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main()
