#!/usr/bin/env python3
"""Generates tiny checkpoints with a Hugging Face regression head (num_labels = 1, problem_type "regression") and their
expected outputs, for the sentence-similarity parity tests.

The forwards are make_checkpoints_families.py's plain-PyTorch ports of Hugging Face's modeling files (imported from it,
not from `transformers`); the heads are the families' *ForSequenceClassification heads with one output. The loss is Hugging
Face's for num_labels == 1 (modeling_bert.py, BertForSequenceClassification.forward: problem_type "regression",
MSELoss()(logits.squeeze(), labels.squeeze())), written out here as the mean of squared differences in float64.

Folders: bert-regression-tiny (BERT pooler + classifier), xlm-roberta-regression-tiny (classifier.dense + tanh +
classifier.out_proj; sentencepiece.bpe.model copied from xlm-roberta-tiny), distilbert-regression-tiny (pre_classifier +
ReLU + classifier). expected.json has the keys of the other folders plus `labels` and `mse_loss`.
Run once with Debian's python3-torch and python3-numpy:  /usr/bin/python3 make_checkpoints_regression.py
"""
import json, os, shutil
import torch

import make_checkpoints_families as fam

HERE = fam.HERE


def regression_config(arch):
    return {"architectures": [arch], "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "problem_type": "regression",
            "torch_dtype": "float32", "transformers_version": fam.TRANSFORMERS_VERSION}


def bert_layers(w, P, V, H, L, I, types=2, maxpos=64):
    w.rnd(P + "embeddings.word_embeddings.weight", V, H, std=1.0)
    w.rnd(P + "embeddings.position_embeddings.weight", maxpos, H, std=0.5)
    w.rnd(P + "embeddings.token_type_embeddings.weight", types, H, std=0.5)
    w.layer_norm(P + "embeddings.LayerNorm", H)
    for i in range(L):
        p = f"{P}encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w.linear(p + n, H, H)
        w.layer_norm(p + "attention.output.LayerNorm", H)
        w.linear(p + "intermediate.dense", I, H)
        w.linear(p + "output.dense", H, I)
        w.layer_norm(p + "output.LayerNorm", H)


def add_loss(name, labels):
    """Hugging Face's regression loss on the reference logits, in float64."""
    logits = fam.RESULTS[name]["logits"].double().squeeze(-1)
    y = torch.tensor(labels, dtype=torch.float64)
    loss = float(((logits - y) ** 2).mean())
    path = os.path.join(HERE, name, "expected.json")
    with open(path) as f:
        exp = json.load(f)
    exp["labels"] = labels
    exp["mse_loss"] = round(loss, 9)
    with open(path, "w") as f:
        json.dump(exp, f)
    print(f"{name}: logits {fam.RESULTS[name]['logits'].flatten().tolist()} labels {labels} MSE {loss:.6f}")


def make_bert(gen):
    V, H, L, I, S = 90, 32, 2, 64, 9
    cfg = {"model_type": "bert", "attention_probs_dropout_prob": 0.1, "classifier_dropout": None, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I,
           "layer_norm_eps": 1e-12, "max_position_embeddings": 64, "num_attention_heads": 4, "num_hidden_layers": L,
           "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
           "vocab_size": V, **regression_config("BertForSequenceClassification")}
    w = fam.Weights(gen)
    bert_layers(w, "bert.", V, H, L, I)
    w.linear("bert.pooler.dense", H, H)
    w.linear("classifier", 1, H)
    ids, mask = fam.rows(5, V, [9, 7, 4], S, 2, 3, 0, gen)
    ids[0][4], ids[1][3] = 3, 3  # sentence pairs: [CLS] a [SEP] b [SEP]
    types = [[0, 0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 0, 0], [0] * S]
    folder = fam.finish("bert-regression-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(fam.wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)
    add_loss("bert-regression-tiny", [4.5, 1.0, 2.25])


def make_xlmr(gen):
    folder = os.path.join(HERE, "xlm-roberta-regression-tiny")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(HERE, "xlm-roberta-tiny", "sentencepiece.bpe.model"), os.path.join(folder, "sentencepiece.bpe.model"))
    V, H, L, I, S, MAXPOS = 62, 32, 2, 64, 10, 42
    cfg = {"model_type": "xlm-roberta", "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "classifier_dropout": None,
           "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
           "intermediate_size": I, "layer_norm_eps": 1e-5, "max_position_embeddings": MAXPOS, "num_attention_heads": 4,
           "num_hidden_layers": L, "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1,
           "use_cache": True, "vocab_size": V, **regression_config("XLMRobertaForSequenceClassification")}
    w = fam.Weights(gen)
    bert_layers(w, "roberta.", V, H, L, I, types=1, maxpos=MAXPOS)
    w.linear("classifier.dense", H, H)
    w.linear("classifier.out_proj", 1, H)
    ids, mask = fam.rows(4, V - 1, [10, 8, 5], S, 0, 2, 1, gen)
    ids[0][4], ids[0][5] = 2, 2  # pair: <s> A </s></s> B </s>
    ids[1][3], ids[1][4] = 2, 2
    types = [[0] * S for _ in ids]
    fam.finish("xlm-roberta-regression-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
                   "model_max_length": MAXPOS - 2, "pad_token": "<pad>", "sep_token": "</s>",
                   "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}, f)
    add_loss("xlm-roberta-regression-tiny", [0.0, 3.5, 5.0])


def make_distilbert(gen):
    V, H, L, I, S = 80, 32, 2, 64, 9
    cfg = {"model_type": "distilbert", "activation": "gelu", "attention_dropout": 0.1, "dim": H, "dropout": 0.1,
           "hidden_dim": I, "initializer_range": 0.02, "max_position_embeddings": 40, "n_heads": 4, "n_layers": L,
           "pad_token_id": 0, "qa_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False,
           "tie_weights_": True, "vocab_size": V, **regression_config("DistilBertForSequenceClassification")}
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
    w.linear("pre_classifier", H, H)
    w.linear("classifier", 1, H)
    ids, mask = fam.rows(5, V, [9, 6, 3], S, 2, 3, 0, gen)
    types = [[0] * S for _ in ids]
    folder = fam.finish("distilbert-regression-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(fam.wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 40, "tokenizer_class": "DistilBertTokenizer"}, f)
    add_loss("distilbert-regression-tiny", [2.0, 0.5, 4.0])


def checks():
    """Each row run alone without padding gives the padded batch's logits (real positions only matter)."""
    for name, r in fam.RESULTS.items():
        fwd = fam.FORWARDS[r["cfg"]["model_type"]]
        worst = 0.0
        for b in range(r["ids"].shape[0]):
            n = int(r["mask"][b].sum())
            with torch.no_grad():
                _, logits = fwd(r["cfg"], r["w"], r["ids"][b:b + 1, :n], r["mask"][b:b + 1, :n], r["types"][b:b + 1, :n])
            worst = max(worst, float((logits - r["logits"][b:b + 1]).abs().max()))
        print(f"{name}: unpadded rows vs padded batch, logits max |diff| {worst:.2e}")
        assert worst < 1e-5, name
        assert r["logits"].shape[1] == 1, name


def main():
    gen = torch.Generator().manual_seed(20261228)
    make_bert(gen)
    make_xlmr(gen)
    make_distilbert(gen)
    checks()


if __name__ == "__main__":
    main()
