"""Clean-room reference of RADSeg inference (ALGORITHM.md sections 2-7).

Written from docs/ALGORITHM.md and docs/RADIO_API.md only, without looking
at the library's implementation (radseg/sliding_windows.py, scra.py, scga.py,
dense_logits.py, text_embeddings.py, encoder.py, sam_refine.py). It is
written the way research code most plausibly does it: plain PyTorch, per-class Python loops,
``skimage.measure.label`` on
host numpy arrays, ``torchvision.ops.masks_to_boxes`` and
``segment_anything.SamPredictor.predict_torch`` with the predictor's state set
by hand. Coordinates go through ``predictor.transform.apply_coords_torch`` /
``apply_boxes_torch`` (the torch variants).

Entry points:

* :func:`reference_predict` -- sections 2-6 (sliding windows, SCRA, SCGA,
  dense logits, prompt denoising, argmax).
* :func:`reference_refine` -- section 7 (RADSeg+ SAM refinement).
* :func:`reference_text_embeddings` -- section 5 (80 templates, normalise, mean).
"""
from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F


# --------------------------------------------------------------------------- section 3: SCRA
def _scra_forward(self, x, attn_mask=None, is_causal=False, s_ra=10.0):
    """SCRA replacing the forward of the last block's timm ``Attention`` (section 3).

    q/k norms are deliberately not applied (the reference ignores them).
    """
    B, N, C = x.shape
    h = self.num_heads
    d = self.head_dim
    qkv = self.qkv(x).reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    # 1. ordinary attention -> O
    attn = (q @ k.transpose(-2, -1)) * self.scale
    attn = attn.softmax(dim=-1)
    o = attn @ v
    o = o.transpose(1, 2).reshape(B, N, h * d)
    o = self.proj(o)
    o = self.proj_drop(o)
    # 2. self-correlation of O per head
    o = o.reshape(B, N, h, d).permute(0, 2, 1, 3)
    o = o / o.norm(dim=-1, keepdim=True)
    s = (o @ o.transpose(-2, -1)) * s_ra
    # 3. negatives -> -inf, softmax
    s = s.masked_fill(s < 0, float("-inf"))
    s = s.softmax(dim=-1)
    # 4. with the ORIGINAL v, merge, proj once more
    out = s @ v
    out = out.transpose(1, 2).reshape(B, N, h * d)
    out = self.proj(out)
    out = self.proj_drop(out)
    return out


@contextlib.contextmanager
def scra_patched(model, s_ra=10.0):
    """Temporarily replace the forward of the last block's attention by SCRA."""
    attn = model.model.blocks[-1].attn
    old = attn.__dict__.get("forward", None)

    def fwd(x, attn_mask=None, is_causal=False):
        return _scra_forward(attn, x, attn_mask, is_causal, s_ra=s_ra)

    attn.forward = fwd
    try:
        yield model
    finally:
        if old is None:
            del attn.forward
        else:
            attn.forward = old


# --------------------------------------------------------------------------- section 2: sliding windows
def resize_to_stride(img, crop, stride):
    """Section 2.1: resize to a stride multiple (rounding unit = stride), at least ``crop``."""
    H, W = img.shape[-2:]
    if H % stride == 0 and W % stride == 0:
        return img
    L = max(H, W)
    L2 = int(math.ceil(L / stride)) * stride
    scale = L2 / L
    nh, nw = int(H * scale), int(W * scale)
    nh = int(math.ceil(nh / stride)) * stride
    nw = int(math.ceil(nw / stride)) * stride
    nh, nw = max(nh, crop), max(nw, crop)
    return F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)


