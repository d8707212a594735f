#!/usr/bin/env python3
"""Generates tiny checkpoints with a Hugging Face question-answering head and their expected outputs, for the
question-answering parity tests.

The encoders are make_checkpoints_families.py's plain-PyTorch ports of Hugging Face's modeling files (its building blocks
imported from it, not from `transformers`); the head is *ForQuestionAnswering's, the same in every family
(modeling_bert.py, BertForQuestionAnswering: `logits = self.qa_outputs(sequence_output)`, qa_outputs = Linear(hidden, 2),
`start_logits, end_logits = logits.split(1, dim=-1)`, each squeezed). The encoder has no pooler there
(`BertModel(config, add_pooling_layer=False)`). The loss is Hugging Face's, written out here:
    ignored_index = start_logits.size(1)
    start_positions = start_positions.clamp(0, ignored_index); end_positions likewise
    loss_fct = CrossEntropyLoss(ignore_index=ignored_index)
    total_loss = (loss_fct(start_logits, start_positions) + loss_fct(end_logits, end_positions)) / 2

Folders: bert-qa-tiny (WordPiece) and xlm-roberta-qa-tiny (SentencePiece; sentencepiece.bpe.model copied from
xlm-roberta-tiny). expected.json has the keys of the other folders (logits: [batch, seq, 2] flattened) plus
start_positions, end_positions (one beyond the sequence, clamped and ignored) and qa_loss.
Run once with Debian's python3-torch and python3-numpy:  /usr/bin/python3 make_checkpoints_qa.py
"""
import json, os, shutil
import torch
import torch.nn.functional as F

import make_checkpoints_families as fam
from make_checkpoints_regression import bert_layers as make_bert_layers

HERE = fam.HERE


def qa_config(arch):
    return {"architectures": [arch], "torch_dtype": "float32", "transformers_version": fam.TRANSFORMERS_VERSION}


def bert_qa_forward(cfg, w, ids, mask, types):
    B, S = ids.shape
    P = "bert."
    pos = torch.arange(S)[None, :].expand(B, S)
    x = (w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.token_type_embeddings.weight"][types]
         + w[P + "embeddings.position_embeddings.weight"][pos])
    x = fam.ln(x, w, P + "embeddings.LayerNorm", cfg["layer_norm_eps"])
    x = fam.bert_layers(x, mask, w, P + "encoder.layer.", cfg)
    return x, fam.lin(x, w, "qa_outputs")


def xlmr_qa_forward(cfg, w, ids, mask, types):
    P = "roberta."
    pad = cfg["pad_token_id"]
    m = (ids != pad).long()
    pos = torch.cumsum(m, 1) * m + pad
    x = (w[P + "embeddings.word_embeddings.weight"][ids] + w[P + "embeddings.token_type_embeddings.weight"][types]
         + w[P + "embeddings.position_embeddings.weight"][pos])
    x = fam.ln(x, w, P + "embeddings.LayerNorm", cfg["layer_norm_eps"])
    x = fam.bert_layers(x, mask, w, P + "encoder.layer.", cfg)
    return x, fam.lin(x, w, "qa_outputs")


fam.FORWARDS["bert"] = bert_qa_forward
fam.FORWARDS["xlm-roberta"] = xlmr_qa_forward


def hf_qa_loss(logits, start_positions, end_positions):
    """Hugging Face's *ForQuestionAnswering loss, in float64."""
    start_logits, end_logits = logits.double().split(1, dim=-1)
    start_logits, end_logits = start_logits.squeeze(-1), end_logits.squeeze(-1)
    ignored_index = start_logits.size(1)
    s = torch.tensor(start_positions).clamp(0, ignored_index)
    e = torch.tensor(end_positions).clamp(0, ignored_index)
    return float((F.cross_entropy(start_logits, s, ignore_index=ignored_index)
                  + F.cross_entropy(end_logits, e, ignore_index=ignored_index)) / 2)


