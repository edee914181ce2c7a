"""The docs site: it builds with --strict, shows the code that runs, and documents every hook.

The site is built once per test session (``built_site``), into a temporary
folder, and shared with the browser tests in ``test_site.py``: under ``pytest -n``, with
every worker, whichever builds it.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import fcntl
import functools
import html
import importlib
import importlib.util
import inspect
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click
import pytest
from click.testing import CliRunner

import mnistlab.data
from mnistlab import hookspecs, plots
from mnistlab.cli import cli
from mnistlab.sources import (
    plugin_docstring,
    plugin_source,
    replaced_plugin,
    settings_diff,
    stage_diff,
)
from mnistlab.stages import FIRST_PIECES, STAGE_NAMES, STAGES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOKS = [name for name, spec in vars(hookspecs).items() if hasattr(spec, "mnistlab_spec")]
CNN_STAGES = STAGE_NAMES[STAGE_NAMES.index("cnn"):]


@functools.cache
def recorded() -> dict:
    """The numbers scripts/tables.py recorded, which the stage pages show (read when a test
    needs them: the tests that need no site run without the file)."""
    return json.loads((DOCS / "data" / "sample.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class BuiltSite:
    folder: Path
    returncode: int
    log: str
    seconds: float

    def page(self, path: str) -> str:
        """The HTML of the page at ``path`` ("" for home, "stages/fit" for a stage)."""
        return (self.folder / path / "index.html").read_text(encoding="utf-8")


_built: BuiltSite | None = None
_built_zh: BuiltSite | None = None


def build_script():
    """scripts/build_docs.py, as a module."""
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def _build_both_languages(folder: Path) -> tuple[BuiltSite, BuiltSite]:
    """``scripts/build_docs.py FOLDER``, as ``make docs`` runs it: the English site into
    FOLDER and the Chinese one into FOLDER/zh, at once; each build's log apart."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), str(folder)],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    log = done.stdout + done.stderr
    chinese_starts = build_script().BUILD_STARTS.format("Chinese", "mkdocs.zh.yml", folder / "zh")
    en_log, _, zh_log = log.partition(chinese_starts)
    # A failed English build is the last: the Chinese one is stopped and not reported.
    zh_status = done.returncode if zh_log else 1
    en_status = 0 if zh_log else done.returncode or 1
    return (BuiltSite(folder, en_status, en_log, seconds),
            BuiltSite(folder / "zh", zh_status, zh_log or "(not built: the English build failed)",
                      seconds))


def _session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this whole session: under ``pytest -n``, every worker's is in
    it, so what one worker writes there the others find."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_both(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Both languages, as ``make docs`` builds them (``_build_both_languages``).

    Once per session: the first worker to need the site builds it, holding a lock, and
    records how each build went; a worker that needs it meanwhile waits, then reads that."""
    global _built, _built_zh
    if _built is not None:
        return
    shared = _session_folder(tmp_path_factory)
    record = shared / "site-builds.json"
    with open(shared / "site-builds.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, by a crash too
        if not record.exists():
            en, zh = _build_both_languages(shared / "site")
            builds = [{**dataclasses.asdict(built), "folder": str(built.folder)}
                      for built in (en, zh)]
            record.write_text(json.dumps(builds), encoding="utf-8")
    _built, _built_zh = (BuiltSite(**{**built, "folder": Path(built["folder"])})
                         for built in json.loads(record.read_text(encoding="utf-8")))


def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The English site, built once per session with ``mkdocs build --strict``; fail with its
    log."""
    _build_both(tmp_path_factory)
    if _built.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{_built.log[-6000:]}")
    return _built


def built_zh_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The Chinese site (mkdocs.zh.yml), built once per session into the English site's zh/."""
    _build_both(tmp_path_factory)
    if _built_zh.returncode != 0:
        pytest.fail(f"mkdocs build --strict -f mkdocs.zh.yml failed:\n{_built_zh.log[-6000:]}")
    return _built_zh


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    return built_site(tmp_path_factory)


# --- reading the built pages ------------------------------------------------


def code_blocks(page_html: str) -> list[str]:
    """The text of every code block on a page, as a reader sees it."""
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", page_html, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]


def missing_lines(source: str, page_html: str) -> list[str]:
    """The non-blank lines of ``source`` that no code block of the page shows."""
    shown = {line.rstrip() for block in code_blocks(page_html) for line in block.splitlines()}
    return [line for line in source.splitlines() if line.strip() and line.rstrip() not in shown]


def page_text(page_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page_html))


def plugin_pages() -> dict[str, str]:
    """The page that shows each built-in plugin module: where the stage table brings it in,
    and How it works for the observers (the plugins that fill no piece of any stage)."""
    pages = {plugin: "how-it-works" for plugin in plugin_modules()}
    pages.update({plugin: "stages/scratch" for plugin in FIRST_PIECES.values()})
    pages.update({stage.plugin: f"stages/{stage.name}" for stage in STAGES if stage.plugin})
    return pages


def plugin_modules() -> list[str]:
    return sorted(path.stem for path in (ROOT / "plugins").glob("*.py")
                  if path.stem != "__init__")


# --- the build --------------------------------------------------------------------


def test_the_site_builds_with_strict_and_every_page_is_there(site):
    assert "WARNING" not in site.log
    for source in DOCS.rglob("*.md"):
        if "_build" in source.parts or source.relative_to(DOCS).parts[0] == "zh":
            continue  # the Chinese pages are a site of their own (tests/test_zh_pages.py)
        relative = source.relative_to(DOCS).with_suffix("")
        built = relative.parent if relative.name == "index" else relative
        assert (site.folder / built / "index.html").is_file(), f"{source} was not built"
    print(f"docs built in {site.seconds:.0f} s, both languages")


