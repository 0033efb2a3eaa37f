#!/usr/bin/env python
"""Build a demo work dir (synthetic records and predictions), render ``radseg report`` and
screenshot it in headless Chromium: ``assets/report.png`` (the README's picture).

    .venv/bin/python scripts/screenshot_report.py [--out assets/report.png] [--html report.html]

Reuses the test helpers (tests/report_datagen.py, tests/browser_support.py). The numbers
are synthetic: the picture shows the page's layout, not results.
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
    ap.add_argument("--out", default=str(ROOT / "assets" / "report.png"))
    ap.add_argument("--html", default=None, help="also keep the HTML here")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2300, help="height of the captured top of the page")
    args = ap.parse_args()

    from browser_support import PageWatch, launch, skip_reason
    from radseg.report import build_report
    from report_datagen import make_work_dir
    reason = skip_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = make_work_dir(Path(tmp) / "sweep", datasets=("voc20", "context59", "ade20k"),
                             models=("c-radio_v3-b", "c-radio_v3-l"), n_images=6)
        ref = Path(tmp) / "reference.yaml"
        ref.write_text("rows:\n  c-radio_v3-b:\n    mid_res: {voc20: 81.0, context59: 48.0, ade20k: 29.0}\n"
                       "  c-radio_v3-b + SAM:\n    mid_res: {voc20: 82.0, context59: 47.5, ade20k: 32.0}\n")
        html = Path(args.html) if args.html else Path(tmp) / "report.html"
        build_report(work, html, reference=str(ref), num_images=2,
                     title="RADSeg report on synthetic demo data (not measured results)")
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            watch = PageWatch(page)
            page.goto(html.resolve().as_uri(), wait_until="load")
            # one per-class example, so that the qualitative grid comes into the picture
            page.add_style_tag(content="#per-class h3:not(:first-of-type), "
                                       "#per-class details.pc:not(:first-of-type) { display: none; }")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=False)
            browser.close()
        if watch.problems():
            print("error: " + "; ".join(watch.problems()), file=sys.stderr)
            return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
