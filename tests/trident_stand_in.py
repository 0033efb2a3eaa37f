"""One tiny-random Trident per test process, shared by the Trident test files (building and the first
text encoding cost more than the tests themselves)."""
import functools


@functools.lru_cache(maxsize=1)
def tiny_trident():
    """The ``tiny-random`` Trident (scale (2048, 336)); tests set ``pred.settings`` to what they need and
    restore nothing else: every test sets its own classes or text embeddings."""
    from radseg.methods import get_method
    spec = get_method("trident")
    return spec.build(spec.settings_cls(model_version="tiny-random", scale=(2048, 336)).validate())
