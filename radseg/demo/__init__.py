"""``radseg demo``: a local Gradio web app around :class:`radseg.RADSegPredictor`.

``core.py`` does the work without Gradio (tested directly); ``app.py`` builds the page;
``cli.py`` adds the ``radseg demo`` subcommand.
"""
from .core import DemoApp, DemoInputError, DemoResult, DemoSettings, parse_classes_text, preset_values  # noqa: F401

__all__ = ["DemoApp", "DemoInputError", "DemoResult", "DemoSettings", "parse_classes_text", "preset_values"]
