"""Clean-room reference of NACLIP inference (docs/baselines/NACLIP.md sections 3.1-3.6).

Written from the specification alone, not from radseg/methods/naclip or radseg/methods/clip: it
reads the CLIP weights as a plain OpenAI-layout **state dict** (no open_clip module), runs the
towers sequence-first as OpenAI's code does (``N x B x D``, explicit attention math, QuickGELU),
builds the Gaussian prior the release's way (a ``conv2d`` of one-hot maps with a
``(2hp-1) x (2wp-1)`` kernel, ``padding='same'``), accumulates windows with ``F.pad`` into a canvas,
runs PAMR with the original's shift kernels (``conv2d`` with dilation on replicate-padded inputs) and
pools synonyms with the release's one-hot product. Text runs the full 77 positions.

Entry points: :func:`ref_query_embeddings`, :func:`ref_window_features`, :func:`ref_forward_feature`,
:func:`ref_forward_slide`, :func:`ref_pamr`, :func:`ref_postprocess`, :func:`ref_predict`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _ln(x, sd, p):
    return F.layer_norm(x, (x.shape[-1],), sd[p + ".weight"], sd[p + ".bias"], 1e-5)


def _mha(x, sd, p, heads, mask=None):
    """OpenAI / nn.MultiheadAttention on seq-first ``N x B x D``: q scaled before q k^T."""
    n, b, d = x.shape
    dh = d // heads
    qkv = x @ sd[p + ".in_proj_weight"].T + sd[p + ".in_proj_bias"]
    q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
    q = q.reshape(n, b * heads, dh).transpose(0, 1) * dh ** -0.5
    k = k.reshape(n, b * heads, dh).transpose(0, 1)
    v = v.reshape(n, b * heads, dh).transpose(0, 1)
    att = torch.bmm(q, k.transpose(1, 2))
    if mask is not None:
        att = att + mask
    o = torch.bmm(att.softmax(-1), v).transpose(0, 1).reshape(n, b, d)
    return o @ sd[p + ".out_proj.weight"].T + sd[p + ".out_proj.bias"]


def _mlp(x, sd, p):
    h = x @ sd[p + ".c_fc.weight"].T + sd[p + ".c_fc.bias"]
    h = h * torch.sigmoid(1.702 * h)
    return h @ sd[p + ".c_proj.weight"].T + sd[p + ".c_proj.bias"]


def _block(x, sd, p, heads, mask=None):
    x = x + _mha(_ln(x, sd, p + ".ln_1"), sd, p + ".attn", heads, mask)
    return x + _mlp(_ln(x, sd, p + ".ln_2"), sd, p + ".mlp")


def _layers(sd, prefix):
    return len({k.split(".")[len(prefix.split("."))] for k in sd if k.startswith(prefix + ".")})


# --------------------------------------------------------------------------- 3.1 text
def ref_encode_text(sd, tokens):
    width = sd["ln_final.weight"].shape[0]
    heads = width // 64
    n_ctx = sd["positional_embedding"].shape[0]
    x = sd["token_embedding.weight"][tokens] + sd["positional_embedding"]
    x = x.permute(1, 0, 2)
    mask = torch.full((n_ctx, n_ctx), float("-inf")).triu(1)
    for i in range(_layers(sd, "transformer.resblocks")):
        x = _block(x, sd, f"transformer.resblocks.{i}", heads, mask)
    x = _ln(x.permute(1, 0, 2), sd, "ln_final")
    return x[torch.arange(x.shape[0]), tokens.argmax(-1)] @ sd["text_projection"]


def ref_query_embeddings(sd, words, templates, tokenize):
    """Per word: all templates, encode, normalise each, mean, normalise -> ``Q x E``."""
    out = []
    for w in words:
        f = ref_encode_text(sd, tokenize([t(w) for t in templates]))
        f = f / f.norm(dim=-1, keepdim=True)
        f = f.mean(dim=0)
        out.append(f / f.norm())
    return torch.stack(out)


# --------------------------------------------------------------------------- 3.2 visual
def ref_gaussian(hp, wp, std):
    """Omega by the release's method: one-hot maps convolved with a (2hp-1)x(2wp-1) Gaussian."""
    ys = torch.arange(2 * hp - 1, dtype=torch.float32) - (hp - 1)
    xs = torch.arange(2 * wp - 1, dtype=torch.float32) - (wp - 1)
    kernel = torch.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * std ** 2))
    onehot = torch.eye(hp * wp).reshape(hp * wp, 1, hp, wp)
    maps = F.conv2d(onehot, kernel[None, None], padding="same").reshape(hp * wp, hp * wp)
    omega = torch.zeros(hp * wp + 1, hp * wp + 1)
    omega[1:, 1:] = maps
    return omega


def ref_pos_embed(pos, hp, wp):
    n = hp * wp + 1
    if n == pos.shape[0]:
        return pos
    g = int(math.sqrt(pos.shape[0] - 1))
    grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((hp + 0.1) / g, (wp + 0.1) / g), mode="bicubic",
                         align_corners=False, recompute_scale_factor=False)
    return torch.cat([pos[:1], grid.reshape(pos.shape[1], hp * wp).T], dim=0)


