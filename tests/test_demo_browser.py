"""radseg demo in headless Chromium: start the Gradio app on a free local port (tiny-random,
in a background thread), upload an image, enter classes, run it; the overlay and its legend
appear, a bad input shows a message, nothing fails and nothing leaves 127.0.0.1; a screenshot
is taken. One server and one browser for the module."""
import importlib.util
import time

import numpy as np
import pytest
from PIL import Image

from browser_support import PageWatch, launch, skip_reason

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"browser tests skipped: {_REASON}")

if importlib.util.find_spec("gradio") is None:  # found, not imported: importing Gradio takes 3 s per worker
    pytest.skip("radseg demo needs Gradio (pip install -e '.[demo]')", allow_module_level=True)

CLASSES = "sky, grass|lawn, sheep"


class LocalPageWatch(PageWatch):
    """:class:`PageWatch` for a served page: requests to the app's own origin are allowed;
    anything else is blocked and recorded. Gradio closes its event stream
    (``/gradio_api/queue/data``) when a run ends: that abort is not a failure."""

    def __init__(self, page, origin: str):
        self.origin = origin.rstrip("/")
        super().__init__(page)

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.origin + "/", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def problems(self):
        self.failed = [f for f in self.failed if not ("/gradio_api/queue/data" in f and "ERR_ABORTED" in f)]
        return super().problems()


#: outgoing connections / name lookups of this process to other hosts while the demo runs
_OUTSIDE = []
_WATCHING = [False]
_LOCAL = ("127.0.0.1", "localhost", "::1", "0.0.0.0", None)


def _audit(event, args):
    if not _WATCHING[0]:
        return
    if event == "socket.connect":
        addr = args[1]
        host = addr[0] if isinstance(addr, tuple) else None
        if host not in _LOCAL and not str(addr).startswith("/"):
            _OUTSIDE.append(f"connect {addr}")
    elif event == "socket.getaddrinfo" and args[0] not in _LOCAL:
        _OUTSIDE.append(f"lookup {args[0]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import sys

    from radseg.demo.app import launch as launch_demo
    from radseg.demo.cli import free_port
    from radseg.demo.core import DemoApp
    if _audit not in getattr(sys, "_radseg_hooks", ()):
        sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only while _WATCHING
        sys._radseg_hooks = (_audit,)
    _WATCHING[0] = True
    app = DemoApp(device="cpu", out_dir=str(tmp_path_factory.mktemp("demo_app")))
    demo, url = launch_demo(app, host="127.0.0.1", port=free_port("127.0.0.1", 0), model_version="tiny-random",
                            block=False, quiet=True)
    try:
        yield app, url
    finally:
        demo.close()
        app.close()
        _WATCHING[0] = False


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright
    _, url = server
    with sync_playwright() as p:
        browser = launch(p)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 1000})
            watch = LocalPageWatch(pg, url)
            pg.goto(url, wait_until="load")
            pg.locator("#run").wait_for(timeout=20000)
            yield pg, watch
        finally:
            browser.close()


def _status(pg, contains: str, timeout=20000) -> str:
    pg.wait_for_function("(s) => { const t = document.querySelector('#status textarea');"
                         " return t && t.value.includes(s); }", arg=contains, timeout=timeout)
    return pg.locator("#status textarea").input_value()


def test_bad_input_shows_a_message_in_the_page(page, server):
    pg, watch = page
    app, _ = server
    pg.locator("#classes textarea").fill(" , ")
    pg.locator("#run").click()
    text = _status(pg, "Error:")
    assert "no classes" in text
    assert pg.get_by_text("no classes: type class names").first.is_visible()  # the warning toast
    assert app.loads == 0  # refused before any model loads
    assert not watch.problems(), watch.problems()


def test_preset_fills_the_numbers(page):
    pg, _ = page
    pg.locator("#preset").get_by_text("low_res").click()
    pg.wait_for_function("() => document.querySelector('#scale_short input').value === '336'", timeout=10000)
    assert pg.locator("#crop input").input_value() == "224"
    assert pg.locator("#stride input").input_value() == "112"


def test_upload_classes_run_overlay_and_legend(page, tmp_path):
    pg, watch = page
    img = np.zeros((120, 160, 3), np.uint8)
    img[:60] = (90, 160, 230)
    img[60:] = (60, 160, 60)
    path = tmp_path / "field.png"
    Image.fromarray(img).save(path)
    pg.locator("#image input[type=file]").set_input_files(str(path))
    pg.locator("#image img").first.wait_for(timeout=10000)  # the upload's preview
    pg.locator("#classes textarea").fill(CLASSES)
    for sel, value in (("#scale_short", "224"), ("#crop", "224"), ("#stride", "112")):
        pg.locator(f"{sel} input").fill(value)
    t = time.perf_counter()
    pg.locator("#run").click()
    text = _status(pg, "160 x 120 image, 3 classes", timeout=60000)
    ran = time.perf_counter() - t
    assert "tiny-random on cpu" in text and "Error" not in text
    pg.wait_for_function("() => { const i = document.querySelector('#overlay img');"
                         " return i && i.complete && i.naturalWidth > 0; }", timeout=10000)
    # the overlay: the image plus a legend panel to its right with one swatch per class
    info = pg.evaluate("""() => {
        const i = document.querySelector('#overlay img');
        const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(i, 0, 0);
        const d = g.getImageData(160, 0, c.width - 160, c.height).data;
        const seen = new Set();
        for (let k = 0; k < d.length; k += 4) seen.add(d[k] + ',' + d[k + 1] + ',' + d[k + 2]);
        const r = i.getBoundingClientRect();
        return {w: i.naturalWidth, h: i.naturalHeight, shown: r.width * r.height, colours: Array.from(seen)};
    }""")
    assert info["h"] == 120 and info["w"] > 160 + 40 and info["shown"] > 0
    from radseg.visualize import palette
    for rgb in palette(3):
        assert ",".join(str(int(v)) for v in rgb) in info["colours"], f"legend swatch {tuple(rgb)} missing"
    # heat maps (one per class), the label PNG to download, the time per stage
    pg.wait_for_function("() => document.querySelectorAll('#heatmaps img').length === 3", timeout=10000)
    link = pg.locator('#labels a[download="field_labels.png"]')
    assert link.count() == 1
    import io
    png = pg.request.get(link.get_attribute("href")).body()
    with Image.open(io.BytesIO(png)) as lab:  # the download: a palette PNG of class indices
        assert lab.mode == "P" and lab.size == (160, 120) and np.asarray(lab).max() < 3
    timings = pg.locator("#timings").inner_text()
    assert "RADIO windows + SCRA" in timings and "total" in timings
    assert ran < 60
    assert not watch.problems(), watch.problems()


def test_screenshot(page, tmp_path):
    pg, watch = page
    shot = tmp_path / "demo.png"
    pg.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as im:
        assert im.width >= 1280 and im.height > 900
    assert not watch.problems(), watch.problems()


def test_the_server_contacts_no_other_host(page):
    """No analytics, version check or share link: the Python side connected only to 127.0.0.1."""
    assert not _OUTSIDE, _OUTSIDE
