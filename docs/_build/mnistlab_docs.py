"""The live parts of the docs pages: source, diffs, runs and tables, made at build time.

A page calls one of these functions from a markdown-exec block and prints the
Markdown it returns (markdown-exec shows only what the block itself prints, so
nothing here prints). Nothing is pasted: source is read from the plugin files,
diffs come from ``mnistlab.sources``, numbers from real runs on the embedded
sample, and tables from the stage table and the hook specs. When the code
changes, the next build shows the change.

Markdown made here is converted by markdown-exec on its own, without MkDocs'
link rewriting, so links to other pages are written as the URLs the built
site has (``../cnn/``), and ``tests/test_docs.py`` checks every link.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import multiprocessing
import os
import platform
import re
import statistics
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import torch
from click.testing import CliRunner

import mnistlab
import mnistlab.atomic
from mnistlab import hookspecs
from mnistlab.cli import cli
from mnistlab.errors import MnistlabError
from mnistlab.plugin_manager import OBSERVERS, get_plugin_manager
from mnistlab.sources import (
    hyper_changes,
    plugin_docstring,
    plugin_path,
    plugin_source,
    replaced_plugin,
    settings_diff,
    stage_diff,
)
from mnistlab.stages import (
    FIRST_PIECES,
    PIECE_HOOKS,
    PIECES,
    STAGE_NAMES,
    STAGES,
    get_stage,
)

ROOT = Path(__file__).resolve().parents[2]

# One thread: on a busy 2-core machine torch's default of one thread per core
# makes the threads wait on each other, and a CNN epoch on the sample takes
# 5 to 30 s instead of 0.6 s. With one thread the whole build takes about a minute.
torch.set_num_threads(1)

# Every stage page runs its stage with seed 0, so a behaviour-preserving stage
# shows exactly its parent's numbers. The logistic stages train the tutorial's
# 2 epochs; the CNN stages, which barely learn in 2 epochs of the sample, train
# the default number (as many examples as the tutorial: 25 epochs of the sample).
RUN_EPOCHS = 2
SEED = 0
FIRST_CNN_STAGE = "cnn"
# The CNN stages depend on the seed: the cnn page trains these seeds for the
# default number of epochs.
SPREAD_STAGE = "cnn"
SPREAD_SEEDS = tuple(range(5))
PRESERVING_TEST = "tests/test_equivalence.py::test_a_preserving_swap_gives_the_same_losses"
CHANGING_TEST = "tests/test_equivalence.py::test_a_changing_swap_really_changes_the_losses"


# --- Markdown building blocks ----------------------------------------------


def fence(text: str, lang: str = "", title: str | None = None, wrap: bool = False) -> str:
    """``text`` as a fenced code block, fenced by more backticks than it contains.

    ``wrap`` breaks long lines (an error message, a run's header) at the edge
    of the column instead of hiding their end behind a sideways scroll bar.
    """
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    title = f' title="{title}"' if title else ""
    if wrap:
        return f"{ticks}{{.{lang or 'text'} .wrap{title}}}\n{text.rstrip()}\n{ticks}\n"
    return f"{ticks}{lang}{title}\n{text.rstrip()}\n{ticks}\n"


def stage_url(name: str, here: str) -> str:
    """The URL of stage ``name``'s page, relative to the page at ``here``.

    ``here`` is the page's path in the built site: ``""`` for the home page,
    ``"stages/"`` for the stages index, ``"stages/fit/"`` for a stage page.
    """
    depth = here.count("/")
    return "../" * depth + f"stages/{name}/"


# --- running stages ---------------------------------------------------------


@contextlib.contextmanager
def working_directory(folder: str) -> Iterator[None]:
    """``contextlib.chdir`` for Python 3.10."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


Options = tuple[tuple[str, object], ...]
RunKey = tuple[str, "int | None", int, tuple[str, ...], Options, bool, "float | None"]

# Runs made by earlier builds, one JSON file each, named after the run's settings and
# everything its numbers depend on (code_fingerprint): a build after a change to the
# code trains again; a build after a change to the pages only reuses. `make clean`
# removes them.
RUN_CACHE = ROOT / "build" / "docs-runs"

# Runs started ahead of the pages that show them, in worker processes (prefetch()).
_prefetched: dict[RunKey, Future] = {}
_pool: ProcessPoolExecutor | None = None


@dataclasses.dataclass(frozen=True)
class PageRun:
    """What a page shows of a run: what it printed, and its numbers (not its weights)."""

    printed: str
    epochs: int
    steps: int
    valid_loss: float
    valid_acc: float
    history: list[dict[str, object]]


def run(stage: str, epochs: int | None = RUN_EPOCHS, seed: int = SEED,
        plugins: tuple[str, ...] = (), options: Options = (), trace: bool = False,
        lr: float | None = None) -> tuple[str, PageRun]:
    """Run a stage on the sample and return what it printed, and its numbers.

    The console plugin prints with ``print()``, so its lines are caught here
    with ``redirect_stdout``; ``--trace`` lines and notes go to stderr and are
    caught too, interleaved in the order they were written. ``options`` are
    the plugins' settings, as ``(name, value)`` pairs.

    Each run is made once: a page that compares a stage with its parent, or
    draws a run's loss curves, reuses the run its page shows, and a later build
    of the same code reuses it from :data:`RUN_CACHE`.
    """
    result = _cached_run((stage, epochs, seed, tuple(plugins), tuple(options), trace, lr))
    return result.printed, result


@functools.cache
def _cached_run(key: RunKey) -> PageRun:
    kept = _kept_run(key)
    if kept is not None:
        return kept
    future = _prefetched.pop(key, None)
    result = future.result() if future is not None else _train(key)
    try:
        RUN_CACHE.mkdir(parents=True, exist_ok=True)
        mnistlab.atomic.write_text(_kept_path(key), json.dumps(dataclasses.asdict(result)))
    except (OSError, MnistlabError):  # a read-only checkout: the next build trains again
        pass
    return result


def _train(key: RunKey) -> PageRun:
    stage, epochs, seed, plugins, options, trace, lr = key
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        result = mnistlab.run(stage, epochs=epochs, seed=seed, data="sample",
                              plugins=list(plugins), options=dict(options), trace=trace,
                              lr=lr)
    return PageRun(printed.getvalue(), result.config.epochs, result.steps, result.valid_loss,
                   result.valid_acc, result.history)


@functools.cache
def code_fingerprint() -> str:
    """What a run's numbers depend on, hashed: mnistlab (code and sample), the plugins,
    the examples, this file, the versions of Python and torch, and torch's threads."""
    digest = hashlib.sha256(f"{sys.version} {platform.machine()} torch {torch.__version__} "
                            f"threads {torch.get_num_threads()}".encode())
    digest.update(Path(__file__).read_bytes())
    files = [path for folder in ("mnistlab", "plugins", "examples")
             for path in (ROOT / folder).rglob("*")
             if path.is_file() and "__pycache__" not in path.parts]
    for path in sorted(files):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _kept_path(key: RunKey) -> Path:
    name = hashlib.sha256(repr((code_fingerprint(), key)).encode()).hexdigest()[:32]
    return RUN_CACHE / f"{name}.json"


def _kept_run(key: RunKey) -> PageRun | None:
    """The run an earlier build made with these settings and this code, if it kept one."""
    try:
        return PageRun(**json.loads(_kept_path(key).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):  # none yet, or unreadable: train again
        return None


def heavy_runs() -> list[RunKey]:
    """The long runs of the site: each CNN page's, and the seed spread of ``cnn``."""
    first = STAGE_NAMES.index(FIRST_CNN_STAGE)
    keys = [(stage, None, SEED, (), (), False, None) for stage in STAGE_NAMES[first:]
            if (ROOT / "docs" / "stages" / f"{stage}.md").is_file()]
    keys += [(SPREAD_STAGE, None, seed, (), (), False, None) for seed in SPREAD_SEEDS
             if seed != SEED]
    return keys


def prefetch(workers: int = 2) -> None:
    """Start the heavy runs that no earlier build kept in worker processes, while the
    build renders the other pages.

    Each worker is a fresh interpreter (spawned: forking a process that has
    started torch's threads can hang) that trains with one thread, like this
    one, so the numbers are those of a run made here.
    """
    global _pool
    todo = [key for key in heavy_runs() if not _kept_path(key).is_file()]
    if _pool is not None or not todo:
        return
    _pool = ProcessPoolExecutor(max_workers=workers,
                                mp_context=multiprocessing.get_context("spawn"))
    for key in todo:
        _prefetched[key] = _pool.submit(_train, key)


def reset() -> None:
    """Forget this build's runs and stop its workers (``mkdocs serve`` builds again)."""
    global _pool
    _cached_run.cache_clear()
    code_fingerprint.cache_clear()
    _prefetched.clear()
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def command(stage: str, epochs: int | None = RUN_EPOCHS, seed: int = SEED,
            plugins: tuple[str, ...] = (), options: Options = (), trace: bool = False,
            lr: float | None = None) -> str:
    """The command line that prints what ``run()`` printed with the same settings."""
    words = ["mnistlab run --stage", stage]
    if epochs is not None:
        words.append(f"--epochs {epochs}")
    if seed != SEED:
        words.append(f"--seed {seed}")
    if lr is not None:
        words.append(f"--lr {lr:g}")
    words.append("--data sample")
    words += [f"--plugin {plugin}" for plugin in plugins]
    words += [f"--set {name}={value}" for name, value in options]
    if trace:
        words.append("--trace")
    return " ".join(words)


def run_block(stage: str, epochs: int | None = RUN_EPOCHS, seed: int = SEED,
              plugins: tuple[str, ...] = (), options: Options = (), trace: bool = False,
              lr: float | None = None) -> str:
    """A code block with a run's printed output, titled with its command line."""
    printed, _ = run(stage, epochs, seed, plugins, options, trace, lr)
    return fence(printed, "text", wrap=True,
                 title=command(stage, epochs, seed, plugins, options, trace, lr))


def page_epochs(stage: str) -> int | None:
    """The epochs a stage page trains: 2 for the logistic stages, the default for the CNNs."""
    return None if STAGE_NAMES.index(stage) >= STAGE_NAMES.index(FIRST_CNN_STAGE) else RUN_EPOCHS


def scores(stage: str, epochs: int | None | str = "page", seed: int = SEED) -> str:
    """The final validation scores of a run, and how long it trained."""
    _, result = run(stage, page_epochs(stage) if epochs == "page" else epochs, seed)
    return (f"validation loss {result.valid_loss:.4f}, accuracy {result.valid_acc:.4f} "
            f"after {result.epochs} epochs")


# --- the stage pages ---------------------------------------------------------


def introduced_plugins(name: str) -> list[tuple[str, str]]:
    """``(piece, plugin)`` for each plugin that stage ``name`` brings in."""
    stage = get_stage(name)
    if stage.parent is None:
        return list(FIRST_PIECES.items())
    return [(stage.swaps, stage.plugin)]


def source_block(plugin: str) -> str:
    """The plugin's file, read when the page is built."""
    assert plugin_path(plugin).is_file()
    return fence(plugin_source(plugin), "python", title=f"plugins/{plugin}.py")


def prose(docstring: str) -> str:
    """A docstring as Markdown: its ``literals`` become `code`."""
    return re.sub(r"``(.+?)``", r"`\1`", docstring)


def quoted(title: str, text: str) -> str:
    """``text`` in a quote box titled ``title``."""
    return f'!!! quote "{title}"\n\n' + textwrap.indent(text, "    ") + "\n"


def what_changed(name: str) -> str:
    """The "What changed" section: the plugin's own words, new settings, and the code diff."""
    stage = get_stage(name)
    old, plugin, piece = replaced_plugin(name), stage.plugin, stage.swaps
    parent = f"[`{stage.parent}`]({stage_url(stage.parent, f'stages/{name}/')})"
    parts = ["## What changed\n"]
    parts.append(quoted(f"plugins/{plugin}.py, in its own words", prose(plugin_docstring(plugin))))
    changes = hyper_changes(name)
    if changes:
        listed = ", ".join(f"`{key}` from {old_value:g} to {new_value:g}"
                           for key, (old_value, new_value) in changes.items())
        parts.append(f"Besides the plugin, this stage changes the **default settings** in the "
                     f"stage table (`hyper` in `mnistlab/stages.py`): {listed}, for this stage "
                     f"and every later one. No plugin file shows this change, so the diff "
                     f"below ends with it; `--lr` and `--momentum` override it.\n")
    parts.append(f"The code diff from `plugins/{old}.py`, the {piece} of {parent}, to "
                 f"`plugins/{plugin}.py`, made from the two files at build time. It compares "
                 f"code only: each file's docstring is its prose, quoted above. "
                 f"`mnistlab diff {name}` prints the same, then the docstring. The other "
                 f"{len(PIECES) - 1} pieces are unchanged.\n")
    parts.append(fence(stage_diff(name) + settings_diff(name), "diff",
                       title=f"mnistlab diff {name}"))
    return "\n".join(parts)


def loss_curve(stage: str, epochs: int | None, seed: int = SEED) -> str:
    """A run's training and validation loss per epoch, as an inline PNG."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    _, result = run(stage, epochs, seed)
    history = result.history
    fig = Figure(figsize=(7, 3.2), dpi=100)
    ax = fig.subplots()
    for key, style, label in (("train_loss", "-", "training loss (mean of the epoch)"),
                              ("valid_loss", "--", "validation loss")):
        points = [(row["epoch"], row[key]) for row in history if row[key] is not None]
        if points:
            ax.plot(*zip(*points, strict=True), style, marker="o", markersize=3, label=label)
    ax.set(xlabel="epoch", ylabel="loss",
           title=f"{stage}, seed {seed}: validation accuracy {result.valid_acc:.4f} "
                 f"after {result.epochs} epochs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None})
    data = base64.b64encode(png.getvalue()).decode("ascii")
    alt = f"loss curves of the {stage} stage, seed {seed}, {result.epochs} epochs"
    return f'<img class="loss-curve" alt="{alt}" src="data:image/png;base64,{data}">\n'


def stage_page(name: str) -> str:
    """Everything a stage page shows below its prose: plugin, diff, run, verdict."""
    stage = get_stage(name)
    plugins = introduced_plugins(name)
    epochs = page_epochs(name)
    parts = []
    if stage.parent is None:
        parts.append("## The plugins\n")
        parts.append("The first stage names a plugin for every piece. Each file below is "
                     "read from the repository when this page is built.\n")
        for piece, plugin in plugins:
            parts.append(f"### {piece}: `{plugin}`\n")
            parts.append(source_block(plugin))
    else:
        (piece, plugin), = plugins
        parts.append("## The plugin\n")
        parts.append(f"This stage fills the **{piece}** piece (hook `{PIECE_HOOKS[piece]}`) "
                     f"with `{plugin}`. The file, read from the repository when this page "
                     "was built:\n")
        parts.append(source_block(plugin))
        parts.append(what_changed(name))
    parts.append("## Run it\n")
    if epochs is None:
        _, result = run(name, epochs)
        parts.append(f"The output of this run on the embedded sample, made by the site's build "
                     f"from the code on this page, with the tutorial's budget: {result.epochs} "
                     f"epochs of the sample, {result.steps:,} optimizer steps, as many examples "
                     f"as the tutorial's 2 epochs of 50,000 (seed {SEED}; the seconds column is "
                     "the build machine's):\n")
    else:
        parts.append(f"The output of this run on the embedded sample, made by the site's build "
                     f"from the code on this page: the tutorial's {epochs} epochs, seed {SEED} "
                     "(the seconds column is the build machine's):\n")
    parts.append(run_block(name, epochs))
    if epochs is None:
        parts.append("Its loss curves, drawn from the same run:\n")
        parts.append(loss_curve(name, epochs))
    parts.append(verdict(name))
    return "\n".join(parts)


def verdict(name: str) -> str:
    """One line: does the swap keep the numbers, why, and which test proves it."""
    stage = get_stage(name)
    if stage.parent is None:
        return ("**Same numbers as its parent?** The first stage has no parent; every "
                "later stage is measured against the one before it.\n")
    test_id = f"{stage.parent}->{stage.name}"
    both = (f"This build: `{stage.parent}` ended with {scores(stage.parent)}; "
            f"`{name}` with {scores(name)}.")
    if stage.preserves:
        return (f"**Same numbers as `{stage.parent}`?** Yes: {stage.why}. Proven by "
                f"`{PRESERVING_TEST}[{test_id}]` (same seed, same per-batch losses). "
                f"{both}\n")
    why = stage.why.removeprefix("changes behaviour: ")
    return (f"**Same numbers as `{stage.parent}`?** No, on purpose: {why}. "
            f"`{CHANGING_TEST}[{test_id}]` checks that the losses really differ. {both}\n")


def stage_table(here: str) -> str:
    """The stage table as Markdown, with a link to each stage's page."""
    rows = ["| # | stage | swaps | plugin | same numbers as its parent? | what changes |",
            "|---|---|---|---|---|---|"]
    for number, stage in enumerate(STAGES, start=1):
        # Plain names, not code: table columns are narrow and code would break mid-word.
        link = f"[{stage.name}]({stage_url(stage.name, here)})"
        if stage.parent is None:
            rows.append(f"| {number} | {link} | — | — | — | {stage.title} |")
            continue
        same = "yes" if stage.preserves else "**no**"
        rows.append(f"| {number} | {link} | {stage.swaps} | {stage.plugin} | {same} "
                    f"| {stage.title} |")
    return "\n".join(rows) + "\n"


def seed_spread(stage: str = SPREAD_STAGE, seeds: tuple[int, ...] = SPREAD_SEEDS) -> str:
    """A table of final scores across seeds, trained for the default epochs."""
    results = [run(stage, None, seed)[1] for seed in seeds]
    epochs = results[0].epochs
    rows = ["| seed | validation loss | validation accuracy |", "|---|---|---|"]
    rows += [f"| {seed} | {r.valid_loss:.4f} | {r.valid_acc:.4f} |"
             for seed, r in zip(seeds, results, strict=True)]
    accs = [r.valid_acc for r in results]
    return (f"`{stage}` trained for {epochs} epochs ({results[0].steps:,} optimizer steps, as "
            f"many examples as the tutorial's 2 epochs of 50,000) with seeds "
            f"{seeds[0]}–{seeds[-1]}, measured when this page was built:\n\n"
            + "\n".join(rows) + "\n\n"
            + f"Validation accuracy ranges from **{min(accs):.4f} to {max(accs):.4f}** "
              f"(mean {statistics.mean(accs):.4f}) on the same data, the same code and "
              f"the same hyper-parameters: only the seed differs.\n")


# --- the command line ----------------------------------------------------------


def cli_output(*args: str, title: str | None = None) -> str:
    """What ``mnistlab ARGS`` prints, run through click's test runner at build time."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"mnistlab {' '.join(args)} failed: {result.output}")
    return fence(result.output, "text", title=title or "mnistlab " + " ".join(args), wrap=True)


def python_example(source: str) -> str:
    """``source`` as a code block, then what running it printed, run at build time.

    The code shown is the code run: it is executed as it stands, with its
    output (the console plugin's lines included) caught in order.
    """
    source = textwrap.dedent(source).strip() + "\n"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        exec(compile(source, "<docs example>", "exec"), {"__name__": "__docs_example__"})
    return (fence(source, "python") + "\n"
            + fence(printed.getvalue(), "text", title="output", wrap=True))


def toml_tables(path: str, *names: str) -> str:
    """The tables ``[name]`` of a TOML file, verbatim with the comments just above them."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    shown = []
    for name in names:
        header = lines.index(f"[{name}]")
        start = header
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        end = header + 1
        while end < len(lines) and not lines[end].startswith(("[", "#")):
            end += 1
        shown.append("\n".join(lines[start:end]).strip())
    return fence("\n\n".join(shown), "toml", title=path)


def digit_picture(index: int = 0) -> str:
    """Digit ``index`` of the sample's training set, drawn as the tutorial draws it."""
    from matplotlib.figure import Figure

    from mnistlab import data

    splits = data.load("sample")
    fig = Figure(figsize=(2.2, 2.4), dpi=100)
    ax = fig.subplots()
    ax.imshow(splits.x_train[index].reshape((28, 28)), cmap="gray")
    ax.set_title(f"x_train[{index}]: a {splits.y_train[index]}")
    ax.set_xticks([0, 27])
    ax.set_yticks([0, 27])
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None})
    data_uri = base64.b64encode(png.getvalue()).decode("ascii")
    return (f'<img alt="training digit {index}, a {splits.y_train[index]}" '
            f'src="data:image/png;base64,{data_uri}">\n')


def readme_commands(heading: str) -> str:
    """The first ``sh`` block under ``## heading`` in README.md, as it is today."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    if block is None:
        raise RuntimeError(f"README.md has no sh block under '## {heading}'")
    return fence(block.group(1), "sh", title="README.md", wrap=True)


# --- the plugin guide --------------------------------------------------------


def function_source(path: str, name: str) -> str:
    """The top-level function, class or assignment ``name`` of a repository file."""
    text = (ROOT / path).read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        # What the statement defines: an assignment's targets, or the function or class itself.
        named = getattr(node, "targets", [getattr(node, "target", node)])
        if name in (getattr(each, "id", getattr(each, "name", None)) for each in named):
            start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
            lines = text.splitlines()[start - 1:node.end_lineno]
            return fence("\n".join(lines), "python", title=f"{path}: {name}")
    raise RuntimeError(f"{path} defines no {name}")


@contextlib.contextmanager
def user_files(files: dict[str, str]) -> Iterator[Path]:
    """A temporary working folder holding ``files`` (name -> text, dedented).

    Plugins written on a page are saved here and loaded as ``--plugin NAME.py``,
    so messages show the names a user would type.
    """
    with tempfile.TemporaryDirectory() as folder, working_directory(folder):
        for filename, body in files.items():
            Path(filename).parent.mkdir(parents=True, exist_ok=True)
            Path(filename).write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
        yield Path(folder)


def example(path: str) -> str:
    """The text of a file of the repository, to be given to ``user_files`` under its own name."""
    return (ROOT / path).read_text(encoding="utf-8")


def user_code(files: dict[str, str]) -> str:
    """The plugin files a page writes, each as a code block titled with its name."""
    return "\n".join(fence(textwrap.dedent(body).strip(), "python", title=name)
                     for name, body in files.items())


def plugin_error(files: dict[str, str], stage: str = "fit", run_it: bool = False,
                 blocked: tuple[str, ...] = (), options: Options = (), epochs: int = 0) -> str:
    """The error mnistlab gives for plugin files with these contents, as a wrapped block."""
    given = list(files)
    with user_files(files):
        try:
            if run_it or options or epochs:
                with contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()):
                    mnistlab.run(stage, epochs=epochs, data="sample", plugins=given,
                                 blocked=list(blocked), options=dict(options))
            else:
                get_plugin_manager(stage, given, blocked)
        except MnistlabError as error:
            message = str(error)
        else:
            raise RuntimeError(f"no error for {files}")
    words = ["mnistlab run --stage", stage, *(["--epochs", str(epochs)] if epochs else []),
             *(f"--plugin {name}" for name in given),
             *(f"--no-plugin {name}" for name in blocked),
             *(f"--set {name}={value}" for name, value in options)]
    return fence(f"$ {' '.join(words)}\nerror: {message}", "text", wrap=True)


def user_run(files: dict[str, str], stage: str = "fit", epochs: int = 0,
             options: Options = (), trace: bool = True,
             lines: tuple[str, ...] | None = ()) -> str:
    """What a run with these plugin files printed, made on the sample when the page is built.

    With ``lines``, only the lines that start with one of them, and the
    notes, are kept; ``lines=None`` keeps everything.
    """
    printed = io.StringIO()
    with user_files(files), contextlib.redirect_stdout(printed), \
            contextlib.redirect_stderr(printed):
        mnistlab.run(stage, epochs=epochs, data="sample", plugins=list(files),
                     options=dict(options), trace=trace)
    kept = [line for line in printed.getvalue().splitlines()
            if lines is None or line.startswith(("note:", *lines))]
    title = command(stage, epochs, SEED, tuple(files), options, trace=trace)
    return fence("\n".join(kept), "text", title=title, wrap=True)


def observer_sources() -> str:
    """The source of every built-in observer plugin that each run registers."""
    parts = []
    for name in OBSERVERS:
        parts.append(f"### `{name}`\n")
        parts.append(source_block(name))
    return "\n".join(parts)


def trace_lines(stage: str, hooks: tuple[str, ...], plugins: tuple[str, ...] = (),
                options: Options = ()) -> str:
    """The ``--trace`` lines of a 0-epoch run that concern ``hooks``."""
    printed, _ = run(stage, 0, SEED, plugins, options, trace=True)
    lines = [line for line in printed.splitlines()
             if line.startswith("[trace]") and line.split()[1].rstrip(":") in hooks]
    return fence("\n".join(lines), "text",
                 title=command(stage, 0, SEED, plugins, options, trace=True))


def default_argument_probe() -> str:
    """What the installed pluggy passes to an argument that has a default value."""
    import pluggy

    seen = {}

    class Probe:
        @hookspecs.hookimpl
        def make_update(self, model, config=None):
            seen["config"] = config

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        mnistlab.run("fit", epochs=0, data="sample", plugin_objects=(Probe(),),
                     blocked=("console",))
    received = ("`None`, its default: pluggy did not pass it" if seen["config"] is None
                else "the run's `RunConfig`: pluggy passed it")
    return (f"This site was built with pluggy {pluggy.__version__}, where "
            f"`make_update(self, model, config=None)` received {received}.")


# --- run folders ---------------------------------------------------------------


def inline_png(path: str | Path, alt: str) -> str:
    """An ``<img>`` holding the PNG itself, so the page needs no file beside it."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'


@functools.cache
def run_folder(stage: str = "fit", epochs: int = 5) -> Path:
    """A run folder written at build time by ``mnistlab run --out``, through the real CLI."""
    folder = Path(tempfile.mkdtemp(prefix="mnistlab-docs-run-")) / f"{stage}-example"
    result = CliRunner().invoke(cli, ["run", "--stage", stage, "--epochs", str(epochs),
                                      "--data", "sample", "--out", str(folder), "--quiet"],
                                catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"mnistlab run failed: {result.output}")
    return folder


def folder_listing(folder: Path) -> str:
    """The files of a run folder with their sizes, as ``ls -l`` would list them."""
    rows = [f"{path.stat().st_size:>9,}  {path.name}" for path in sorted(folder.iterdir())]
    return fence("\n".join(rows), "text", title=f"ls {folder.name}/")