def sliding_features(model, img, crop, stride):
    """Sections 2.2-2.4: windows, one batched backbone pass, stitched average."""
    p = model.patch_size
    if crop <= 0:
        _, feats = model(img)
        B, _, H, W = img.shape
        hp, wp = H // p, W // p
        return feats.reshape(B, hp, wp, -1).permute(0, 3, 1, 2)
    img = resize_to_stride(img, crop, stride)
    B, _, h, w = img.shape
    assert B == 1
    rows = max(h - crop + stride - 1, 0) // stride + 1
    cols = max(w - crop + stride - 1, 0) // stride + 1
    boxes, crops = [], []
    for i in range(rows):
        for j in range(cols):
            y1, x1 = i * stride, j * stride
            y2, x2 = min(y1 + crop, h), min(x1 + crop, w)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            assert y1 % p == 0 and x1 % p == 0
            boxes.append((y1, y2, x1, x2))
            crops.append(img[:, :, y1:y2, x1:x2])
    batch = torch.cat(crops, dim=0)
    _, feats = model(batch)
    n, _, c = feats.shape
    fh, fw = crops[0].shape[-2] // p, crops[0].shape[-1] // p   # crop // p unless the image is smaller
    feats = feats.reshape(n, fh, fw, c).permute(0, 3, 1, 2)
    ph, pw = int(math.ceil(h / p)), int(math.ceil(w / p))
    acc = torch.zeros((1, c, ph, pw), dtype=feats.dtype)
    cnt = torch.zeros((1, 1, ph, pw), dtype=feats.dtype)
    for k, (y1, y2, x1, x2) in enumerate(boxes):
        acc[:, :, y1 // p:y2 // p, x1 // p:x2 // p] += feats[k:k + 1]
        cnt[:, :, y1 // p:y2 // p, x1 // p:x2 // p] += 1
    return acc / cnt


# --------------------------------------------------------------------------- section 4: SCGA
def scga(feat, s_ga=10.0):
    B, C, h, w = feat.shape
    t = feat.permute(0, 2, 3, 1).reshape(B, h * w, C)
    tn = t / t.norm(dim=-1, keepdim=True)
    s = tn @ tn.transpose(1, 2)
    s = (s - s.mean()) * s_ga
    s = s.masked_fill(s < 0, float("-inf"))
    s = s.softmax(dim=-1)
    out = s @ t
    return out.reshape(B, h, w, C).permute(0, 3, 1, 2)


# --------------------------------------------------------------------------- section 5: text
def reference_text_embeddings(lang_adaptor, class_names):
    from open_clip import OPENAI_IMAGENET_TEMPLATES
    embs = []
    for name in class_names:
        texts = [t(name) for t in OPENAI_IMAGENET_TEMPLATES]
        tokens = lang_adaptor.tokenizer(texts)
        e = lang_adaptor.encode_text(tokens)
        e = e / e.norm(dim=-1, keepdim=True)
        embs.append(e.mean(dim=0))
    return torch.stack(embs, dim=0)


# --------------------------------------------------------------------------- section 6: dense logits
def dense_probs(lang_adaptor, feat, text, ori_shape):
    """Section 6.1-6.3 in the reference's order of operations (bit-exactness)."""
    B, C, h, w = feat.shape
    tokens = feat.permute(0, 2, 3, 1).reshape(B, h * w, C).contiguous()
    proj = lang_adaptor.head_mlp(tokens)
    ct = proj.shape[-1]
    proj = proj.reshape(B, h, w, ct).permute(0, 3, 1, 2)          # B x C_t x h x w
    pix = proj.permute(0, 2, 3, 1).reshape(-1, ct)                  # M x C_t
    pix = pix / pix.norm(dim=-1, keepdim=True)
    txt = text / text.norm(dim=-1, keepdim=True)
    K = txt.shape[0]
    sim = torch.matmul(txt[None, :, None, :], pix[:, None, :, None])  # M x K x 1 x 1
    sim = sim.reshape(-1, K)
    probs = torch.softmax(100 * sim, dim=-1)
    probs = probs.reshape(B, h, w, K).permute(0, 3, 1, 2)            # NOT contiguous (channels-last)
    return F.interpolate(probs, size=tuple(ori_shape), mode="bilinear", align_corners=False)


def reference_predict(model, lang_adaptor, text_embeddings, img, ori_shape, crop, stride,
                      s_ra=10, s_ga=10, thresh=0.5):
    """Sections 2-6. ``model`` is a RADIO-like model with ``adaptors = None`` and the
    preprocessor made external; ``img`` a normalised ``1 x 3 x H x W`` tensor.
    Returns ``(probs K x H0 x W0, labels H0 x W0)``."""
    with torch.no_grad(), scra_patched(model, s_ra=s_ra):
        feat = sliding_features(model, img, crop, stride)
        feat = scga(feat, s_ga=s_ga)
        probs = dense_probs(lang_adaptor, feat, text_embeddings, ori_shape)[0]   # K x H0 x W0
        # 6.4 prompt denoising: no renormalisation
        cls_max = probs.reshape(probs.shape[0], -1).max(dim=1).values
        probs = probs.clone()
        probs[cls_max < thresh] = 0
        labels = probs.argmax(dim=0)
    return probs, labels


# --------------------------------------------------------------------------- section 7: RADSeg+
def sam_embedding(model, sam_adaptor, sam, img, s_ra=10):
    """RADIO -> SAM image embedding. Returns ``(embedding 1 x C x 64 x 64, input_size)``."""
    H, W = img.shape[-2:]
    if H >= W:
        nh, nw = 1024, int(W * 64 / H) * 16
    else:
        nh, nw = int(H * 64 / W) * 16, 1024
    x = F.interpolate(img, size=(nh, nw), mode="bilinear", align_corners=False)
    p = model.patch_size
    with torch.no_grad(), scra_patched(model, s_ra=s_ra):
        _, feats = model(x)
        f = sam_adaptor.feat_mlp(feats)                               # 1 x N x C_sam
        fh, fw = nh // p, nw // p
        f = f.reshape(1, fh, fw, -1).permute(0, 3, 1, 2)
        f = F.interpolate(f, size=(fh, fw), mode="bilinear", align_corners=False, antialias=True)  # no-op
        f = F.pad(f, (0, 64 - fw, 0, 64 - fh))
        # ALGORITHM.md 7: the neck receives plain contiguous NCHW memory.
        emb = sam.image_encoder.neck(f.contiguous())
    return emb, (nh, nw)


def _regions(P_half, Q_half, K, coarse_thresh, minimal_area):
    """Per class (ascending): list of (mask bool h x w, box x1y1x2y2, point x,y) in skimage order."""
    from skimage.measure import label as sk_label
    from torchvision.ops import masks_to_boxes
    h, w = P_half.shape
    out = {}
    for c in range(K):
        if not (Q_half[c].max() >= coarse_thresh):
            continue
        lab = sk_label((P_half == c).cpu().numpy(), connectivity=2)
        regs = []
        for r in range(1, lab.max() + 1):
            m = torch.from_numpy(lab == r)
            if int(m.sum()) < minimal_area:
                continue
            box = masks_to_boxes(m[None])[0]
            idx = int(torch.argmax((Q_half[c] * m).flatten()))
            pt = torch.tensor([idx % w, idx // w], dtype=torch.float32)
            regs.append((m, box, pt))
        if regs:
            out[c] = regs
    return out


def reference_refine(model, sam_adaptor, sam, img, labels, probs, coarse_thresh, minimal_area=225,
                     sam_mask_coff=0.005, sam_iou_thresh=0.9, s_ra=10, return_info=False, embedding=None):
    """Section 7. ``labels`` H0 x W0 int64, ``probs`` K x H0 x W0 float32 (denoised).
    Returns ``(labels, scores)`` (and an info dict with the per-class IoUs and the SAM
    embedding if ``return_info``). ``embedding`` may pass a cached ``sam_embedding`` result."""
    from segment_anything import SamPredictor
    from segment_anything.utils.transforms import ResizeLongestSide

    K, H0, W0 = probs.shape
    P, Q = labels, probs
    emb, input_size = embedding if embedding is not None else sam_embedding(model, sam_adaptor, sam, img, s_ra)
    info = {"ious": {}, "embedding": (emb, input_size)}
    predictor = SamPredictor(sam)
    predictor.features = emb
    predictor.is_image_set = True
    predictor.original_size = (H0, W0)
    predictor.input_size = tuple(input_size)

    hh, hw = H0 // 2, W0 // 2
    P_half = F.interpolate(P[None, None].float(), size=(hh, hw), mode="nearest")[0, 0].long()
    Q_half = F.interpolate(Q[None], size=(hh, hw), mode="bilinear", align_corners=False)[0]
    P_half[Q_half.max(dim=0).values < coarse_thresh] = K        # "uncertain", never refined

    regions = _regions(P_half, Q_half, K, coarse_thresh, minimal_area)
    mh, mw = ResizeLongestSide.get_preprocess_shape(H0, W0, 256)

    kept_low, kept_cls = [], []   # low-res logits (1 x 256 x 256) and class of kept regions, region order
    failed_masks = []     # half-res masks of failed regions
    with torch.no_grad():
        for c, regs in regions.items():
            masks = torch.stack([r[0] for r in regs])
            boxes = torch.stack([r[1] for r in regs])
            pts = torch.stack([r[2] for r in regs])[:, None, :]        # B x 1 x 2
            pt_labels = torch.ones(pts.shape[:2], dtype=torch.int)
            mp = F.interpolate(Q_half[c][None, None], size=(mh, mw), mode="bilinear",
                               align_corners=False)[0]                  # 1 x mh x mw
            mp = F.pad(mp, (0, 256 - mw, 0, 256 - mh))
            above = mp > coarse_thresh
            mp = torch.where(above, mp * sam_mask_coff, torch.zeros_like(mp))
            # The mask prompt is handed over UNBATCHED (1 x 256 x 256), as the reference does.
            coords = predictor.transform.apply_coords_torch(pts, (hh, hw))
            tboxes = predictor.transform.apply_boxes_torch(boxes, (hh, hw))
            _, iou, low = predictor.predict_torch(coords, pt_labels, tboxes, mp, multimask_output=False)
            info["ious"][c] = iou[:, 0].clone()
            for r in range(len(regs)):
                if iou[r, 0] > sam_iou_thresh:
                    kept_low.append(low[r])
                    kept_cls.append(c)
                else:
                    failed_masks.append(masks[r])

    if not kept_low:
        return (P, Q, info) if return_info else (P, Q)

    # ALGORITHM.md 7, "Merge": one upscaling and one sigmoid over all kept regions
    # stacked in region order.
    with torch.no_grad():
        logits = sam.postprocess_masks(torch.stack(kept_low), predictor.input_size,
                                       predictor.original_size)[:, 0]    # R_kept x H0 x W0
        sig = torch.sigmoid(logits)
    refined = torch.zeros_like(Q)
    cls = torch.tensor(kept_cls)
    for c in sorted(set(kept_cls)):
        lg, sg = logits[cls == c], sig[cls == c]
        union = (lg > 0).any(dim=0)
        sc = (sg * Q[c]).max(dim=0).values
        refined[c] = sc * union
    new_labels = refined.argmax(dim=0)
    new_labels = torch.where(refined.max(dim=0).values == 0, P, new_labels)
    if failed_masks:
        fm = torch.stack(failed_masks).any(dim=0)
        fm = F.interpolate(fm[None, None].float(), size=(H0, W0), mode="nearest")[0, 0] > 0
        refined = torch.where(fm[None], torch.maximum(refined, Q), refined)
        # Quirk kept from the reference: the label falls back to P where the coarse max is
        # strictly greater than the (already updated) refined max -- which cannot happen.
        back = fm & (Q.max(dim=0).values > refined.max(dim=0).values)
        new_labels = torch.where(back, P, new_labels)
    return (new_labels, refined, info) if return_info else (new_labels, refined)
