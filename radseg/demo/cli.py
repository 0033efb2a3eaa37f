"""``radseg demo``: serve the Gradio demo on this machine (127.0.0.1 by default)."""
from __future__ import annotations

import argparse
import socket
import sys

from ..cli_args import config_flag
from ..errors import RADSegError
from .core import DEFAULT_MAX_MEGAPIXELS

DEFAULT_PORT = 7860


def free_port(host: str = "127.0.0.1", preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` if nothing listens there, else a free port chosen by the system."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RADSegError(f"no free port on {host}.")  # pragma: no cover


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo", help="a local web app: upload an image, name classes, see the segmentation",
        description="Serve the RADSeg demo (Gradio) on this machine. Models load on the first request "
                    "(never at start-up) and are reused; nothing is sent anywhere (no share link, no analytics).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it "
                        "to your network)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default {DEFAULT_PORT}, or a free one if {DEFAULT_PORT} is taken)")
    config_flag(p, "--model_version", "--model-version",
                help="model preselected in the page (default {default}: needs its weights cached, or a "
                     "network on the first run); tiny-random: the offline stand-in with random weights. "
                     "The page lists every registered model")
    config_flag(p, "--sam-refine", "--sam_refine", action="store_const", const=True,
                help="preselect RADSeg+ (SAM refinement)")
    config_flag(p, "--sam-ckpt", "--sam_ckpt",
                help="SAM ViT-H checkpoint for RADSeg+ (default: look up sam_vit_h_4b8939.pth; the random "
                     "stand-ins use their random SAM)")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--max-megapixels", "--max_megapixels", dest="max_megapixels", type=float,
                   default=DEFAULT_MAX_MEGAPIXELS,
                   help=f"refuse larger images with a message in the page (default {DEFAULT_MAX_MEGAPIXELS:g})")
    p.add_argument("--max-file-size", "--max_file_size", dest="max_file_size", default="50mb",
                   help="largest upload Gradio accepts (default 50mb)")
    p.add_argument("--radio_source", "--radio-source", choices=("hub", "local", "hf"), default=None)
    p.add_argument("--radio_revision", "--radio-revision", default=None)
    p.add_argument("--radio_repo", "--radio-repo", default=None)
    p.add_argument("--plugin", action="append", default=[],
                   help="module registering extra model sources (repeatable)")
    p.set_defaults(func=run_demo)
    return p


def run_demo(args) -> int:
    from ..config import RADSegConfig
    for name in ("model_version", "sam_refine"):  # not given: the config's default
        if getattr(args, name) is None:
            setattr(args, name, RADSegConfig.defaults()[name])
    from ..models.radio import resolve_model_source
    from ..models.registry import load_plugins
    from ..predictor import resolve_device
    load_plugins(args.plugin)
    if not args.max_megapixels > 0:
        raise RADSegError(f"--max-megapixels {args.max_megapixels}: must be positive.")
    resolve_model_source(args.model_version)  # an unknown name fails now, not in the page
    resolve_device(args.device)
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise RADSegError("radseg demo needs Gradio: pip install -e '.[demo]' (or pip install gradio).") from None
    from .app import launch
    from .core import DemoApp
    port = args.port if args.port is not None else free_port(args.host)
    app = DemoApp(device=args.device, sam_ckpt=args.sam_ckpt, max_megapixels=args.max_megapixels,
                  radio_source=args.radio_source, radio_revision=args.radio_revision, radio_repo=args.radio_repo)
    print(f"radseg demo: http://{args.host}:{port}  (model {args.model_version}; loads on the first run; "
          f"Ctrl-C stops)", file=sys.stderr)
    launch(app, host=args.host, port=port, model_version=args.model_version, sam_refine=args.sam_refine,
           max_file_size=args.max_file_size, block=True, quiet=True)
    return 0
