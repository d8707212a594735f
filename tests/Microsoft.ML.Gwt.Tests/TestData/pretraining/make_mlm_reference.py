#!/usr/bin/env python3
"""Reference data for masked-language-model pre-training (run once: /usr/bin/python3 make_mlm_reference.py).

1. mlm_keys.json: the tensor names and shapes Hugging Face's save_pretrained writes for BertForMaskedLM and
   RobertaForMaskedLM at a small configuration. `transformers` is not installed here, so the module attribute
   hierarchy is re-declared below from the Hugging Face sources:
     src/transformers/models/bert/modeling_bert.py       @ 8ec58104181bfb34d824d89bccc009b4f6be6e0e
       (BertEmbeddings, BertSelfAttention, BertSelfOutput, BertAttention, BertIntermediate, BertOutput, BertLayer,
        BertEncoder, BertModel(add_pooling_layer=False), BertPredictionHeadTransform, BertLMPredictionHead,
        BertOnlyMLMHead, BertForMaskedLM with _tied_weights_keys)
     src/transformers/models/roberta/modeling_roberta.py @ 87b236ba2be8b3e48a7d0c8ca6513302736d2886
       (RobertaEmbeddings with padding_idx positions, RobertaModel(add_pooling_layer=False), RobertaLMHead,
        RobertaForMaskedLM with _tied_weights_keys)
   The decoder weight is tied to the word embeddings (PreTrainedModel.tie_weights) and the decoder bias to the head's
   bias; the shared-tensor removal of save_pretrained (modeling_utils.py: keys matching _tied_weights_keys are dropped
   from each group of tensors sharing storage) is applied to state_dict(); position_ids / token_type_ids are
   non-persistent buffers and never saved.
2. bert-mlm-tiny/ and roberta-mlm-tiny/: checkpoints with an MLM head and the logits of an independent functional
   forward pass (encoder from ../checkpoints/make_checkpoints.py, head: dense -> act -> LayerNorm -> x @ E^T + bias).
"""
import json, os, re, sys
import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "checkpoints"))
torch.manual_seed(4321)

# ---------------------------------------------------------------- 1. the module hierarchy and its saved keys
class Cfg:
    def __init__(self, **kw):
        self.__dict__.update(kw)

class Embeddings(nn.Module):
    def __init__(self, c, roberta):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size,
                                                padding_idx=c.pad_token_id if roberta else None)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(c.max_position_embeddings).expand((1, -1)), persistent=False)
        self.register_buffer("token_type_ids", torch.zeros(self.position_ids.size(), dtype=torch.long), persistent=False)

class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

class DenseNorm(nn.Module):  # BertSelfOutput and BertOutput
    def __init__(self, c, fan_in):
        super().__init__()
        self.dense = nn.Linear(fan_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c, c.hidden_size)

class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c, c.intermediate_size)

class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])

class Model(nn.Module):  # BertModel / RobertaModel with add_pooling_layer=False (pooler is None)
    def __init__(self, c, roberta):
        super().__init__()
        self.embeddings = Embeddings(c, roberta)
        self.encoder = Encoder(c)
        self.pooler = None

class PredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

class LMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = PredictionHeadTransform(c)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder.bias = self.bias

class OnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = LMPredictionHead(c)

class BertForMaskedLM(nn.Module):
    _tied_weights_keys = ["predictions.decoder.bias", "cls.predictions.decoder.weight"]
    def __init__(self, c):
        super().__init__()
        self.bert = Model(c, False)
        self.cls = OnlyMLMHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tie_weights

class RobertaLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.layer_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder.bias = self.bias

class RobertaForMaskedLM(nn.Module):
    _tied_weights_keys = ["lm_head.decoder.weight", "lm_head.decoder.bias"]
    def __init__(self, c):
        super().__init__()
        self.roberta = Model(c, True)
        self.lm_head = RobertaLMHead(c)
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight  # tie_weights

def saved_keys(model):
    """state_dict() after save_pretrained's removal of tied duplicates (modeling_utils.save_pretrained)."""
    state_dict = model.state_dict()
    ptrs = {}
    for name, tensor in state_dict.items():
        ptrs.setdefault(tensor.storage().data_ptr(), []).append(name)
    for names in (n for n in ptrs.values() if len(n) > 1):
        found = 0
        for name in sorted(names):
            if any(re.search(pat, name) for pat in model._tied_weights_keys) and name in state_dict:
                found += 1
                if found < len(names):
                    del state_dict[name]
    return sorted([k, list(v.shape)] for k, v in state_dict.items())

small = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
bert_small = Cfg(**small, max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)
roberta_small = Cfg(**small, max_position_embeddings=66, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1)
keys = {
    "config": small,
    "bert": {"max_position_embeddings": 64, "type_vocab_size": 2, "pad_token_id": 0, "keys": saved_keys(BertForMaskedLM(bert_small))},
    "roberta": {"max_position_embeddings": 66, "type_vocab_size": 1, "pad_token_id": 1, "keys": saved_keys(RobertaForMaskedLM(roberta_small))},
}
with open(os.path.join(HERE, "mlm_keys.json"), "w") as f:
    f.write(json.dumps(keys).replace("]], [", "]],\n  [").replace('"keys": [[', '"keys": [\n  [') + "\n")

# ---------------------------------------------------------------- 2. MLM logits parity checkpoints
# Importing it re-runs that script, which rewrites ../checkpoints byte for byte (its seed is fixed); only its
# functions are used here.
import make_checkpoints as mc  # noqa: E402

def build_mlm(name, cfg, prefix, head_names, head_act, ids, mask, types):
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    w = mc.make_weights(cfg)
    del w["pooler.dense.weight"], w["pooler.dense.bias"]
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    dense, norm, bias = head_names
    head = {dense + ".weight": (torch.randn(H, H) * 0.2).numpy(), dense + ".bias": (torch.randn(H) * 0.05).numpy(),
            norm + ".weight": (1 + torch.randn(H) * 0.1).numpy(), norm + ".bias": (torch.randn(H) * 0.1).numpy(),
            bias: (torch.randn(V) * 0.1).numpy()}
    stored = {prefix + k: (v, "F32") for k, v in w.items()}
    stored.update({k: (v, "F32") for k, v in head.items()})
    mc.write_safetensors(os.path.join(folder, "model.safetensors"), stored)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with torch.no_grad():
        hidden = mc.forward(cfg, w, torch.tensor(ids), torch.tensor(mask), torch.tensor(types))
        T = lambda n: torch.tensor(head[n])
        x = hidden @ T(dense + ".weight").T + T(dense + ".bias")
        x = mc.gelu(x, head_act)
        x = torch.nn.functional.layer_norm(x, (H,), T(norm + ".weight"), T(norm + ".bias"), cfg["layer_norm_eps"])
        logits = x @ torch.tensor(w["embeddings.word_embeddings.weight"]).T + T(bias)
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump({"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "shape": list(logits.shape),
                   "logits": [round(float(v), 6) for v in logits.flatten()]}, f)

bert_cfg = {"model_type": "bert", "vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 64, "hidden_act": "gelu_new", "max_position_embeddings": 40, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "pad_token_id": 0, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "architectures": ["BertForMaskedLM"]}
ids = [[2, 14, 4, 3, 5, 6, 3], [2, 5, 10, 4, 12, 3, 0]]
mask = [[1 if t != 0 else 0 for t in r] for r in ids]
# BERT's head activation is hidden_act (here the tanh approximation).
build_mlm("bert-mlm-tiny", bert_cfg, "bert.", ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm",
          "cls.predictions.bias"), "gelu_new", ids, mask, [[0, 0, 0, 0, 1, 1, 1], [0] * 7])

rob_cfg = {"model_type": "roberta", "vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
           "intermediate_size": 64, "hidden_act": "gelu_new", "max_position_embeddings": 42, "type_vocab_size": 1,
           "layer_norm_eps": 1e-5, "pad_token_id": 1, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
           "architectures": ["RobertaForMaskedLM"]}
ids = [[0, 15, 20, 2, 2, 15, 2], [0, 15, 3, 2, 1, 1, 1]]
mask = [[1 if t != 1 else 0 for t in r] for r in ids]
# RoBERTa's head always uses the erf GELU (transformers.activations.gelu), whatever hidden_act says.
build_mlm("roberta-mlm-tiny", rob_cfg, "roberta.", ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"), "gelu",
          ids, mask, [[0] * 7 for _ in ids])
print("ok")