# --- live source: drift is impossible ------------------------------------------


def test_every_plugin_module_has_a_page():
    pages = plugin_pages()
    assert [module for module in plugin_modules() if module not in pages] == [], (
        "a plugin module that no stage or observer list uses is on no page of the docs"
    )


@pytest.mark.parametrize("plugin", plugin_modules())
def test_every_line_of_every_plugin_is_on_its_page_as_it_is_now(site, plugin):
    page = plugin_pages()[plugin]
    assert missing_lines(plugin_source(plugin), site.page(page)) == [], (
        f"plugins/{plugin}.py has lines that docs page {page} does not show: rebuild the docs"
    )


def test_the_drift_check_fails_when_a_line_changes(site):
    page = site.page("stages/optim")
    source = plugin_source("sgd")
    assert missing_lines(source, page) == []
    changed = source.replace("lr=config.lr", "lr=config.lr * 2")
    assert missing_lines(changed, page) == [
        "    return optim.SGD(model.parameters(), lr=config.lr * 2, momentum=config.momentum)"
    ]
    assert missing_lines(source + "\nEXTRA = 1\n", page) == ["EXTRA = 1"]


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """The docs' command runner, keeping its commands in a folder of this test's own."""
    monkeypatch.syspath_prepend(str(DOCS / "_build"))
    kept = importlib.import_module("mnistlab_docs.kept")
    monkeypatch.setattr(kept.store, "KEPT", tmp_path / "docs-runs")
    kept.reset()
    yield kept
    monkeypatch.undo()  # the real folder back, then nothing of this test's code remembered
    kept.reset()


def test_a_command_runs_once_then_is_reused_while_the_code_is_the_same(kept, monkeypatch):
    line = "mnistlab run --stage fit --epochs 0 --data sample --plugin examples/adam.py --trace"
    made = kept.command(line)
    assert made.folder.parent == kept.store.KEPT and made.command == line
    # The repository files that the command names are in its folder, as in a clone.
    assert (made.folder / "examples" / "adam.py").read_bytes() == (
        ROOT / "examples" / "adam.py").read_bytes()
    # stdout and stderr in the order they were written: the pieces' trace, then the header.
    assert 0 < made.output.index("[trace] make_update") < made.output.index("stage fit: 0 epochs")
    assert made.run_folder.parent == made.folder / "runs"

    ran = []

    def run_again(line, files, folder):
        ran.append(line)
        folder.mkdir(parents=True)
        (folder / "output.txt").write_text("again", encoding="utf-8")

    monkeypatch.setattr(kept, "_run", run_again)
    kept.reset()  # a later build of the same code: nothing runs
    assert kept.command(line) == made and ran == []
    # Changed code has another fingerprint: the kept command is not used.
    monkeypatch.setattr(kept.store, "fingerprint", lambda: "other code")
    assert kept.command(line).output == "again" and ran == [line]
    # Other files given by the page: another command.
    assert kept.command(line, {"notes.py": "X = 1"}).output == "again" and len(ran) == 2


def test_a_result_is_computed_once_then_kept_while_the_code_and_its_source_are_the_same(
        kept, monkeypatch):
    memo = importlib.import_module("mnistlab_docs.memo")
    calls = []

    def pages(n):
        calls.append(n)
        return (n, "pages")

    keeping = memo.kept_result(pages)
    assert keeping(2) == keeping(2) == [2, "pages"] and calls == [2]  # JSON: a list comes back
    assert keeping(3) == [3, "pages"] and calls == [2, 3]  # other arguments: computed

    def pages(n):  # noqa: F811  the same name, another body: not the first one's result
        return (n, "other pages")

    assert memo.kept_result(pages)(2) == [2, "other pages"]
    monkeypatch.setattr(kept.store, "fingerprint", lambda: "other code")
    assert keeping(2) == [2, "pages"] and calls == [2, 3, 2]  # other code: computed again


@pytest.fixture
def stand_in_builds(monkeypatch):
    """scripts/build_docs.py, whose English build (in its own process) and Chinese build (in a
    copy of it, with the folder it builds into) each do what the test says."""
    monkeypatch.chdir(ROOT)  # as the script does; the test's folder comes back afterwards
    script = build_script()
    monkeypatch.setattr(script, "import_once", lambda: None)

    def builds(english: int, chinese: Callable[[str], int]) -> None:
        monkeypatch.setattr(script, "_build_here", lambda config, folder: (
            chinese(folder) if config == "mkdocs.zh.yml" else english))

    script.builds = builds
    return script


def chinese_build(status: int = 0) -> Callable[[str], int]:
    def build(folder: str) -> int:
        os.makedirs(folder)
        print("built zh")
        return status
    return build


def test_the_chinese_build_takes_zh_once_both_builds_passed(stand_in_builds, tmp_path, capsys):
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "old.html").touch()  # an earlier build's
    stand_in_builds.builds(english=0, chinese=chinese_build())
    assert stand_in_builds.main(str(tmp_path)) == 0
    assert [path.name for path in tmp_path.iterdir()] == ["zh"]
    assert list((tmp_path / "zh").iterdir()) == []  # the new build's, whole
    log = capsys.readouterr().err
    assert log.index("building the English site") < log.index("building the Chinese site") < (
        log.index("built zh"))


