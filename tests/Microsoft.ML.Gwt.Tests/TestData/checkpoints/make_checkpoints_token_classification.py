#!/usr/bin/env python3
"""Generates tiny checkpoints with a Hugging Face token-classification head (num_labels = 5) and their expected outputs,
for the named-entity-recognition parity tests.

The encoders are make_checkpoints_families.py's plain-PyTorch ports of Hugging Face's modeling files (imported from it,
not from `transformers`); the head is the families' *ForTokenClassification head (modeling_bert.py
BertForTokenClassification: BertModel(add_pooling_layer=False), dropout, `classifier` = Linear(hidden, num_labels) on
every position's last hidden state; RobertaForTokenClassification / XLMRobertaForTokenClassification and
DistilBertForTokenClassification the same, under their own encoder prefix). The loss is Hugging Face's
(CrossEntropyLoss() over logits.view(-1, num_labels) and labels.view(-1), whose ignore_index -100 drops the special,
continuation and padding positions), written out here as the mean over the kept positions in float64.

Folders: bert-token-tiny, xlm-roberta-token-tiny (sentencepiece.bpe.model copied from xlm-roberta-tiny),
distilbert-token-tiny. expected.json has the keys of the other folders (logits flattened [batch, seq, labels]) plus
`labels` ([batch, seq] with -100) and `ce_loss`.
Run once with Debian's python3-torch and python3-numpy:  /usr/bin/python3 make_checkpoints_token_classification.py
"""
import json, os, shutil
import torch

import make_checkpoints_families as fam
from make_checkpoints_regression import bert_layers

HERE = fam.HERE
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
N = len(LABELS)


def token_config(arch):
    id2label = {str(i): l for i, l in enumerate(LABELS)}
    return {"architectures": [arch], "id2label": id2label, "label2id": {v: int(k) for k, v in id2label.items()},
            "torch_dtype": "float32", "transformers_version": fam.TRANSFORMERS_VERSION}


def finish(name, cfg, w, ids, mask, types, labels, dummies):
    """Writes the folder; the reference logits are classifier(last hidden state) at every position. The families'
    forwards also compute a sequence head: `dummies` gives them zero weights for it (not written to the file)."""
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    fam.write_safetensors(os.path.join(folder, "model.safetensors"), w.for_file())
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w32 = w.stored()
    full = dict(w32)
    for k, shape in dummies.items():
        full.setdefault(k, torch.zeros(*shape))
    fwd = fam.FORWARDS[cfg["model_type"]]
    I, M, T = torch.tensor(ids), torch.tensor(mask), torch.tensor(types)
    with torch.no_grad():
        hidden, _ = fwd(cfg, full, I, M, T)
        logits = fam.lin(hidden, w32, "classifier")
        h64, _ = fwd(cfg, fam.as_dtype(full, torch.float64), I, M, T)
        l64 = fam.lin(h64, fam.as_dtype(w32, torch.float64), "classifier")
    y = torch.tensor(labels)
    keep = y != -100
    loss = float(torch.nn.functional.cross_entropy(l64.reshape(-1, N), y.reshape(-1), ignore_index=-100))
    by_hand = float(-(torch.log_softmax(l64, -1).gather(-1, y.clamp(min=0)[..., None])[..., 0])[keep].mean())
    assert abs(loss - by_hand) < 1e-12
    # each row alone, unpadded, gives the padded batch's logits at its real positions
    for b in range(I.shape[0]):
        n = int(M[b].sum())
        with torch.no_grad():
            hb, _ = fwd(cfg, full, I[b:b + 1, :n], M[b:b + 1, :n], T[b:b + 1, :n])
            assert float((fam.lin(hb, w32, "classifier") - logits[b:b + 1, :n]).abs().max()) < 1e-5, name
    exp = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
           "shape": list(hidden.shape), "last_hidden_state": [round(float(v), 7) for v in hidden.flatten()],
           "logits_shape": list(logits.shape), "logits": [round(float(v), 7) for v in logits.flatten()],
           "labels": labels, "ce_loss": round(loss, 9)}
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(exp, f)
    print(f"{name}: logits {tuple(logits.shape)}, |f32 - f64| {float((logits.double() - l64).abs().max()):.2e}, "
          f"CE {loss:.6f} over {int(keep.sum())} labelled positions")
    return folder


