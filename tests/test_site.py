"""The built docs site in a real browser: Debian's Chromium, headless, driven by Playwright.

The site is served on 127.0.0.1 (search needs http, not file://) from the build that
``test_docs.py`` makes once per session. Every request the browser makes is recorded, and none
may leave 127.0.0.1. The tests take turns in one browser page (``page``), which records all
that happens in it (``Record``); each test checks what happened while it ran (``Visit``). A page
counts as open at its load event: what a test's last page fetches after the test ends is checked
by the next test, and the session's last page is given until its network goes quiet, then the
whole session is checked again. One test opens every page of both languages, in a page of its
own that starts no search worker (``NO_SEARCH_WORKER``). Without /usr/bin/chromium these tests
skip, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_docs import BuiltSite, built_site, built_zh_site

from mnistlab.sources import plugin_source, replaced_plugin
from mnistlab.stages import FIRST_PIECES, STAGES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
]
TIMEOUT_MS = 20_000


def _need_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[browser]')"
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {problem}")
    pytest.skip(f"browser tests skipped: {problem}")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A request the browser dropped (it left the page at its load event, before the
        favicon came) is no error; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    return built_site(tmp_path_factory)


@pytest.fixture(scope="session")
def base_url(site: BuiltSite) -> Iterator[str]:
    """The built site, served over http on a free port of 127.0.0.1."""
    handler = functools.partial(QuietHandler, directory=str(site.folder))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Record:
    """What happens in the browser page, from the session's start: every request, every failed
    response, every script error and every error printed to the console."""

    KINDS = ("requests", "failures", "errors", "console_errors")

    def __init__(self, page) -> None:
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", lambda response: response.status >= 400
                and self.failures.append(f"{response.status} {response.url}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error"
                and self.console_errors.append(message.text))

    def outside(self, base_url: str, since: int = 0) -> list[str]:
        """Requests to anywhere but the site's own host (data: and blob: never leave it)."""
        return [url for url in self.requests[since:]
                if not url.startswith((base_url, "data:", "blob:"))]