def test_a_failed_build_is_the_last_and_gives_the_exit_status(stand_in_builds, tmp_path,
                                                              capsys):
    started = time.monotonic()
    stand_in_builds.builds(english=2, chinese=lambda folder: time.sleep(60))
    assert stand_in_builds.main(str(tmp_path)) == 2  # the Chinese build stopped, not awaited
    assert time.monotonic() - started < 30 and list(tmp_path.iterdir()) == []
    assert "Chinese" not in capsys.readouterr().err
    stand_in_builds.builds(english=0, chinese=chinese_build(status=3))
    assert stand_in_builds.main(str(tmp_path)) == 3
    assert list(tmp_path.iterdir()) == [] and "built zh" in capsys.readouterr().err
    stand_in_builds.builds(english=0, chinese=lambda folder: 1 / 0)  # a crash: status 1, told
    assert stand_in_builds.main(str(tmp_path)) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_an_interrupted_english_build_stops_the_chinese_one(stand_in_builds, tmp_path,
                                                            monkeypatch):
    stand_in_builds.builds(english=0, chinese=lambda folder: (os.makedirs(folder),
                                                              time.sleep(60)))
    stand_in = stand_in_builds._build_here

    def interrupted(config: str, folder: str) -> int:  # Ctrl-C in the English build alone,
        if config == "mkdocs.yml":  # once the Chinese one has begun to write
            while not (tmp_path / ".zh-new").exists():
                time.sleep(0.01)
            raise KeyboardInterrupt
        return stand_in(config, folder)

    monkeypatch.setattr(stand_in_builds, "_build_here", interrupted)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        stand_in_builds.main(str(tmp_path))
    assert time.monotonic() - started < 30 and list(tmp_path.iterdir()) == []


def test_two_builds_at_once_make_a_kept_entry_once(kept):
    """As the English and the Chinese build do: the second to need an entry waits for it."""
    entry, made = kept.store.KEPT / "entry.json", []

    def make():
        made.append(threading.get_ident())
        time.sleep(0.2)  # long enough for the other build to ask meanwhile
        entry.write_text("{}", encoding="utf-8")

    builds = [threading.Thread(target=kept.store.made_once, args=(entry, make)) for _ in "ab"]
    for build in builds:
        build.start()
    for build in builds:
        build.join()
    assert len(made) == 1 and entry.read_text(encoding="utf-8") == "{}"


def test_the_fingerprint_changes_with_any_file_a_command_depends_on(kept, tmp_path,
                                                                     monkeypatch):
    for folder in ("mnistlab", "plugins", "examples"):
        (tmp_path / folder / "sub").mkdir(parents=True)
        (tmp_path / folder / "sub" / "code.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(kept.store, "ROOT", tmp_path)
    fingerprints = set()
    for folder in ("mnistlab", "plugins", "examples"):
        kept.store.fingerprint.cache_clear()
        fingerprints.add(kept.store.fingerprint())
        (tmp_path / folder / "sub" / "code.py").write_text("x = 2\n", encoding="utf-8")
    kept.store.fingerprint.cache_clear()
    fingerprints.add(kept.store.fingerprint())
    assert len(fingerprints) == 4


# --- the helper: small, and mnistlab's public API only -----------------------------

HELPER = DOCS / "_build"
PUBLIC = {  # what the helper may use of mnistlab, by module
    "mnistlab": {"run", "load", "check", "hookimpl", "Option", "hookspecs", "stages", "sources",
                 "plots", "model_pictures", "introspect", "cli", "errors", "data", "atomic",
                 "exercises"},
    "mnistlab.exercises": {"exercises", "get_exercise", "stub_text"},
    "mnistlab.hookspecs": {"hookimpl"},
    "mnistlab.stages": {"STAGES", "STAGE_NAMES", "PIECES", "PIECE_HOOKS", "FIRST_PIECES",
                        "get_stage", "pieces_of", "hyper_of"},
    "mnistlab.sources": {"plugin_path", "plugin_source", "plugin_docstring", "replaced_plugin",
                         "hyper_changes", "settings_diff", "stage_diff"},
    "mnistlab.plots": {"loss_curves", "digit_grid", "digit_image", "save_figure"},
    "mnistlab.model_pictures": {"weight_images", "feature_maps"},
    "mnistlab.introspect": {"plugin_manager_for", "describe", "asking_order"},
    "mnistlab.cli": {"cli"},
    "mnistlab.errors": {"MnistlabError"},
    "mnistlab.data": set(mnistlab.data.__all__),
    "mnistlab.atomic": {"write_text", "atomic_write"},
    "mnistlab.exporter": {"build"},
    # The built-in plugins: the lessons' own code, which pages show and run.
    "mnistlab.plugins": {path.stem for path in (ROOT / "plugins").glob("[!_]*.py")},
}


def non_public_uses(source: str) -> list[str]:
    """The names of mnistlab that ``source`` imports or reads and that are not in PUBLIC."""
    tree, found, modules = ast.parse(source), [], {}  # local name -> the mnistlab module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mnistlab":
                    if alias.name != "mnistlab" and alias.asname is None:
                        found.append(f"import {alias.name} (import the module by name)")
                    modules[alias.asname or "mnistlab"] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mnistlab":
            for alias in node.names:
                if alias.name not in PUBLIC.get(node.module, ()):
                    found.append(f"{node.module}.{alias.name}")
                elif f"{node.module}.{alias.name}" in PUBLIC:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr not in PUBLIC.get(modules[node.value.id], ())):
            found.append(f"{modules[node.value.id]}.{node.attr}")
    return found


