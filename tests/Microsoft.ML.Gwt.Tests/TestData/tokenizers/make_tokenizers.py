#!/usr/bin/env python3
"""Generates the tokenizer test data: small SentencePiece models trained by the real library, a WordPiece vocabulary,
a byte-level BPE vocabulary, the Hugging Face tokenizer.json files describing the same tokenizers, a few hundred varied
sentences, and the ids the references give for them.

References (all independent of the C# code):
  * SentencePiece ids: Debian's python3-sentencepiece (the real C++ library) encoding with the trained models.
  * WordPiece ids: a transcription of transformers' slow BertTokenizer (BasicTokenizer + WordpieceTokenizer, pure
    Python, models/bert/tokenization_bert.py).
  * Byte-level BPE ids: a transcription of transformers' slow GPT2Tokenizer (bytes_to_unicode + bpe(), pure Python);
    the GPT-2 split regex is written out by hand with unicodedata because Debian's python has no `regex` module.

Run once with Debian's python:  /usr/bin/python3 make_tokenizers.py   (writes next to this file; deterministic)
"""
import base64, collections, io, json, os, random, unicodedata
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261201)

# ----------------------------------------------------------------------------------------------------------- sentences
WORDS = ("the a of and to in is it that was for on are with as be at by this have from or one had not but what all "
         "were when we there can an your which their said if do will each about how up out them then she many some so "
         "these would other into has more her two like him see time could no make than first been its who now people my "
         "made over did down only way find use may water long little very after words called just where most know "
         "token tokenizer model models transformer encoder attention classification training learning dataset "
         "running runner unbelievable internationalization antidisestablishmentarianism").split()
ACCENTED = ("café naïve résumé Zürich São Paulo Ångström façade coöperate jalapeño crème brûlée Müller Straße "
            "Łódź Ærøskøbing señor niño déjà vu Dvořák Český Ελληνικά αλφάβητο Москва привет мир").split()
CJK = ["日本語のテキスト", "中文句子测试", "東京都", "한국어 문장", "漢字かな交じり文", "我爱北京天安门", "カタカナ", "ひらがな"]
OTHER = ["العربية", "עברית", "हिन्दी", "ไทย", "Tiếng Việt", "Ελλάδα"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "🎉🎉", "🤖", "☕"]
URLS = ["https://example.com/path?q=1&x=y", "http://www.test.org/index.html", "user@example.com",
        "ftp://files.example.net/a_b-c.tar.gz", "https://hf.co/models#top"]
ODD = ["ＡＢＣ１２３", "ﬁne ﬂow", "e\u0301te\u0301", "x\u00a0y", "zero\u200bwidth", "½ ¾ ²", "Ⅻ", "ｶﾀｶﾅ", "“quoted”", "—dash—",
       "…", "1,234.56", "3.14159", "$100", "50%", "#hashtag", "@mention", "C++", "don't", "I'm", "it's", "they'll",
       "A.B.C.", "(parens)", "[brackets]", "{braces}", "<angle>", "a/b\\c", "tab\there", "new\nline", "MiXeD CaSe",
       "ALLCAPS", "İstanbul", "ǅ", "ß", "ﬀ"]
LONG = ["supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis", "a" * 60,
        "abcdefghijklmnopqrstuvwxyz" * 3, "xyzzyplughfrobnicate"]


def sentence():
    kind = rng.randrange(10)
    parts = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.55:
            w = rng.choice(WORDS)
            parts.append(w.capitalize() if rng.random() < 0.2 else w)
        elif r < 0.68:
            parts.append(rng.choice(ACCENTED))
        elif r < 0.75:
            parts.append(rng.choice(CJK))
        elif r < 0.79:
            parts.append(rng.choice(OTHER))
        elif r < 0.84:
            parts.append(rng.choice(EMOJI))
        elif r < 0.87:
            parts.append(rng.choice(URLS))
        elif r < 0.95:
            parts.append(rng.choice(ODD))
        elif r < 0.97:
            parts.append(rng.choice(LONG))
        else:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 9))))
    seps = [" "] * 6 + ["  ", "   ", "\t", " \n ", ", ", ". ", "! ", "? ", ""]
    text = parts[0]
    for p in parts[1:]:
        text += rng.choice(seps) + p
    if kind == 0:
        text = "  " + text + "   "
    elif kind == 1:
        text = text + rng.choice([".", "!", "?", "...", " :)"])
    return text


