"""A cross-encoder reader: the bundled all-MiniLM-L6-v2 reading "[CLS] question [SEP] sentence [SEP]",
with LoRA adapters on every linear layer of its top transformer layers (default the top 3 of 6) and a linear head over the
mean-pooled output. Only the adapters and the head are learned and shipped (float16).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.empty(rank, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    def merged(self) -> nn.Linear:
        """The base layer with the adapter folded in (inference: no extra cost)."""
        out = nn.Linear(self.base.in_features, self.base.out_features)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + (self.B @ self.A) * self.scale)
            out.bias.copy_(self.base.bias)
        return out


class CrossReader(nn.Module):
    def __init__(
        self, model_dir: str, rank: int = 16, alpha: float = 32.0, max_length: int = 80,
        layers: Sequence[int] = (3, 4, 5), readout: str = "mean",
    ) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.encoder = AutoModel.from_pretrained(model_dir)
        self.max_length = max_length
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.rank, self.alpha, self.layers = rank, alpha, tuple(layers)
        wanted = tuple(f"encoder.layer.{i}." for i in layers)
        for name, module in list(self.encoder.named_modules()):
            for child_name, child in list(module.named_children()):
                full = f"{name}.{child_name}" if name else child_name
                if isinstance(child, nn.Linear) and full.startswith(wanted) and full.endswith(TARGETS):
                    setattr(module, child_name, LoRALinear(child, rank, alpha))
        self.head = nn.Linear(self.encoder.config.hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # readout "maxsim": add a * (mean over question pieces of the best cosine with a sentence piece,
        # both as encoded jointly) + b, which starts near the service's late-interaction score
        self.readout = readout
        self.scale = nn.Parameter(torch.tensor(10.0 if readout == "maxsim" else 0.0), requires_grad=readout == "maxsim")
        self.shift = nn.Parameter(torch.tensor(-6.0 if readout == "maxsim" else 0.0), requires_grad=readout == "maxsim")

    def encode(self, questions: Sequence[str], sentences: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            list(questions), list(sentences), return_tensors="pt", padding=True,
            truncation="only_second", max_length=self.max_length,
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        out = self.head(pooled).squeeze(-1)
        if self.readout == "maxsim":
            unit = nn.functional.normalize(hidden, dim=-1)
            attn = batch["attention_mask"].bool()
            special = (batch["input_ids"] == self.tokenizer.cls_token_id) | (batch["input_ids"] == self.tokenizer.sep_token_id)
            words = attn & ~special
            q_mask = words & (batch["token_type_ids"] == 0)
            s_mask = words & (batch["token_type_ids"] == 1)
            sims = unit @ unit.transpose(1, 2)  # batch x pieces x pieces
            sims = sims.masked_fill(~s_mask.unsqueeze(1), -2.0)
            best = sims.max(dim=2).values  # each piece's best sentence piece
            qf = q_mask.to(hidden.dtype)
            out = out + self.scale * (best * qf).sum(1) / qf.sum(1).clamp(min=1) + self.shift
        return out

    @torch.inference_mode()
    def logits(self, questions: Sequence[str], sentences: Sequence[str], batch_size: int = 32) -> torch.Tensor:
        """Raw scores (logits) for (question, sentence) pairs, batched by length."""
        order = sorted(range(len(sentences)), key=lambda i: len(questions[i]) + len(sentences[i]))
        out = torch.zeros(len(sentences))
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            out[idx] = self.forward(self.encode([questions[i] for i in idx], [sentences[i] for i in idx])).float()
        return out

    def learned_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().half() for k, v in self.named_parameters() if v.requires_grad}

    def load_learned(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu")
        missing = {k for k, v in self.named_parameters() if v.requires_grad} - set(state)
        assert not missing, missing
        own = dict(self.named_parameters())
        with torch.no_grad():
            for k, v in state.items():
                own[k].copy_(v.float())

    def merge(self) -> None:
        """Fold the adapters into the base weights (for inference and ONNX export)."""
        for module in list(self.encoder.modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, LoRALinear):
                    setattr(module, child_name, child.merged())


def count_learned(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe(model: Any) -> str:
    return f"{count_learned(model):,} learned parameters"