def test_the_public_api_check_finds_what_it_must():
    assert non_public_uses("from mnistlab.plugin_manager import OBSERVERS\n"
                           "from mnistlab.stages import _STAGES, get_stage\n"
                           "from mnistlab import sources, stages\n"
                           "import mnistlab\n"
                           "stages.OBSERVERS, sources.stage_diff, mnistlab.runner\n") == [
        "mnistlab.plugin_manager.OBSERVERS", "mnistlab.stages._STAGES",
        "mnistlab.stages.OBSERVERS", "mnistlab.runner"]


@pytest.mark.parametrize("path", sorted(HELPER.rglob("*.py")), ids=lambda p: p.name)
def test_the_docs_helper_uses_only_mnistlabs_public_api(path):
    assert non_public_uses(path.read_text(encoding="utf-8")) == []


def test_each_module_of_the_docs_helper_does_one_job_in_at_most_130_lines():
    # One module per job (the blocks, the kept commands, the stage pages, the recorded numbers,
    # the pictures of trained models, the downloads, ...): a helper that grows by a job grows by
    # a module, never by a second job in one.
    lines = {path.relative_to(HELPER).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in sorted(HELPER.rglob("*.py"))}
    assert max(lines.values()) <= 130, lines


# --- the stage pages ---------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_each_stage_page_shows_its_diff_run_and_verdict(site, stage):
    page = site.page(f"stages/{stage.name}")
    text = page_text(page)
    blocks = code_blocks(page)
    assert any("validation after training: loss" in block and f"stage {stage.name}:" in block
               for block in blocks), "no build-time run output"
    if stage.parent is None:
        return
    assert missing_lines(stage_diff(stage.name), page) == [], "the diff is not the live one"
    test = ("test_a_preserving_swap_gives_the_same_losses" if stage.preserves
            else "test_a_changing_swap_really_changes_the_losses")
    assert f"tests/test_equivalence.py::{test}[{stage.parent}->{stage.name}]" in text
    assert f"Same numbers as {stage.parent}? {'Yes' if stage.preserves else 'No'}" in text
    # The plugin's docstring is shown once, in its source, not again as prose.
    first_line = plugin_docstring(stage.plugin).splitlines()[0].replace("``", "")
    assert text.replace("``", "").count(first_line) == 1, "the docstring is shown twice"


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_each_stage_page_shows_the_tutorials_number_and_ours_over_the_recorded_seeds(site,
                                                                                      stage):
    page = site.page(f"stages/{stage.name}")
    section = re.split(r'id="[^"]*the-tutorials-numbers-and-ours"', page)[1]
    table = page_text(section.split("</table>")[0])
    runs = recorded()["stages"][stage.name]
    seed_0 = runs[0]["epochs"][-1]["last_batch_loss"] if "last_batch_loss" in runs[0][
        "epochs"][-1] else runs[0]["valid_loss"]
    assert f"{seed_0:.4f}" in table and f"{runs[0]['valid_acc']:.4f}" in table
    accuracies = [run["valid_acc"] for run in runs]
    assert f"({min(accuracies):.4f} to {max(accuracies):.4f})" in table


def test_the_home_and_stages_pages_count_the_stages_from_the_stage_table(site):
    for page in ("", "stages"):
        text = page_text(site.page(page))
        counts = re.findall(r"\b(\d+) stages\b", text)
        assert counts and set(counts) == {str(len(STAGES))}, page
        assert not re.search(r"\b(twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
                             r"eighteen) stages\b", text, re.I), page


def test_what_we_learned_links_every_stage_and_the_tutorials_summary(site):
    page = site.page("learned")
    linked = set(re.findall(r'href="\.\./stages/(\w+)/', page))
    assert linked == set(STAGE_NAMES)
    text = page_text(page)
    for part in ("torch.nn", "nn.Module", "nn.Parameter", "nn.functional", "torch.optim",
                 "Dataset", "DataLoader"):
        assert f"\n{part}\n" in text, part  # a row of the summary's table


# What the lesson pages leave to How it works and the plugin pages: the kernel's words.
KERNEL_WORDS = re.compile(r"\b(pieces?|observers?|fill(s|ed|ing)?|hooks?|sessions?|"
                          r"plugin managers?)\b", re.I)


def lesson_prose(page_html: str) -> str:
    """The words of a page's article that are prose: no code blocks, no inline code."""
    article = re.search(r"<article[^>]*>(.*?)</article>", page_html, re.S).group(1)
    return page_text(re.sub(r"<pre[^>]*>.*?</pre>|<code[^>]*>.*?</code>", " ", article,
                            flags=re.S))


def test_the_kernel_words_check_finds_them():
    assert KERNEL_WORDS.findall("the model piece is filled by a hook") != []
    assert lesson_prose("<article><p>the <code>make_model</code> hook</p><pre>session</pre>"
                        "</article>").split() == ["the", "hook"]


