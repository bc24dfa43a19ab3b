"""Thin ResNet speaker encoder with attentive statistics pooling and an AAM-softmax head.

Layout follows WeSpeaker's ResNet (input feats [B, T, 80], output embs [B, D]), thinned and with
fewer blocks so one training step fits a 2-core CPU budget (see the probe in
/work/shared/notes/speaker-models.md).  Attentive statistics pooling: Okabe et al., Interspeech 2018.
AAM-softmax (additive angular margin, ArcFace): Deng et al., CVPR 2019.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride not in (1, (1, 1)) or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class AttentiveStatsPool(nn.Module):
    """Channel-wise attention over frames, then weighted mean and standard deviation."""

    def __init__(self, dim, hidden=128):
        super().__init__()
        self.att = nn.Sequential(nn.Conv1d(dim, hidden, 1), nn.ReLU(), nn.BatchNorm1d(hidden), nn.Conv1d(hidden, dim, 1))

    def forward(self, x):  # x [B, C, T]
        w = torch.softmax(self.att(x), dim=2)
        mu = torch.sum(x * w, dim=2)
        var = torch.sum(x * x * w, dim=2) - mu * mu
        sd = torch.sqrt(torch.clamp(var, min=1e-5))
        return torch.cat([mu, sd], dim=1)


# Mel bins (of 80, 20-8000 Hz at 16 kHz) lying wholly inside the telephone band 300-3400 Hz: the
# level reference for the spectral-shape branch, so it is the same for wideband and 8 kHz audio.
LEVEL_BINS = slice(11, 55)

# Time stride of stages 2-4 unless a checkpoint's cfg says otherwise (ThinResNet).
TIME_STRIDES = (2, 2, 2)
# Residual blocks per stage unless a checkpoint's cfg says otherwise (deepen.py grows them).
BLOCKS = (1, 2, 2, 1)


class SpectralShapeBranch(nn.Module):
    """Maps the utterance's long-term average log-mel spectrum to an embedding offset.

    Per-utterance mean normalisation (CMN) removes channel effects but also the long-term average
    spectrum, a classic speaker cue (see e.g. Kinnunen & Li, Speech Communication 52(1), 2010)
    that matters most on sub-second clips, where the trunk sees only a phone or two. The level over
    the telephone band is subtracted first, so loudness does not move the embedding. The last layer
    starts at zero: a model warm-started from a checkpoint without the branch begins as exactly that
    checkpoint and learns how far to trust the average spectrum.
    """

    def __init__(self, n_mels, emb_dim, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.BatchNorm1d(n_mels), nn.Linear(n_mels, hidden), nn.ReLU(), nn.Linear(hidden, emb_dim))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, mean):  # mean [B, F]: per-utterance mean of the raw log-mel features
        return self.net(mean - mean[:, LEVEL_BINS].mean(dim=1, keepdim=True))


class ThinResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128), blocks=BLOCKS, emb_dim=192, n_mels=80, stem_stride=2, shape_branch=False,
                 time_strides=TIME_STRIDES):
        super().__init__()
        # With the shape branch the model takes raw log-mel features (manifest normalisation
        # 'none') and applies CMN itself, so the trunk sees exactly what it saw before.
        self.takes_raw_feats = shape_branch
        self.shape = SpectralShapeBranch(n_mels, emb_dim) if shape_branch else None
        # A strided stem quarters the cost of every later layer: the price of training on 2 CPU cores.
        self.conv1 = nn.Conv2d(1, widths[0], 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        # Each later stage halves frequency; time_strides says which of them also halve time. The
        # default (2, 2, 2) leaves T/16 frames for pooling: 2-3 frames for a 0.4 s digit, too few
        # for a standard deviation. A 1 keeps that stage's frame rate; the weights do not change
        # shape, so a checkpoint with other time strides warm-starts this one.
        layers, cin = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, ((2, time_strides[i - 1]) if (i > 0 and j == 0) else 1)))
                cin = w
        self.layers = nn.Sequential(*layers)
        freq = (n_mels // stem_stride) // 2 ** (len(widths) - 1)
        self.pool = AttentiveStatsPool(cin * freq)
        self.emb = nn.Linear(2 * cin * freq, emb_dim)
        self.bn_emb = nn.BatchNorm1d(emb_dim)

    def forward(self, feats):  # feats [B, T, F]
        offset = None
        if self.shape is not None:
            mean = feats.mean(dim=1)
            offset = self.shape(mean)
            feats = feats - mean.unsqueeze(1)
        x = feats.transpose(1, 2).unsqueeze(1)  # [B, 1, F, T]
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        b, c, f, t = x.shape
        x = x.reshape(b, c * f, t)
        e = self.emb(self.pool(x))
        return self.bn_emb(e if offset is None else e + offset)


class AAMSoftmax(nn.Module):
    def __init__(self, emb_dim, n_classes, scale=32.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, emb_dim) * 0.01)
        self.scale = scale
        self.margin = 0.0  # ramped by the trainer

    def forward(self, emb, labels):
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        m = self.margin
        sin = torch.sqrt(1.0 - cos * cos)
        phi = cos * math.cos(m) - sin * math.sin(m)
        # Beyond theta + m > pi the target logit would increase again; use the CosFace-like fallback.
        phi = torch.where(cos > math.cos(math.pi - m), phi, cos - math.sin(math.pi - m) * m)
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        logits = self.scale * (onehot * phi + (1 - onehot) * cos)
        return F.cross_entropy(logits, labels), (cos.argmax(1) == labels).float().mean()


def build_model(cfg=None):
    cfg = cfg or {}
    return ThinResNet(widths=tuple(cfg.get('widths', (16, 32, 64, 128))), blocks=tuple(cfg.get('blocks', BLOCKS)), emb_dim=cfg.get('emb_dim', 192), stem_stride=cfg.get('stem_stride', 2), shape_branch=cfg.get('shape_branch', False),
                       time_strides=tuple(cfg.get('time_strides', TIME_STRIDES)))


if __name__ == '__main__':
    # Times one training step (forward, backward, AdamW) of a batch of 128 crops of 1.4 s, the mean
    # of train.py's 0.3-2.5 s, on 2 threads: the shipped layout and the deeper one of deepen.py.
    import time
    torch.set_num_threads(2)
    for blocks in [BLOCKS, (1, 2, 3, 3)]:
        m = build_model(dict(blocks=blocks, shape_branch=True, time_strides=(2, 2, 1)))
        head = AAMSoftmax(192, 2265)
        opt = torch.optim.AdamW(list(m.parameters()) + list(head.parameters()), 1e-3)
        n = sum(p.numel() for p in m.parameters())
        x = torch.randn(128, 140, 80)
        y = torch.randint(0, 2265, (128,))
        ts = []
        for i in range(5):
            t0 = time.time()
            loss, _ = head(m(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            ts.append(time.time() - t0)
        print(f'blocks {blocks}: {n} parameters, step times', ['%.2f' % t for t in ts], '(the first warms up)', flush=True)