@pytest.fixture(scope="session")
def page(browser, base_url: str):
    """One browser page for all the tests: each test opens its pages in it, and a fresh page
    (a new renderer, the site's scripts fetched and compiled again) costs more than the visit.
    Its last page is given until its network goes quiet; then nothing the session did may have
    left 127.0.0.1 or failed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.record = Record(page)
    session = Visit(page, base_url)
    yield page
    page.wait_for_load_state("networkidle")
    session.check()
    context.close()


class Visit:
    """What one test does in the browser page: what the page records while the test runs."""

    def __init__(self, page, base_url: str) -> None:
        self.base_url, self.page, self.context = base_url, page, page.context
        self._since = {kind: len(getattr(page.record, kind)) for kind in Record.KINDS}

    def open(self, path: str) -> None:
        """Opens ``path`` of the site and returns at its load event: its style sheets, scripts,
        images and fonts are in, but it may still fetch more (the favicon comes after)."""
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: {response and response.status}"

    def _recorded(self, kind: str) -> list[str]:
        return getattr(self.page.record, kind)[self._since[kind]:]

    requests = property(lambda self: self._recorded("requests"))
    failures = property(lambda self: self._recorded("failures"))
    errors = property(lambda self: self._recorded("errors"))
    console_errors = property(lambda self: self._recorded("console_errors"))

    def outside(self) -> list[str]:
        return self.page.record.outside(self.base_url, self._since["requests"])

    def check(self, console: bool = False) -> None:
        """Nothing it recorded left 127.0.0.1 or failed, and no script error (with ``console``,
        nothing printed to the console as an error either)."""
        assert self.outside() == [], "requests left 127.0.0.1"
        assert self.failures == []
        assert self.errors == []
        assert not console or self.console_errors == []


@pytest.fixture
def visit(page, base_url) -> Iterator[Visit]:
    visit = Visit(page, base_url)
    yield visit
    visit.check()


# Material's search worker builds the site's whole search index anew on every page opened: half
# of what a page costs the browser. It is the same on every page of a language, and the search
# tests run it; the test that opens every page of both languages opens them without it.
NO_SEARCH_WORKER = "window.Worker = class extends EventTarget { postMessage() {} terminate() {} }"


@pytest.fixture
def visit_without_search(page, base_url) -> Iterator[Visit]:
    """A visit in a browser page of its own, whose pages start no search worker; checked as
    ``visit`` is, and for console errors, once its network is quiet."""
    own = page.context.new_page()
    own.add_init_script(NO_SEARCH_WORKER)
    own.record = Record(own)
    visit = Visit(own, base_url)
    yield visit
    own.wait_for_load_state("networkidle")
    visit.check(console=True)
    own.close()


def code_block(page, title: str):
    """The code block whose title is ``title``."""
    return page.locator(".highlight").filter(
        has=page.locator("span.filename", has_text=re.compile(rf"^{re.escape(title)}$"))
    )


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_every_stage_page_shows_its_source_diff_and_output(visit, stage):
    visit.open(f"stages/{stage.name}/")
    page = visit.page
    plugins = FIRST_PIECES.values() if stage.parent is None else [stage.plugin]
    for plugin in plugins:
        source = code_block(page, f"plugins/{plugin}.py")
        source.scroll_into_view_if_needed()
        assert source.locator("pre").is_visible()
        assert "@hookimpl" in source.inner_text()
    if stage.parent is not None:
        replaced = replaced_plugin(stage.name)
        diff = code_block(page, f"plugins/{replaced}.py → plugins/{stage.plugin}.py")
        diff.scroll_into_view_if_needed()
        assert diff.locator("pre").is_visible()
        assert f"+++ plugins/{stage.plugin}.py" in diff.inner_text()
    # Every page trains the default number of epochs: the tutorial's number of examples.
    output = code_block(page, f"mnistlab run --stage {stage.name} --data sample")
    output.scroll_into_view_if_needed()
    assert output.locator("pre").is_visible()
    assert "validation after training" in output.inner_text()
    curves = page.locator("img.loss-curve")
    curves.scroll_into_view_if_needed()
    assert curves.is_visible()
    assert curves.evaluate("img => img.complete && img.naturalWidth > 0")
    box = curves.bounding_box()
    column = page.locator("article").bounding_box()
    assert box["x"] + box["width"] <= column["x"] + column["width"] + 1


@pytest.mark.parametrize("path", ["stages/linear/", "stages/cnn/"])
def test_the_pictures_of_a_trained_model_fit_the_text_column(visit, path):
    visit.open(path)
    page = visit.page
    figure = page.locator("img.figure").first
    figure.scroll_into_view_if_needed()
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    box, column = figure.bounding_box(), page.locator("article").bounding_box()
    assert box["width"] > 500 and box["x"] + box["width"] <= column["x"] + column["width"] + 1


def test_the_equations_render_offline_with_the_sites_own_katex(visit):
    visit.open("stages/functional/")
    page = visit.page
    equations = page.locator(".arithmatex")
    assert equations.count() >= 3
    # KaTeX replaced each equation's TeX with its own markup, with no error.
    page.wait_for_function("() => [...document.querySelectorAll('.arithmatex')]"
                           ".every(math => math.querySelector('.katex'))")
    assert page.locator(".katex-error").count() == 0
    assert page.locator(".arithmatex .katex-display").count() >= 2
    shown = page.locator(".arithmatex .katex-display").first
    shown.scroll_into_view_if_needed()
    assert shown.is_visible() and shown.bounding_box()["height"] > 20
    # In KaTeX's own fonts, fetched from this site.
    fonts = page.evaluate("async () => { await document.fonts.ready; return [...document.fonts]"
                          ".filter(font => font.status === 'loaded').map(font => font.family) }")
    assert any(family.startswith("KaTeX_") for family in fonts), fonts
    assert any(url.endswith(".woff2") and "/katex-" in url for url in visit.requests)
    # checked by the fixture: no request left 127.0.0.1, none failed, no script error


def test_the_diagram_on_the_home_page_renders(visit):
    visit.open("")
    page = visit.page
    diagram = page.locator("div.mermaid")
    diagram.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => document.querySelector('div.mermaid').getBoundingClientRect().height > 300")


def test_the_errors_pages_long_groups_open_on_a_click(visit):
    visit.open("errors/")
    page = visit.page
    groups = page.locator("article details")
    assert groups.count() >= 8
    opened = groups.evaluate_all("groups => groups.map(group => group.open)")
    folded = groups.nth(opened.index(False))
    row = folded.locator("tr").nth(1)
    assert not row.is_visible()
    folded.locator("summary").click()
    assert row.is_visible()


def test_search_finds_cross_entropy(visit):
    visit.open("")
    page = visit.page
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.press_sequentially("cross_entropy", delay=40)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for()
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("stages/functional/" in href for href in hrefs), hrefs


def test_the_copy_button_copies_the_plugin_source(visit):
    visit.open("stages/optim/")
    page = visit.page
    block = code_block(page, "plugins/sgd.py")
    block.scroll_into_view_if_needed()
    block.hover()
    block.locator("button.md-code__button[data-md-type=copy]").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.strip() == plugin_source("sgd").strip()


# Blocks whose ends must be readable without scrolling sideways at 1280 px: every
# code block (the plugins' source, diffs, errors, run and command output) and every
# table, the stage tables and "every piece of every stage" included.
NO_SIDEWAYS_SCROLL = """() => {
  const clipped = [];
  const blocks = document.querySelectorAll(
    'article pre > code, article .md-typeset__scrollwrap, article table');
  for (const block of blocks) {
    if (block.scrollWidth > block.clientWidth + 1) {
      const title = block.closest('.highlight')?.querySelector('.filename')?.textContent;
      clipped.push(`${title || block.textContent.trim().slice(0, 60)}: ` +
                   `${block.scrollWidth} px in ${block.clientWidth} px`);
    }
  }
  return clipped;
}"""


NAV_LINKS = ("nav.md-nav--primary a.md-nav__link[href]:not([href^='#'])"
             ":not(.md-nav--secondary a)")
"""The nav's links to pages (not those to a page's own headings)."""


def test_the_nav_reaches_every_page_and_no_page_scrolls_sideways_or_leaves_127_0_0_1(
        visit_without_search, site, zh_site):
    """Opens every page of both sites: the English ones by a click on their link in the nav,
    from the home page, once each; the Chinese ones (zh/ has a nav of its own) by address."""
    visit = visit_without_search
    folders = [index.parent.relative_to(site.folder).as_posix()
               for index in site.folder.rglob("index.html")]
    pages = sorted("" if folder == "." else f"{folder}/" for folder in folders)
    english = [path for path in pages if not path.startswith("zh/")]
    chinese = [path for path in pages if path.startswith("zh/")]
    assert chinese, f"no Chinese pages in {zh_site.folder}"
    page = visit.page
    clipped = []

    def no_block_scrolls_sideways(path: str) -> None:
        assert page.viewport_size["width"] == 1280
        clipped.extend(f"{path} {block}" for block in page.evaluate(NO_SIDEWAYS_SCROLL))

    visit.open("")
    links = page.locator(NAV_LINKS)
    addresses = links.evaluate_all("links => links.map(link => link.href)")
    assert len(addresses) == len(english)  # a link to each page
    reached = []
    for place, address in enumerate(addresses):  # by place: a stage and its exercise share a title
        with page.expect_navigation(url=address, wait_until="load"):
            links.nth(place).click()
        assert page.locator("article h1").first.is_visible()
        reached.append(page.url.removeprefix(visit.base_url))
        no_block_scrolls_sideways(reached[-1])
    assert sorted(reached) == english  # every page, once
    for path in chinese:
        visit.open(path)
        no_block_scrolls_sideways(path)
    assert clipped == []
    assert len(visit.requests) > len(pages)
    # checked by the fixture: no request left 127.0.0.1, none failed, no script or console error


def test_a_stage_page_offers_its_script_notebook_and_data_for_download(visit):
    visit.open("stages/fit/")
    page = visit.page
    files = {}
    for name in ("fit.py", "fit.ipynb", "sample.pkl.gz"):
        link = page.locator(f'article a[href$="downloads/{name}"]')
        link.scroll_into_view_if_needed()
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == name
        files[name] = Path(download.value.path()).read_bytes()
    assert files["fit.py"].startswith(b'"""Stage 9 of mnistlab, fit:')
    assert b"# %% The run" in files["fit.py"]
    assert json.loads(files["fit.ipynb"])["nbformat"] == 4
    assert files["sample.pkl.gz"][:2] == b"\x1f\x8b"  # gzip
    runner = page.locator("details.example").first
    runner.locator("summary").click()
    code_block_text = runner.locator("pre").inner_text()
    assert "def fit(epochs, model, loss_func, opt, train_dl, valid_dl):" in code_block_text