@pytest.mark.parametrize("page", ["stages", *(f"stages/{name}" for name in STAGE_NAMES)])
def test_lesson_pages_speak_of_the_model_not_of_the_kernel(site, page):
    found = [match.group(0) for match in KERNEL_WORDS.finditer(lesson_prose(site.page(page)))]
    assert found == [], f"{page} uses the kernel's words {found}: say model, loss, update..."


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_each_stage_page_links_its_script_notebook_and_data_in_the_site(site, stage):
    page = site.page(f"stages/{stage}")
    links = re.findall(r'href="([^"]+\.(?:py|ipynb|pkl\.gz))"', page)
    assert sorted(Path(link).name for link in links) == sorted(
        [f"{stage}.py", f"{stage}.ipynb", "sample.pkl.gz"])
    files = {Path(link).suffix: site.folder / "stages" / stage / link for link in links}
    assert all(path.resolve().is_file() for path in files.values()), files
    script = files[".py"].read_text(encoding="utf-8")
    assert script.startswith(f'"""Stage {STAGE_NAMES.index(stage) + 1} of mnistlab, {stage}:')
    compile(script, files[".py"].name, "exec")
    assert json.loads(files[".ipynb"].read_text(encoding="utf-8"))["nbformat"] == 4
    # The page shows the runner's part of the script, as the script has it.
    assert missing_lines(script[script.index("# %% The loop's view"):], page) == []


