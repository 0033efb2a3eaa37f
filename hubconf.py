"""torch.hub entry points (timm-style: a few lines over the library).

    torch.hub.load("<owner>/<this repo>", "radseg", model_version="c-radio_v3-b")          # RADSegPredictor
    torch.hub.load("<owner>/<this repo>", "radseg_encoder", predict=True, classes=[...])  # the reference's entry
    torch.hub.load("/path/to/clone", "radseg_encoder", source="local", model_version="tiny-random")
"""
dependencies = ["torch", "torchvision", "numpy", "timm", "PIL", "cv2", "segment_anything", "skimage",
                "transformers"]


def radseg(*args, **kwargs):
    """A :class:`radseg.RADSegPredictor` (``.predict(image, classes)``); the arguments (and their
    defaults) are ``RADSegPredictor.from_pretrained``'s: ``model_version``, ``sam_refine``,
    ``device``, ``config`` and any ``RADSegConfig`` setting."""
    from radseg.predictor import RADSegPredictor
    return RADSegPredictor.from_pretrained(*args, **kwargs)


def radseg_encoder(model_version="c-radio_v3-b", lang_model="siglip2", scra_scaling=10.0, scga_scaling=10.0,
                   **kwargs):
    """The reference release's entry: a RayFronts-compatible :class:`radseg.radseg.RayFrontsRADSegEncoder`
    (``device``, ``predict``, ``classes``, ``sam_refinement``, ``slide_crop``, ... pass through).
    ``encode_image_to_feat_map(img)`` takes ``B x 3 x H x W`` RGB in 0..1; with ``predict=True``
    it returns ``B x (N+1) x H x W`` probabilities whose channel 0 is zeros."""
    from radseg.radseg import RayFrontsRADSegEncoder
    return RayFrontsRADSegEncoder(model_version=model_version, lang_model=lang_model, scra_scaling=scra_scaling,
                         scga_scaling=scga_scaling, **kwargs)
