"""The algorithm: one module per step of docs/ALGORITHM.md, plain PyTorch (no mm*).

* :mod:`.sliding_windows` (2.1-2.4: stride resize, window grid, batched backbone pass, stitching)
* :mod:`.scra` (3: self-correlating recursive attention in RADIO's last block)
* :mod:`.scga` (4: self-correlating global aggregation)
* :mod:`.text_embeddings` (5: prompt templates, synonyms, cache)
* :mod:`.dense_logits` (6: head_mlp projection, cosine x 100 softmax, upsampling, denoising)
* :mod:`.encoder` (``RADSegEncoder``: sections 2-6 chained, plus the RADSeg+ hook)
* :mod:`.sam_refine` (7: RADSeg+ with RADIO's ``sam`` adaptor) and :mod:`.sam_trunk`
  (RADSeg+ through SAM ViT-H's own image encoder, for backbones without that adaptor)

:class:`radseg.RADSegPredictor` and :class:`radseg.RADSegConfig` are the front door.
"""
