"""Clean-room Trident, written from docs/baselines/TRIDENT.md alone (no import of radseg.methods.trident).

It reads the models' weights only (state dicts of the same seeded modules) and recomputes every step with
its own code: SAM's last-block attention from that block's input (own qkv, decomposed relative positions
and softmax), DINO's and CLIP's forwards from their state dicts (explicit attention, QuickGELU for CLIP),
crops, splice, both attentions, logits, query merge and the SAM refinement of section 2b (a literal
per-class loop with skimage, torchvision's ``masks_to_boxes`` and ``SamPredictor.predict_torch``).
Used by tests/test_trident_exact.py.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

P = 16
SAM_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
SAM_STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
CLIP01_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
CLIP01_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
IN_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IN_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


# ------------------------------------------------------------------ A. SAM features
def _rel(q_size, rel_pos):
    idx = torch.arange(q_size)[:, None] - torch.arange(q_size)[None, :] + (q_size - 1)
    return rel_pos[idx]  # q x k x d


def sam_pass(sam, image):
    """Steps 2-4 on an ``H x W x 3`` uint8 image: (A heads x N x N, V heads x hs x ws x d, grid, embedding, size)."""
    h, w = image.shape[:2]
    s = 1024 / max(h, w)
    nh, nw = int(h * s + 0.5), int(w * s + 0.5)
    resized = np.array(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    x = (torch.from_numpy(resized).permute(2, 0, 1).float() - SAM_MEAN) / SAM_STD
    x = F.pad(x, (0, 1024 - nw, 0, 1024 - nh))[None]
    blk = sam.image_encoder.blocks[-1]
    seen = {}
    hook = blk.attn.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    with torch.no_grad():
        emb = sam.image_encoder(x)
    hook.remove()
    a = blk.attn
    inp = seen["x"][0]  # G x G x C
    G, C = inp.shape[0], inp.shape[-1]
    heads = a.num_heads
    d = C // heads
    qkv = (inp.reshape(G * G, C) @ a.qkv.weight.T + a.qkv.bias).reshape(G * G, 3, heads, d)
    q, k, v = qkv[:, 0].transpose(0, 1), qkv[:, 1].transpose(0, 1), qkv[:, 2].transpose(0, 1)  # heads x N x d
    logits = (q * d ** -0.5) @ k.transpose(1, 2)
    rh, rw = _rel(G, a.rel_pos_h), _rel(G, a.rel_pos_w)
    qg = q.reshape(heads, G, G, d)
    rel_h = torch.einsum("nhwc,hkc->nhwk", qg, rh)
    rel_w = torch.einsum("nhwc,wkc->nhwk", qg, rw)
    logits = logits.reshape(heads, G, G, G, G) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]
    attn = logits.reshape(heads, G * G, G * G).softmax(-1)
    hs, ws = nh // P, nw // P
    A = attn.reshape(heads, G, G, G, G)[:, :hs, :ws, :hs, :ws].reshape(heads, hs * ws, hs * ws)
    V = v.reshape(heads, G, G, d)[:, :hs, :ws]
    return A, V, (hs, ws), emb, (nh, nw)


def sam_features(sam, rgb):
    h, w = rgb.shape[:2]
    i0 = cv2.resize(rgb, (math.ceil(w / P) * P, math.ceil(h / P) * P), interpolation=cv2.INTER_LINEAR)
    return sam_pass(sam, i0)


# ------------------------------------------------------------------ B. crops, DINO, CLIP
def preprocess(x, crop):
    h, w = x.shape[-2:]
    if h % P == 0 and w % P == 0:
        return x
    L = max(h, w)
    Lp = math.ceil(L / P) * P
    nh, nw = math.ceil(int(h * Lp / L) / P) * P, math.ceil(int(w * Lp / L) / P) * P
    return F.interpolate(x, size=(max(nh, crop), max(nw, crop)), mode="bilinear", align_corners=False)


def windows(H, W, c, s):
    out = []
    for i in range(max(H - c + s - 1, 0) // s + 1):
        for j in range(max(W - c + s - 1, 0) // s + 1):
            y2, x2 = min(i * s + c, H), min(j * s + c, W)
            out.append((max(y2 - c, 0), max(x2 - c, 0), y2, x2))
    return out


def _pos(pos, gh, gw):  # pos: (1+N) x C
    N = pos.shape[0] - 1
    if N == gh * gw:
        return pos
    g = int(math.sqrt(N))
    grid = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, scale_factor=((gh + 0.1) / g, (gw + 0.1) / g), mode="bicubic", align_corners=False)
    return torch.cat([pos[:1], grid[0].reshape(pos.shape[1], -1).T])


def _mha(x, w_in, b_in, w_out, b_out, heads):  # x: n x L x C
    n, L, C = x.shape
    q, k, v = (x @ w_in.T + b_in).reshape(n, L, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
    a = ((q / math.sqrt(C // heads)) @ k.transpose(-1, -2)).softmax(-1)
    return (a @ v).transpose(1, 2).reshape(n, L, C) @ w_out.T + b_out


def dino_forward(sd, heads, x):
    """``x`` n x 3 x c x c ImageNet-normalised -> n x C x g x g (last block, final norm, CLS dropped)."""
    t = F.conv2d(x, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=P)
    n, C, gh, gw = t.shape
    t = torch.cat([sd["cls_token"].expand(n, 1, C), t.flatten(2).transpose(1, 2)], 1)
    pos = sd["pos_embed"][0]
    t = t + (pos if (pos.shape[0] - 1 == gh * gw and gh == gw) else _pos(pos, gh, gw))
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("blocks."))
    for i in range(depth):
        b = f"blocks.{i}."
        y = F.layer_norm(t, (C,), sd[b + "norm1.weight"], sd[b + "norm1.bias"], 1e-6)
        t = t + _mha(y, sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"], sd[b + "attn.proj.weight"],
                     sd[b + "attn.proj.bias"], heads)
        y = F.layer_norm(t, (C,), sd[b + "norm2.weight"], sd[b + "norm2.bias"], 1e-6)
        t = t + F.gelu(y @ sd[b + "mlp.fc1.weight"].T + sd[b + "mlp.fc1.bias"]) @ sd[b + "mlp.fc2.weight"].T \
            + sd[b + "mlp.fc2.bias"]
    t = F.layer_norm(t, (C,), sd["norm.weight"], sd["norm.bias"], 1e-6)
    return t[:, 1:].transpose(1, 2).reshape(n, C, gh, gw)


def clip_tokens(sd, heads, x):
    """CLIP visual (state dict of ``model.visual``) up to the last block: n x g*g x C (CLS dropped)."""
    t = F.conv2d(x, sd["conv1.weight"], stride=P)
    n, C, gh, gw = t.shape
    t = torch.cat([sd["class_embedding"].expand(n, 1, C), t.flatten(2).transpose(1, 2)], 1)
    t = t + _pos(sd["positional_embedding"], gh, gw)
    t = F.layer_norm(t, (C,), sd["ln_pre.weight"], sd["ln_pre.bias"])
    L = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("transformer.resblocks."))
    for i in range(L - 1):
        b = f"transformer.resblocks.{i}."
        y = F.layer_norm(t, (C,), sd[b + "ln_1.weight"], sd[b + "ln_1.bias"])
        t = t + _mha(y, sd[b + "attn.in_proj_weight"], sd[b + "attn.in_proj_bias"], sd[b + "attn.out_proj.weight"],
                     sd[b + "attn.out_proj.bias"], heads)
        y = F.layer_norm(t, (C,), sd[b + "ln_2.weight"], sd[b + "ln_2.bias"])
        h = y @ sd[b + "mlp.c_fc.weight"].T + sd[b + "mlp.c_fc.bias"]
        t = t + (h * torch.sigmoid(1.702 * h)) @ sd[b + "mlp.c_proj.weight"].T + sd[b + "mlp.c_proj.bias"]
    return t[:, 1:], L


def text_features(model, classes):
    """Step 10 with open_clip's own tokenizer and encode_text: (T Q x D, owner)."""
    import open_clip
    queries, owner = [], []
    for i, line in enumerate(classes):
        for q in line:
            queries.append(q)
            owner.append(i)
    rows = []
    with torch.no_grad():
        for q in queries:
            e = model.encode_text(open_clip.tokenize([t(q) for t in open_clip.OPENAI_IMAGENET_TEMPLATES]))
            e = e / e.norm(dim=-1, keepdim=True)
            e = e.mean(0)
            rows.append(e / e.norm())
    return torch.stack(rows), owner


