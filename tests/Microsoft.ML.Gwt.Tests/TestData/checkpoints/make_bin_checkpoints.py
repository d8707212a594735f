#!/usr/bin/env python3
"""Generates the PyTorch (.bin) checkpoints of the weights-only .bin reader's tests.

Every good checkpoint holds the weights of bert-sharded-tiny (read from its safetensors shards with the minimal reader
below), so the loaded encoder and classifier must give bert-sharded-tiny's expected.json (an independent reference).
The files are written with torch.save by Debian's python3-torch (1.13) and committed; the tests need no Python.
Run:  /usr/bin/python3 make_bin_checkpoints.py
"""
import collections, json, os, shutil, struct
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "bert-sharded-tiny")
SIDE_FILES = ["config.json", "vocab.txt", "tokenizer_config.json", "expected.json"]
MARKER = "/tmp/gwt-pickle-pwned"  # what the refused pickles would create if anything ran them


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).reshape(v["shape"]).copy())
    return out


def write_safetensors(path, tensors):
    """name -> torch tensor (float32, float16 or bfloat16), stored as is."""
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def source_weights():
    index = json.load(open(os.path.join(SOURCE, "model.safetensors.index.json")))
    w = {}
    for shard in sorted(set(index["weight_map"].values())):
        w.update(read_safetensors(os.path.join(SOURCE, shard)))
    return w


def new_folder(name):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for f in SIDE_FILES:
        shutil.copy(os.path.join(SOURCE, f), folder)
    return folder


def with_views(w):
    """The same values, several of them stored as views: layer 0's query/key/value weights and biases are slices of
    one fused storage each (shared storage, offsets 0, H*H, 2*H*H), layer 1's intermediate weight is a transposed view
    (strides (1, 64)), layer 1's output weight a strided view with an offset (strides (256, 2), offset 129), and the
    classifier weight is saved as an nn.Parameter (torch._utils._rebuild_parameter)."""
    sd = collections.OrderedDict((k, v.clone()) for k, v in sorted(w.items()))
    p = "bert.encoder.layer.0.attention.self."
    fused_w = torch.cat([w[p + n + ".weight"] for n in ("query", "key", "value")])
    fused_b = torch.cat([w[p + n + ".bias"] for n in ("query", "key", "value")])
    H = fused_w.shape[1]
    for i, n in enumerate(("query", "key", "value")):
        sd[p + n + ".weight"] = fused_w[i * H:(i + 1) * H]
        sd[p + n + ".bias"] = fused_b[i * H:(i + 1) * H]
    k = "bert.encoder.layer.1.intermediate.dense.weight"
    sd[k] = w[k].t().contiguous().t()
    assert not sd[k].is_contiguous() and sd[k].stride() == (1, 64)
    k = "bert.encoder.layer.1.output.dense.weight"
    rows, cols = w[k].shape
    base = torch.full((2 * rows, 2 * cols), float("nan"))
    base[1::2, 1::2] = w[k]
    sd[k] = base[1::2, 1::2]
    assert sd[k].storage_offset() == 2 * cols + 1 and sd[k].stride() == (4 * cols, 2)
    sd["classifier.weight"] = torch.nn.Parameter(w["classifier.weight"].clone())
    # state_dict() keeps per-module versions in an attribute, which pickle writes with BUILD
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    for key in w:
        assert torch.equal(sd[key].detach(), w[key]), key
    return sd


def check(path, w, exact_types=None, protocol=2):
    """Reads the file back with torch.load(weights_only=True), PyTorch's own safe loader (torch 1.13's cannot read
    protocol 4's FRAME opcode: that file, our own, is read with the full unpickler): same keys, same values."""
    back = torch.load(path, weights_only=protocol == 2)
    for k, v in w.items():
        assert torch.equal(back[k].to(v.dtype), v), (path, k)
        if exact_types:
            assert back[k].dtype == exact_types.get(k, torch.float32), (path, k, back[k].dtype)


import sys
if len(sys.argv) == 4 and sys.argv[1] == "--from-safetensors":
    # For bench/CheckpointLoad --bin: torch.save a (float32) model.safetensors as OUT/pytorch_model.bin, config alongside.
    _, _, src, out = sys.argv
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), out)
    torch.save(collections.OrderedDict(sorted(read_safetensors(os.path.join(src, "model.safetensors")).items())), os.path.join(out, "pytorch_model.bin"))
    sys.exit(0)

w = source_weights()

