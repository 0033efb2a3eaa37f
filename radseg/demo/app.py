"""The ``radseg demo`` page: Gradio Blocks wired to :class:`radseg.demo.core.DemoApp`.

Left: the image (upload, paste, or an example), the classes (free text or a benchmark's
list), the model and settings. Right: the overlay with its legend, a status line (errors
appear here and as a warning toast), the time per stage, the label map PNG to download and
one heat map per class.

Gradio never phones home from here: :func:`build_demo` sets ``GRADIO_ANALYTICS_ENABLED=False``
before importing it, :func:`launch` serves on 127.0.0.1 without a share link or SSR, and
the page needs no CDN (Gradio's own assets and fonts are served locally).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple

from .core import (
    CUSTOM_PRESET,
    DEFAULT_MAX_MEGAPIXELS,
    DemoApp,
    benchmark_choices,
    benchmark_classes_text,
    preset_values,
)

#: examples: (scikit-image photo, classes). Written as JPEG files into the app's folder at start.
EXAMPLES = (("chelsea", "cat", "cat, wall, floor, blanket"),
            ("coffee", "coffee", "coffee cup|mug, saucer, spoon, table, wall"),
            ("astronaut", "astronaut", "person|astronaut, flag, rocket, sky, background"))

TITLE = "RADSeg: zero-shot open-vocabulary segmentation with RADIO"

CSS = """
#status textarea { font-size: 0.95em; }
#status.error textarea, .radseg-error textarea { color: #b00020; }
"""


def _gradio():
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr
    return gr


def write_examples(folder: Path) -> List[Tuple[str, str]]:
    """The example photos as JPEG files in ``folder`` -> ``[(path, classes), ...]``
    (scikit-image's bundled photos; a generated picture if one is unavailable)."""
    import numpy as np
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for fn, name, classes in EXAMPLES:
        path = folder / f"{name}.jpg"
        if not path.is_file():
            try:
                from skimage import data
                arr = getattr(data, fn)()
            except Exception:  # pragma: no cover - scikit-image's data missing
                y, x = np.mgrid[0:240, 0:320]
                arr = np.stack([(x * 0.8) % 256, (y * 1.0) % 256, ((x + y) * 0.4) % 256], -1).astype(np.uint8)
            Image.fromarray(arr).convert("RGB").save(path, quality=90)
        out.append((str(path), classes))
    return out


def _settings_panel(gr, models, model_version: str, sam_refine: bool, first):
    """The "Model and settings" accordion (inside the Blocks being built): the model, RADSeg+,
    the resolution preset and its numbers; returns their components."""
    from ..presets import RESOLUTIONS
    with gr.Accordion("Model and settings", open=True):
        with gr.Row():
            model = gr.Dropdown(choices=list(models), value=model_version, label="Model version",
                                allow_custom_value=True, elem_id="model")
            refine = gr.Checkbox(value=sam_refine, label="RADSeg+ (SAM refinement)", elem_id="refine")
        preset = gr.Radio(choices=list(RESOLUTIONS) + [CUSTOM_PRESET], value="mid_res",
                          label="Resolution preset (sets resize and windows)", elem_id="preset")
        with gr.Row():
            scale_long = gr.Number(value=first[0], label="Resize: long side max", precision=0,
                                   elem_id="scale_long")
            scale_short = gr.Number(value=first[1], label="Resize: short side", precision=0,
                                    elem_id="scale_short")
        with gr.Row():
            crop = gr.Number(value=first[2], label="Window size (0: one pass)", precision=0,
                             elem_id="crop")
            stride = gr.Number(value=first[3], label="Window stride", precision=0, elem_id="stride")
        with gr.Row():
            scra = gr.Number(value=10.0, label="SCRA scaling", elem_id="scra")
            scga = gr.Number(value=10.0, label="SCGA scaling", elem_id="scga")
    return model, refine, preset, scale_long, scale_short, crop, stride, scra, scga


def build_demo(app: DemoApp, model_version: str = "tiny-random", models: Optional[List[str]] = None,
               sam_refine: bool = False):
    """The Gradio Blocks of the demo (not launched). ``model_version``: the preselected model;
    ``models``: the model dropdown's choices (default: the registry's)."""
    gr = _gradio()
    if models is None:
        from ..models import available_models
        models = available_models()
    if model_version not in models:
        models = [model_version] + list(models)
    first = preset_values(None, "mid_res")
    gr_image = _safe_image_class(gr)
    standin = "random" in model_version

    with gr.Blocks(title="RADSeg demo", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(f"## {TITLE}\n"
                    "Upload an image (or pick an example), name the classes, press **Segment**. "
                    "Classes are separated by commas or new lines; synonyms of one class by `|` "
                    "(`grass|lawn`). The model loads on the first run and is then reused."
                    + ("\n\n**Model `" + model_version + "` has random weights**: it shows that everything "
                       "runs, its segmentations are meaningless." if standin else ""))
        with gr.Row():
            with gr.Column(scale=1):
                image = gr_image(type="filepath", label="Image", sources=["upload", "clipboard"], height=300,
                                 elem_id="image")
                classes = gr.Textbox(label="Classes", lines=3, max_lines=12, elem_id="classes",
                                     placeholder="cat, wall, floor, blanket")
                bench = gr.Dropdown(choices=[("(type your own)", "")] + benchmark_choices(), value="",
                                    label="Load a benchmark's classes (also picks its resolution presets)",
                                    elem_id="benchmark")
                run = gr.Button("Segment", variant="primary", elem_id="run")
                model, refine, preset, scale_long, scale_short, crop, stride, scra, scga = _settings_panel(
                    gr, models, model_version, sam_refine, first)
                gr.Examples(examples=[[p, c] for p, c in write_examples(app.out_dir / "examples")],
                            inputs=[image, classes], label="Examples (scikit-image photos)")
            with gr.Column(scale=1):
                overlay = gr.Image(type="pil", label="Overlay with legend", format="png", interactive=False,
                                   height=360, elem_id="overlay")
                status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="status")
                heat = gr.Gallery(label="Heat map per class (probability)", columns=4, height=250, object_fit="contain",
                                  format="png", elem_id="heatmaps")
                with gr.Row():
                    labels = gr.File(label="Label map (PNG, pixel value = class index)", interactive=False,
                                     elem_id="labels")
                    timings = gr.Markdown(elem_id="timings")

        def on_preset(bench_key, resolution):
            vals = preset_values(bench_key or None, resolution)
            if vals is None:
                return [gr.update()] * 4
            return list(vals)

        def on_bench(bench_key, resolution):
            text = benchmark_classes_text(bench_key) if bench_key else gr.update()
            return [text] + on_preset(bench_key, resolution)

        def segment(img, text, bench_key, mv, ref, sl, ss, cr, st, sa, sg, progress=gr.Progress()):
            res = app.run(img, text, progress=lambda f, d: progress(f, desc=d), model_version=mv,
                          sam_refine=ref, scale_long=sl, scale_short=ss, slide_crop=cr, slide_stride=st,
                          scra_scaling=sa, scga_scaling=sg, benchmark=bench_key or None)
            if res.error:
                gr.Warning(res.error)
                return None, f"Error: {res.error}", "", None, []
            return res.overlay, res.message, res.timings_text, res.label_path, res.heatmaps

        numbers = [scale_long, scale_short, crop, stride]
        preset.input(on_preset, [bench, preset], numbers, queue=False)
        bench.input(on_bench, [bench, preset], [classes] + numbers, queue=False)
        for n in numbers:  # a hand-edited number means the preset no longer applies
            n.input(lambda: CUSTOM_PRESET, None, preset, queue=False)
        inputs = [image, classes, bench, model, refine, scale_long, scale_short, crop, stride, scra, scga]
        outputs = [overlay, status, timings, labels, heat]
        run.click(segment, inputs, outputs, concurrency_limit=1)
        classes.submit(segment, inputs, outputs, concurrency_limit=1)
    return demo


def _safe_image_class(gr):
    """``gr.Image`` whose upload of a non-image (or an image Pillow refuses, e.g. a
    decompression bomb) reaches the function as the bad path, so that the page shows the
    demo's message instead of Gradio's generic error."""

    class SafeImage(gr.Image):
        is_template = True  # the frontend renders it as gr.Image

        def preprocess(self, payload):
            try:
                return super().preprocess(payload)
            except Exception:
                path = getattr(payload, "path", None)
                return str(path) if path else None

    return SafeImage


def launch(app: DemoApp, host: str = "127.0.0.1", port: Optional[int] = None, model_version: str = "tiny-random",
           sam_refine: bool = False, max_file_size: str = "50mb", block: bool = True, quiet: bool = False):
    """Build and serve the demo. Returns ``(blocks, url)``; with ``block`` it serves until Ctrl-C."""
    _gradio()  # analytics off before Gradio is imported
    demo = build_demo(app, model_version=model_version, sam_refine=sam_refine)
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                            prevent_thread_lock=True, show_error=False, quiet=quiet, ssr_mode=False,
                            mcp_server=False, max_file_size=max_file_size, allowed_paths=[str(app.out_dir)],
                            css=CSS, footer_links=[])
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
            app.close()
    return demo, url


__all__ = ["build_demo", "launch", "write_examples", "DEFAULT_MAX_MEGAPIXELS"]