def ref_window_features(sd, window, std=5.0):
    """``1 x 3 x Hc x Wc`` -> ``1 x hp*wp x E`` (NACLIP's reduced last block), plus (hp, wp)."""
    w = sd["visual.conv1.weight"]
    p = w.shape[-1]
    d = w.shape[0]
    heads = d // 64
    x = F.conv2d(window, w, stride=p)
    hp, wp = x.shape[-2:]
    x = x.reshape(1, d, hp * wp).permute(0, 2, 1)
    x = torch.cat([sd["visual.class_embedding"].reshape(1, 1, d), x], dim=1)
    x = x + ref_pos_embed(sd["visual.positional_embedding"], hp, wp)
    x = _ln(x, sd, "visual.ln_pre").permute(1, 0, 2)             # N x 1 x D
    layers = _layers(sd, "visual.transformer.resblocks")
    for i in range(layers - 1):
        x = _block(x, sd, f"visual.transformer.resblocks.{i}", heads)
    pre = f"visual.transformer.resblocks.{layers - 1}"
    y = _ln(x, sd, pre + ".ln_1")
    n = y.shape[0]
    dh = d // heads
    qkv = y @ sd[pre + ".attn.in_proj_weight"].T + sd[pre + ".attn.in_proj_bias"]
    k = qkv[..., d:2 * d].reshape(n, heads, dh).transpose(0, 1)
    v = qkv[..., 2 * d:].reshape(n, heads, dh).transpose(0, 1)
    att = torch.bmm(k, k.transpose(1, 2)) * dh ** -0.5 + ref_gaussian(hp, wp, std)[None]
    o = torch.bmm(att.softmax(-1), v).transpose(0, 1).reshape(n, 1, d)
    x = o @ sd[pre + ".attn.out_proj.weight"].T + sd[pre + ".attn.out_proj.bias"]  # no residual, no FFN
    x = _ln(x.permute(1, 0, 2), sd, "visual.ln_post") @ sd["visual.proj"]
    return x[:, 1:], int(hp), int(wp)


# --------------------------------------------------------------------------- 3.3 / 3.4
def ref_forward_feature(sd, img, text, std=5.0):
    f, hp, wp = ref_window_features(sd, img, std)
    f = f / f.norm(dim=-1, keepdim=True)
    logits = f @ text.T
    logits = logits.permute(0, 2, 1).reshape(1, text.shape[0], hp, wp)
    return F.interpolate(logits, size=img.shape[-2:], mode="bilinear", align_corners=False)


def ref_forward_slide(sd, img, text, crop=224, stride=112, std=5.0):
    _, _, h, w = img.shape
    q = text.shape[0]
    nh = max(h - crop + stride - 1, 0) // stride + 1
    nw = max(w - crop + stride - 1, 0) // stride + 1
    preds = torch.zeros(1, q, h, w)
    count = torch.zeros(1, 1, h, w)
    for i in range(nh):
        for j in range(nw):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, h), min(x1 + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            out = ref_forward_feature(sd, img[:, :, y1:y2, x1:x2], text, std)
            preds += F.pad(out, (int(x1), int(w - x2), int(y1), int(h - y2)))
            count[:, :, y1:y2, x1:x2] += 1
    return preds / count


# --------------------------------------------------------------------------- 3.5 PAMR
def _shift_kernels(center):
    """8 (neighbour) or 9 (all) 3x3 kernels; ``center``: +1 at the centre, -1 at the neighbour."""
    pos = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]
    if center is None:
        pos = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    w = torch.zeros(len(pos), 1, 3, 3)
    for i, (a, b) in enumerate(pos):
        if center:
            w[i, 0, 1, 1] = 1
            w[i, 0, a, b] = -1
        else:
            w[i, 0, a, b] = 1
    return w


def _local(x, kernel, dilations):
    b, k, h, w = x.shape
    x = x.reshape(b * k, 1, h, w)
    outs = [F.conv2d(F.pad(x, [d] * 4, mode="replicate"), kernel, dilation=d) for d in dilations]
    return torch.cat(outs, 1).reshape(b, k, -1, h, w)


def ref_pamr(img, mask, steps=10, dilations=(8, 16)):
    mask = F.interpolate(mask, size=img.shape[-2:], mode="bilinear", align_corners=True)
    std = _local(img, _shift_kernels(None), dilations).std(2, keepdim=True)
    a = -_local(img, _shift_kernels(True), dilations).abs() / (1e-8 + 0.1 * std)
    a = a.mean(1, keepdim=True).softmax(2)
    for _ in range(steps):
        mask = (_local(mask, _shift_kernels(False), dilations) * a).sum(2)
    return mask


# --------------------------------------------------------------------------- 3.6
def ref_postprocess(logits, query_idx, logit_scale=40.0, prob_thd=0.0):
    """``Q x H x W`` -> (renormalised probs C x H x W, labels H x W): the release's one-hot product."""
    p = (logits * logit_scale).softmax(0)
    qi = torch.tensor(query_idx)
    c, q = int(qi.max()) + 1, len(query_idx)
    if c != q:
        onehot = F.one_hot(qi).T.reshape(c, q, 1, 1)
        p = (p.unsqueeze(0) * onehot).max(1)[0]
    pred = p.argmax(0, keepdim=True)
    pred[p.max(0, keepdim=True)[0] < prob_thd] = 0
    return p / p.sum(0, keepdim=True), pred[0]


def ref_predict(sd, img, ori_shape, text, query_idx, crop=224, stride=112, std=5.0, logit_scale=40.0,
                prob_thd=0.0, pamr_steps=10, dilations=(8, 16)):
    """The whole chain; returns a dict of every intermediate the spec names."""
    out = {}
    if crop > 0:
        dense = ref_forward_slide(sd, img, text, crop, stride, std)
    else:
        dense = ref_forward_feature(sd, img, text, std)
    out["dense"] = dense
    logits = F.interpolate(dense, size=ori_shape, mode="bilinear", align_corners=False)
    out["resized"] = logits
    if pamr_steps > 0:
        guide = F.interpolate(img, size=ori_shape, mode="bilinear", align_corners=False)
        logits = ref_pamr(guide, logits, pamr_steps, dilations)
    out["logits"] = logits[0]
    out["probs"], out["labels"] = ref_postprocess(logits[0], query_idx, logit_scale, prob_thd)
    return out
