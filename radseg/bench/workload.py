"""The RADSeg+ workload of ``radseg bench``: class prompts that make regions form on random weights.

With random weights every class's cosine score is about the same everywhere, prompt
denoising zeroes every class, no pixel is confident and no region reaches SAM: a
"RADSeg+" row would time RADSeg. The ``peaked`` workload (the default) fixes that without
touching the model or the algorithm: the prompt embeddings of ``present`` classes (a
per-dataset number, the registry entry's ``present_classes``) are replaced, before timing, by the image's
own projected features (``head_mlp`` of the SCGA-aggregated map, the same tensor the
cosine sees) at ``present`` seeded cells, picked by farthest-point sampling in feature
space from a seeded first cell. Each of these classes then wins the pixels that resemble
its cell (a peaked softmax), so regions form like the classes of a real scene; the other
``K - present`` classes keep their text embeddings and are denoised away, as absent
classes are. ``random``: the text tower's embeddings only (no region is expected).

What the workload produced is measured, not assumed: every RADSeg+ row reports the SAM
regions and mask-decoder calls per image (:class:`SamCallCounter`), and a row whose
images prompted no region is flagged ``not measuring refinement``.
"""
from __future__ import annotations

from typing import Dict, List

import torch

#: classes present per image in the ``peaked`` workload when the dataset's entry names none
#: (``DatasetFacts.present_classes``: typical scene counts, VOC images hold 1-3 object classes,
#: Context / COCO-Stuff / ADE20K scenes about 8-10 labelled classes, Cityscapes frames about 12 of 19)
DEFAULT_PRESENT = 8
WORKLOADS = ("peaked", "random")
NOT_MEASURING = "not measuring refinement"


def present_classes(dataset: str, num_classes: int) -> int:
    """How many of ``num_classes`` get a peaked prompt (the entry's ``present_classes``, at most all of them)."""
    from ..dataset_registry import get_dataset, has_dataset
    n = get_dataset(dataset).present_classes if has_dataset(dataset) else None
    return min(num_classes, n or DEFAULT_PRESENT)


@torch.no_grad()
def peaked_text_embeddings(enc, imgs: List[torch.Tensor], present: int, seed: int = 0) -> torch.Tensor:
    """``K x C_t`` prompt embeddings: the text tower's, with the first ``present`` rows replaced.

    Row ``c < present`` is the projected feature (``B x C_t x h x w`` from
    :func:`radseg.core.dense_logits.project_tokens`) of image ``c % B`` at a cell chosen by
    farthest-point sampling (largest minimum cosine distance to the cells already chosen
    in that image; the first cell drawn with ``seed``). Deterministic for a given model,
    images and seed.
    """
    from ..core.dense_logits import project_tokens
    from ..core.scga import scga
    text = enc.text_embeddings().clone()
    present = min(int(present), text.shape[0])
    g = torch.Generator().manual_seed(seed)
    chosen: List[List[torch.Tensor]] = [[] for _ in imgs]
    pix_per_image = []
    for im in imgs:
        feats = enc.feature_map(im)
        if enc.use_scga:
            feats = scga(feats, enc.scga_scaling)
        proj = project_tokens(feats, enc.lang_adaptor.head_mlp)[0]  # C_t x h x w
        pix_per_image.append(proj.reshape(proj.shape[0], -1).t())  # N x C_t
    for c in range(present):
        b = c % len(imgs)
        pix = pix_per_image[b]
        i = next_farthest_cell(pix, chosen[b], g)
        chosen[b].append(i)
        text[c] = pix[i].to(text.dtype)
    return text


def next_farthest_cell(pix: torch.Tensor, chosen: List[int], g: torch.Generator) -> int:
    """Farthest-point sampling in feature space: ``pix`` ``N x C``; the first cell drawn with ``g``, then
    the cell least similar (cosine) to every cell in ``chosen``."""
    if not chosen:
        return int(torch.randint(pix.shape[0], (1,), generator=g))
    unit = torch.nn.functional.normalize(pix, dim=-1)
    sel = torch.stack([unit[j] for j in chosen])
    return int((unit @ sel.t()).amax(dim=1).argmin())


@torch.no_grad()
def peaked_queries(features: torch.Tensor, text: torch.Tensor, present: int, seed: int = 0) -> torch.Tensor:
    """A baseline's ``peaked`` workload: ``text`` (``Q x D`` query embeddings) with its first ``present``
    rows replaced by the unit ``features`` (``N x D``, the map its cosine logits see) at cells chosen by
    farthest-point sampling, as RADSeg+'s; those queries then win the pixels like them, so confident
    regions form and the method's region-driven branch (Trident's SAM refinement) runs."""
    g = torch.Generator().manual_seed(seed)
    out = text.clone()
    chosen: List[int] = []
    for c in range(min(int(present), out.shape[0])):
        i = next_farthest_cell(features, chosen, g)
        chosen.append(i)
        out[c] = torch.nn.functional.normalize(features[i].float(), dim=0).to(out.dtype)
    return out


def use_workload(enc, imgs: List[torch.Tensor], workload: str, present: int, seed: int = 0) -> int:
    """Set ``enc``'s prompt embeddings for ``workload``; returns the number of peaked classes."""
    if workload == "random":
        return 0
    enc.set_text_embeddings(peaked_text_embeddings(enc, imgs, present, seed))
    return present


class SamCallCounter:
    """Counts SAM's prompt-encoder calls (one per class with regions), mask-decoder calls and the
    regions they decode, with forward pre-hooks on ``sam.prompt_encoder`` and ``sam.mask_decoder``."""

    def __init__(self, sam):
        self.reset()
        self._handles = [sam.prompt_encoder.register_forward_pre_hook(self._prompt_hook),
                         sam.mask_decoder.register_forward_pre_hook(self._decoder_hook, with_kwargs=True)]

    def _prompt_hook(self, module, args):
        self.classes += 1

    def _decoder_hook(self, module, args, kwargs):
        sparse = kwargs["sparse_prompt_embeddings"] if "sparse_prompt_embeddings" in kwargs else args[2]
        self.calls += 1
        self.regions += int(sparse.shape[0])

    def reset(self) -> None:
        self.classes = self.calls = self.regions = 0

    def per_image(self, images: int) -> Dict[str, float]:
        """The counts divided by ``images`` (the images run since :meth:`reset`)."""
        n = max(1, int(images))
        return {"sam_regions_per_image": round(self.regions / n, 2),
                "sam_classes_per_image": round(self.classes / n, 2),
                "sam_decoder_calls_per_image": round(self.calls / n, 2)}

    def close(self) -> None:
        for h in self._handles:
            h.remove()
