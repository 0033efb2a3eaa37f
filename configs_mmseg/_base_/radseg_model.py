# The RADSeg segmentor with the reference defaults (ALGORITHM.md section 8).
model = dict(
    type='RADSegSegmentation',
    model_version='c-radio_v3-b',
    lang_model=None,          # None: the version's own adaptor (siglip2 on C-RADIOv3, as in the reference)
    radio_source=None,        # 'hub' (default, pinned revision), 'local' or 'hf'
    radio_revision=None,      # None: the pinned default of radseg.models.radio
    radio_repo=None,          # local NVlabs/RADIO clone (air-gapped use)
    scra_scaling=10.0,
    scga_scaling=10.0,
    slide_crop=336,
    slide_stride=224,
    prompt_denoising_thresh=0.5,
    use_scra=True,
    use_scga=True,
    amp=False,
    compile=False,
    max_windows_per_batch=None,
    # RADSeg+ (SAM refinement)
    sam_refine=False,
    sam_ckpt=None,            # path or registered SAM source; None: look up sam_vit_h_4b8939.pth
    coarse_thresh=0.10,
    minimal_area=225,
    sam_mask_coff=0.005,
    sam_iou_thresh=0.9,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[122.771, 116.746, 104.094],
        std=[68.501, 66.632, 70.323],
        bgr_to_rgb=True),     # no size / size_divisor: no padding (reference)
)
