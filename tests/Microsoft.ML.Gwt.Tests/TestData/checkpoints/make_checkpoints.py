#!/usr/bin/env python3
"""Generates the tiny BERT and RoBERTa checkpoints and the expected hidden states used by the parity tests.

Independent reference: a plain-PyTorch re-implementation of Hugging Face's BertModel / RobertaModel forward pass
(post-LN encoder, additive attention mask with finfo.min, RoBERTa position ids from padding_idx + 1).
Run once with Debian's python3-torch (1.13) and python3-numpy:  /usr/bin/python3 make_checkpoints.py
"""
import json, math, os, struct
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)

def write_safetensors(path, tensors):
    """tensors: name -> (np.ndarray, dtype string). Minimal writer of the safetensors format."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr, dtype = tensors[name]
        if dtype == "BF16":
            f32 = np.ascontiguousarray(arr, dtype=np.float32)
            raw = (f32.view(np.uint32) >> 16).astype(np.uint16).tobytes()  # truncation; the reference uses the same values
        elif dtype == "F16":
            raw = np.ascontiguousarray(arr, dtype=np.float16).tobytes()
        elif dtype == "I64":
            raw = np.ascontiguousarray(arr, dtype=np.int64).tobytes()
        else:
            raw = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def stored_value(arr, dtype):
    """The float32 value a reader gets back after storing arr as dtype."""
    if dtype == "BF16":
        return ((np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32) >> 16) << 16).view(np.float32)
    if dtype == "F16":
        return arr.astype(np.float16).astype(np.float32)
    return arr.astype(np.float32)

def gelu(x, act):
    if act == "gelu":
        return torch.nn.functional.gelu(x)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

def make_weights(cfg):
    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    w = {}
    def rnd(*shape, std=0.2):
        return (torch.randn(*shape) * std).numpy()
    w["embeddings.word_embeddings.weight"] = rnd(cfg["vocab_size"], H, std=1.0)
    w["embeddings.position_embeddings.weight"] = rnd(cfg["max_position_embeddings"], H, std=0.5)
    w["embeddings.token_type_embeddings.weight"] = rnd(cfg["type_vocab_size"], H, std=0.5)
    w["embeddings.LayerNorm.weight"] = 1 + rnd(H, std=0.1)
    w["embeddings.LayerNorm.bias"] = rnd(H, std=0.1)
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            w[p + n + ".weight"] = rnd(H, H)
            w[p + n + ".bias"] = rnd(H, std=0.05)
        w[p + "attention.output.LayerNorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "attention.output.LayerNorm.bias"] = rnd(H, std=0.1)
        w[p + "intermediate.dense.weight"] = rnd(I, H)
        w[p + "intermediate.dense.bias"] = rnd(I, std=0.05)
        w[p + "output.dense.weight"] = rnd(H, I)
        w[p + "output.dense.bias"] = rnd(H, std=0.05)
        w[p + "output.LayerNorm.weight"] = 1 + rnd(H, std=0.1)
        w[p + "output.LayerNorm.bias"] = rnd(H, std=0.1)
    w["pooler.dense.weight"] = rnd(H, H)
    w["pooler.dense.bias"] = rnd(H, std=0.05)
    return w

def forward(cfg, w, ids, mask, types):
    T = lambda n: torch.tensor(w[n])
    H, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = H // heads
    eps = cfg["layer_norm_eps"]
    B, S = ids.shape
    if cfg["model_type"] == "roberta":
        pad = cfg["pad_token_id"]
        m = (ids != pad).long()
        pos = torch.cumsum(m, 1) * m + pad
    else:
        pos = torch.arange(S).unsqueeze(0).expand(B, S)
    x = T("embeddings.word_embeddings.weight")[ids] + T("embeddings.position_embeddings.weight")[pos] \
        + T("embeddings.token_type_embeddings.weight")[types]
    x = torch.nn.functional.layer_norm(x, (H,), T("embeddings.LayerNorm.weight"), T("embeddings.LayerNorm.bias"), eps)
    ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    lin = lambda t, n: t @ T(n + ".weight").T + T(n + ".bias")
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        split = lambda t: t.view(B, S, heads, d).transpose(1, 2)
        q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + ext, -1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, S, H)
        a = torch.nn.functional.layer_norm(lin(ctx, p + "attention.output.dense") + x, (H,),
                                           T(p + "attention.output.LayerNorm.weight"), T(p + "attention.output.LayerNorm.bias"), eps)
        inter = gelu(lin(a, p + "intermediate.dense"), cfg["hidden_act"])
        x = torch.nn.functional.layer_norm(lin(inter, p + "output.dense") + a, (H,),
                                           T(p + "output.LayerNorm.weight"), T(p + "output.LayerNorm.bias"), eps)
    return x

def build(name, cfg, prefix, dtypes, ids, mask, types, extra=None):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    w = make_weights(cfg)
    if cfg["model_type"] == "roberta":
        del w["pooler.dense.weight"], w["pooler.dense.bias"]
    stored = {}
    for k, arr in w.items():
        dt = dtypes(k)
        w[k] = stored_value(arr, dt)
        stored[prefix + k] = (arr, dt)
    for k, v in (extra or {}).items():
        stored[k] = v
    write_safetensors(os.path.join(folder, "model.safetensors"), stored)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with torch.no_grad():
        out = forward(cfg, w, torch.tensor(ids), torch.tensor(mask), torch.tensor(types))
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump({"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
                   "shape": list(out.shape), "last_hidden_state": [round(float(v), 7) for v in out.flatten()]}, f)
    return folder

# --- BERT: F32, "bert." prefix, an unexpected MLM head key and HF's position_ids buffer.
bert_vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "run", "##s", "##ing",
              "hello", "world", "a", "is", "happy", "!", ",", "."] + [f"w{i}" for i in range(18)]
bert_cfg = {"model_type": "bert", "vocab_size": len(bert_vocab), "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 40,
            "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
ids = [[2, 14, 15, 3, 5, 6, 3], [2, 5, 10, 11, 12, 3, 0], [2, 16, 3, 0, 0, 0, 0]]
mask = [[1 if t != 0 else 0 for t in r] for r in ids]
types = [[0, 0, 0, 0, 1, 1, 1], [0] * 7, [0] * 7]
folder = build("bert-tiny", bert_cfg, "bert.", lambda k: "F32", ids, mask, types,
               extra={"cls.predictions.bias": (np.zeros(len(bert_vocab), np.float32), "F32"),
                      "bert.embeddings.position_ids": (np.arange(40, dtype=np.int64)[None, :], "I64")})
with open(os.path.join(folder, "vocab.txt"), "w") as f:
    f.write("\n".join(bert_vocab) + "\n")
with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
    json.dump({"do_lower_case": True}, f)

# --- RoBERTa: bare keys, BF16 word embeddings, F16 attention weights, tanh-approximated GELU, pad id 1.
rob_tokens = ["<s>", "<pad>", "</s>", "<unk>", "h", "e", "l", "o", "\u0120", "w", "r", "d",
              "he", "ll", "hell", "hello", "\u0120w", "or", "\u0120wor", "\u0120worl", "\u0120world"] + [f"t{i}" for i in range(19)]
rob_vocab = {t: i for i, t in enumerate(rob_tokens)}
rob_cfg = {"model_type": "roberta", "vocab_size": len(rob_tokens), "hidden_size": 32, "num_hidden_layers": 2,
           "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu_new", "max_position_embeddings": 42,
           "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1,
           "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
ids = [[0, 15, 20, 2, 2, 15, 2], [0, 15, 2, 1, 1, 1, 1], [0, 20, 20, 15, 2, 1, 1]]
mask = [[1 if t != 1 else 0 for t in r] for r in ids]
types = [[0] * 7 for _ in ids]
def rob_dtype(k):
    if k.endswith("word_embeddings.weight"):
        return "BF16"
    if ".attention.self." in k and k.endswith(".weight"):
        return "F16"
    return "F32"
folder = build("roberta-tiny", rob_cfg, "", rob_dtype, ids, mask, types)
with open(os.path.join(folder, "vocab.json"), "w") as f:
    json.dump(rob_vocab, f)
with open(os.path.join(folder, "merges.txt"), "w") as f:
    f.write("#version: 0.2\nh e\nl l\nhe ll\nhell o\n\u0120 w\no r\n\u0120w or\n\u0120wor l\n\u0120worl d\n")
print("ok")
