"""The explorers in a real browser: JupyterLab on 127.0.0.1 and headless Chromium.

The test writes a small notebook that shows each explorer, starts JupyterLab on a free port
with a random token, opens the notebook in Debian's Chromium driven by Playwright, runs all
cells, moves controls the way a reader does (arrow keys on a slider, typing into its readout,
choosing from a menu) and checks that the page changed: the text of the readout and the
bytes of the rendered image. One screenshot per explorer goes to ``artifacts/screenshots/``.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and Python Playwright
(``pip install playwright``; its own browser download is not used): ``.ci/install-browser``
installs both. Without them the test is skipped with the reason — except under ``CI=true``,
where a missing browser is a failure, so CI can't go green without running it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a real JupyterLab and Chromium: the full run only

CHROMIUM = Path(os.environ.get("VIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [  # the flags this machine's closed network needs (no background requests)
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 60_000  # for a page change; a loaded 2-core machine is slow, a broken page never ends

EXPLORERS = {  # CSS class of the explorer -> the cell that shows it
    "vit-patch-explorer": "from vit_tutorial.widgets import patch_explorer\npatch_explorer()",
    "vit-patch-embedding-explorer":
        "from vit_tutorial.widgets import patch_embedding_explorer\npatch_embedding_explorer()",
    "vit-similarity-explorer":
        "from vit_tutorial.widgets import similarity_explorer\nsimilarity_explorer()",
    "vit-interpolation-explorer":
        "from vit_tutorial.widgets import interpolation_explorer\ninterpolation_explorer()",
}


def _missing() -> str | None:
    """Why the test can't run here, or None."""
    if not CHROMIUM.exists():
        return (f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                f"or run .ci/install-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Python Playwright is not installed: pip install playwright, or run "
                ".ci/install-browser")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed: pip install -r requirements.txt"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path) -> None:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"explorer-{i}",
              "metadata": {}, "outputs": [], "source": source}
             for i, source in enumerate(EXPLORERS.values())]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}}}
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _isolated_jupyter_dirs(base: Path) -> dict[str, str]:
    """Fresh config/data/runtime dirs: the reader's own Jupyter settings don't leak in, and
    nothing asks the network (no news, no update check, no PyPI extension manager)."""
    config, data, runtime = base / "config", base / "data", base / "runtime"
    (config / "labconfig").mkdir(parents=True)
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "extension_manager": "readonly", "expose_app_in_browser": True,
                   "user_settings_dir": str(base / "settings"),
                   "workspaces_dir": str(base / "workspaces")},
        "ServerApp": {"open_browser": False},
    }), encoding="utf-8")
    (config / "labconfig" / "page_config.json").write_text(json.dumps({
        "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True,
                               "@jupyterlab/extensionmanager-extension": True}}), encoding="utf-8")
    return {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(data),
            "JUPYTER_RUNTIME_DIR": str(runtime), "IPYTHONDIR": str(base / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a notebook of explorers: yields ``(base_url, token)``."""
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run under CI, but {reason}")
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    _write_notebook(root / "explorers.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, **_isolated_jupyter_dirs(base), "TQDM_DISABLE": "1"}
    log_path = base / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--ServerApp.allow_root=True"],  # CI containers run as root
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                    pytest.fail(f"JupyterLab did not start; its log:\n{log_tail}")
                time.sleep(0.25)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def page(lab):
    """Chromium with the notebook open and all its cells run."""
    from playwright.sync_api import sync_playwright

    url, token = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/lab/tree/explorers.ipynb?token={token}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.content"
                " && window.jupyterapp.shell.currentWidget.content.widgets"
                " && window.jupyterapp.shell.currentWidget.sessionContext"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                ".status === 'idle'")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            for name in EXPLORERS:
                page.locator(f".{name} img").first.wait_for(state="visible")
            yield page
        finally:
            browser.close()


def _image_bytes(image) -> bytes:
    """The bytes of the picture an ``<img>`` shows (the widget's PNG, via its blob: URL)."""
    encoded = image.evaluate("""async img => {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let text = '';
        for (let i = 0; i < bytes.length; i += 0x8000)
            text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(text);
    }""")
    return base64.b64decode(encoded)


def _set_by_readout(slider, value: int) -> None:
    """Type a value into an IntSlider's readout, as a reader can (both ipywidgets 7 and 8)."""
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.press_sequentially(str(value))
    readout.press("Enter")


class OnPage:
    """One explorer on the page, found by its CSS class, with what the tests look at."""

    def __init__(self, page, name: str):
        self.root = page.locator(f".vit-{name}-explorer")
        self.readout = self.root.locator(".vit-readout")
        self.message = self.root.locator(".vit-message")
        self.images = self.root.locator("img")

    def slider(self, n: int):
        return self.root.locator(".widget-slider").nth(n)

    def picture(self, n: int = 0) -> bytes:
        """The bytes of its ``n``-th picture, as the browser shows it."""
        return _image_bytes(self.images.nth(n))

    def new_picture(self, old: bytes, n: int = 0) -> bytes:
        """Wait until its ``n``-th picture is no longer ``old``; return the new one."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            new = self.picture(n)
            if new != old:
                return new
            assert time.monotonic() < deadline, "the picture did not change"
            time.sleep(0.2)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.root.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def explorer(page):
    """``explorer(name, readout)``: the explorer ``vit-<name>-explorer`` once its readout
    shows ``readout`` and it has a picture."""
    from playwright.sync_api import expect

    def locate(name: str, readout: str) -> OnPage:
        shown = OnPage(page, name)
        expect(shown.readout).to_contain_text(readout)
        assert shown.picture().startswith(b"\x89PNG")
        return shown

    return locate


def test_patch_explorer_in_the_browser(page, explorer):
    from playwright.sync_api import expect

    patches = explorer("patch", "N = 224·224/16² = 196 patches")
    expect(patches.message).to_have_text("")
    before = patches.picture()
    patch_slider = patches.slider(1)

    # Arrow key on the slider handle: P = 16 -> 17, which doesn't divide 224.
    patch_slider.locator(".noUi-handle, .ui-slider-handle").first.focus()
    page.keyboard.press("ArrowRight")
    expect(patches.message).to_contain_text("image height 224 is not divisible by patch_size 17")
    expect(patches.message).not_to_contain_text("Traceback")
    bad = patches.new_picture(before)

    # Type into the slider's readout: P = 8.
    _set_by_readout(patch_slider, 8)
    expect(patches.readout).to_contain_text("N = 224·224/8² = 784 patches")
    expect(patches.readout).to_contain_text("(784, 192) = (N, P²·C)")
    expect(patches.message).to_have_text("")
    after = patches.new_picture(bad)
    assert after not in (before, bad)
    patches.screenshot("01_patch_explorer")


def test_patch_embedding_explorer_in_the_browser(explorer):
    from playwright.sync_api import expect

    embedding = explorer("patch-embedding", "patch n = 78 of N = 196")
    before = embedding.picture()
    _set_by_readout(embedding.slider(0), 0)
    expect(embedding.readout).to_contain_text("patch n = 0 of N = 196: grid row 0, column 0")
    embedding.new_picture(before)
    embedding.screenshot("02_patch_embedding_explorer")


def test_similarity_explorer_in_the_browser(explorer):
    from playwright.sync_api import expect

    similarity = explorer("similarity", "patch (3, 3) of the 7×7 grid")
    map_before, grid_before = similarity.picture(0), similarity.picture(1)
    _set_by_readout(similarity.slider(0), 0)  # row i = 0
    expect(similarity.readout).to_contain_text("patch (0, 3) of the 7×7 grid")
    map_after = similarity.new_picture(map_before, 0)
    grid_after = similarity.new_picture(grid_before, 1)
    similarity.root.locator("select").select_option(label="2-D sine–cosine (fixed)")
    expect(similarity.readout).to_contain_text("2-D sine–cosine (fixed): patch (0, 3)")
    similarity.new_picture(grid_after, 1)
    assert similarity.picture(0) != map_after
    similarity.screenshot("05_similarity_explorer")


def test_interpolation_explorer_in_the_browser(explorer):
    from playwright.sync_api import expect

    interpolation = explorer("interpolation", "TinyViT at 56×56 (14×14 grid, bicubic E_pos")
    before = interpolation.picture()
    _set_by_readout(interpolation.slider(0), 5)  # 5 rows
    expect(interpolation.readout).to_contain_text("(1, 50, 64) -> (1, 71, 64)")
    expect(interpolation.readout).to_contain_text("TinyViT at 20×56 (5×14 grid, bicubic E_pos")
    interpolation.new_picture(before)
    interpolation.screenshot("06_interpolation_explorer")