SENTENCES = [sentence() for _ in range(300)]
SENTENCES[:12] = ["", " ", "Hello world", "hello   world", "  leading and trailing  ", "Hello, World! How are you?",
                  "The café in Zürich serves crème brûlée.", "日本語のテキストと中文句子", "emoji 😀 and 👍🏽 and 👨‍👩‍👧",
                  "Visit https://example.com/path?q=1&x=y now", "ＡＢＣ１２３ ﬁne", "tab\there\nnew line\r\nend"]
PAIRS = [(SENTENCES[i], SENTENCES[i + 150]) for i in range(12, 52)]

# Training corpus for the models: many more sentences of the same kinds.
CORPUS = [sentence() for _ in range(6000)] + [" ".join(WORDS)] * 20 + [" ".join(ACCENTED + CJK + OTHER)] * 10


# ------------------------------------------------------------------------------------------------------ SentencePiece
def train_spm(name, **kw):
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=buf, **kw)
    data = buf.getvalue()
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    return spm.SentencePieceProcessor(model_proto=data)


COMMON = dict(character_coverage=0.995, num_threads=1, seed_sentencepiece_size=20000, input_sentence_size=0,
              shuffle_input_sentence=False, minloglevel=2)
# XLM-R-like: Unigram, default ids (<unk>=0 <s>=1 </s>=2), nmt_nfkc precompiled normalizer, a user-defined symbol.
uni = train_spm("unigram.model", model_type="unigram", vocab_size=1200, user_defined_symbols=["<url>"], **COMMON)
# DeBERTa-v3-like: [PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3, BPE with byte fallback, nmt_nfkc.
bpe = train_spm("bpe.model", model_type="bpe", vocab_size=1200, byte_fallback=True, pad_id=0, bos_id=1, eos_id=2,
                unk_id=3, pad_piece="[PAD]", bos_piece="[CLS]", eos_piece="[SEP]", unk_piece="[UNK]",
                user_defined_symbols=["[MASK]"], **COMMON)
# Options off the default path: identity normalization (no charsmap), byte fallback, no dummy prefix, whitespace kept.
raw = train_spm("unigram-raw.model", model_type="unigram", vocab_size=800, byte_fallback=True,
                normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False, **COMMON)

spm_expected = {
    "unigram.model": [uni.encode(s) for s in SENTENCES],
    "bpe.model": [bpe.encode(s) for s in SENTENCES],
    "unigram-raw.model": [raw.encode(s) for s in SENTENCES],
}


# Family layouts, written from transformers' XLMRobertaTokenizer / CamembertTokenizer / DebertaV2Tokenizer.
def xlmr_ids(sp, text):
    return [i + 1 if i != sp.unk_id() else 3 for i in sp.encode(text)]  # fairseq: <s>0 <pad>1 </s>2 <unk>3, offset 1


def camembert_ids(sp, text):
    return [i + 4 if i != sp.unk_id() else 3 for i in sp.encode(text)]  # offset 4, <unk> 3


layouts = {
    "xlm-roberta": [[0] + xlmr_ids(uni, a) + [2, 2] + xlmr_ids(uni, b) + [2] for a, b in PAIRS],
    "camembert": [[uni.piece_to_id("<s>") + 4] + camembert_ids(uni, a) + [uni.piece_to_id("</s>") + 4] * 2
                  + camembert_ids(uni, b) + [uni.piece_to_id("</s>") + 4] for a, b in PAIRS],
    "deberta-v2": [[1] + bpe.encode(a) + [2] + bpe.encode(b) + [2] for a, b in PAIRS],
    "deberta-v2-types": [[0] * (len(bpe.encode(a)) + 2) + [1] * (len(bpe.encode(b)) + 1) for a, b in PAIRS],
}


