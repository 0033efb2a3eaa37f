"""radseg report --bench in headless Chromium: the speed-accuracy figure renders, the claims and
points tables are visible, nothing is fetched (synthetic records and bench file, one browser)."""
import json

import pytest

from browser_support import PageWatch, launch, skip_reason

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"browser tests skipped: {_REASON}")

pytest.importorskip("jinja2", reason="radseg report needs jinja2 (pip install -e '.[report]')")
pytest.importorskip("matplotlib", reason="radseg report needs matplotlib (pip install -e '.[report]')")

from radseg.report import build_report  # noqa: E402
from test_report_pareto import BENCH, toy_method  # noqa: E402,F401  (the toy baseline with PUBLISHED)
from test_results_table import make_record  # noqa: E402


@pytest.fixture(scope="module")
def page(tmp_path_factory, toy_method):  # noqa: F811
    from playwright.sync_api import sync_playwright
    root = tmp_path_factory.mktemp("pareto_browser")
    make_record(root / "w" / "a", "voc20", "mid_res", 80.0)
    make_record(root / "w" / "b", "voc20", "mid_res", 83.0, refine=True)
    (root / "bench.json").write_text(json.dumps(BENCH))
    out, data = build_report(root / "w", root / "report.html", num_images=0, bench=str(root / "bench.json"))
    with sync_playwright() as p:
        browser = launch(p)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            watch = PageWatch(pg)
            pg.goto(out.resolve().as_uri(), wait_until="load")
            yield pg, watch, data, root
        finally:
            browser.close()


def test_figure_renders_and_tables_are_visible(page):
    pg, watch, data, root = page
    fig = pg.locator("img.pareto")
    assert fig.count() == 1 and fig.is_visible()
    size = fig.evaluate("i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width, "
                        "i.getBoundingClientRect().height]")
    assert size[0] and size[1] > 0 and size[2] > 300 and size[3] > 200
    assert pg.locator("table.claims tbody tr").count() == len(data.pareto.claims) == 6
    assert pg.locator("table.points tbody tr").count() == 6
    assert pg.locator("#speed-accuracy li.honesty").count() == len(data.pareto.notes) >= 2
    assert pg.locator("nav a[href='#speed-accuracy']").is_visible()
    pg.locator("#speed-accuracy").screenshot(path=str(root / "speed_accuracy.png"))
    assert not watch.problems(), watch.problems()
