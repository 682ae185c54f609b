"""Small CNNs for 48x48 gray face crops, our own code.

- `mobilenet`: MobileNetV2-style inverted residuals (depthwise-separable), adapted to small crops:
  a stride-1 stem and only four downsamplings (48 -> 3), optional squeeze-excitation as in
  MobileNetV3. Plain ReLU everywhere: it folds into the INT8 convolutions (scripts/models/quantize.ts).
- `vgg`: a VGG-style stack of 3x3 convolutions, the usual strong baseline on FER-2013.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _div(v: float, d: int = 8) -> int:
    return max(d, int(v + d / 2) // d * d)


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act: bool = True):
        layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, r: int = 4):
        super().__init__()
        self.fc1 = nn.Conv2d(c, _div(c / r), 1)
        self.fc2 = nn.Conv2d(_div(c / r), c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        s = torch.relu(self.fc1(s))
        return x * torch.sigmoid(self.fc2(s))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int, se: bool):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, 1))
        layers.append(ConvBNReLU(hidden, hidden, 3, stride, groups=hidden))
        if se:
            layers.append(SqueezeExcite(hidden))
        layers.append(ConvBNReLU(hidden, cout, 1, act=False))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


# (expansion, channels, repeats, stride) per stage, at width 1.0; input 48x48.
MOBILENET_STAGES = [(1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 3, 2), (4, 64, 3, 2), (4, 96, 2, 1), (4, 160, 2, 2)]


class MobileNet(nn.Module):
    def __init__(self, classes: int = 7, width: float = 1.0, stem: int = 32, head: int = 640, se: bool = False,
                 dropout: float = 0.3, se_from_stage: int = 3, stem_stride: int = 1, expand: int = 4):
        super().__init__()
        c = _div(stem * width)
        layers: list[nn.Module] = [ConvBNReLU(1, c, 3, stem_stride)]
        stages = MOBILENET_STAGES if stem_stride == 1 else [(t, ch, n, 1 if i == 1 else s) for i, (t, ch, n, s) in enumerate(MOBILENET_STAGES)]
        for i, (t, ch, n, s) in enumerate(stages):
            t = t if t == 1 else expand
            out = _div(ch * width)
            for j in range(n):
                layers.append(InvertedResidual(c, out, s if j == 0 else 1, t, se and i >= se_from_stage))
                c = out
        layers.append(ConvBNReLU(c, head, 1))
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(head, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).mean(dim=(2, 3))
        return self.classifier(self.dropout(x))


class Residual(nn.Module):
    """Two 3x3 convs with a skip (ResNet's basic block); starts as the identity on non-negative inputs."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(ConvBNReLU(c, c), ConvBNReLU(c, c, act=False))
        nn.init.zeros_(self.body[1][1].weight)
        nn.init.zeros_(self.body[1][1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class VGG(nn.Module):
    # Parts that start as the identity (zero output), so a run of the same VGG without them can be
    # fine-tuned into this one (runs.fit) and starts from exactly the source's function.
    GROWN = ("head.", "extra.")

    def __init__(self, classes: int = 7, widths: tuple[int, ...] = (32, 64, 128, 256),
                 depths: tuple[int, ...] = (2, 2, 2, 2), dropout: float = 0.3, head: int = 0, extra: int = 0):
        super().__init__()
        if len(depths) != len(widths):
            raise ValueError(f"model.depths: {len(depths)} entries for {len(widths)} widths")
        layers: list[nn.Module] = []
        c = 1
        # Every 3x3 conv after the first stage costs the same (channels double as the area quarters), so
        # the full-resolution stage is where a second conv is dearest: depths (1, 2, 2, 2) saves it.
        for w, d in zip(widths, depths):
            for _ in range(d):
                layers.append(ConvBNReLU(c, w))
                c = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        # Optional residual blocks at the last stage's resolution, before its pooling (more depth where a
        # 3x3 conv sees most of the face). Each block's last BN starts with zero scale and shift, and its
        # input is a ReLU's output, so relu(x + block(x)) = x: a run without them can grow into them.
        self.extra = nn.ModuleList([Residual(c) for _ in range(extra)])
        # Optional spatial head: the global average keeps what the last feature map holds but not where
        # (mouth below, brows above), which an aligned face crop makes informative. A small MLP on the
        # flattened map adds that, residually, to the average; its last layer starts at zero. It costs
        # about 1 % of the convolutions' multiply-adds but adds parameters where they are cheap.
        self.head: nn.Module | None = None
        if head:
            side = 48 // 2 ** len(widths)
            last = nn.Linear(head, c)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, head), nn.ReLU(inplace=True),
                                      nn.Dropout(dropout), last)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = x
        last = len(self.features) - 1
        for i, layer in enumerate(self.features):
            if i == last:  # the extra blocks go before the last stage's pooling
                for block in self.extra:
                    f = block(f)
            f = layer(f)
        g = f.mean(dim=(2, 3))
        if self.head is not None:
            g = g + self.head(f)
        return self.classifier(self.dropout(g))


def build(cfg: dict[str, Any], classes: int = 7) -> nn.Module:
    kind = cfg["arch"]
    opts = {k: v for k, v in cfg.items() if k != "arch"}
    if kind == "mobilenet":
        return MobileNet(classes, **opts)
    if kind == "vgg":
        for key in ("widths", "depths"):
            if key in opts:
                opts[key] = tuple(opts[key])
        return VGG(classes, **opts)
    raise ValueError(f"model.arch: unknown architecture {kind!r} (mobilenet, vgg)")


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
