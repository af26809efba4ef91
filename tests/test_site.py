"""The course as a website: built with the README's command, read in a real browser, offline.

The fast tests check the pieces: where the site lives, the pages made from the lesson
registry and the README, the notation both ways, the folded solutions' code, that every
figure of every lesson carries alt text, that the pipeline picture's text has enough
contrast, and that the workflow publishes what the README's command builds. The slow ones
build the whole site (``python -m vit_tutorial.site``, warning-free or it fails), serve it
from 127.0.0.1 and open every page in Debian's headless Chromium driven by Playwright, with
every request that is not to that local server blocked — a learner on a train sees what
this test sees. On each page: no error in the console, no request blocked or failed, every
image loaded and described, no raw TeX, no code line hidden at desktop width, no sideways
scroll at a phone's 390 px, and every internal link leads to a page and anchor that exist.
Then: the landing page's cards, a solution opening on click, search (each lesson's title
finds that lesson first; excerpts from the page's own text, also from disk), the table of
contents in course order, and screenshots of the landing page and a lesson at both widths
(and a lesson light and dark) in ``artifacts/screenshots/``.

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

from vit_tutorial import course, diagram, lesson_time, site
from vit_tutorial import lessons as registry
from vit_tutorial.site import extension, notation, pages

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("VIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [  # the flags this machine's closed network needs (no background requests)
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 60_000  # a loaded 2-core machine is slow; a broken page never ends
DESKTOP, PHONE = 1400, 390  # viewport widths, in CSS px
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
    rest, teachers = site.split_readme(
        "# Title\n\nIntro.\n\n## For teachers: notes\n\nUse it.\n\n### Student edition\n\n"
        "```bash\n## not a heading\n```\n\n| a | x_p E |\n|---|---|\n\n## Next\n\nMore.\n")
    assert teachers.startswith("# For teachers: notes\n\n" + site.TEACHERS_NOTE)
    assert "## Student edition" in teachers and "## not a heading" in teachers
    assert "| a | $x_p E$ |" in teachers  # the paper's symbols as math
    assert "## Next" not in teachers and "Use it." not in rest
    assert "(teachers.md)" in rest and rest.index("## For teachers") < rest.index("## Next")
    with pytest.raises(SystemExit, match="For teachers"):
        site.split_readme("# Title\n\n## Something else\n")


def test_sources_list_every_lesson_in_course_order_with_its_minutes(tmp_path):
    site.write_sources(ROOT, tmp_path / "src")
    index = (tmp_path / "src" / "index.md").read_text(encoding="utf-8")
    entries = re.findall(r"^(\d\d) · (.+) · (\d+) min <notebooks/(\S+)>$", index, re.M)
    assert [name for *_, name in entries] == [lesson.name for lesson in registry.LESSONS]
    minutes = course.lesson_minutes(ROOT)
    for (number, title, total, name), lesson in zip(entries, registry.LESSONS):
        assert (number, title, int(total)) == (f"{lesson.number:02d}", lesson.title,
                                               minutes[name].total)
    conf = (tmp_path / "src" / "conf.py").read_text(encoding="utf-8")
    assert "mathjax_path = 'mathjax/tex-chtml-full.js'" in conf
    assert (tmp_path / "src" / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    assert "cdn" not in conf.lower()
    assert "html_use_index = False" in conf  # no empty genindex page
    for name in ("course.css", "search.js"):
        assert (tmp_path / "src" / "_static" / name).is_file()
    for name in ("pipeline.png", "pipeline_narrow.png"):
        assert (tmp_path / "src" / "_static" / "pipeline" / name).is_file()


def _fake_lesson() -> registry.Lesson:
    return registry.Lesson("12_new_lesson", "A new lesson", "learn what E_pos is for",
                           "lesson 10", "say what x_class does", module="new",
                           step=registry.LESSONS[0].step, exercises=(("check_new", 2),), api=())


def test_landing_page_is_made_from_the_lesson_registry(monkeypatch):
    """A card per lesson of LESSONS (a new one too) with its title, one line, measured
    minutes, what it needs and its three links; the notation as math; a start and a word
    for teachers."""
    lessons = (*registry.LESSONS, _fake_lesson())
    monkeypatch.setattr(pages, "LESSONS", lessons)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    minutes = {**course.lesson_minutes(ROOT), "12_new_lesson": lesson_time.Minutes(20, 9, 4)}
    page = pages.landing_page("ViT, step by step", readme, minutes, "<picture/>", "")
    cards = re.findall(r"^::::\{grid-item-card\} \[(\d\d) · ([^]]+)\]\(notebooks/(\S+)\.ipynb\)$"
                       r"(.*?)^::::$", page, re.M | re.S)
    assert [name for _, _, name, _ in cards] == [lesson.name for lesson in lessons]
    for (_, title, name, body), lesson in zip(cards, lessons):
        assert title == lesson.title
        assert course.colab_url(name) in body and course.github_url(name) in body
        assert f"About {minutes[name].total} min" in body
        assert "**You need:**" in body
    assert "About 30 min (+4 optional)" in cards[-1][3]
    assert "$E_\\text{pos}$" in cards[-1][3]  # the one line, with its symbol as math
    assert "**Start here:** [01 · Patches](notebooks/01_patches.ipynb)" in page
    assert "## For teachers" in page and "(teachers.md)" in page
    assert "jupyter lab notebooks/" in page  # the README's command to run it locally


def test_notation_goes_to_tex_for_the_site_and_back_to_text_for_search():
    assert notation.to_tex("x_p ∈ ℝ^{N×(P²·C)}") == r"x_p \in \mathbb{R}^{N\times (P^2\cdot C)}"
    assert notation.to_tex("E_pos") == r"E_\text{pos}"
    assert notation.with_math("cut into N = HW/P² patches, x ∈ ℝ^{H×W×C} → x_p, not `x_p`") == (
        r"cut into $N = HW/P^2$ patches, $x \in \mathbb{R}^{H\times W\times C} \to x_p$, "
        r"not `x_p`")
    assert notation.with_math("write x_p E as flatten") == "write $x_p E$ as flatten"
    assert notation.with_math("a = b, 7×7 → 14×14, (196, 768)") == "a = b, 7×7 → 14×14, (196, 768)"
    assert notation.to_text(r"E_\text{pos} \in \mathbb{R}^{(N+1) \times D}") == (
        "E_pos ∈ ℝ^{(N+1)×D}")
    assert notation.to_text(r"z_0 = [x_\text{class};\, x_p^1 E;\, \dots] + E_\text{pos}") == (
        "z_0 = [x_class; x_p¹ E; …] + E_pos")
    assert notation.to_text(r"A = \mathrm{softmax}(qk^\top / \sqrt{d})") == "A = softmax(qk^⊤ / √d)"
    assert notation.to_text(r"\frac{HW}{P^2} = 196") == "HW/P² = 196"
    assert notation.to_text(r"z_{\ell-1}") == "z_{ℓ-1}"


def test_notation_page_shows_the_papers_column_as_math():
    page = pages.notation_page((ROOT / "README.md").read_text(encoding="utf-8"))
    rows = [line for line in page.splitlines() if line.startswith("| ")][1:]
    assert rows, "the README's notation table"
    for row in rows:
        first = row.split("|")[1].strip()
        assert first.startswith("$") and first.endswith("$"), row
    assert "ℝ" not in "".join(row.split("|")[1] for row in rows)  # \mathbb{R}, typeset


def test_a_solution_shows_without_its_markers_or_hidden_tests():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
              "\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS\ncheck_f(f)")
    assert extension.solution_code(source) == "def f(x):\n    return x + 1\n\ncheck_f(f)"


def _pictures_and_alt(notebook: dict) -> list[tuple[str, int, str]]:
    found = []
    for cell in notebook["cells"]:
        pictures = sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
        if pictures:
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            found.append((cell["id"], pictures, alt))
    return found


@pytest.mark.parametrize("lesson", registry.LESSONS, ids=lambda lesson: lesson.name)
def test_every_figure_in_every_lesson_has_alt_text(lesson):
    """Each cell that stores a picture (a figure, an explorer's still, the pipeline) says
    what it shows in ``metadata.mystnb.image.alt`` — MyST-NB's own key, which the site
    makes the <img> alt — in a sentence or two, the same in both editions."""
    editions = {edition: json.loads((ROOT / edition / f"{lesson.name}.ipynb").read_text(
        encoding="utf-8")) for edition in registry.EDITIONS}
    found = {edition: _pictures_and_alt(nb) for edition, nb in editions.items()}
    assert found["notebooks"] == found["solutions"], "the two editions describe alike"
    for cell_id, pictures, alt in found["solutions"]:
        where = f"{lesson.name}, cell {cell_id}"
        assert pictures == 1, f"{where}: one picture per cell (one alt text each)"
        assert len(alt.split()) >= 12, f"{where}: no alt text, or too short: {alt!r}"
        assert not re.search(r"_images/|\.(png|jpe?g|svg)\b", alt), f"{where}: {alt!r}"


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _contrast(a, b) -> float:
    """WCAG 2's contrast ratio of two matplotlib colours, computed here from scratch."""
    from matplotlib.colors import to_rgb

    lum = [0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(bl)
           for r, g, bl in (to_rgb(a), to_rgb(b))]
    return (max(lum) + 0.05) / (min(lum) + 0.05)


def _text_backgrounds(fig):
    """Each visible text of a drawing with the colour behind it: its own box if it has one,
    else the topmost filled shape under its anchor, else the white panel."""
    for ax in fig.axes:
        shapes = [p for p in ax.patches if p.get_visible() and p.get_facecolor()[3] > 0]
        for text in ax.texts:
            if not (text.get_visible() and text.get_text().strip()):
                continue
            box = text.get_bbox_patch()
            if box is not None:
                yield text, box.get_facecolor()
                continue
            anchor = ax.transData.transform(text.get_position())
            under = [p for p in shapes if p.contains_point(anchor)]
            yield text, under[-1].get_facecolor() if under else "white"


@pytest.mark.parametrize("layout", ["wide", "narrow"])
@pytest.mark.parametrize("highlight", [None, *diagram.HIGHLIGHTS])
def test_every_text_of_the_pipeline_picture_reaches_4_5_to_1(highlight, layout):
    """WCAG AA for normal text, greyed stages included, from the drawing's own colours."""
    fig = diagram.draw_pipeline(highlight, layout=layout)
    checked = 0
    for text, background in _text_backgrounds(fig):
        ratio = _contrast(text.get_color(), background)
        assert ratio >= 4.5, f"{text.get_text()!r}: {ratio:.2f}:1 on {background}"
        checked += 1
    assert checked > 25


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

    def __init__(self, browser, base: str, color_scheme: str = "light", width: int = DESKTOP):
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": 1000},
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

    def problems(self) -> list[str]:
        found = ([f"console error: {e}" for e in self.errors]
                 + [f"blocked request: {b}" for b in self.blocked]
                 + [f"failed request: {f}" for f in self.failed])
        self.errors, self.blocked, self.failed = [], [], []
        return found

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

_RAW_TEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\text\{|\\mathbb")

# Every <img> with its alt text (the attribute as written: a missing one is null).
_ALT_TEXTS = "() => [...document.images].map(img => [img.getAttribute('src'), " \
             "img.getAttribute('alt')])"

# Code boxes whose lines run past their box (hidden until scrolled), at this width.
_HIDDEN_CODE = """() => [...document.querySelectorAll('.bd-article pre')]
    .filter(pre => pre.checkVisibility() && pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => pre.textContent.split('\\n').sort((a, b) => b.length - a.length)[0])"""

# How wide the page is against the window, and each displayed formula wider than its box:
# whether it scrolls in its own box, and whether that box shows a cue (the edge shadows).
_SIDEWAYS = """() => ({
    page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth,
    formulas: [...document.querySelectorAll('mjx-container[display="true"]')]
        .filter(box => box.scrollWidth > box.clientWidth + 1)
        .map(box => { const style = getComputedStyle(box);
                      return [style.overflowX, style.backgroundImage.includes('gradient')]; }),
})"""

# The pipeline picture's file, as the browser chose it for this width.
_PIPELINE_SOURCE = "() => [...document.querySelectorAll('picture.vit-pipeline img')]" \
                   ".map(img => img.currentSrc.split('/').pop())"


def _stored_pictures(lesson: str) -> int:
    """How many pictures a lesson's stored outputs hold: its figures and explorers' stills."""
    notebook = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    return sum("image/png" in output.get("data", {})
               for cell in notebook["cells"] for output in cell.get("outputs", []))


def _described(alt: str | None) -> bool:
    """A real alt text: words that say something, not a file's path."""
    return bool(alt) and len(alt.split()) >= 2 and not re.search(
        r"_images/|\.(png|jpe?g|svg|gif)$", alt)


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


def _lesson_pages() -> list[str]:
    return [f"notebooks/{lesson.name}.html" for lesson in registry.LESSONS]


@pytest.mark.slow
def test_the_readme_command_builds_every_page(built):
    """Without a browser too: every lesson has its page, there is no empty index page, and
    no page refers to a script, stylesheet, font or picture elsewhere (links are fine)."""
    pages = {p.relative_to(built).as_posix() for p in site.pages_of(built)}
    assert set(_lesson_pages()) <= pages
    assert {"index.html", "notation.html", "teachers.html", "search.html"} <= pages
    assert "genindex.html" not in pages
    assert (built / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    for page in site.pages_of(built):
        text = page.read_text(encoding="utf-8")
        outside = re.findall(r"""<(?:script|img|source|iframe)\b[^>]*\bsrc=["']?(?:https?:)?//"""
                             r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//[^>]*>""", text)
        outside = [tag for tag in outside
                   if "<link" not in tag or re.search(r"stylesheet|preload|icon", tag)]
        assert not outside, f"{page.name} loads from elsewhere: {outside[:3]}"


@pytest.mark.slow
def test_the_download_is_the_exercises_edition(built):
    """The page shows the answers folded; the notebook it offers for download has none."""
    for lesson in registry.LESSONS:
        offered = (built / "_sources" / "notebooks" / f"{lesson.name}.ipynb").read_text(
            encoding="utf-8")
        assert "BEGIN SOLUTION" not in offered and "NotImplementedError" in offered


@pytest.mark.slow
def test_every_page_reads_offline(built, server, browser):
    """Each page at desktop width: no console error, nothing blocked or failed, every image
    loaded and described, no raw TeX, a link to open an issue, math typeset on every lesson,
    no code line hidden, the wide pipeline picture, and every internal link leads somewhere
    real."""
    pages = [p.relative_to(built).as_posix() for p in site.pages_of(built)]
    lessons = _lesson_pages()
    issues = f"https://github.com/{course.REPOSITORY}/issues/new"
    reader = _Offline(browser, server)
    links: dict[str, str] = {}  # link -> the page it was found on
    problems = []
    try:
        for path in pages:
            reader.open(path)
            page = reader.page
            problems += [f"{path}: {problem}" for problem in reader.problems()]
            problems += [f"{path}: image not loaded: {src}"
                         for src in page.evaluate(_BROKEN_IMAGES)]
            problems += [f"{path}: <img src={src}> without a real alt text: {alt!r}"
                         for src, alt in page.evaluate(_ALT_TEXTS) if not _described(alt)]
            raw = _RAW_TEX.findall(page.evaluate(_READABLE_TEXT))
            problems += [f"{path}: raw TeX in the text: {item!r}" for item in raw[:5]]
            problems += [f"{path}: a code line hidden at {DESKTOP} px: {line!r}"
                         for line in page.evaluate(_HIDDEN_CODE)]
            if path != "search.html" and not page.locator(f'a[href^="{issues}"]').count():
                problems.append(f"{path}: no link to open an issue")
            if path in lessons:
                assert page.locator("mjx-container").count() > 10, f"{path}: math not typeset"
                name = Path(path).stem
                colab = page.locator(f'a[href="{course.colab_url(name)}"]')
                assert colab.count() >= 1, f"{path}: no launch-in-Colab link"
                figures = page.locator(".cell_output img").count()
                assert figures == _stored_pictures(name), f"{path}: {figures} figures shown"
                shown = page.evaluate(_PIPELINE_SOURCE)  # the stored output, not the narrow
                assert len(shown) == 1 and not shown[0].endswith("_narrow.png"), shown
                assert page.locator("button.copybtn").count() > 0, f"{path}: no copy button"
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
def test_no_page_scrolls_sideways_on_a_phone(built, server, browser):
    """At 390 px, no page is wider than the screen: long inline code breaks, and a formula
    too wide for the column scrolls in its own box, with a visible cue; each lesson and the
    landing page show the narrow pipeline picture."""
    pages = [p.relative_to(built).as_posix() for p in site.pages_of(built)]
    reader = _Offline(browser, server, width=PHONE)
    problems, scrolling_formulas = [], 0
    try:
        for path in pages:
            reader.open(path)
            found = reader.page.evaluate(_SIDEWAYS)
            if found["page"] > found["window"]:
                problems.append(f"{path}: {found['page']} px wide at {found['window']} px")
            for overflow, cue in found["formulas"]:
                scrolling_formulas += 1
                if overflow not in ("auto", "scroll") or not cue:
                    problems.append(f"{path}: a wide formula (overflow {overflow}, cue {cue})")
            pictures = reader.page.evaluate(_PIPELINE_SOURCE)
            if path in _lesson_pages():
                want = [diagram.picture_name(int(Path(path).stem[:2]), "narrow")]
                if pictures != want:
                    problems.append(f"{path}: pipeline picture {pictures}, not {want}")
            if path == "index.html" and pictures != [diagram.picture_name(layout="narrow")]:
                problems.append(f"{path}: pipeline picture {pictures}")
            problems += [f"{path}: {problem}" for problem in reader.problems()]
    finally:
        reader.close()
    assert not problems, "\n".join(problems)
    assert scrolling_formulas > 0, "no formula wider than a phone: the check checked nothing"


@pytest.mark.slow
def test_the_landing_page_has_a_card_per_lesson(server, browser):
    """Title, one line, measured minutes, what it needs, and links to the page, the notebook
    on GitHub and Colab — for every lesson of LESSONS, in course order."""
    minutes = course.lesson_minutes(ROOT)
    reader = _Offline(browser, server)
    try:
        reader.open("index.html")
        cards = reader.page.locator(".vit-lesson-card")
        assert cards.count() == len(registry.LESSONS)
        for i, lesson in enumerate(registry.LESSONS):
            card = cards.nth(i)
            title = card.locator(".sd-card-title a")
            assert title.inner_text().strip() == f"{lesson.number:02d} · {lesson.title}"
            assert title.get_attribute("href") == f"notebooks/{lesson.name}.html"
            text = card.inner_text()
            assert f"About {minutes[lesson.name].total} min" in text
            assert "You need:" in text
            hrefs = card.locator("a").evaluate_all("as => as.map(a => a.href)")
            assert course.colab_url(lesson.name) in hrefs
            assert course.github_url(lesson.name) in hrefs
        start = reader.page.locator("p.vit-start-here")
        assert "Start here" in start.inner_text()
        assert reader.page.locator("#for-teachers a[href='teachers.html']").count() == 1
        assert not reader.problems()
    finally:
        reader.close()


@pytest.mark.slow
def test_a_solution_opens_on_click(server, browser):
    """Under each exercise a folded "Show a solution"; a click shows the solutions
    edition's code for it."""
    lesson = "03_class_token"
    answers = json.loads((ROOT / "solutions" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    solved = ["".join(c["source"]) for c in answers["cells"] if "BEGIN SOLUTION" in
              "".join(c["source"])]
    reader = _Offline(browser, server)
    try:
        reader.open(f"notebooks/{lesson}.html")
        folded = reader.page.locator("details.vit-solution")
        assert folded.count() == len(solved) > 0
        first = folded.first
        code = first.locator(".vit-solution-code pre")
        assert first.get_attribute("open") is None and not code.is_visible()
        first.locator("summary").click()
        assert first.get_attribute("open") is not None and code.is_visible()
        line = extension.solution_code(solved[0]).split("\n")[2].strip()  # in the answer
        assert line in code.inner_text()
        assert "BEGIN SOLUTION" not in code.inner_text()
        exercise = first.locator("xpath=preceding-sibling::div[1]")
        assert "tag_exercise" in exercise.get_attribute("class")
        assert not reader.problems()
    finally:
        reader.close()


def _results(reader, query: str) -> list[str]:
    reader.open(f"search.html?q={urllib.parse.quote(query)}")
    links = reader.page.locator("#search-results ul.search li a")
    links.first.wait_for()
    reader.page.locator("#search-results ul.search li p.context").first.wait_for()
    return links.evaluate_all("as => as.map(a => a.getAttribute('href'))")


@pytest.mark.slow
def test_search_finds_a_term_from_lesson_05(server, browser):
    reader = _Offline(browser, server)
    try:
        hrefs = _results(reader, SEARCH_TERM)
        assert any(SEARCH_LESSON in href for href in hrefs), hrefs
        assert not reader.problems()
    finally:
        reader.close()


@pytest.mark.slow
def test_search_puts_each_lesson_first_for_its_own_title(server, browser):
    reader = _Offline(browser, server)
    try:
        for lesson in registry.LESSONS:
            hrefs = _results(reader, lesson.title)
            assert hrefs[0].startswith(f"notebooks/{lesson.name}.html"), (lesson.title, hrefs)
        assert not reader.problems()
    finally:
        reader.close()


_EXCERPTS = """() => [...document.querySelectorAll('#search-results li p.context')].map(p => ({
    text: p.textContent,
    marks: [...p.querySelectorAll('.highlighted')].map(mark => [
        (mark.previousSibling || {}).textContent || '', mark.textContent,
        (mark.nextSibling || {}).textContent || '']),
}))"""


@pytest.mark.slow
def test_search_excerpts_come_from_the_page_text(server, browser):
    """Excerpts quote the lesson (not its buttons and table of contents), show formulas as
    text, and mark whole words only ("class", not the "class" of "classic")."""
    reader = _Offline(browser, server)
    try:
        _results(reader, "class token")
        excerpts = reader.page.evaluate(_EXCERPTS)
        assert len(excerpts) >= len(registry.LESSONS) // 2
        for excerpt in excerpts:
            text = excerpt["text"]
            assert not re.search(r"Light\s*Dark|Contents|Settings|Ctrl", text), text
            assert not _RAW_TEX.search(text) and "\\" not in text, text
            for before, word, after in excerpt["marks"]:
                assert word.lower().startswith(("class", "token")), word
                assert not re.search(r"\w$", before) and not re.match(r"\w", after), (
                    before[-10:], word, after[:10])
        assert any("E_pos" in e["text"] or "x_class" in e["text"] for e in excerpts), (
            "formulas shown as text in some excerpt")
        assert not reader.problems()
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
        assert lessons == [lesson.name for lesson in registry.LESSONS]
        assert "teachers.html" in hrefs and "notation.html" in hrefs
        search_boxes = reader.page.locator(".search-button-field").all()
        assert sum(box.is_visible() for box in search_boxes) == 1, "one search box"
    finally:
        reader.close()


def _from_disk(browser):
    """A browser page that opens files only, and the errors and outside requests it met."""
    context = browser.new_context(viewport={"width": DESKTOP, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    blocked, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file://") else (blocked.append(route.request.url), route.abort()))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return context, page, blocked, errors


@pytest.mark.slow
def test_a_lesson_reads_straight_from_disk(built, browser):
    """Opened as a file (no server at all), a lesson still shows its math and figures."""
    context, page, blocked, errors = _from_disk(browser)
    try:
        lesson = registry.LESSONS[0].name
        page.goto((built / "notebooks" / f"{lesson}.html").as_uri(), wait_until="load")
        page.evaluate("() => MathJax.startup.promise.then(() => true)")
        assert page.locator("mjx-container").count() > 10
        assert page.evaluate(_BROKEN_IMAGES) == []
        assert not _RAW_TEX.findall(page.evaluate(_READABLE_TEXT))
        assert not (blocked or errors), (blocked, errors)
    finally:
        context.close()


@pytest.mark.slow
def test_search_works_straight_from_disk(built, browser):
    """From disk too: results, ranked, with excerpts, and no error (nothing is fetched)."""
    context, page, blocked, errors = _from_disk(browser)
    try:
        page.goto((built / "search.html").as_uri() + "?q=" + SEARCH_TERM, wait_until="load")
        page.locator("#search-results ul.search li p.context").first.wait_for()
        hrefs = page.locator("#search-results ul.search li a").evaluate_all(
            "as => as.map(a => a.getAttribute('href'))")
        assert any(SEARCH_LESSON in href for href in hrefs), hrefs
        assert not (blocked or errors), (blocked, errors)
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("path", ["index.html", f"notebooks/{SEARCH_LESSON}.html"])
def test_screenshots_at_desktop_and_phone_width(server, browser, path, width):
    """The landing page and a lesson as a reader sees them at 1400 and 390 px: the top of
    the page, and the whole page (kept as artifacts: look at them)."""
    reader = _Offline(browser, server, width=width)
    try:
        reader.open(path)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "site_landing" if path == "index.html" else f"site_{SEARCH_LESSON}"
        reader.page.screenshot(path=str(SCREENSHOTS / f"{name}_{width}px.png"))
        reader.page.screenshot(path=str(SCREENSHOTS / f"{name}_{width}px_full.png"),
                               full_page=True)
        assert not reader.problems()
    finally:
        reader.close()


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
        assert not reader.problems()
    finally:
        reader.close()