# --- the Chinese site, served from zh/ of the same folder ------------------------


@pytest.fixture(scope="session")
def zh_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    return built_zh_site(tmp_path_factory)


HAN = re.compile(r"[\u4e00-\u9fff]")


OWN_TEXT = "el => [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join('')"
CJK_FONTS = ("PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Source Han Sans SC",
             "WenQuanYi Micro Hei")


@pytest.mark.parametrize("path", ["zh/quickstart/", "zh/errors/", "zh/cli/", "zh/exercises/"])
def test_the_chinese_pages_render_in_a_cjk_font_with_no_boxes(visit, zh_site, path):
    visit.open(path)
    page = visit.page
    cdp = visit.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    # the title, and the first paragraph: the Han characters in their own text (not a child's)
    for selector in ("article h1", "article p:first-of-type"):
        han = len(HAN.findall(page.locator(selector).first.evaluate(OWN_TEXT)))
        assert han > 0, selector
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        cjk = sum(font["glyphCount"] for font in fonts
                  if "CJK" in font["familyName"] or font["familyName"] in CJK_FONTS)
        # every Han character drawn from a CJK font: none left to a fallback box
        assert cjk >= han, f"{selector}: {han} Han characters, {fonts}"
    cdp.detach()  # the page goes on to the next test
    assert visit.console_errors == []