def add_loss(name, starts, ends):
    loss = hf_qa_loss(fam.RESULTS[name]["logits"], starts, ends)
    path = os.path.join(HERE, name, "expected.json")
    with open(path) as f:
        exp = json.load(f)
    exp["start_positions"], exp["end_positions"], exp["qa_loss"] = starts, ends, round(loss, 9)
    with open(path, "w") as f:
        json.dump(exp, f)
    print(f"{name}: starts {starts} ends {ends} loss {loss:.6f}")


def make_bert(gen):
    V, H, L, I, S = 90, 32, 2, 64, 9
    cfg = {"model_type": "bert", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02, "intermediate_size": I,
           "layer_norm_eps": 1e-12, "max_position_embeddings": 64, "num_attention_heads": 4, "num_hidden_layers": L,
           "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "use_cache": True,
           "vocab_size": V, **qa_config("BertForQuestionAnswering")}
    w = fam.Weights(gen)
    make_bert_layers(w, "bert.", V, H, L, I)
    w.linear("qa_outputs", 2, H)
    ids, mask = fam.rows(5, V, [9, 7, 4], S, 2, 3, 0, gen)
    ids[0][3], ids[1][2] = 3, 3  # question [SEP] context: [CLS] q [SEP] c [SEP]
    types = [[0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 0, 0], [0] * S]
    folder = fam.finish("bert-qa-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(fam.wordpiece_vocab(V)) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f)
    # Row 2 points one past the sequence (clamped to S and ignored), row 1's end at CLS.
    add_loss("bert-qa-tiny", [5, 4, 12], [6, 0, 12])


def make_xlmr(gen):
    folder = os.path.join(HERE, "xlm-roberta-qa-tiny")
    os.makedirs(folder, exist_ok=True)
    shutil.copy(os.path.join(HERE, "xlm-roberta-tiny", "sentencepiece.bpe.model"), os.path.join(folder, "sentencepiece.bpe.model"))
    V, H, L, I, S, MAXPOS = 62, 32, 2, 64, 10, 42
    cfg = {"model_type": "xlm-roberta", "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
           "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
           "intermediate_size": I, "layer_norm_eps": 1e-5, "max_position_embeddings": MAXPOS, "num_attention_heads": 4,
           "num_hidden_layers": L, "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1,
           "use_cache": True, "vocab_size": V, **qa_config("XLMRobertaForQuestionAnswering")}
    w = fam.Weights(gen)
    make_bert_layers(w, "roberta.", V, H, L, I, types=1, maxpos=MAXPOS)
    w.linear("qa_outputs", 2, H)
    ids, mask = fam.rows(4, V - 1, [10, 8, 5], S, 0, 2, 1, gen)
    ids[0][3], ids[0][4] = 2, 2  # <s> q </s></s> c </s>
    ids[1][2], ids[1][3] = 2, 2
    types = [[0] * S for _ in ids]
    fam.finish("xlm-roberta-qa-tiny", cfg, w, ids, mask, types)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>",
                   "model_max_length": MAXPOS - 2, "pad_token": "<pad>", "sep_token": "</s>",
                   "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}, f)
    add_loss("xlm-roberta-qa-tiny", [5, 0, 3], [8, 0, 40])


def checks():
    """Each row run alone without padding gives the padded batch's logits at its real positions."""
    for name, r in fam.RESULTS.items():
        fwd = fam.FORWARDS[r["cfg"]["model_type"]]
        worst = 0.0
        for b in range(r["ids"].shape[0]):
            n = int(r["mask"][b].sum())
            with torch.no_grad():
                _, logits = fwd(r["cfg"], r["w"], r["ids"][b:b + 1, :n], r["mask"][b:b + 1, :n], r["types"][b:b + 1, :n])
            worst = max(worst, float((logits - r["logits"][b:b + 1, :n]).abs().max()))
        print(f"{name}: unpadded rows vs padded batch, logits max |diff| {worst:.2e}")
        assert worst < 1e-5, name
        assert r["logits"].shape[2] == 2, name


def main():
    gen = torch.Generator().manual_seed(20261231)
    make_bert(gen)
    make_xlmr(gen)
    checks()


if __name__ == "__main__":
    main()
