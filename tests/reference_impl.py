"""An independent, deliberately naive implementation of ALGORITHM.md sections 2-6.

Written from the text with loops and explicit formulas (no code shared with
radseg's core), to check the library against it on the same random weights.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F


def naive_scra_forward(attn, x, scaling):
    B, N, C = x.shape
    h = attn.num_heads
    d = C // h
    qkv = attn.qkv(x)
    q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
    heads_o = []
    for i in range(h):
        qi, ki, vi = (t[..., i * d:(i + 1) * d] for t in (q, k, v))
        a = torch.softmax(qi @ ki.transpose(1, 2) / math.sqrt(d), dim=-1)
        heads_o.append(a @ vi)
    o = attn.proj(torch.cat(heads_o, -1))
    outs = []
    for i in range(h):
        oi = o[..., i * d:(i + 1) * d]
        oi = oi / oi.norm(dim=-1, keepdim=True)
        s = scaling * (oi @ oi.transpose(1, 2))
        s = torch.where(s < 0, torch.full_like(s, float("-inf")), s)
        outs.append(torch.softmax(s, -1) @ v[..., i * d:(i + 1) * d])
    return attn.proj(torch.cat(outs, -1))


def naive_features(model, img, patch, scaling):
    """Backbone with naive SCRA on the last block; ``n x 3 x s x s`` -> ``n x C x s/p x s/p``."""
    vit = model.model
    orig = vit.blocks[-1].attn
    saved = orig.forward
    if hasattr(orig, "original"):  # library already patched: use the original module's layers
        base = orig.original[0]
    else:
        base = orig
    try:
        orig.forward = lambda x, *a, **k: naive_scra_forward(base, x, scaling)
        out = model(img)
    finally:
        orig.forward = saved
    f = out[1]
    n, _, hh, ww = img.shape
    return f.transpose(1, 2).reshape(n, -1, hh // patch, ww // patch)


def naive_predict(model, head_mlp, text, img, ori_shape, crop, stride, patch=16,
                  s_ra=10.0, s_ga=10.0, thresh=0.5):
    """Returns (probs K x H0 x W0, labels H0 x W0)."""
    _, _, H, W = img.shape
    if not (H % stride == 0 and W % stride == 0):
        L = max(H, W)
        L2 = -(-L // stride) * stride
        nh, nw = int(H * (L2 / L)), int(W * (L2 / L))
        nh, nw = -(-nh // stride) * stride, -(-nw // stride) * stride
        nh, nw = max(nh, crop), max(nw, crop)
        img = F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)
    _, _, h, w = img.shape
    rows = max(h - crop + stride - 1, 0) // stride + 1
    cols = max(w - crop + stride - 1, 0) // stride + 1
    C = None
    acc = cnt = None
    for i in range(rows):
        for j in range(cols):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, h), min(x1 + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            f = naive_features(model, img[:, :, y1:y2, x1:x2], patch, s_ra)[0]
            if acc is None:
                C = f.shape[0]
                acc = torch.zeros(C, math.ceil(h / patch), math.ceil(w / patch))
                cnt = torch.zeros(1, math.ceil(h / patch), math.ceil(w / patch))
            acc[:, y1 // patch:y2 // patch, x1 // patch:x2 // patch] += f
            cnt[:, y1 // patch:y2 // patch, x1 // patch:x2 // patch] += 1
    feat = acc / cnt
    T = feat.reshape(C, -1).T  # N x C
    Tn = T / T.norm(dim=-1, keepdim=True)
    S = Tn @ Tn.T
    S = (S - S.mean()) * s_ga
    S = torch.where(S < 0, torch.full_like(S, float("-inf")), S)
    G = torch.softmax(S, -1) @ T
    P = head_mlp(G[None])[0]
    P = P / P.norm(dim=-1, keepdim=True)
    Tx = text / text.norm(dim=-1, keepdim=True)
    prob = torch.softmax(100 * (P @ Tx.T), -1)  # N x K
    hp, wp = feat.shape[-2:]
    prob = prob.T.reshape(1, -1, hp, wp)
    prob = F.interpolate(prob, size=ori_shape, mode="bilinear", align_corners=False)[0]
    keep = prob.reshape(prob.shape[0], -1).max(-1).values >= thresh
    prob = prob * keep[:, None, None]
    return prob, prob.argmax(0)