# ------------------------------------------------------------------ the chain
@torch.no_grad()
def trident(img, rgb, ori_shape, clip_model, clip_heads, dino, dino_heads, sam, text, owner, s):
    """Everything of section 2 for one image; returns a dict of the named intermediates and the outputs.

    ``s``: dict with slide_crop, slide_stride, beta, gamma, cos_fac, refine_neg_cos, logit_scale, prob_thd,
    sam_refine, coarse_thresh, minimal_area, sam_mask_coff, sam_iou_thresh.
    """
    out = {}
    A, V, (hs, ws), emb, in_size = sam_features(sam, rgb)
    out.update(sam_attn=A, sam_value=V, grid=(hs, ws))
    xc = preprocess(img, s["slide_crop"])
    wins = windows(xc.shape[-2], xc.shape[-1], s["slide_crop"], s["slide_stride"])
    batch = torch.cat([xc[:, :, y1:y2, x1:x2] for y1, x1, y2, x2 in wins])
    out.update(preprocessed=xc, windows=wins, crops=batch)
    dsd = {k: v.float() for k, v in dino.state_dict().items()}
    fd = dino_forward(dsd, dino_heads, ((batch * CLIP01_STD + CLIP01_MEAN) - IN_MEAN) / IN_STD)
    out["dino"] = fd
    vsd = {k: v.float() for k, v in clip_model.visual.state_dict().items()}
    tok, L = clip_tokens(vsd, clip_heads, batch)
    out["tokens"] = tok
    n, N, C = tok.shape
    b = f"transformer.resblocks.{L - 1}."
    z = F.layer_norm(tok, (C,), vsd[b + "ln_1.weight"], vsd[b + "ln_1.bias"])
    v = z @ vsd[b + "attn.in_proj_weight"][2 * C:].T + vsd[b + "attn.in_proj_bias"][2 * C:]
    f = fd.flatten(2)
    f = f / f.norm(dim=1, keepdim=True)
    S = f.transpose(1, 2) @ f
    S = (S - s["beta"] * S.mean()) * s["gamma"]
    S[S < 0] = float("-inf")
    W = S.softmax(-1)
    o = (W @ v) @ vsd[b + "attn.out_proj.weight"].T + vsd[b + "attn.out_proj.bias"]
    g = (batch.shape[-2] // P, batch.shape[-1] // P)
    o = o.transpose(1, 2).reshape(n, C, *g)
    out["dino_attn_out"] = o
    Hc, Wc = xc.shape[-2] // P, xc.shape[-1] // P
    acc, cnt = torch.zeros(C, Hc, Wc), torch.zeros(Hc, Wc)
    for k, (y1, x1, y2, x2) in enumerate(wins):
        acc[:, y1 // P:y2 // P, x1 // P:x2 // P] += o[k]
        cnt[y1 // P:y2 // P, x1 // P:x2 // P] += 1
    canvas = acc / cnt
    out["canvas"] = canvas
    U = F.interpolate(canvas[None], size=(hs, ws), mode="bilinear", align_corners=False)[0].reshape(C, -1).T
    vh = V.reshape(V.shape[0], hs * ws, -1)
    vh = vh / vh.norm(dim=-1, keepdim=True)
    Cm = vh @ vh.transpose(1, 2)
    t = s["cos_fac"] * Cm.mean(0).mean(-1, keepdim=True)
    if not s["refine_neg_cos"]:
        t[t < 0] = 0.6
    t = torch.minimum(t, torch.tensor(0.9))
    Am = A * (Cm > t).float()
    G = Am.mean(0)
    G = G / G.sum(-1, keepdim=True)
    Y = G @ U
    Y = F.layer_norm(Y, (C,), vsd["ln_post.weight"], vsd["ln_post.bias"]) @ vsd["proj"]
    out["features"] = Y
    Yn = Y / Y.norm(dim=-1, keepdim=True)
    lg = (Yn @ text.T).T.reshape(1, -1, hs, ws)
    lg = F.interpolate(lg, size=tuple(ori_shape), mode="bilinear", align_corners=False)[0]
    out["logits"] = lg
    qp = (s["logit_scale"] * lg).softmax(0)
    out["query_probs"] = qp
    K = max(owner) + 1
    nbg = len(owner) - (K - 1)
    probs = qp if len(owner) == K else torch.cat([qp[:nbg].max(0, keepdim=True)[0], qp[nbg:]])
    conf, labels = probs.max(0)
    labels[conf < s["prob_thd"]] = 0
    out.update(probs=probs, coarse_labels=labels.clone())
    if s["sam_refine"]:
        labels, probs = refine(sam, emb, in_size, labels, probs, s)
    out.update(labels=labels, final_probs=probs)
    return out


# ------------------------------------------------------------------ 2b. refinement
def refine(sam, emb, in_size, L, p, s):
    from segment_anything import SamPredictor
    from segment_anything.utils.transforms import ResizeLongestSide
    from skimage.measure import label as cc
    from torchvision.ops import masks_to_boxes
    C, H, W = p.shape
    h2, w2 = H // 2, W // 2
    L2 = F.interpolate(L[None, None].float(), size=(h2, w2), mode="nearest")[0, 0].long()
    p2 = F.interpolate(p[None], size=(h2, w2), mode="bilinear", align_corners=False)[0]
    L2[p2.max(0)[0] < s["coarse_thresh"]] = C
    pred = SamPredictor(sam)
    pred.features, pred.is_image_set = emb, True
    pred.original_size, pred.input_size = (H, W), tuple(in_size)
    th, tw = ResizeLongestSide.get_preprocess_shape(H, W, 256)
    accepted, failed = [], []  # (class, logits H x W) and half-res masks
    for c in range(C):
        if p2[c].max() < s["coarse_thresh"]:
            continue
        comp = cc((L2 == c).numpy(), connectivity=2)
        masks = [torch.from_numpy(comp == i) for i in range(1, comp.max() + 1)]
        masks = [m for m in masks if int(m.sum()) >= s["minimal_area"]]
        if not masks:
            continue
        m = torch.stack(masks)
        boxes = masks_to_boxes(m).type_as(L)
        pts = torch.stack([torch.tensor([int(i) % w2, int(i) // w2]) for i in (p2[c][None] * m).flatten(1).argmax(1)])
        mp = F.interpolate(p2[c][None, None], size=(th, tw), mode="bilinear", align_corners=False)
        mp = F.pad(mp, (0, 256 - tw, 0, 256 - th))[0]
        mp = torch.where(mp > s["coarse_thresh"], mp * s["sam_mask_coff"], torch.zeros_like(mp))
        pc = pred.transform.apply_coords_torch(pts[:, None, :].float(), (h2, w2))
        bx = pred.transform.apply_boxes_torch(boxes, (h2, w2))
        with torch.no_grad():
            logit, iou, _ = pred.predict_torch(pc, torch.ones(len(masks), 1, dtype=torch.int), bx, mp,
                                               multimask_output=False, return_logits=True)
        for r in range(len(masks)):
            if iou[r, 0] > s["sam_iou_thresh"]:
                accepted.append((c, logit[r, 0]))
            else:
                failed.append(m[r])
    if not accepted:
        return L, p
    r = torch.zeros_like(p)
    union = torch.zeros(p.shape, dtype=torch.bool)
    for c, lg in accepted:
        r[c] = torch.maximum(r[c], torch.sigmoid(lg) * p[c])
        union[c] |= lg > 0
    r = torch.where(union, r, torch.zeros_like(r))
    lab = r.argmax(0)
    lab[r.max(0)[0] == 0] = L[r.max(0)[0] == 0]
    if failed:
        fm = torch.stack(failed).any(0)
        fm = F.interpolate(fm[None, None].float(), size=(H, W), mode="nearest")[0, 0] > 0
        r = torch.where(fm[None], torch.maximum(r, p), r)
        back = fm & (p.max(0)[0] > r.max(0)[0])
        lab[back] = L[back]
    return lab, r