def test_the_language_switch_keeps_the_page(visit, zh_site):
    visit.open("stages/optim/")
    page = visit.page
    page.locator(".md-select").hover()
    page.locator('a.md-select__link[hreflang="zh"]').click()
    page.wait_for_url("**/zh/stages/optim/")
    assert page.locator("html").get_attribute("lang") == "zh"
    page.locator(".md-select").hover()
    page.locator('a.md-select__link[hreflang="en"]').click()
    page.wait_for_url(re.compile(r"/stages/optim/$"))
    assert "/zh/" not in page.url
    assert visit.console_errors == []


def test_the_chinese_search_finds_pages_by_chinese_words(visit, zh_site):
    visit.open("zh/")
    page = visit.page
    page.locator("label.md-search__icon, .md-search__input").first.click()
    box = page.locator("input.md-search__input")
    box.press_sequentially("梯度", delay=40)
    # Han characters arrive as text input, with no key released; the search runs on a key's
    # release, as it does after a user's input method commits the words: give it one.
    box.press("Space")
    box.press("Backspace")
    results = page.locator(".md-search-result__item a")
    results.first.wait_for()
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("exercises/" in href for href in hrefs), hrefs
    assert all("/zh/" in href or not href.startswith("http") for href in hrefs)
    assert visit.console_errors == []