def docstring_lines(source: str) -> set[int]:
    """The numbers of the lines that hold a docstring (of the module, a class or a function)."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            lines |= set(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


@pytest.mark.parametrize("stage", [s for s in STAGES if s.parent], ids=lambda s: s.name)
def test_a_diff_shows_code_only_numbered_as_in_the_files(stage):
    sources = {"-": plugin_source(replaced_plugin(stage.name)), "+": plugin_source(stage.plugin)}
    files = {side: text.splitlines() for side, text in sources.items()}
    docstrings = {side: docstring_lines(text) for side, text in sources.items()}
    changed = 0
    line = {"-": 0, "+": 0}
    for text in stage_diff(stage.name).splitlines()[2:]:
        hunk = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", text)
        if hunk:
            line = {"-": int(hunk[1]), "+": int(hunk[2])}
            continue
        sign, body = text[:1], text[1:]
        for side in ("-", "+"):
            if sign in (side, " "):
                assert files[side][line[side] - 1] == body, f"line {line[side]} ({side})"
                if sign == side:
                    assert line[side] not in docstrings[side], f"docstring line: {text!r}"
                    changed += 1
                line[side] += 1
    assert changed > 0


def test_diff_and_stages_show_the_settings_a_stage_changes(site):
    diff = CliRunner().invoke(cli, ["diff", "cnn"]).output
    for line in ("-lr = 0.5", "-momentum = 0", "+lr = 0.1", "+momentum = 0.9",
                 "plugins/cnn.py, in its own words:",
                 "    Model: a convolutional network of three layers."):
        assert line in diff.splitlines()
    assert settings_diff("sequential") == "" and settings_diff("fit") == ""
    table = CliRunner().invoke(cli, ["stages"]).output
    cnn_row = next(row for row in table.splitlines() if " cnn " in row)
    assert "*0.1" in cnn_row and "*0.9" in cnn_row
    assert missing_lines(settings_diff("cnn"), site.page("stages/cnn")) == []


@pytest.mark.parametrize("stage", CNN_STAGES)
def test_each_cnn_page_trains_the_tutorials_budget_and_draws_its_curves(site, stage):
    page = site.page(f"stages/{stage}")
    run = next(block for block in code_blocks(page)
               if "validation after training" in block and f"stage {stage}:" in block)
    assert f"stage {stage}: 25 epochs" in run
    accuracy = float(re.search(r"validation after training: loss [\d.]+, accuracy ([\d.]+)",
                               run).group(1))
    assert accuracy > 0.6, "a CNN page shows a CNN that did not learn"
    assert f'alt="loss curves of the {stage} stage, seed 0"' in page


def inline_pngs(page_html: str, alt: str) -> list[tuple[int, int]]:
    """The (width, height) of each PNG held in an ``<img>`` of the page whose alt is ``alt``."""
    found = re.findall(rf'<img [^>]*alt="{re.escape(alt)}" src="data:image/png;base64,([^"]+)"',
                       page_html)
    sizes = []
    for data in found:
        header = base64.b64decode(data)[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{alt}: no PNG"
        sizes.append(struct.unpack(">II", header[16:24]))
    return sizes


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_each_stage_page_shows_the_loss_curves_its_run_drew(site, stage):
    shown = inline_pngs(site.page(f"stages/{stage.name}"),
                        f"loss curves of the {stage.name} stage, seed 0")
    assert shown == [plots.LOSS_CURVES_SIZE]


def test_the_linear_page_draws_the_weights_its_run_trained(site):
    shown = inline_pngs(site.page("stages/linear"),
                        "the weights of the linear stage after training, one image per digit")
    assert shown == [(928, 110)]  # ten classes, as model_pictures.weight_images draws them


def test_the_cnn_page_shows_the_shapes_layer_by_layer_and_the_feature_maps(site):
    page = site.page("stages/cnn")
    text = page_text(page)
    assert "1 × 28 × 28 → 16 × 14 × 14 → 16 × 7 × 7 → 10 × 4 × 4 → 10" in text
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>", page)
    shapes = [(page_text(where), shape) for where, shape in rows if "×" in shape or
              shape.isdigit()]
    assert shapes == [("a row of the sample", "784"), ("what conv1 receives", "1 × 28 × 28"),
                      ("conv1 gives", "16 × 14 × 14"), ("conv2 gives", "16 × 7 × 7"),
                      ("conv3 gives", "10 × 4 × 4"), ("the model's output: ten scores", "10")]
    label = re.search(r"The image is x_valid\[0\] of the sample, a (\d)", text).group(1)
    assert len(inline_pngs(page, f"feature maps of the cnn stage for a {label}")) == 1


# Each page's equations, and the lines of the plugins that compute them: each line is in the
# paragraph right after one of the page's displayed equations, and in its plugin's source.
EQUATIONS = {
    "stages/scratch": {"hand_loss": ["x - x.exp().sum(-1).log().unsqueeze(-1)",
                                     "-input[range(target.shape[0]), target].mean()"],
                       "manual_update": ["p -= p.grad * self.lr"]},
    "stages/functional": {"cross_entropy": ["F.cross_entropy"],
                          "hand_loss": ["nll(log_softmax(scores), target)",
                                        "x.exp().sum(-1).log()"]},
    "stages/optim": {"sgd": ["optim.SGD(model.parameters(), lr=config.lr, "
                             "momentum=config.momentum)"],
                     "manual_update": ["p -= p.grad * self.lr"]},
    "stages/cnn": {"cnn": ["nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)",
                           "F.avg_pool2d(xb, 4)"],
                   "sgd": ["optim.SGD(model.parameters(), lr=config.lr, "
                           "momentum=config.momentum)"]},
}


def equations(page_html: str) -> list[tuple[str, list[str]]]:
    """Each displayed equation of a page (its TeX) and the code in the paragraph after it."""
    found = re.findall(r'<div class="arithmatex">\\\[(.*?)\\\]</div>\s*<p>(.*?)</p>',
                       page_html, re.S)
    return [(html.unescape(tex), [page_text(code) for code in
                                  re.findall(r"<code>(.*?)</code>", after, re.S)])
            for tex, after in found]


@pytest.mark.parametrize("page", EQUATIONS)
def test_each_equation_stands_beside_the_plugin_line_that_computes_it(site, page):
    beside = {" ".join(code.split()) for _, codes in equations(site.page(page)) for code in codes}
    for plugin, lines in EQUATIONS[page].items():
        for line in lines:
            assert line in plugin_source(plugin), f"plugins/{plugin}.py no longer has {line!r}"
            assert line in beside, f"{page}: no equation beside {line!r}"


def test_the_loss_and_update_equations_are_where_the_tutorial_brings_them_in(site):
    tex = {page: " ".join(" ".join(t.split()) for t, _ in equations(site.page(page)))
           for page in EQUATIONS}
    for page, parts in {
        "stages/scratch": [r"\log \operatorname{softmax}(x)_j = x_j - \log \sum",
                           r"\operatorname{nll} = -\frac{1}{N}", r"p \leftarrow p - \eta"],
        "stages/functional": [r"\operatorname{cross\_entropy}(x, y)",
                              r"= \operatorname{nll}(\log \operatorname{softmax}(x), y)",
                              r"m = \max_k x_k"],
        "stages/optim": [r"p \leftarrow p - \eta \, g"],
        "stages/cnn": [r"b_t = \mu \, b_{t-1} + g_t", r"p_t = p_{t-1} - \eta \, b_t"],
    }.items():
        assert [part for part in parts if part not in tex[page]] == [], page


def test_katex_comes_from_the_site_and_only_to_the_pages_with_equations(site):
    with_maths = set()
    for page in site_pages(site):
        text = page.read_text(encoding="utf-8")
        maths = 'class="arithmatex"' in text
        assert ("katex.min.js" in text) == maths == ("katex.min.css" in text), page
        if maths:
            with_maths.add(page.parent.relative_to(site.folder).as_posix())
    assert with_maths == {*EQUATIONS, *(f"zh/{page}" for page in EQUATIONS)}  # both languages
    # The fonts its style sheet names in the format every browser reads are served too.
    (css,) = site.folder.rglob("katex.min.css")
    fonts = re.findall(r"url\((fonts/[^)]+\.woff2)\)", css.read_text(encoding="utf-8"))
    assert len(fonts) > 10 and [font for font in fonts if not (css.parent / font).is_file()] == []


def test_the_tests_the_stage_pages_cite_exist(site):
    cited = set()
    for stage in STAGES:
        cited |= set(re.findall(r"tests/test_equivalence\.py::\w+\[[\w>-]+\]",
                                page_text(site.page(f"stages/{stage.name}"))))
    assert len(cited) == len(STAGES) - 1
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/test_equivalence.py"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.splitlines()
    assert sorted(cited - set(collected)) == []


def test_the_cnn_page_compares_it_with_fit_over_every_recorded_seed(site):
    page = site.page("stages/cnn")
    assert len(inline_pngs(page, "final validation accuracy of fit and cnn over every "
                                 "recorded seed")) == 1
    text = page_text(page)
    fit, cnn = ([run["valid_acc"] for run in recorded()["stages"][name]]
                for name in ("fit", "cnn"))
    wins = sum(b > a for a, b in zip(fit, cnn, strict=True))
    assert f"with {wins} of the {len(fit)} recorded seeds" in text or wins == len(fit)
    for value in (sum(cnn) / len(cnn), sum(fit) / len(fit), min(cnn), max(cnn)):
        assert f"{value:.4f}" in text
    assert "seeds 0 to 4" not in text and "Two epochs of the sample" not in text


def test_the_adaptive_and_distributed_pages_show_their_drift_from_the_recorded_runs(site):
    adaptive, distributed = (page_text(site.page(f"stages/{name}"))
                             for name in ("adaptive", "distributed"))
    wrapped, pooled = (recorded()["stages"][name][0] for name in ("wrapped", "adaptive"))
    assert (f"their validation accuracy is {wrapped['valid_acc']:.4f} and "
            f"{pooled['valid_acc']:.4f}") in adaptive
    one, two = recorded()["stages"]["distributed"][0], recorded()["processes"]
    for epoch in (1, 5, len(one["epochs"])):
        losses = [run["epochs"][epoch - 1]["valid_loss"] for run in (one, two)]
        assert f"{epoch}\n{losses[0]:.7f}\n{losses[1]:.7f}\n{losses[1] - losses[0]:+.1e}" in (
            distributed)
    assert "seven significant digits" not in distributed


# --- the references ------------------------------------------------------------


def test_every_hook_has_a_reference_entry_with_its_signature_and_a_summary_row(site):
    assert len(HOOKS) >= 12
    page = site.page("hooks")
    text = page_text(page)
    summary = page.split("Functions:", 1)[1].split("</table>", 1)[0]
    for hook in HOOKS:
        assert f'id="mnistlab.hookspecs.{hook}"' in page, f"no reference entry for {hook}"
        assert re.search(rf"\b{hook}\(", text), f"no signature for {hook}"
        first_line = hookspecs.__dict__[hook].__doc__.strip().splitlines()[0]
        assert re.search(rf'href="#mnistlab\.hookspecs\.{hook}">{hook}</a>.*?'
                         rf"{re.escape(html.escape(first_line, quote=False))}", summary,
                         re.S), f"no summary row for {hook}"


@pytest.mark.parametrize("kind", ["mnistlab.config.RunConfig", "mnistlab.types.Option",
                                  "mnistlab.session.Session", "mnistlab.types.EpochResult",
                                  "mnistlab.types.RunResult", "mnistlab.types.Tensors"])
def test_the_hook_reference_lists_every_field_of_what_hooks_receive(site, kind):
    module, name = kind.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    page = site.page("hooks")
    public = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    public += [attr for attr, value in vars(cls).items() if not attr.startswith("_")
               and (isinstance(value, property) or inspect.isfunction(value))]
    assert public, kind
    missing = [attr for attr in public if f'id="{kind}.{attr}"' not in page]
    assert missing == [], f"{kind}: no reference entry for {missing}"


def test_no_returns_table_is_split_mid_sentence(site):
    # Each hook's "Returns" section is one row: the sentence that describes the value.
    page = site.page("hooks")
    for hook in HOOKS:
        entry = page.split(f'id="mnistlab.hookspecs.{hook}"', 1)[1].split("<h3 ", 1)[0]
        returns = re.search(r"Returns:.*?<tbody>(.*?)</tbody>", entry, re.S)
        if returns is None:
            assert hook.startswith(("before_", "after_")), f"{hook}: no Returns table"
            continue
        assert returns.group(1).count("<tr") == 1, f"{hook}: Returns split into several rows"


def test_the_cli_reference_documents_every_command(site):
    page = site.page("cli")

    def walk(command: click.Command, path: list[str]):
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(cli, ["mnistlab"]):
        assert f'id="{"-".join(path)}"' in page, f"{' '.join(path)} is not documented"
    assert "--stage" in page_text(page) and "Usage:" in page_text(page)


def test_every_run_a_page_shows_names_its_data(site):
    # The build keeps what a command printed under the command itself: a run without --data
    # would train on whatever the building machine has downloaded.
    titles = [html.unescape(title) for page in site_pages(site) for title in
              re.findall(r'<span class="filename">(mnistlab (?:run|compare) [^<]*)</span>',
                         page.read_text(encoding="utf-8"))]
    assert len(titles) > 20
    assert [title for title in titles if "--data sample" not in title] == []


def test_the_quick_start_shows_the_readmes_commands(site):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.search(r"## Quick start\n.*?```sh\n(.*?)```", readme, re.S).group(1)
    shown = "\n".join(code_blocks(site.page("quickstart")))
    for line in commands.strip().splitlines():
        assert line in shown


def test_the_plugin_guide_embeds_the_examples_and_their_real_errors(site):
    guide, reference = site.page("plugins"), site.page("plugin-reference")
    for page, example in ((guide, "label_smoothing.py"), (reference, "early_stopping.py")):
        assert missing_lines((ROOT / "examples" / example).read_text(), page) == []
    text = page_text(guide + reference)
    for message in ("implements unknown hook 'make_modle' (did you mean 'make_model'?)",
                    "which make_update does not pass; use any of: config, model",
                    "installed plugins 'adam' and 'rmsprop' both provide the update",
                    "no plugin provides the update (make_update)",
                    "option smoothing='1.5' is not allowed",
                    "unknown option 'smothing' (did you mean 'smoothing'?)",
                    "note: 'nesterov.py' returned None from make_update; plugin 'sgd' fills",
                    "make_update: filled by nesterov.py with a SGD",
                    "the loop began a second pass over the training split",
                    "the loop fit() is a generator",
                    "swapped in: loss by examples/label_smoothing.py (--plugin)",
                    "options: smoothing=0.1",
                    "stopped early: no better validation loss for 2 epochs"):
        assert message in text
    assert "[project.entry-points.mnistlab]" in text
    assert "MNISTLAB_SMOOTHING" not in text


def test_the_errors_page_folds_its_long_groups_and_keeps_every_row(site):
    page = site.page("errors")
    groups = re.findall(r"<details[^>]*>.*?</details>", page, re.S)
    assert len(groups) == page.count("<h2 ")  # one block per group
    rows = sum(group.count("<tr>") - 1 for group in groups)  # less each table's header
    assert rows == len(re.findall(r"^\s*\| (?!case \|)", (DOCS / "errors.md").read_text(
        encoding="utf-8"), re.M)) > 40
    assert all("<table>" in group for group in groups)


def test_how_it_works_shows_the_observers_the_trace_and_the_packaging(site):
    page = site.page("how-it-works")
    text = page_text(page)
    assert "[trace] make_loss: filled by cross_entropy with function cross_entropy" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    mapping = re.search(r"^\[tool\.setuptools\.package-dir\]\n(.+)$", pyproject, re.M).group(1)
    assert missing_lines(mapping, page) == []


# --- links and requests ----------------------------------------------------------


def site_pages(site: BuiltSite) -> list[Path]:
    return sorted(site.folder.rglob("*.html"))


def test_every_internal_link_and_asset_exists(site):
    broken = []
    for page in site_pages(site):
        for url in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            parts = urlsplit(html.unescape(url))
            if parts.scheme or parts.netloc or not parts.path:
                continue
            path = unquote(parts.path)
            base = site.folder if path.startswith("/") else page.parent  # 404.html: from the root
            target = (base / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site.folder)}: {url}")
    assert broken == []


def test_no_page_loads_anything_from_another_host(site):
    loads = re.compile(r'<(?:script|img|iframe|source)[^>]*\ssrc="(https?:)?//|'
                       r'<link[^>]*\shref="(https?:)?//[^"]*"[^>]*>', re.I)
    offenders = [str(page.relative_to(site.folder)) for page in site_pages(site)
                 if any(not m.group(0).startswith("<link") or "canonical" not in m.group(0)
                        for m in loads.finditer(page.read_text(encoding="utf-8")))]
    assert offenders == []
    for css in site.folder.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css.read_text(encoding="utf-8"))


# --- the Chinese site (mkdocs.zh.yml) ---------------------------------------------


@pytest.fixture(scope="session")
def zh_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    return built_zh_site(tmp_path_factory)


def search_index(site: BuiltSite) -> dict:
    return json.loads((site.folder / "search" / "search_index.json").read_text(encoding="utf-8"))


def pages_with_word(index: dict, word: str) -> set[str]:
    """The pages whose title or text holds ``word`` as a whole token, cut as the site's search
    cuts it in the browser (at the configured separator)."""
    separator = re.compile(index["config"]["separator"])
    return {doc["location"].split("#")[0] for doc in index["docs"]
            if word in separator.split(doc["title"] + " " + doc["text"])}


def test_the_chinese_site_builds_with_strict_and_has_every_page(zh_site):
    assert "WARNING" not in zh_site.log
    for source in (DOCS / "zh").rglob("*.md"):
        relative = source.relative_to(DOCS / "zh").with_suffix("")
        built = relative.parent if relative.name == "index" else relative
        assert (zh_site.folder / built / "index.html").is_file(), f"{source} was not built"
    assert '<html lang="zh"' in zh_site.page("")


@pytest.mark.parametrize("word, page", [
    ("张量", ""), ("梯度", "exercises/"), ("优化器", "stages/optim/"),
    ("数据加载器", "stages/dataloader/"), ("小批量", "stages/dataloader/"),
])
def test_the_chinese_search_index_finds_pages_by_chinese_words(zh_site, word, page):
    # jieba cut the Chinese text into words while the site was built, with \u200b between them
    assert "\u200b" in json.dumps(search_index(zh_site)["docs"], ensure_ascii=False)
    assert page in pages_with_word(search_index(zh_site), word)


def test_the_english_search_stays_english(site):
    config = search_index(site)["config"]
    assert config["lang"] == ["en"]
    assert "\\u200b" not in config["separator"] and "\u200b" not in config["separator"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_search_index_keeps_the_code_and_leaves_out_what_would_bury_it(site, zh_site,
                                                                         language):
    """Every page load builds the search index anew. A run's numbers, epoch after epoch, the
    stage diffs and the runner part that every stage page repeats are on the pages but not in
    the index; the plugins' source is in both."""
    built = {"en": site, "zh": zh_site}[language]
    text = html.unescape(" ".join(doc["text"] for doc in search_index(built)["docs"]
                                  if doc["location"].startswith("stages/cnn/")))
    shown = page_text(built.page("stages/cnn"))
    for left_out in (r"after training: loss \d", r"\+\+\+ plugins/", "# %% The loop's view"):
        assert re.search(left_out, shown) and not re.search(left_out, text), left_out
    assert "def make_model(" in shown and "def make_model(" in text


def test_both_languages_load_the_same_shared_assets(site, zh_site):
    """The Chinese pages load the English build's style sheet, KaTeX and mermaid: one copy."""
    assert not (zh_site.folder / "assets" / "stylesheets" / "extra.css").exists()
    assert not (zh_site.folder / "assets" / "javascripts" / "vendor").exists()
    assert 'href="../assets/stylesheets/extra.css"' in zh_site.page("")


def test_the_language_switch_links_each_page_to_itself_in_the_other_language(site, zh_site):
    assert 'href="../../zh/stages/scratch/" hreflang="zh"' in site.page("stages/scratch")
    assert 'href="../../../stages/scratch/" hreflang="en"' in zh_site.page("stages/scratch")
    assert 'href="zh/" hreflang="zh"' in site.page("")
