"""radseg report in headless Chromium: every chart and grid image renders, nothing fails,
nothing is fetched from outside; a screenshot is taken (one browser for the module)."""
import pytest

from browser_support import PageWatch, launch, skip_reason

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"browser tests skipped: {_REASON}")

pytest.importorskip("jinja2", reason="radseg report needs jinja2 (pip install -e '.[report]')")
pytest.importorskip("matplotlib", reason="radseg report needs matplotlib (pip install -e '.[report]')")

from radseg.report import build_report  # noqa: E402
from report_datagen import make_work_dir  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_browser")
    work = make_work_dir(root / "sweep", models=("c-radio_v3-b", "c-radio_v3-l"), n_images=5)
    ref = root / "ref.yaml"
    ref.write_text("rows:\n  c-radio_v3-b:\n    mid_res: {voc20: 80.0, ade20k: 35.0}\n")
    out, data = build_report(work, root / "report.html", reference=str(ref), num_images=3)
    return out, data


@pytest.fixture(scope="module")
def page(report):
    from playwright.sync_api import sync_playwright
    out, _ = report
    with sync_playwright() as p:
        browser = launch(p)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            watch = PageWatch(pg)
            pg.goto(out.resolve().as_uri(), wait_until="load")
            yield pg, watch
        finally:
            browser.close()


def test_every_plot_and_grid_image_renders(page, report):
    pg, watch = page
    _, data = report
    imgs = pg.evaluate("""() => Array.from(document.images).map(i => ({
        cls: i.className, alt: i.alt, ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0,
        w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height}))""")
    n_grid = sum(len(r.cells) for g in data.grids for r in g.rows)
    n_plots = len(data.resolution_plots) + (1 if data.speed_plot else 0)
    assert n_grid == 2 * 3 * 4  # 2 datasets x 3 images x (image, truth, RADSeg, RADSeg+)
    assert len(imgs) == n_plots + n_grid
    broken = [i["alt"] for i in imgs if not i["ok"] or i["w"] < 20 or i["h"] < 20]
    assert not broken, broken
    svgs = pg.evaluate("() => Array.from(document.querySelectorAll('svg')).map(s => s.getBBox().width)")
    assert all(w > 0 for w in svgs)
    assert not watch.problems(), watch.problems()


def test_table_deltas_and_per_class_bars_are_visible(page):
    pg, _ = page
    assert pg.locator("table.paper tbody tr").count() == 4
    colours = pg.evaluate("""() => Array.from(document.querySelectorAll('table.paper .delta'))
        .map(e => [e.className, getComputedStyle(e).color])""")
    assert {c for c, _ in colours} >= {"delta up", "delta down"}
    assert len({col for _, col in colours}) >= 2  # green and red
    opened = pg.locator("details.pc[open]").first
    bars = opened.locator(".fill").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert bars and max(bars) > 50
    closed = pg.locator("details.pc").nth(1)  # the others start closed: one click away
    assert closed.get_attribute("open") is None and not closed.locator(".fill").first.is_visible()
    closed.locator("summary").click()
    assert closed.locator(".fill").first.is_visible()


def test_screenshot(page, tmp_path):
    pg, watch = page
    shot = tmp_path / "report.png"
    pg.screenshot(path=str(shot), full_page=True)
    from PIL import Image
    with Image.open(shot) as im:
        assert im.width >= 1280 and im.height > 2000
    assert not watch.problems()