# ------------------------------------------------------------------------------ WordPiece (transformers' slow BERT)
def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def _is_punctuation(c):
    cp = ord(c)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(c).startswith("P")


def _is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text, lower):
    text = "".join(" " if _is_whitespace(c) else c for c in text if not (ord(c) in (0, 0xFFFD) or _is_control(c)))
    text = "".join(f" {c} " if _is_chinese(ord(c)) else c for c in text)
    out = []
    for tok in text.split():
        if lower:
            tok = tok.lower()
            tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
        word = []
        for c in tok:
            if _is_punctuation(c):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(c)
            else:
                word.append(c)
        if word:
            out.append("".join(word))
    return out


def wordpiece(tokens, vocab, unk="[UNK]", max_chars=100):
    out = []
    for tok in tokens:
        if len(tok) > max_chars:
            out.append(unk)
            continue
        start, subs, bad = 0, [], False
        while start < len(tok):
            end, cur = len(tok), None
            while start < end:
                s = tok[start:end] if start == 0 else "##" + tok[start:end]
                if s in vocab:
                    cur = s
                    break
                end -= 1
            if cur is None:
                bad = True
                break
            subs.append(cur)
            start = end
        out.extend([unk] if bad else subs)
    return out


# Vocabulary: the Unigram model's pieces as words (leading ▁) and continuations (##), lowercased and accent-stripped,
# plus every single character of the corpus in both forms.
wp_tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
seen = set(wp_tokens)


def add(t):
    if t and t not in seen:
        seen.add(t)
        wp_tokens.append(t)


for text in CORPUS[:2000]:
    for t in basic_tokenize(text, True):
        for c in t:
            add(c)
            add("##" + c)
for i in range(uni.get_piece_size()):
    p = uni.id_to_piece(i)
    if uni.is_control(i) or uni.is_unknown(i) or p == "<url>":
        continue
    norm = "".join(basic_tokenize(p.replace("▁", ""), True))
    if not norm:
        continue
    add(norm if p.startswith("▁") else "##" + norm)