def labels_for(mask, gen):
    """A label per real position, -100 at the first and last real position (special tokens), at every third
    position (a continuation sub-token) and at padding."""
    out = []
    for m in mask:
        n = sum(m)
        row = []
        for i in range(len(m)):
            if i == 0 or i >= n - 1 or i % 3 == 2:
                row.append(-100)
            else:
                row.append(int(torch.randint(0, N, (1,), generator=gen)))
        out.append(row)
    return out


def make_bert(gen):
    V, H, L, I, S = 90, 32, 2, 64, 9
    cfg = {"model_type": "bert", "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I,
           "layer_norm_eps": 1e-12, "max_position_embeddings": 64, "num_attention_heads": 4, "num_hidden_layers": L,
           "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
           "vocab_size": V, **token_config("BertForTokenClassification")}
    w = fam.Weights(gen)
    bert_layers(w, "bert.", V, H, L, I)
    w.linear("classifier", N, H)
    ids, mask = fam.rows(5, V, [9, 7, 4], S, 2, 3, 0, gen)
    types = [[0] * S for _ in ids]
    folder = finish("bert-token-tiny", cfg, w, ids, mask, types, labels_for(mask, gen),
                    {"bert.pooler.dense.weight": (H, H), "bert.pooler.dense.bias": (H,)})
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(fam.wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)


def make_xlmr(gen):
    folder = os.path.join(HERE, "xlm-roberta-token-tiny")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(HERE, "xlm-roberta-tiny", "sentencepiece.bpe.model"), os.path.join(folder, "sentencepiece.bpe.model"))
    V, H, L, I, S, MAXPOS = 62, 32, 2, 64, 10, 42
    cfg = {"model_type": "xlm-roberta", "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "classifier_dropout": None,
           "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
           "intermediate_size": I, "layer_norm_eps": 1e-5, "max_position_embeddings": MAXPOS, "num_attention_heads": 4,
           "num_hidden_layers": L, "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1,
           "use_cache": True, "vocab_size": V, **token_config("XLMRobertaForTokenClassification")}
    w = fam.Weights(gen)
    bert_layers(w, "roberta.", V, H, L, I, types=1, maxpos=MAXPOS)
    w.linear("classifier", N, H)
    ids, mask = fam.rows(4, V - 1, [10, 8, 5], S, 0, 2, 1, gen)
    types = [[0] * S for _ in ids]
    finish("xlm-roberta-token-tiny", cfg, w, ids, mask, types, labels_for(mask, gen),
           {"classifier.dense.weight": (H, H), "classifier.dense.bias": (H,),
            "classifier.out_proj.weight": (1, H), "classifier.out_proj.bias": (1,)})
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
                   "model_max_length": MAXPOS - 2, "pad_token": "<pad>", "sep_token": "</s>",
                   "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}, f)


def make_distilbert(gen):
    V, H, L, I, S = 80, 32, 2, 64, 9
    cfg = {"model_type": "distilbert", "activation": "gelu", "attention_dropout": 0.1, "dim": H, "dropout": 0.1,
           "hidden_dim": I, "initializer_range": 0.02, "max_position_embeddings": 40, "n_heads": 4, "n_layers": L,
           "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False,
           "tie_weights_": True, "vocab_size": V, **token_config("DistilBertForTokenClassification")}
    w = fam.Weights(gen)
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
    w.linear("classifier", N, H)
    ids, mask = fam.rows(5, V, [9, 6, 3], S, 2, 3, 0, gen)
    types = [[0] * S for _ in ids]
    folder = finish("distilbert-token-tiny", cfg, w, ids, mask, types, labels_for(mask, gen),
                    {"pre_classifier.weight": (H, H), "pre_classifier.bias": (H,)})
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(fam.wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 40, "tokenizer_class": "DistilBertTokenizer"}, f)


def main():
    gen = torch.Generator().manual_seed(20261208)
    make_bert(gen)
    make_xlmr(gen)
    make_distilbert(gen)


if __name__ == "__main__":
    main()
