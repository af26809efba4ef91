"""The course as a website: built with the README's command, read in a real browser, offline.

The fast tests check the pieces (where the site lives, how the README is split, that the
workflow publishes what the README's command builds). The slow ones build the whole site
(``python -m vit_tutorial.site``, warning-free or it fails), serve it from 127.0.0.1 and open
every page in Debian's headless Chromium driven by Playwright, with every request that is not
to that local server blocked — a learner on a train sees what this test sees. On each page:
no error in the console, no request blocked or failed, every image loaded, no raw TeX left
in the text, and every internal link leads to a page and anchor that exist. Then search finds
lesson 05 from one of its words, the table of contents lists the lessons in course order,
and screenshots of one lesson, light and dark, go to ``artifacts/screenshots/``.

Like the explorers' browser test (tests/test_browser.py), it needs ``/usr/bin/chromium`` and
Python Playwright (``.ci/install-browser`` installs both), is skipped without them and fails
instead under ``CI=true``.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

from vit_tutorial import course, site

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("VIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [  # the flags this machine's closed network needs (no background requests)
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 60_000  # a loaded 2-core machine is slow; a broken page never ends
SEARCH_TERM, SEARCH_LESSON = "locality", "05_position_similarity"
WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"


def _readme_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## The course as a website\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert match, "README.md needs its section '## The course as a website'"
    return match.group(1)


def _build_command() -> str:
    commands = re.findall(r"^\.venv/bin/python -m vit_tutorial\.site.*$", _readme_section(),
                          re.M)
    assert len(commands) == 1, f"one build command in the README's site section: {commands}"
    return commands[0]


# ------------------------------------------------------------------------- fast tests


def test_site_url_comes_from_the_repository():
    owner, name = course.REPOSITORY.split("/")
    assert site.site_url() == f"https://{owner.lower()}.github.io/{name}/"
    assert site.site_url("Someone/vit") == "https://someone.github.io/vit/"
    assert site.site_url("someone/Someone.github.io") == "https://someone.github.io/"
    assert site.site_url() in _readme_section(), "the README says where the site lives"


def test_the_workflow_publishes_what_the_readme_builds():
    """.github/workflows/site.yml runs the README's set-up and exactly its build command,
    then deploys the folder that command writes."""
    workflow = WORKFLOW.read_text(encoding="utf-8")
    command = _build_command()
    assert command == ".venv/bin/python -m vit_tutorial.site"
    lines = [line.strip().removeprefix("run: ").strip() for line in workflow.splitlines()]
    assert command in lines
    assert "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt" in lines
    assert f"path: {site.DEFAULT_OUTPUT.as_posix()}" in lines
    assert "actions/deploy-pages@" in workflow and "actions/upload-pages-artifact@" in workflow


def test_site_dependencies_are_installed_by_the_readme_set_up():
    requirements = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^site = \[(.*?)\]", pyproject, re.M | re.S)
    assert extra, "pyproject.toml: a `site` extra"
    for requirement in re.findall(r'"([^"]+)"', extra.group(1)):
        assert requirement in requirements.splitlines(), requirement


def test_readme_split_moves_the_teachers_section(tmp_path):
    front, teachers = site.split_readme(
        "# Title\n\nIntro.\n\n## For teachers: notes\n\nUse it.\n\n### Student edition\n\n"
        "```bash\n## not a heading\n```\n\n## Next\n\nMore.\n")
    assert teachers.startswith("# For teachers: notes\n\n" + site.TEACHERS_NOTE)
    assert "## Student edition" in teachers and "## not a heading" in teachers
    assert "## Next" not in teachers and "Use it." not in front
    assert "(teachers.md)" in front and front.index("## For teachers") < front.index("## Next")
    with pytest.raises(SystemExit, match="For teachers"):
        site.split_readme("# Title\n\n## Something else\n")


def test_sources_list_every_lesson_in_course_order_and_serve_mathjax(tmp_path):
    site.write_sources(ROOT, tmp_path / "src")
    index = (tmp_path / "src" / "index.md").read_text(encoding="utf-8")
    entries = re.findall(r"^notebooks/(\S+)$", index, re.M)
    assert entries == [lesson.name for lesson in course.LESSONS]
    conf = (tmp_path / "src" / "conf.py").read_text(encoding="utf-8")
    assert "mathjax_path = 'mathjax/tex-chtml-full.js'" in conf
    assert (tmp_path / "src" / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    assert "cdn" not in conf.lower()
    if (ROOT / "images").is_dir():
        assert (tmp_path / "src" / "images").is_dir()


def test_output_folder_that_holds_something_else_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty"):
        site.build(ROOT, tmp_path)
    assert (tmp_path / "mine.txt").exists()


# ------------------------------------------------------------------- the built site


def _missing() -> str | None:
    """Why the browser can't run here, or None."""
    if not CHROMIUM.exists():
        return (f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                f"or run .ci/install-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Python Playwright is not installed: pip install playwright, or run "
                ".ci/install-browser")
    return None


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The site, built by the README's command (into a temporary folder)."""
    output = tmp_path_factory.mktemp("site") / "site"
    command = _build_command().split()
    assert command[:3] == [".venv/bin/python", "-m", "vit_tutorial.site"]
    result = subprocess.run([sys.executable, "-m", "vit_tutorial.site", *command[3:],
                             "--output", str(output)], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"the site did not build:\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", f"the build printed warnings:\n{result.stderr}"
    assert "built the site in" in result.stdout
    return output


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(built):
    """The site over HTTP on 127.0.0.1 (a free port): yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the site's browser test must run under CI, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class _Offline:
    """A browser page that may talk to the local server only, and remembers what went wrong."""

    def __init__(self, browser, base: str, color_scheme: str = "light"):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                           color_scheme=color_scheme, reduced_motion="reduce")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.blocked, self.failed, self.errors = [], [], []
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(
            f"{r.url}: HTTP {r.status}"))

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")
        # Pages with math load MathJax, which typesets after the page has loaded.
        self.page.evaluate("() => window.MathJax && MathJax.startup ? "
                           "MathJax.startup.promise.then(() => true) : true")
        self.page.wait_for_load_state("networkidle")  # what the page asks for, it asks now

    def close(self) -> None:
        self.context.close()


# Every image: loaded now (lazy ones included) and has a width.
_BROKEN_IMAGES = """async () => {
    const images = [...document.images];
    for (const img of images) img.loading = 'eager';
    await Promise.all(images.map(img => img.decode().catch(() => null)));
    return images.filter(img => !(img.complete && img.naturalWidth > 0))
                 .map(img => img.getAttribute('src'));
}"""

# The page's text outside code, as a reader sees it, after MathJax has typeset the math.
_READABLE_TEXT = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll('pre, code, script, style, mjx-container, .MathJax')
        .forEach(node => node.remove());
    return body.textContent;
}"""

_RAW_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")


def _stored_pictures(lesson: str) -> int:
    """How many pictures a lesson's stored outputs hold: its figures and explorers' stills."""
    notebook = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    return sum("image/png" in output.get("data", {})
               for cell in notebook["cells"] for output in cell.get("outputs", []))


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


def _ids(file: Path) -> set[str]:
    parser = _Ids()
    parser.feed(file.read_text(encoding="utf-8"))
    return parser.ids


@pytest.mark.slow
def test_the_readme_command_builds_every_page(built):
    """Without a browser too: every lesson has its page, and no page refers to a script,
    stylesheet, font or picture elsewhere (links to other sites are fine)."""
    pages = {p.relative_to(built).as_posix() for p in site.pages_of(built)}
    assert {f"notebooks/{lesson.name}.html" for lesson in course.LESSONS} <= pages
    assert {"index.html", "teachers.html", "search.html"} <= pages
    assert (built / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    for page in site.pages_of(built):
        text = page.read_text(encoding="utf-8")
        outside = re.findall(r"""<(?:script|img|source|iframe)\b[^>]*\bsrc=["']?(?:https?:)?//"""
                             r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//[^>]*>""", text)
        outside = [tag for tag in outside
                   if "<link" not in tag or re.search(r"stylesheet|preload|icon", tag)]
        assert not outside, f"{page.name} loads from elsewhere: {outside[:3]}"


@pytest.mark.slow
def test_every_page_reads_offline(built, server, browser):
    """Each page: no console error, nothing blocked or failed, every image loaded, no raw
    TeX, math typeset on every lesson, and every internal link leads somewhere real."""
    pages = [p.relative_to(built).as_posix() for p in site.pages_of(built)]
    lessons = [f"notebooks/{lesson.name}.html" for lesson in course.LESSONS]
    assert set(lessons) | {"index.html", "teachers.html", "search.html"} <= set(pages)
    reader = _Offline(browser, server)
    links: dict[str, str] = {}  # link -> the page it was found on
    problems = []
    try:
        for path in pages:
            reader.open(path)
            page = reader.page
            for kind, found in (("console error", reader.errors),
                                ("blocked request", reader.blocked),
                                ("failed request", reader.failed),
                                ("image not loaded", page.evaluate(_BROKEN_IMAGES))):
                problems += [f"{path}: {kind}: {item}" for item in found]
            reader.errors, reader.blocked, reader.failed = [], [], []
            raw = _RAW_TEX.findall(page.evaluate(_READABLE_TEXT))
            problems += [f"{path}: raw TeX in the text: {item!r}" for item in raw[:5]]
            if path in lessons:
                assert page.locator("mjx-container").count() > 10, f"{path}: math not typeset"
                name = Path(path).stem
                colab = page.locator(f'a[href="{course.colab_url(name)}"]')
                assert colab.count() >= 1, f"{path}: no launch-in-Colab link"
                figures = page.locator(".cell_output img").count()
                assert figures == _stored_pictures(name), f"{path}: {figures} figures shown"
            for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
                if href.startswith(server):
                    links.setdefault(href, path)
    finally:
        reader.close()
    for href, found_on in sorted(links.items()):
        parts = urllib.parse.urlsplit(href)
        target = built / urllib.parse.unquote(parts.path.removeprefix("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{found_on}: link to a missing page: {href}")
        elif parts.fragment and target.suffix == ".html":
            if urllib.parse.unquote(parts.fragment) not in _ids(target):
                problems.append(f"{found_on}: link to a missing anchor: {href}")
    assert not problems, "\n".join(problems)
    assert len(links) > 50, f"only {len(links)} internal links checked"


@pytest.mark.slow
def test_search_finds_a_term_from_lesson_05(server, browser):
    reader = _Offline(browser, server)
    try:
        reader.open(f"search.html?q={SEARCH_TERM}")
        results = reader.page.locator("#search-results ul.search li a")
        results.first.wait_for()
        hrefs = results.evaluate_all("as => as.map(a => a.href)")
        assert any(SEARCH_LESSON in href for href in hrefs), hrefs
        assert not (reader.errors or reader.blocked or reader.failed)
    finally:
        reader.close()


@pytest.mark.slow
def test_table_of_contents_lists_the_lessons_in_course_order(server, browser):
    reader = _Offline(browser, server)
    try:
        reader.open("index.html")
        hrefs = reader.page.eval_on_selector_all("nav.bd-docs-nav a[href]",
                                                 "as => as.map(a => a.getAttribute('href'))")
        lessons = [Path(h).stem for h in hrefs if h.startswith("notebooks/")]
        assert lessons == [lesson.name for lesson in course.LESSONS]
        assert "teachers.html" in hrefs
        search_boxes = reader.page.locator(".search-button-field").all()
        assert sum(box.is_visible() for box in search_boxes) == 1, "one search box"
    finally:
        reader.close()


@pytest.mark.slow
def test_a_lesson_reads_straight_from_disk(built, browser):
    """Opened as a file (no server at all), a lesson still shows its math and figures."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    blocked, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file://") else (blocked.append(route.request.url), route.abort()))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        lesson = course.LESSONS[0].name
        page.goto((built / "notebooks" / f"{lesson}.html").as_uri(), wait_until="load")
        page.evaluate("() => MathJax.startup.promise.then(() => true)")
        assert page.locator("mjx-container").count() > 10
        assert page.evaluate(_BROKEN_IMAGES) == []
        assert not _RAW_TEX.findall(page.evaluate(_READABLE_TEXT))
        assert not (blocked or errors), (blocked, errors)
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshot_of_a_lesson(server, browser, scheme):
    """A lesson page as a reader with a light or dark system theme sees it, at its top and
    at its explorer's still picture (kept as artifacts: look at them)."""
    reader = _Offline(browser, server, color_scheme=scheme)
    try:
        reader.open(f"notebooks/{SEARCH_LESSON}.html")
        page = reader.page
        assert page.evaluate("() => document.documentElement.dataset.theme") == scheme
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"site_{SEARCH_LESSON}_{scheme}.png"))
        # The explorer's still picture, in the lesson's "Explore: …" section (a subsection
        # of "Going deeper"): the section right around that heading.
        heading = page.locator("h2, h3", has_text="Explore").first
        still = heading.locator("xpath=..").locator(".cell_output img").last
        still.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"site_{SEARCH_LESSON}_explorer_{scheme}.png"))
        assert not (reader.errors or reader.blocked or reader.failed)
    finally:
        reader.close()