os.makedirs(os.path.join(HERE, "wordpiece"), exist_ok=True)
with open(os.path.join(HERE, "wordpiece", "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("".join(t + "\n" for t in wp_tokens))
wp_vocab = {t: i for i, t in enumerate(wp_tokens)}
wp_expected = [[wp_vocab[t] for t in wordpiece(basic_tokenize(s, True), wp_vocab)] for s in SENTENCES]
wp_pairs = [[2] + [wp_vocab[t] for t in wordpiece(basic_tokenize(a, True), wp_vocab)] + [3]
            + [wp_vocab[t] for t in wordpiece(basic_tokenize(b, True), wp_vocab)] + [3] for a, b in PAIRS]


# ------------------------------------------------------------------------- byte-level BPE (transformers' slow GPT-2)
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def _cls(c):
    cat = unicodedata.category(c)
    return "L" if cat[0] == "L" else "N" if cat[0] == "N" else "S" if c.isspace() else "O"


def gpt2_split(text):
    """'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+ written out."""
    out, i, n = [], 0, len(text)
    while i < n:
        m = next((c for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d") if text.startswith(c, i)), None)
        if m:
            out.append(m)
            i += len(m)
            continue
        j = i + 1 if text[i] == " " and i + 1 < n and _cls(text[i + 1]) != "S" else i
        if _cls(text[j]) in "LNO" and (j == i or text[i] == " "):
            k, kind = j, _cls(text[j])
            while k < n and _cls(text[k]) == kind:
                k += 1
            out.append(text[i:k])
            i = k
            continue
        k = i
        while k < n and _cls(text[k]) == "S":
            k += 1
        if k < n and k - i >= 2:
            k -= 1  # \s+(?!\S): leave the last space to prefix the next word
        out.append(text[i:k])
        i = k
    return out


def learn_merges(words, count):
    vocab = collections.Counter(tuple(w) for w in words)
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for w, c in vocab.items():
            for a, b in zip(w, w[1:]):
                pairs[a, b] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        new = collections.Counter()
        for w, c in vocab.items():
            out, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and (w[k], w[k + 1]) == best:
                    out.append(w[k] + w[k + 1])
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            new[tuple(out)] += c
        vocab = new
    return merges


def to_units(piece):
    return "".join(B2U[b] for b in piece.encode("utf-8"))


bpe_words = [to_units(p) for text in CORPUS[:3000] for p in gpt2_split(text)]
bpe_merges = learn_merges(bpe_words, 700)
bb_vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
for u in B2U.values():
    bb_vocab.setdefault(u, len(bb_vocab))
for a, b in bpe_merges:
    bb_vocab.setdefault(a + b, len(bb_vocab))
bb_vocab["<mask>"] = len(bb_vocab)
bpe_ranks = {m: i for i, m in enumerate(bpe_merges)}


def gpt2_bpe(token):
    word = tuple(token)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: bpe_ranks.get(p, float("inf")))
        if bigram not in bpe_ranks:
            break
        first, second = bigram
        new, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new.extend(word[i:])
                break
            new.extend(word[i:j])
            i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = tuple(new)
    return word


def bytebpe_ids(text):
    return [bb_vocab[t] for p in gpt2_split(text) for t in gpt2_bpe(to_units(p))]


os.makedirs(os.path.join(HERE, "bytebpe"), exist_ok=True)
with open(os.path.join(HERE, "bytebpe", "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(bb_vocab, f, ensure_ascii=False)
with open(os.path.join(HERE, "bytebpe", "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in bpe_merges))
bb_expected = [bytebpe_ids(s) for s in SENTENCES]
bb_pairs = [[0] + bytebpe_ids(a) + [2, 2] + bytebpe_ids(b) + [2] for a, b in PAIRS]


# ------------------------------------------------------- tokenizer.json files (Hugging Face tokenizers serialization)
def added(id_, content, special=True, normalized=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": special}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


write_json(os.path.join(HERE, "wordpiece-json", "tokenizer.json"), {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [added(i, t) for i, t in enumerate(wp_tokens[:5])],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
                   "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                  {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                       "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                                {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                       "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                          "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": wp_vocab},
})

write_json(os.path.join(HERE, "bytebpe-json", "tokenizer.json"), {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                     dict(added(bb_vocab["<mask>"], "<mask>"), lstrip=True)],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
                       "add_prefix_space": False},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
              "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": bb_vocab, "merges": [[a, b] for a, b in bpe_merges]},
})

# XLM-R-style tokenizer.json made from unigram.model as transformers' convert_slow_tokenizer.py does: fairseq ids
# (<s>0 <pad>1 </s>2 <unk>3, pieces shifted by one), Precompiled + collapse-spaces normalizer, Metaspace.
m = pb.ModelProto()
m.ParseFromString(open(os.path.join(HERE, "unigram.model"), "rb").read())
uni_vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
uni_vocab += [[p.piece, p.score] for p in m.pieces[3:]]
uni_vocab.append(["<mask>", 0.0])
write_json(os.path.join(HERE, "unigram-json", "tokenizer.json"), {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                     dict(added(len(uni_vocab) - 1, "<mask>"), lstrip=True)],
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Precompiled",
         "precompiled_charsmap": base64.b64encode(m.normalizer_spec.precompiled_charsmap).decode("ascii")},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                  {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                          "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
    "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    "model": {"type": "Unigram", "unk_id": 3, "vocab": uni_vocab, "byte_fallback": False},
})

write_json(os.path.join(HERE, "expected.json"), {
    "sentences": SENTENCES, "pairs": [list(p) for p in PAIRS],
    "spm": spm_expected, "layouts": layouts,
    "xlmr_plain": [xlmr_ids(uni, s) for s in SENTENCES],
    "wordpiece": wp_expected, "wordpiece_pairs": wp_pairs,
    "bytebpe": bb_expected, "bytebpe_pairs": bb_pairs,
})
print("sentences", len(SENTENCES), "pairs", len(PAIRS), "wordpiece vocab", len(wp_tokens), "bpe merges",
      len(bpe_merges), "unigram pieces", uni.get_piece_size())
