"""NACLIP (Hajimiri et al., WACV 2025): CLIP with neighbourhood attention in its last block.

Exact to the release github.com/sinahmr/NACLIP @ 0cac3a6 as docs/baselines/NACLIP.md describes it;
one module per step: :mod:`.settings` (defaults, per-benchmark presets, published numbers),
:mod:`.classes` (the release's class files and queries), :mod:`.attention` (the Gaussian prior and the
last block), :mod:`.encoder` (the visual tower), :mod:`.logits` (window cosines, sliding window),
:mod:`.pamr`, :mod:`.postprocess` (softmax, synonym max, threshold), :mod:`.predictor`.
Registered as method ``naclip`` (:mod:`radseg.methods.naclip_method`). Plain PyTorch, no mm* import.
"""
