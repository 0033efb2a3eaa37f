#!/usr/bin/env python
"""Start ``radseg demo`` (the offline ``tiny-random`` stand-in by default), segment the example
cat photo in headless Chromium and screenshot the page: ``assets/demo.png`` (the README's picture).

    .venv/bin/python scripts/screenshot_demo.py [--out assets/demo.png] [--model_version tiny-random]

Reuses tests/browser_support.py (Debian's chromium through Playwright; nothing is fetched from
outside 127.0.0.1). With ``tiny-random`` the weights are random: the picture shows the page,
not a real segmentation (pass ``--model_version c-radio_v3-b`` where its weights are cached).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "assets" / "demo.png"))
    ap.add_argument("--model_version", default="tiny-random")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--classes", default="cat, wall, floor, blanket")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1200, help="height of the captured top of the page")
    args = ap.parse_args()

    from browser_support import launch, skip_reason
    from radseg.demo.app import launch as launch_demo
    from radseg.demo.cli import free_port
    from radseg.demo.core import DemoApp
    from test_demo_browser import LocalPageWatch
    reason = skip_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        app = DemoApp(device=args.device, out_dir=tmp)
        demo, url = launch_demo(app, port=free_port("127.0.0.1", 0), model_version=args.model_version,
                                block=False, quiet=True)
        try:
            from playwright.sync_api import sync_playwright
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                watch = LocalPageWatch(page, url)
                page.goto(url, wait_until="load")
                page.locator("#run").wait_for(timeout=30000)
                page.locator("#image input[type=file]").set_input_files(str(app.out_dir / "examples" / "cat.jpg"))
                page.locator("#image img").first.wait_for(timeout=10000)
                page.locator("#classes textarea").fill(args.classes)
                page.locator("#run").click()
                page.wait_for_function("() => document.querySelectorAll('#heatmaps img').length > 0 && "
                                       "document.querySelector('#overlay img')", timeout=300000)
                page.wait_for_timeout(500)  # images finish decoding
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.out, full_page=False)
                status = page.locator("#status textarea").input_value()
                browser.close()
        finally:
            demo.close()
            app.close()
    if status.startswith("Error"):
        print(f"error: the page says: {status}", file=sys.stderr)
        return 1
    if watch.problems():
        print("error: " + "; ".join(watch.problems()), file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
