#!/usr/bin/env python3
"""Generates the tiny DistilBERT, ELECTRA, XLM-RoBERTa, DeBERTa-v2/v3 and sharded BERT checkpoints and their expected
outputs (last hidden states and sequence-classification logits) used by the C# parity tests.

Independent reference: plain-PyTorch re-implementations written from Hugging Face transformers' modeling source
(commits listed in README.md next to this file); `transformers` itself is not used. Every expected value is computed
from the weights as stored (F16 / BF16 rounded back to float32), in float32 like Hugging Face's eager path; the same
forward is also run in float64 and its distance is printed. Independent cross-checks run at the end (see `checks()`).

Run once with Debian's python3-torch (1.13), python3-numpy and python3-sentencepiece:
    /usr/bin/python3 make_checkpoints_families.py
"""
import json, math, os, shutil, struct, tempfile
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFORMERS_VERSION = "4.46.0"  # what the config.json files claim to be written by; no behaviour depends on it


# ----------------------------------------------------------------------------------------------------------------------
# safetensors writing and dtype rounding
# ----------------------------------------------------------------------------------------------------------------------
def to_bf16_bits(arr):
    """float32 -> bfloat16 bit patterns, round to nearest even (what torch's .to(torch.bfloat16) does)."""
    u = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def stored_value(arr, dtype):
    """The float32 value a reader gets back after arr is stored as dtype."""
    if dtype == "BF16":
        return (to_bf16_bits(arr).astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return np.asarray(arr, dtype=np.float32).astype(np.float16).astype(np.float32)
    return np.asarray(arr, dtype=np.float32)


def raw_bytes(arr, dtype):
    if dtype == "BF16":
        return to_bf16_bits(arr).tobytes()
    if dtype == "F16":
        return np.ascontiguousarray(arr, dtype=np.float16).tobytes()
    if dtype == "I64":
        return np.ascontiguousarray(arr, dtype=np.int64).tobytes()
    return np.ascontiguousarray(arr, dtype=np.float32).tobytes()


def write_safetensors(path, tensors):
    """tensors: name -> (np.ndarray, dtype). Minimal writer: 8-byte LE header length, JSON header, raw data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        arr, dtype = tensors[name]
        raw = raw_bytes(arr, dtype)
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return offset


# ----------------------------------------------------------------------------------------------------------------------
# random weights
# ----------------------------------------------------------------------------------------------------------------------
class Weights:
    """Ordered name -> float32 numpy array, with the dtype each is stored as."""

    def __init__(self, gen):
        self.gen, self.values, self.dtypes = gen, {}, {}

    def rnd(self, name, *shape, std=0.2, mean=0.0, dtype="F32"):
        self.values[name] = (mean + std * torch.randn(*shape, generator=self.gen)).numpy().astype(np.float32)
        self.dtypes[name] = dtype

    def linear(self, name, n_out, n_in, dtype="F32", std=None):
        self.rnd(name + ".weight", n_out, n_in, std=std or 1.0 / math.sqrt(n_in) * 1.2, dtype=dtype)
        self.rnd(name + ".bias", n_out, std=0.05, dtype=dtype)

    def layer_norm(self, name, n, dtype="F32"):
        self.rnd(name + ".weight", n, std=0.1, mean=1.0, dtype=dtype)
        self.rnd(name + ".bias", n, std=0.1, dtype=dtype)

    def stored(self):
        """name -> torch float32 tensor of the stored (rounded) value."""
        return {k: torch.from_numpy(stored_value(v, self.dtypes[k]).copy()) for k, v in self.values.items()}

    def for_file(self, names=None):
        names = names if names is not None else self.values.keys()
        return {k: (self.values[k], self.dtypes[k]) for k in names}


def as_dtype(w, dtype):
    return {k: v.to(dtype) for k, v in w.items()}


# ----------------------------------------------------------------------------------------------------------------------
# building blocks (Hugging Face semantics)
# ----------------------------------------------------------------------------------------------------------------------
def lin(x, w, name):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def ln(x, w, name, eps):
    return F.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps)


def act(x, name):
    if name == "gelu":  # transformers GELUActivation: exact erf form
        return F.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "relu":
        return F.relu(x)
    raise ValueError(name)


def bert_layers(x, mask, w, prefix, cfg):
    """BertLayer stack (post-LN), additive mask (1 - mask) * finfo.min as in get_extended_attention_mask."""
    B, S, H = x.shape
    heads = cfg["num_attention_heads"]
    d = H // heads
    eps = cfg["layer_norm_eps"]
    ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
    split = lambda t: t.view(B, S, heads, d).transpose(1, 2)
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}{i}."
        q, k, v = (split(lin(x, w, p + "attention.self." + n)) for n in ("query", "key", "value"))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + ext, -1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, S, H)
        a = ln(lin(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inter = act(lin(a, w, p + "intermediate.dense"), cfg["hidden_act"])
        x = ln(lin(inter, w, p + "output.dense") + a, w, p + "output.LayerNorm", eps)
    return x


# ----------------------------------------------------------------------------------------------------------------------
# DistilBERT (modeling_distilbert.py: Embeddings, MultiHeadSelfAttention, FFN, TransformerBlock,
# DistilBertForSequenceClassification). No token types; LayerNorm eps is hard-coded 1e-12.
# ----------------------------------------------------------------------------------------------------------------------
def distilbert_forward(cfg, w, ids, mask, types=None):
    B, S = ids.shape
    H, heads = cfg["dim"], cfg["n_heads"]
    d = H // heads
    P = "distilbert."
    pos = torch.arange(S)[None, :].expand(B, S)
    x = w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.position_embeddings.weight"][pos]
    x = ln(x, w, P + "embeddings.LayerNorm", 1e-12)
    split = lambda t: t.view(B, S, heads, d).transpose(1, 2)
    for i in range(cfg["n_layers"]):
        p = f"{P}transformer.layer.{i}."
        q = split(lin(x, w, p + "attention.q_lin")) / math.sqrt(d)
        k = split(lin(x, w, p + "attention.k_lin"))
        v = split(lin(x, w, p + "attention.v_lin"))
        scores = q @ k.transpose(2, 3)
        scores = scores.masked_fill((mask == 0).view(B, 1, 1, S).expand_as(scores), torch.finfo(scores.dtype).min)
        ctx = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, S, H)
        sa = ln(lin(ctx, w, p + "attention.out_lin") + x, w, p + "sa_layer_norm", 1e-12)
        ffn = lin(act(lin(sa, w, p + "ffn.lin1"), cfg["activation"]), w, p + "ffn.lin2")
        x = ln(ffn + sa, w, p + "output_layer_norm", 1e-12)
    pooled = F.relu(lin(x[:, 0], w, "pre_classifier"))
    return x, lin(pooled, w, "classifier")


# ----------------------------------------------------------------------------------------------------------------------
# ELECTRA discriminator (modeling_electra.py: ElectraEmbeddings at embedding_size, ElectraModel.embeddings_project,
# BERT encoder, ElectraClassificationHead = dense -> gelu -> out_proj on token 0).
# ----------------------------------------------------------------------------------------------------------------------
def electra_forward(cfg, w, ids, mask, types):
    B, S = ids.shape
    P = "electra."
    pos = torch.arange(S)[None, :].expand(B, S)
    x = (w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.token_type_embeddings.weight"][types]
         + w[P + "embeddings.position_embeddings.weight"][pos])
    x = ln(x, w, P + "embeddings.LayerNorm", cfg["layer_norm_eps"])
    if cfg["embedding_size"] != cfg["hidden_size"]:
        x = lin(x, w, P + "embeddings_project")
    x = bert_layers(x, mask, w, P + "encoder.layer.", cfg)
    h = act(lin(x[:, 0], w, "classifier.dense"), "gelu")
    return x, lin(h, w, "classifier.out_proj")


# ----------------------------------------------------------------------------------------------------------------------
# XLM-RoBERTa (modeling_xlm_roberta.py = RoBERTa: position ids = cumsum(ids != pad) * (ids != pad) + pad,
# XLMRobertaClassificationHead = dense -> tanh -> out_proj on token 0; no pooler).
# ----------------------------------------------------------------------------------------------------------------------
def xlmr_forward(cfg, w, ids, mask, types):
    P = "roberta."
    pad = cfg["pad_token_id"]
    m = (ids != pad).long()
    pos = torch.cumsum(m, 1) * m + pad
    x = (w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.token_type_embeddings.weight"][types]
         + w[P + "embeddings.position_embeddings.weight"][pos])
    x = ln(x, w, P + "embeddings.LayerNorm", cfg["layer_norm_eps"])
    x = bert_layers(x, mask, w, P + "encoder.layer.", cfg)
    h = torch.tanh(lin(x[:, 0], w, "classifier.dense"))
    return x, lin(h, w, "classifier.out_proj")


# ----------------------------------------------------------------------------------------------------------------------
# BERT with BertForSequenceClassification head (pooler: tanh(dense(h[:,0])); classifier) for the sharded fixture.
# ----------------------------------------------------------------------------------------------------------------------
def bert_forward(cfg, w, ids, mask, types):
    B, S = ids.shape
    P = "bert."
    pos = torch.arange(S)[None, :].expand(B, S)
    x = (w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.token_type_embeddings.weight"][types]
         + w[P + "embeddings.position_embeddings.weight"][pos])
    x = ln(x, w, P + "embeddings.LayerNorm", cfg["layer_norm_eps"])
    x = bert_layers(x, mask, w, P + "encoder.layer.", cfg)
    pooled = torch.tanh(lin(x[:, 0], w, P + "pooler.dense"))
    return x, lin(pooled, w, "classifier")


# ----------------------------------------------------------------------------------------------------------------------
# DeBERTa-v2/v3 (modeling_deberta_v2.py: DebertaV2Embeddings, DebertaV2Encoder with norm_rel_ebd, make_log_bucket_position,
# build_relative_position, DisentangledSelfAttention with share_att_key, XSoftmax, ConvLayer, ContextPooler + classifier).
# ----------------------------------------------------------------------------------------------------------------------
def pos_att_types(cfg):
    t = cfg.get("pos_att_type") or []
    if isinstance(t, str):  # DebertaV2Config splits "p2c|c2p"
        t = [x.strip() for x in t.lower().split("|")]
    return t


def deberta_spans(cfg):
    max_rel = cfg.get("max_relative_positions", -1)
    if max_rel < 1:
        max_rel = cfg["max_position_embeddings"]
    buckets = cfg.get("position_buckets", -1)
    return max_rel, buckets, (buckets if buckets > 0 else max_rel)


def make_log_bucket_position(rel, bucket_size, max_position):
    sign = torch.sign(rel)
    mid = bucket_size // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign)


def build_relative_position(q_size, k_size, bucket_size, max_position):
    rel = torch.arange(q_size)[:, None] - torch.arange(k_size)[None, :]
    if bucket_size > 0 and max_position > 0:
        rel = make_log_bucket_position(rel, bucket_size, max_position)
    return rel.to(torch.long)  # [q, k]


def deberta_conv(cfg, w, hidden, residual, mask):
    """ConvLayer (DeBERTa-v2 xlarge/xxlarge, conv_kernel_size > 0), applied by DebertaV2Encoder after layer 0 only, to
    hidden = the ENCODER INPUT (masked embeddings), residual = layer 0's output:
    out = Conv1d(hidden over the sequence axis, padding (k - 1) // 2, groups); out.masked_fill_(mask == 0, 0);
    out = ACT2FN[conv_act](out); LayerNorm(residual + out) * mask."""
    k = cfg["conv_kernel_size"]
    P = "deberta.encoder.conv."
    out = F.conv1d(hidden.permute(0, 2, 1), w[P + "conv.weight"], w[P + "conv.bias"], padding=(k - 1) // 2,
                   groups=cfg.get("conv_groups", 1)).permute(0, 2, 1)
    out = out.masked_fill((mask == 0)[:, :, None], 0)
    out = act(out, cfg.get("conv_act", "tanh"))
    return ln(residual + out, w, P + "LayerNorm", cfg["layer_norm_eps"]) * mask[:, :, None].to(out.dtype)


def deberta_forward(cfg, w, ids, mask, types):
    B, S = ids.shape
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // heads
    eps = cfg["layer_norm_eps"]
    P = "deberta."
    dt = w[P + "embeddings.word_embeddings.weight"].dtype
    # embeddings
    x = w[P + "embeddings.word_embeddings.weight"][ids]
    if cfg.get("position_biased_input", True):
        x = x + w[P + "embeddings.position_embeddings.weight"][torch.arange(S)][None]
    if cfg.get("type_vocab_size", 0) > 0:
        x = x + w[P + "embeddings.token_type_embeddings.weight"][types]
    if cfg.get("embedding_size", H) != H:
        x = x @ w[P + "embeddings.embed_proj.weight"].T
    x = ln(x, w, P + "embeddings.LayerNorm", eps)
    x = x * mask[:, :, None].to(dt)
    x0 = x  # encoder input, what ConvLayer convolves
    # encoder
    max_rel, buckets, span = deberta_spans(cfg)
    rel_pos = build_relative_position(S, S, buckets, max_rel)
    rel_emb = w[P + "encoder.rel_embeddings.weight"]
    if "layer_norm" in [t.strip() for t in cfg.get("norm_rel_ebd", "none").lower().split("|")]:
        rel_emb = ln(rel_emb, w, P + "encoder.LayerNorm", eps)
    rel_emb = rel_emb[0:span * 2]
    att_mask = (mask[:, None, None, :] * mask[:, None, :, None]).bool()  # [B,1,S,S]
    types_ = pos_att_types(cfg)
    scale_factor = 1 + ("c2p" in types_) + ("p2c" in types_)
    split = lambda t: t.view(t.shape[0], -1, heads, d).transpose(1, 2)  # [b, heads, n, d]
    assert cfg.get("share_att_key", False), "only share_att_key=true is generated here"
    for i in range(cfg["num_hidden_layers"]):
        p = f"{P}encoder.layer.{i}."
        q = split(lin(x, w, p + "attention.self.query_proj"))
        k = split(lin(x, w, p + "attention.self.key_proj"))
        v = split(lin(x, w, p + "attention.self.value_proj"))
        scale = math.sqrt(d * scale_factor)
        scores = q @ k.transpose(-1, -2) / scale
        pos_q = split(lin(rel_emb[None], w, p + "attention.self.query_proj"))[0]  # [heads, 2span, d]
        pos_k = split(lin(rel_emb[None], w, p + "attention.self.key_proj"))[0]
        if "c2p" in types_:
            c2p = q @ pos_k.transpose(-1, -2)  # [B, heads, S, 2span]
            c2p_pos = torch.clamp(rel_pos + span, 0, span * 2 - 1)  # [S(q), S(k)]
            scores = scores + torch.gather(c2p, -1, c2p_pos.expand(B, heads, S, S)) / scale
        if "p2c" in types_:
            p2c = k @ pos_q.transpose(-1, -2)  # [B, heads, S(k), 2span]
            p2c_pos = torch.clamp(-rel_pos + span, 0, span * 2 - 1)  # indexed [k, q]
            scores = scores + torch.gather(p2c, -1, p2c_pos.expand(B, heads, S, S)).transpose(-1, -2) / scale
        # XSoftmax: fill masked with finfo.min, softmax, zero the masked entries (rows of padding become all zero)
        rmask = ~att_mask
        probs = torch.softmax(scores.masked_fill(rmask, torch.finfo(scores.dtype).min), -1).masked_fill(rmask, 0)
        ctx = (probs @ v).transpose(1, 2).reshape(B, S, H)
        a = ln(lin(ctx, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm", eps)
        inter = act(lin(a, w, p + "intermediate.dense"), cfg["hidden_act"])
        x = ln(lin(inter, w, p + "output.dense") + a, w, p + "output.LayerNorm", eps)
        if i == 0 and cfg.get("conv_kernel_size", 0) > 0:
            x = deberta_conv(cfg, w, x0, x, mask)
    pooled = act(lin(x[:, 0], w, "pooler.dense"), cfg.get("pooler_hidden_act", "gelu"))
    return x, lin(pooled, w, "classifier")


# ----------------------------------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------------------------------
WORDS = ("the a an is was be to of and in on at it this that with for as by from cat dog sat mat ran runs running "
         "happy sad good bad movie film great terrible love hate plot actor story boring fun world hello new old "
         "very not but so too much more less best worst time day night book read wrote music song play game").split()


def wordpiece_vocab(n):
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s", "##ing", "##ed", "##ly", "!", ",", ".", "?"]
    toks += [f"##x{i}" for i in range(n - len(toks))]
    assert len(toks) == n
    return toks


SPM_TEXT = [
    "The movie was great and the actors were wonderful.", "I hated every minute of this boring film.",
    "Une histoire magnifique, très bien racontée.", "Der Film war leider viel zu lang.",
    "A new book about music and games.", "She reads a story every night before sleep.",
    "Das ist das beste Buch des Jahres.", "Le chat est sur le tapis.", "Hello world, hello again!",
    "Nothing good happened in the second half.", "What a fun and happy day it was.",
    "El perro corre en el parque.", "This is not the worst film ever made, but close.",
]


def train_spm(path, vocab_size, **kw):
    """Unigram model with the nmt_nfkc normalizer (like the published files); relative paths in a temporary working
    directory keep the stored trainer spec, and so the file, byte-identical from run to run."""
    import sentencepiece as spm
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with open("corpus.txt", "w", encoding="utf-8") as f:
                f.write("\n".join(SPM_TEXT * 3) + "\n")
            spm.SentencePieceTrainer.train(input="corpus.txt", model_prefix="m", vocab_size=vocab_size,
                                           model_type="unigram", character_coverage=1.0, num_threads=1,
                                           minloglevel=2, **kw)
            shutil.copy("m.model", path)
        finally:
            os.chdir(cwd)


def config_common(arch, n_labels):
    id2label = {str(i): l for i, l in enumerate(["NEGATIVE", "POSITIVE", "NEUTRAL", "MIXED"][:n_labels])}
    return {"architectures": [arch], "id2label": id2label, "label2id": {v: int(k) for k, v in id2label.items()},
            "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION}


def rows(vocab_lo, vocab_hi, lengths, S, first, last, pad, gen):
    """Token ids: first, random body, last, then pad up to S."""
    ids, mask = [], []
    for n in lengths:
        body = torch.randint(vocab_lo, vocab_hi, (n - 2,), generator=gen).tolist()
        r = [first] + body + [last]
        ids.append(r + [pad] * (S - n))
        mask.append([1] * n + [0] * (S - n))
    return ids, mask


FORWARDS = {"distilbert": distilbert_forward, "electra": electra_forward, "xlm-roberta": xlmr_forward,
            "deberta-v2": deberta_forward, "bert": bert_forward}
RESULTS = {}


def finish(name, cfg, wts, ids, mask, types, extra_expected=None, shards=None):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    files = []
    if shards is None:
        write_safetensors(os.path.join(folder, "model.safetensors"), wts.for_file())
        files.append("model.safetensors")
    else:
        weight_map, total = {}, 0
        for si, names in enumerate(shards):
            fn = f"model-{si + 1:05d}-of-{len(shards):05d}.safetensors"
            total += write_safetensors(os.path.join(folder, fn), wts.for_file(names))
            weight_map.update({n: fn for n in names})
            files.append(fn)
        assert sorted(weight_map) == sorted(wts.values), "every key in exactly one shard"
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        files.append("model.safetensors.index.json")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    fwd = FORWARDS[cfg["model_type"]]
    w32 = wts.stored()
    I, M, T = torch.tensor(ids), torch.tensor(mask), torch.tensor(types)
    with torch.no_grad():
        hidden, logits = fwd(cfg, w32, I, M, T)
        h64, l64 = fwd(cfg, as_dtype(w32, torch.float64), I, M, T)
    exp = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
           "shape": list(hidden.shape), "last_hidden_state": [round(float(v), 7) for v in hidden.flatten()],
           "logits_shape": list(logits.shape), "logits": [round(float(v), 7) for v in logits.flatten()]}
    exp.update(extra_expected or {})
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(exp, f)
    RESULTS[name] = {"cfg": cfg, "w": w32, "ids": I, "mask": M, "types": T, "hidden": hidden, "logits": logits,
                     "f64_hidden": float((hidden.double() - h64).abs().max()),
                     "f64_logits": float((logits.double() - l64).abs().max())}
    print(f"{name}: hidden {tuple(hidden.shape)} logits {tuple(logits.shape)}; |f32 - f64| hidden "
          f"{RESULTS[name]['f64_hidden']:.2e} logits {RESULTS[name]['f64_logits']:.2e}; "
          f"max|hidden| {float(hidden.abs().max()):.2f} logits {logits.flatten().tolist()[:4]}")
    return folder


def make_distilbert(gen):
    V, H, L, I, S = 80, 32, 2, 64, 9
    cfg = {"model_type": "distilbert", "activation": "gelu", "attention_dropout": 0.1, "dim": H, "dropout": 0.1,
           "hidden_dim": I, "initializer_range": 0.02, "max_position_embeddings": 40, "n_heads": 4, "n_layers": L,
           "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False,
           "tie_weights_": True, "vocab_size": V, **config_common("DistilBertForSequenceClassification", 2)}
    w = Weights(gen)
    P = "distilbert."
    w.rnd(P + "embeddings.word_embeddings.weight", V, H, std=1.0)
    w.rnd(P + "embeddings.position_embeddings.weight", 40, H, std=0.5)
    w.layer_norm(P + "embeddings.LayerNorm", H)
    for i in range(L):
        p = f"{P}transformer.layer.{i}."
        for n in ("q_lin", "k_lin", "v_lin", "out_lin"):
            w.linear(p + "attention." + n, H, H)
        w.layer_norm(p + "sa_layer_norm", H)
        w.linear(p + "ffn.lin1", I, H)
        w.linear(p + "ffn.lin2", H, I)
        w.layer_norm(p + "output_layer_norm", H)
    w.linear("pre_classifier", H, H)
    w.linear("classifier", 2, H)
    ids, mask = rows(5, V, [9, 6, 3], S, 2, 3, 0, gen)
    # token_type_ids given as a BERT tokenizer would for a pair; DistilBERT has no token-type table and ignores them.
    types = [[0, 0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 0, 0], [0] * S]
    folder = finish("distilbert-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 40, "tokenizer_class": "DistilBertTokenizer"}, f)


def make_electra(gen):
    V, E, H, L, I, S, NL = 80, 16, 32, 2, 64, 8, 3
    cfg = {"model_type": "electra", "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
           "embedding_size": E, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H,
           "initializer_range": 0.02, "intermediate_size": I, "layer_norm_eps": 1e-12, "max_position_embeddings": 48,
           "num_attention_heads": 4, "num_hidden_layers": L, "pad_token_id": 0, "position_embedding_type": "absolute",
           "summary_activation": "gelu", "summary_last_dropout": 0.1, "summary_type": "first",
           "summary_use_proj": True, "type_vocab_size": 2, "use_cache": True, "vocab_size": V,
           **config_common("ElectraForSequenceClassification", NL)}
    cfg["torch_dtype"] = "float16"
    w = Weights(gen)
    P = "electra."
    f16 = dict(dtype="F16")
    w.rnd(P + "embeddings.word_embeddings.weight", V, E, std=1.0, **f16)
    w.rnd(P + "embeddings.position_embeddings.weight", 48, E, std=0.5, **f16)
    w.rnd(P + "embeddings.token_type_embeddings.weight", 2, E, std=0.5, **f16)
    w.layer_norm(P + "embeddings.LayerNorm", E, **f16)
    w.linear(P + "embeddings_project", H, E, **f16)
    for i in range(L):
        p = f"{P}encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w.linear(p + n, H, H, **f16)
        w.layer_norm(p + "attention.output.LayerNorm", H, **f16)
        w.linear(p + "intermediate.dense", I, H, **f16)
        w.linear(p + "output.dense", H, I, **f16)
        w.layer_norm(p + "output.LayerNorm", H, **f16)
    w.linear("classifier.dense", H, H, **f16)
    w.linear("classifier.out_proj", NL, H, **f16)
    ids, mask = rows(5, V, [8, 5, 7], S, 2, 3, 0, gen)
    ids[0][4] = 3  # [SEP] between the two segments of the pair in row 0
    types = [[0, 0, 0, 0, 0, 1, 1, 1], [0] * S, [0] * S]
    folder = finish("electra-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 48, "tokenizer_class": "ElectraTokenizer"}, f)


def make_xlmr(gen):
    folder = os.path.join(HERE, "xlm-roberta-tiny")
    os.makedirs(folder, exist_ok=True)
    spm_path = os.path.join(folder, "sentencepiece.bpe.model")
    train_spm(spm_path, 60)  # unigram, <unk>=0 <s>=1 </s>=2 like XLM-R's own file (despite the name)
    n_spm = 60
    V = n_spm + 2  # fairseq layout: <s>=0 <pad>=1 </s>=2 <unk>=3, spm piece i>=3 -> i+1, <mask> = n_spm + 1
    H, L, I, S, NL, MAXPOS = 32, 2, 64, 10, 4, 42
    cfg = {"model_type": "xlm-roberta", "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
           "classifier_dropout": None, "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
           "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I, "layer_norm_eps": 1e-5,
           "max_position_embeddings": MAXPOS, "num_attention_heads": 4, "num_hidden_layers": L,
           "output_past": True, "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1,
           "use_cache": True, "vocab_size": V, **config_common("XLMRobertaForSequenceClassification", NL)}
    cfg["torch_dtype"] = "bfloat16"
    w = Weights(gen)
    P = "roberta."
    bf = dict(dtype="BF16")
    w.rnd(P + "embeddings.word_embeddings.weight", V, H, std=1.0, **bf)
    w.rnd(P + "embeddings.position_embeddings.weight", MAXPOS, H, std=0.5, **bf)
    w.rnd(P + "embeddings.token_type_embeddings.weight", 1, H, std=0.5, **bf)
    w.layer_norm(P + "embeddings.LayerNorm", H, **bf)
    for i in range(L):
        p = f"{P}encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w.linear(p + n, H, H, **bf)
        w.layer_norm(p + "attention.output.LayerNorm", H, **bf)
        w.linear(p + "intermediate.dense", I, H, **bf)
        w.linear(p + "output.dense", H, I, **bf)
        w.layer_norm(p + "output.LayerNorm", H, **bf)
    w.linear("classifier.dense", H, H, **bf)
    w.linear("classifier.out_proj", NL, H, **bf)
    ids, mask = rows(4, V - 1, [10, 7, 4], S, 0, 2, 1, gen)
    ids[0][5], ids[0][6] = 2, 2  # pair: <s> A </s></s> B </s>
    types = [[0] * S for _ in ids]
    finish("xlm-roberta-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
                   "model_max_length": MAXPOS - 2, "pad_token": "<pad>", "sep_token": "</s>",
                   "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}, f)


def make_deberta(gen, name, buckets, S, lengths, pos_att_type, max_pos, conv=None):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    n_spm = 60
    # DeBERTa-v3 spm.model layout: [PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3; [MASK] is an added token after the pieces.
    train_spm(os.path.join(folder, "spm.model"), n_spm, pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
              eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]")
    V, H, L, I, NL = n_spm + 4, 32, 2, 64, 3
    cfg = {"model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I,
           "layer_norm_eps": 1e-7, "max_position_embeddings": max_pos, "max_relative_positions": -1,
           "norm_rel_ebd": "layer_norm", "num_attention_heads": 4, "num_hidden_layers": L, "pad_token_id": 0,
           "pooler_dropout": 0, "pooler_hidden_act": "gelu", "pooler_hidden_size": H, "pos_att_type": pos_att_type,
           "position_biased_input": False, "position_buckets": buckets, "relative_attention": True,
           "share_att_key": True, "type_vocab_size": 0, "vocab_size": V, **(conv or {}),
           **config_common("DebertaV2ForSequenceClassification", NL)}
    w = Weights(gen)
    P = "deberta."
    _, _, span = deberta_spans(cfg)
    w.rnd(P + "embeddings.word_embeddings.weight", V, H, std=1.0)
    w.layer_norm(P + "embeddings.LayerNorm", H)
    for i in range(L):
        p = f"{P}encoder.layer.{i}."
        for n in ("attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
                  "attention.output.dense"):
            w.linear(p + n, H, H)
        w.layer_norm(p + "attention.output.LayerNorm", H)
        w.linear(p + "intermediate.dense", I, H)
        w.linear(p + "output.dense", H, I)
        w.layer_norm(p + "output.LayerNorm", H)
    w.rnd(P + "encoder.rel_embeddings.weight", 2 * span, H, std=1.0)
    w.layer_norm(P + "encoder.LayerNorm", H)
    if conv:  # nn.Conv1d(H, H, k, groups): weight [H, H / groups, k]
        k, g = conv["conv_kernel_size"], conv["conv_groups"]
        w.rnd(P + "encoder.conv.conv.weight", H, H // g, k, std=1.2 / math.sqrt(H // g * k))
        w.rnd(P + "encoder.conv.conv.bias", H, std=0.05)
        w.layer_norm(P + "encoder.conv.LayerNorm", H)
    w.linear("pooler.dense", H, H)
    w.linear("classifier", NL, H)
    ids, mask = rows(4, V, lengths, S, 1, 2, 0, gen)
    types = [[0] * S for _ in ids]
    max_rel, b, _ = deberta_spans(cfg)
    rel = build_relative_position(S, S, b, max_rel)
    finish(name, cfg, w, ids, mask, types, extra_expected={
        "relative_position": rel.tolist(),
        "note": "relative_position[i][j] = bucketed (i - j); c2p uses it + span, p2c uses -it + span (then transposed)"})
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "[CLS]", "cls_token": "[CLS]", "do_lower_case": False, "eos_token": "[SEP]",
                   "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]", "split_by_punct": False,
                   "tokenizer_class": "DebertaV2Tokenizer", "unk_token": "[UNK]", "vocab_type": "spm"}, f)
    with open(os.path.join(folder, "added_tokens.json"), "w") as f:
        json.dump({"[MASK]": n_spm}, f)


def make_sharded_bert(gen):
    V, H, L, I, S, NL = 90, 32, 2, 64, 8, 2
    cfg = {"model_type": "bert", "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
           "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
           "intermediate_size": I, "layer_norm_eps": 1e-12, "max_position_embeddings": 64, "num_attention_heads": 4,
           "num_hidden_layers": L, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
           "use_cache": True, "vocab_size": V, **config_common("BertForSequenceClassification", NL)}
    w = Weights(gen)
    P = "bert."
    w.rnd(P + "embeddings.word_embeddings.weight", V, H, std=1.0)
    w.rnd(P + "embeddings.position_embeddings.weight", 64, H, std=0.5)
    w.rnd(P + "embeddings.token_type_embeddings.weight", 2, H, std=0.5)
    w.layer_norm(P + "embeddings.LayerNorm", H)
    shard1 = list(w.values)
    for i in range(L):
        p = f"{P}encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w.linear(p + n, H, H)
        w.layer_norm(p + "attention.output.LayerNorm", H)
        w.linear(p + "intermediate.dense", I, H)
        w.linear(p + "output.dense", H, I)
        w.layer_norm(p + "output.LayerNorm", H)
    w.linear(P + "pooler.dense", H, H)
    w.linear("classifier", NL, H)
    rest = [k for k in w.values if k not in shard1]
    shard2 = [k for k in rest if k.startswith(P + "encoder.layer.0.")]
    shard3 = [k for k in rest if k not in shard2]
    ids, mask = rows(5, V, [8, 6, 4], S, 2, 3, 0, gen)
    ids[0][3] = 3
    types = [[0, 0, 0, 0, 1, 1, 1, 1], [0] * S, [0] * S]
    folder = finish("bert-sharded-tiny", cfg, w, ids, mask, types, shards=[shard1, shard2, shard3])
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)


# ----------------------------------------------------------------------------------------------------------------------
# independent cross-checks (printed; the generator fails if one is off)
# ----------------------------------------------------------------------------------------------------------------------
def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        raw = data[a:b]
        if v["dtype"] == "BF16":
            t = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16).float()
        elif v["dtype"] == "F16":
            t = torch.frombuffer(bytearray(raw), dtype=torch.float16).float()
        else:
            t = torch.frombuffer(bytearray(raw), dtype=torch.float32)
        out[k] = t.reshape(v["shape"])
    return out, len(data)


def nn_encoder(x, mask, w, prefix, names, n_layers, heads, eps, activation):
    """The same post-LN stack through torch.nn.TransformerEncoderLayer (a separate attention implementation)."""
    H = x.shape[-1]
    for i in range(n_layers):
        p = f"{prefix}{i}."
        q, k, v, o, ln1, f1, f2, ln2 = (p + n for n in names)
        I = w[f1 + ".weight"].shape[0]
        layer = torch.nn.TransformerEncoderLayer(H, heads, I, dropout=0.0, activation=activation,
                                                 layer_norm_eps=eps, batch_first=True, dtype=x.dtype)
        with torch.no_grad():
            layer.self_attn.in_proj_weight.copy_(torch.cat([w[q + ".weight"], w[k + ".weight"], w[v + ".weight"]]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([w[q + ".bias"], w[k + ".bias"], w[v + ".bias"]]))
            for mod, n in ((layer.self_attn.out_proj, o), (layer.linear1, f1), (layer.linear2, f2),
                           (layer.norm1, ln1), (layer.norm2, ln2)):
                mod.weight.copy_(w[n + ".weight"])
                mod.bias.copy_(w[n + ".bias"])
        layer.train(False)
        with torch.enable_grad():  # keeps torch 1.13 off the fused fast path
            x = layer(x, src_key_padding_mask=(mask == 0)).detach()
    return x


BERT_NAMES = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
              "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
DISTIL_NAMES = ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin", "sa_layer_norm",
                "ffn.lin1", "ffn.lin2", "output_layer_norm")


def deberta_scalar(cfg, w, ids, mask):
    """DeBERTa with the disentangled score written as loops over (i, j), float64, from the paper's formula:
    A[i,j] = (Q_i.K_j + Q_i.Kr[d(i,j)] + K_j.Qr[d(i,j)]) / sqrt(3 d), with d(i,j) = bucket(i - j) + span clamped."""
    w = as_dtype(w, torch.float64)
    B, S = ids.shape
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // heads
    eps = cfg["layer_norm_eps"]
    P = "deberta."
    x = ln(w[P + "embeddings.word_embeddings.weight"][ids], w, P + "embeddings.LayerNorm", eps) * mask[:, :, None]
    x0 = x
    max_rel, buckets, span = deberta_spans(cfg)
    rel = ln(w[P + "encoder.rel_embeddings.weight"], w, P + "encoder.LayerNorm", eps)
    def bucket(r):
        mid = buckets // 2
        if abs(r) <= mid or buckets <= 0:
            return r
        return int(math.copysign(math.ceil(math.log(abs(r) / mid) / math.log((max_rel - 1) / mid) * (mid - 1)) + mid, r))
    out = torch.zeros(B, S, H, dtype=torch.float64)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"{P}encoder.layer.{layer}.attention.self."
        Q, K, Vv = (lin(x, w, p + n) for n in ("query_proj", "key_proj", "value_proj"))
        Qr, Kr = lin(rel, w, p + "query_proj"), lin(rel, w, p + "key_proj")
        ctx = torch.zeros(B, S, H, dtype=torch.float64)
        for b in range(B):
            for h in range(heads):
                sl = slice(h * d, (h + 1) * d)
                A = torch.full((S, S), -math.inf, dtype=torch.float64)
                for i in range(S):
                    for j in range(S):
                        if mask[b, i] and mask[b, j]:
                            idx = min(max(bucket(i - j) + span, 0), 2 * span - 1)
                            A[i, j] = (Q[b, i, sl] @ K[b, j, sl] + Q[b, i, sl] @ Kr[idx, sl]
                                       + K[b, j, sl] @ Qr[idx, sl]) / math.sqrt(3 * d)
                for i in range(S):
                    if mask[b, i]:
                        ctx[b, i, sl] = torch.softmax(A[i], -1) @ Vv[b, :, sl]
        pl = f"{P}encoder.layer.{layer}."
        a = ln(lin(ctx, w, pl + "attention.output.dense") + x, w, pl + "attention.output.LayerNorm", eps)
        x = ln(lin(act(lin(a, w, pl + "intermediate.dense"), "gelu"), w, pl + "output.dense") + a, w,
               pl + "output.LayerNorm", eps)
        if layer == 0 and cfg.get("conv_kernel_size", 0) > 0:
            # ConvLayer as loops: out[t, o] = bias[o] + sum_{tap, c} W[o, c, tap] * x0[t + tap - (k - 1) / 2, c]
            # (zero outside the sequence; groups = 1), zeroed where mask = 0, then gelu, LayerNorm(x + out) * mask
            k, cw, cb = cfg["conv_kernel_size"], w[P + "encoder.conv.conv.weight"], w[P + "encoder.conv.conv.bias"]
            assert cfg.get("conv_groups", 1) == 1 and cfg["conv_act"] == "gelu"
            out = torch.zeros(B, S, H, dtype=torch.float64)
            for b in range(B):
                for t in range(S):
                    if not mask[b, t]:
                        continue
                    out[b, t] = cb.clone()
                    for tap in range(k):
                        src = t + tap - (k - 1) // 2
                        if 0 <= src < S:
                            out[b, t] += cw[:, :, tap] @ x0[b, src]
            out = 0.5 * out * (1 + torch.erf(out / math.sqrt(2)))
            x = ln(x + out, w, P + "encoder.conv.LayerNorm", eps) * mask[:, :, None]
    return x


def existing_generator_forward():
    """The forward() of make_checkpoints.py (the committed BERT/RoBERTa reference), without running its fixtures."""
    src = open(os.path.join(HERE, "make_checkpoints.py")).read()
    ns = {"__file__": os.path.join(HERE, "make_checkpoints.py")}
    exec(src.split("# --- BERT")[0], ns)
    return ns["forward"]


def checks():
    report = {}
    def record(key, val, tol):
        report[key] = val
        print(f"  check {key}: {val:.3e} (tolerance {tol:g})")
        assert val <= tol, key

    # 1. files read back (own reader, torch's own bf16/f16 decoding) equal the values the reference used
    for name, r in RESULTS.items():
        folder = os.path.join(HERE, name)
        index = os.path.join(folder, "model.safetensors.index.json")
        if os.path.exists(index):
            wm = json.load(open(index))["weight_map"]
            loaded, total = {}, 0
            for fn in sorted(set(wm.values())):
                part, n = read_safetensors(os.path.join(folder, fn))
                total += n
                assert not (set(part) & set(loaded)), "a key in two shards"
                assert all(wm[k] == fn for k in part), "index names the wrong shard"
                loaded.update(part)
            assert json.load(open(index))["metadata"]["total_size"] == total
        else:
            loaded, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
        assert sorted(loaded) == sorted(r["w"])
        record(f"{name}/readback", max(float((loaded[k] - r["w"][k]).abs().max()) for k in loaded), 0)
    # torch's own round-to-nearest-even bf16 agrees with the writer
    a = torch.randn(10000) * 3
    ours = torch.from_numpy(stored_value(a.numpy(), "BF16").copy())
    record("bf16-rounding-vs-torch", float((ours - a.to(torch.bfloat16).float()).abs().max()), 0)

    # 2. each row alone (no padding) gives the batch's values at its real positions
    for name, r in RESULTS.items():
        fwd = FORWARDS[r["cfg"]["model_type"]]
        worst = 0.0
        for b in range(r["ids"].shape[0]):
            n = int(r["mask"][b].sum())
            with torch.no_grad():
                h, l = fwd(r["cfg"], r["w"], r["ids"][b:b + 1, :n], r["mask"][b:b + 1, :n], r["types"][b:b + 1, :n])
            worst = max(worst, float((h[0] - r["hidden"][b, :n]).abs().max()), float((l[0] - r["logits"][b]).abs().max()))
        record(f"{name}/row-alone-vs-padded-batch", worst, 2e-5)

    old_forward = existing_generator_forward()
    # 3. XLM-R = RoBERTa: the committed roberta generator's forward on the same (prefix-stripped) weights
    r = RESULTS["xlm-roberta-tiny"]
    c = dict(r["cfg"], model_type="roberta")
    ww = {k[len("roberta."):]: v.numpy() for k, v in r["w"].items() if k.startswith("roberta.")}
    with torch.no_grad():
        h = old_forward(c, ww, r["ids"], r["mask"], r["types"])
    record("xlm-roberta-tiny/vs-make_checkpoints.py-roberta", float((h - r["hidden"]).abs().max()), 1e-6)

    # 4. DistilBERT = BERT layers with no token-type table: the committed BERT forward with renamed keys and a zero
    #    token-type row, fed DIFFERENT token types (all ones) -> must still agree
    r = RESULTS["distilbert-tiny"]
    ren = dict(zip(DISTIL_NAMES, BERT_NAMES))
    ww = {"embeddings.word_embeddings.weight": r["w"]["distilbert.embeddings.word_embeddings.weight"].numpy(),
          "embeddings.position_embeddings.weight": r["w"]["distilbert.embeddings.position_embeddings.weight"].numpy(),
          "embeddings.token_type_embeddings.weight": np.zeros((2, 32), np.float32),
          "embeddings.LayerNorm.weight": r["w"]["distilbert.embeddings.LayerNorm.weight"].numpy(),
          "embeddings.LayerNorm.bias": r["w"]["distilbert.embeddings.LayerNorm.bias"].numpy()}
    for k, v in r["w"].items():
        if k.startswith("distilbert.transformer.layer."):
            rest = k[len("distilbert.transformer.layer."):]
            i, tail = rest.split(".", 1)
            for dn, bn in ren.items():
                if tail.startswith(dn + "."):
                    ww[f"encoder.layer.{i}.{bn}{tail[len(dn):]}"] = v.numpy()
    c = {"model_type": "bert", "hidden_size": 32, "num_attention_heads": 4, "layer_norm_eps": 1e-12,
         "num_hidden_layers": 2, "hidden_act": "gelu"}
    with torch.no_grad():
        h = old_forward(c, ww, r["ids"], r["mask"], torch.ones_like(r["types"]))
        h2, _ = distilbert_forward(r["cfg"], r["w"], r["ids"], r["mask"], torch.ones_like(r["types"]))
    record("distilbert-tiny/vs-make_checkpoints.py-bert-with-zero-types", float((h - r["hidden"]).abs().max()), 1e-5)
    record("distilbert-tiny/token-types-ignored", float((h2 - r["hidden"]).abs().max()), 0)

    # 5. layer stacks through torch.nn.TransformerEncoderLayer (embeddings recomputed here)
    def emb(prefix, r, types=True, pos=None, eps=1e-12):
        w, ids = r["w"], r["ids"]
        S = ids.shape[1]
        pos = torch.arange(S)[None] if pos is None else pos
        x = w[prefix + "embeddings.word_embeddings.weight"][ids] + w[prefix + "embeddings.position_embeddings.weight"][pos]
        if types:
            x = x + w[prefix + "embeddings.token_type_embeddings.weight"][r["types"]]
        return ln(x, w, prefix + "embeddings.LayerNorm", eps)
    valid = lambda r, h: float(((h - r["hidden"]).abs() * r["mask"][:, :, None]).max())
    r = RESULTS["distilbert-tiny"]
    h = nn_encoder(emb("distilbert.", r, types=False), r["mask"], r["w"], "distilbert.transformer.layer.",
                   DISTIL_NAMES, 2, 4, 1e-12, "gelu")
    record("distilbert-tiny/vs-nn.TransformerEncoderLayer", valid(r, h), 2e-5)
    r = RESULTS["electra-tiny"]
    x = lin(emb("electra.", r), r["w"], "electra.embeddings_project")
    h = nn_encoder(x, r["mask"], r["w"], "electra.encoder.layer.", BERT_NAMES, 2, 4, 1e-12, "gelu")
    record("electra-tiny/vs-nn.TransformerEncoderLayer", valid(r, h), 2e-5)
    r = RESULTS["xlm-roberta-tiny"]
    m = (r["ids"] != 1).long()
    h = nn_encoder(emb("roberta.", r, pos=torch.cumsum(m, 1) * m + 1, eps=1e-5), r["mask"], r["w"],
                   "roberta.encoder.layer.", BERT_NAMES, 2, 4, 1e-5, "gelu")
    record("xlm-roberta-tiny/vs-nn.TransformerEncoderLayer", valid(r, h), 2e-5)
    r = RESULTS["bert-sharded-tiny"]
    h = nn_encoder(emb("bert.", r), r["mask"], r["w"], "bert.encoder.layer.", BERT_NAMES, 2, 4, 1e-12, "gelu")
    record("bert-sharded-tiny/vs-nn.TransformerEncoderLayer", valid(r, h), 2e-5)
    with torch.no_grad():
        h = old_forward(dict(r["cfg"]), {k[5:]: v.numpy() for k, v in r["w"].items() if k.startswith("bert.")},
                        r["ids"], r["mask"], r["types"])
    record("bert-sharded-tiny/vs-make_checkpoints.py-bert", float((h - r["hidden"]).abs().max()), 1e-5)

    # 6. DeBERTa: scalar loop implementation of the disentangled attention (float64) at the real positions; padded
    #    query rows have an all-zero attention context (XSoftmax), checked directly too
    for name in ("deberta-v3-tiny", "deberta-v2-tiny-buckets8", "deberta-v2-tiny-conv"):
        r = RESULTS[name]
        with torch.no_grad():
            h = deberta_scalar(r["cfg"], r["w"], r["ids"], r["mask"])
        record(f"{name}/vs-scalar-loop-disentangled-attention", valid(r, h.float()), 2e-5)
        with torch.no_grad():  # change the ids under padding: real positions must not move
            ids2 = torch.where(r["mask"] == 1, r["ids"], torch.full_like(r["ids"], 5))
            h2, l2 = deberta_forward(r["cfg"], r["w"], ids2, r["mask"], r["types"])
        record(f"{name}/pad-ids-changed", max(valid(r, h2), float((l2 - r["logits"]).abs().max())), 0)
    # 7. the ConvLayer matters: without it (conv_kernel_size 0) the outputs move by a lot
    r = RESULTS["deberta-v2-tiny-conv"]
    with torch.no_grad():
        h3, l3 = deberta_forward(dict(r["cfg"], conv_kernel_size=0), r["w"], r["ids"], r["mask"], r["types"])
    moved = min(valid(r, h3), float((l3 - r["logits"]).abs().max()))
    print(f"  check deberta-v2-tiny-conv/conv-removed moves hidden and logits by at least: {moved:.3e} (must be > 0.1)")
    assert moved > 0.1
    rel = build_relative_position(14, 14, 8, 64)
    print("  deberta-v2-tiny-buckets8 relative_position row 0:", rel[0].tolist())
    print("  deberta-v2-tiny-buckets8 relative_position row 13:", rel[13].tolist())
    return report


def main():
    gen = torch.Generator().manual_seed(20261201)
    make_distilbert(gen)
    make_electra(gen)
    make_xlmr(gen)
    make_deberta(gen, "deberta-v3-tiny", 256, 9, [9, 6, 3], "p2c|c2p", 512)
    make_deberta(gen, "deberta-v2-tiny-buckets8", 8, 14, [14, 11, 5], ["p2c", "c2p"], 64)
    make_sharded_bert(gen)
    make_deberta(gen, "deberta-v2-tiny-conv", 256, 10, [10, 7, 3], "p2c|c2p", 512,
                 conv={"conv_act": "gelu", "conv_groups": 1, "conv_kernel_size": 3})
    checks()


if __name__ == "__main__":
    main()