# --- bert-bin-tiny: zip format (torch.save's default), protocol 2, views, a Parameter, BUILD of _metadata.
folder = new_folder("bert-bin-tiny")
torch.save(with_views(w), os.path.join(folder, "pytorch_model.bin"))
check(os.path.join(folder, "pytorch_model.bin"), w)

# --- bert-bin-legacy-tiny: the legacy (pre-1.6) format, same views.
folder = new_folder("bert-bin-legacy-tiny")
torch.save(with_views(w), os.path.join(folder, "pytorch_model.bin"), _use_new_zipfile_serialization=False)
check(os.path.join(folder, "pytorch_model.bin"), w)

# --- bert-bin-sharded-tiny: pytorch_model.bin.index.json and two shards (embeddings + layer 0; the rest).
folder = new_folder("bert-bin-sharded-tiny")
weight_map = {}
for i, names in enumerate([[k for k in w if ".embeddings." in k or ".layer.0." in k], [k for k in w if not (".embeddings." in k or ".layer.0." in k)]]):
    shard = f"pytorch_model-0000{i + 1}-of-00002.bin"
    torch.save(collections.OrderedDict((k, w[k]) for k in sorted(names)), os.path.join(folder, shard))
    weight_map.update({k: shard for k in names})
with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": sum(v.numel() * 4 for v in w.values())}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)

# --- bert-bin-halfs-tiny: float16 and bfloat16 storages, a tied (shared-storage) key, an int64 buffer, protocol 4
# (STACK_GLOBAL, MEMOIZE, FRAME); its twin safetensors/ holds the same stored values in model.safetensors.
folder = new_folder("bert-bin-halfs-tiny")
os.remove(os.path.join(folder, "expected.json"))  # the values differ from the reference's (rounded to 16 bits)
halfs = collections.OrderedDict()
for k, v in sorted(w.items()):
    if k.endswith("word_embeddings.weight") or k == "classifier.weight":
        halfs[k] = v.half()
    elif ".layer.1.attention.self." in k and k.endswith(".weight"):
        halfs[k] = v.bfloat16()
    else:
        halfs[k] = v
halfs["cls.predictions.decoder.weight"] = halfs["bert.embeddings.word_embeddings.weight"]  # tied: one storage, two keys
halfs["bert.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
torch.save(halfs, os.path.join(folder, "pytorch_model.bin"), pickle_protocol=4)
check(os.path.join(folder, "pytorch_model.bin"), halfs, exact_types={k: v.dtype for k, v in halfs.items()}, protocol=4)
twin = os.path.join(folder, "safetensors")
os.makedirs(twin)
for f in ["config.json", "vocab.txt", "tokenizer_config.json"]:
    shutil.copy(os.path.join(SOURCE, f), twin)
write_safetensors(os.path.join(twin, "model.safetensors"), dict(halfs))  # safetensors cannot share: the tied key is a copy

# --- pickle-refused: files a weights-only reader must refuse. Each would run `touch MARKER` if unpickled by Python.
refused = os.path.join(HERE, "pickle-refused")
shutil.rmtree(refused, ignore_errors=True)
os.makedirs(refused)


class SystemCall:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


class Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch " + MARKER + "')",))


class GetAttr:
    def __reduce__(self):
        return (getattr, ("", "join"))


tensor = torch.arange(4, dtype=torch.float32)
torch.save({"w": tensor, "x": SystemCall()}, os.path.join(refused, "posix-system.bin"))
torch.save({"w": tensor, "x": SystemCall()}, os.path.join(refused, "stack-global.bin"), pickle_protocol=4)
torch.save({"w": tensor, "x": SystemCall()}, os.path.join(refused, "legacy-posix-system.bin"), _use_new_zipfile_serialization=False)
torch.save({"w": tensor, "x": Eval()}, os.path.join(refused, "builtin-eval.bin"))
torch.save({"w": tensor, "x": GetAttr()}, os.path.join(refused, "builtin-getattr.bin"))
torch.manual_seed(0)
torch.save(torch.nn.Linear(2, 2), os.path.join(refused, "nn-module.bin"))
torch.save({"w": tensor, "step": 3}, os.path.join(refused, "not-a-state-dict.bin"))
for name in sorted(os.listdir(refused)):
    try:
        torch.load(os.path.join(refused, name), weights_only=True)
        ok = name == "not-a-state-dict.bin"  # plain values pass torch's rule; ours wants a dict of tensors only
    except Exception:
        ok = name != "not-a-state-dict.bin"
    assert ok, name
assert not os.path.exists(MARKER)
print("ok")
