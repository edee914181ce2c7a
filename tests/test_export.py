"""``mnistlab export``: every stage as a plain script and a notebook that print mnistlab's numbers.

The fast tier checks what the files hold (every stage's notebook holds its script's code, cell for
part) and the refusals, and runs one script, printed to stdout, on the sample with plain
``python`` (mnistlab made unimportable). The full tier runs every stage's script on the sample
the same way, each in a fresh process forked from one that has imported torch
(``RUN_EACH_IN_A_FORK``), and every stage's notebook in a real Jupyter kernel on the tiny data
(one kernel, emptied before each notebook: ``notebooks`` says why); it compares the last line each
prints with ``mnistlab run --json``: equal in every key and every number but the seconds, which
are the wall-clock time each run took. The distributed script under torchrun is checked in
``test_distributed.py``, against the two-process run made there.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from helpers import EXAMPLES, invoke, refused, tiny_data, without_seconds

from mnistlab.exporter import build
from mnistlab.stages import STAGE_NAMES, TUTORIAL_FUNCTIONS

SETTINGS = ("--epochs", "1", "--seed", "3")
SAMPLE = (*SETTINGS, "--data", "sample")  # one epoch of the sample
ADAM = str(EXAMPLES / "adam.py")
PAGES = EXAMPLES.parent / "docs" / "stages"
# Stage, and --plugin files: every stage, and a stage whose update a user's plugin fills.
CASES = [*((stage,) for stage in STAGE_NAMES), ("optim", ADAM)]
# `import mnistlab` fails in a process that finds this sitecustomize first.
BLOCK_MNISTLAB = 'import sys\n\nsys.modules["mnistlab"] = None  # the script must not need it\n'
ANSI = re.compile(r"\x1b\[|\x1b\]")
# Where the data file is, the one line in which a script's code and its notebook's differ.
SCRIPT_DATA = 'DATA = Path(__file__).with_name("{}")'
NOTEBOOK_DATA = 'DATA = Path("{}")  # beside this notebook, where Jupyter starts it'


def tiny() -> tuple[str, ...]:
    """One epoch of the tiny data: 4 training steps, 1 validation batch."""
    return (*SETTINGS, "--data", tiny_data())


def case_id(case: tuple[str, ...]) -> str:
    return "+".join(Path(part).stem for part in case)


def plugin_options(case: tuple[str, ...]) -> list[str]:
    return [option for plugin in case[1:] for option in ("--plugin", plugin)]


@functools.cache
def reference(case: tuple[str, ...], settings: tuple[str, ...]) -> dict:
    """The last line of ``mnistlab run --json`` with the same settings, kept per case."""
    result = invoke("run", "--stage", case[0], *settings, *plugin_options(case), "--json",
                    "--no-save", "--quiet")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def blocked(folder: Path) -> dict[str, str]:
    """The environment of a process that cannot import mnistlab: PYTHONPATH finds the blocker."""
    (folder / "blocker").mkdir(exist_ok=True)
    (folder / "blocker" / "sitecustomize.py").write_text(BLOCK_MNISTLAB, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(folder / "blocker")}


def run_script(path: Path, folder: Path) -> dict:
    """``python SCRIPT`` from another folder, with mnistlab unimportable; its last line."""
    env = blocked(folder)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=folder / "blocker", env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage exported as a script into one folder, sharing one data file."""
    folder = tmp_path_factory.mktemp("exports")
    for stage in STAGE_NAMES:
        assert invoke("export", "--stage", stage, *tiny(), "--out", str(folder)).exit_code == 0
    return folder


# --- what a script holds ---------------------------------------------------------------------


def test_every_stage_exports_beside_one_data_file(scripts):
    assert sorted(path.name for path in scripts.iterdir()) == sorted(
        [f"{stage}.py" for stage in STAGE_NAMES] + ["mnist.pkl.gz"])  # tiny/mnist.pkl's


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_a_script_imports_nothing_of_mnistlab_nor_pluggy(scripts, stage):
    tree = ast.parse((scripts / f"{stage}.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                for alias in getattr(node, "names", ()) if isinstance(node, ast.Import)}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"mnistlab", "pluggy"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "hookimpl" not in names


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_a_script_names_the_tutorials_functions_from_the_step_that_brings_each(scripts, stage):
    tree = ast.parse((scripts / f"{stage}.py").read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    for function, first in TUTORIAL_FUNCTIONS.items():
        has = STAGE_NAMES.index(stage) >= STAGE_NAMES.index(first)
        assert (function in defined) == has, function


def test_the_scripts_pass_the_linter(scripts):
    # F811: at the scratch stages the run binds `loss_func = make_loss()`, which is hand_loss's
    # own loss_func: the same function under the same name.
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select",
                           "E,F,W,I", "--ignore", "F811", "--line-length", "100", str(scripts)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_a_name_two_plugins_define_is_renamed_in_the_later_one(scripts):
    text = (scripts / "wrapped.py").read_text(encoding="utf-8")
    assert "def preprocess(x):" in text and "Lambda(preprocess)," in text  # the model's
    assert "def preprocess_batches(x, y, device):" in text  # wrapped_loader's
    assert "`preprocess` is `preprocess_batches` here" in text


def test_a_user_plugin_is_exported_from_its_own_source():
    made = build("optim", epochs=1, data=tiny_data(), plugins=[ADAM])
    assert f"# %% Update: {ADAM} (--plugin)" in made.text
    assert f"The update is {ADAM}'s (--plugin)." in " ".join(made.text.split())
    assert "return optim.Adam(model.parameters(), lr=1e-3)" in made.text
    assert "make_update(model)" in made.text  # called with the arguments it takes
    stopping = build("fit", epochs=1, data=tiny_data(),
                     plugins=[str(EXAMPLES / "early_stopping.py")])
    assert "Left out: " in stopping.text and "which a plain script never calls" in stopping.text


# --- the numbers -------------------------------------------------------------------------------


def test_a_script_printed_to_stdout_runs_on_data_in_the_cache(tmp_path, monkeypatch,
                                                              data_cache):
    # The one script of the fast tier, and the one on the sample: the data mnistlab embeds,
    # written to the cache as the tutorial's file (with an empty test split), run by plain python.
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "--stage", "scratch", *SAMPLE)
    assert result.exit_code == 0
    assert list(tmp_path.iterdir()) == []  # nothing written where the command ran
    assert result.stdout.startswith('"""Stage 1 of mnistlab, scratch:')
    (cached,) = (data_cache / "exports").iterdir()
    assert f"the script reads its data from {cached}" in result.stderr
    script = tmp_path.parent / f"{tmp_path.name}-scratch.py"
    script.write_text(result.stdout, encoding="utf-8")
    assert without_seconds(run_script(script, tmp_path)) == without_seconds(
        reference(("scratch",), SAMPLE))


# Runs each script named on its command line as `python SCRIPT` runs it (as __main__, its own
# folder first on sys.path) in a fresh process forked from this one, which has imported torch
# and nothing of mnistlab: the imports, most of a script's time, are paid once for all of them.
# Each one's output goes to SCRIPT.out, and its exit status to this process's own output.
RUN_EACH_IN_A_FORK = """
import os
import runpy
import sys

import torch  # noqa: F401  what every script imports first
import torch._dynamo  # noqa: F401  what torch.optim imports when a script makes its optimizer

for script in sys.argv[1:]:
    process = os.fork()
    if process == 0:
        with open(script + ".out", "w") as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
        sys.argv, sys.path[0] = [script], os.path.dirname(script)
        try:
            runpy.run_path(script, run_name="__main__")
            status = 0
        except SystemExit as end:
            status = end.code if isinstance(end.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    print(script, os.waitstatus_to_exitcode(os.waitpid(process, 0)[1]), flush=True)
"""


@pytest.fixture(scope="module")
def sample_scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """Every case exported on the sample into one folder, each run with plain ``python``,
    mnistlab unimportable: by case, its exit status and what it printed."""
    folder = tmp_path_factory.mktemp("sample-scripts")
    paths = {case_id(case): folder / f"{case_id(case)}.py" for case in CASES}
    for case in CASES:
        assert invoke("export", "--stage", case[0], *SAMPLE, *plugin_options(case), "--out",
                      str(paths[case_id(case)])).exit_code == 0
    env = blocked(folder)  # and from another folder than theirs, as run_script runs one
    done = subprocess.run([sys.executable, "-c", RUN_EACH_IN_A_FORK, *map(str, paths.values())],
                          capture_output=True, text=True, cwd=folder / "blocker", env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    status = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines())
    return {name: (int(status[str(path)]), Path(f"{path}.out").read_text(encoding="utf-8"))
            for name, path in paths.items()}


@pytest.mark.slow  # the fast tier runs one script: scratch's, printed to stdout (above)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_script_prints_what_mnistlab_run_prints(sample_scripts, case):
    status, printed = sample_scripts[case_id(case)]
    assert status == 0, printed[-4000:]
    assert without_seconds(json.loads(printed.splitlines()[-1])) == without_seconds(
        reference(case, SAMPLE))


# --- notebooks ---------------------------------------------------------------------------------


def test_a_notebook_is_the_page_then_the_scripts_parts():
    made = build("fit", format="ipynb", epochs=1, data=tiny_data())
    book = nbformat.reads(made.text, as_version=4)
    nbformat.validate(book)
    markdown = "\n".join(cell.source for cell in book.cells if cell.cell_type == "markdown")
    code = [cell.source for cell in book.cells if cell.cell_type == "code"]
    assert markdown.startswith("# 9 · fit: `loss_batch()` and `fit()`")
    prose = (PAGES / "fit.md").read_text().split("\n\n")[1]
    assert " ".join(prose.split()) in " ".join(markdown.split())  # the page's own prose
    assert 'exec="on"' not in markdown and "stage_page(" not in markdown  # its build blocks
    assert "](" not in markdown.split("## In the PyTorch docs")[0]  # no links into the site
    assert code[1:] == [part.code for part in made.parts]
    assert 'DATA = Path("mnist.pkl.gz")' in code[2]
    assert build("fit", format="ipynb", epochs=1, data=tiny_data()).text == made.text


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_notebooks_code_is_its_scripts_code(case):
    """Cell for part, the same code but the data file's path: a notebook computes what its
    script computes (the full tier runs both, the scripts on the sample, the notebooks on the
    tiny data)."""
    settings = {"epochs": 1, "seed": 3, "data": tiny_data(), "plugins": list(case[1:])}
    script = build(case[0], **settings)
    made = build(case[0], format="ipynb", **settings)
    book = nbformat.reads(made.text, as_version=4)
    nbformat.validate(book)
    code = [cell.source for cell in book.cells if cell.cell_type == "code"]
    assert code[1:] == [part.code for part in made.parts]
    # The script: its docstring, the imports (the notebook's first code cell), then each part
    # as a `# %% TITLE` cell of comments (the part's prose) and the part's code.
    docstring, body = script.text.split('\n"""\n\n', 1)
    imports, *cells = re.split(r"\n+# %% ", body.rstrip("\n"))
    assert docstring.startswith(f'"""Stage {STAGE_NAMES.index(case[0]) + 1} of mnistlab')
    assert imports == code[0]
    assert [cell.split("\n", 1)[0] for cell in cells] == [part.title for part in made.parts]
    programs = []
    for cell in cells:
        comments, _, program = cell.split("\n", 1)[1].partition("\n\n")
        assert all(line.startswith("#") for line in comments.splitlines()), comments
        programs.append(program)
    data = (NOTEBOOK_DATA.format(made.data_name), SCRIPT_DATA.format(script.data_name))
    assert sum(source.count(data[0]) for source in code) == 1  # one line, in the data's cell
    assert programs == [source.replace(*data) for source in code[1:]]


def executed(folder: Path, code: str) -> nbformat.NotebookNode:
    """A notebook of one cell of ``code`` run in a Jupyter kernel of its own, in ``folder``."""
    from nbclient import NotebookClient

    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return book


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    """Every stage exported as a notebook into one folder, beside one data file, and one Jupyter
    kernel started there, with mnistlab unimportable, to run them in turn.

    A kernel spends seconds starting and importing torch (and torch._dynamo, for the first
    optimizer), the same for every notebook and most of what one costs on the tiny data (the
    scripts, the same code, run on the sample). So one kernel runs them all, each from a
    namespace that ``%reset -f`` has emptied: a name a notebook forgot to import is unbound,
    while the modules stay imported.
    """
    from jupyter_client.manager import KernelManager

    folder = tmp_path_factory.mktemp("notebooks")
    for stage in STAGE_NAMES:
        assert invoke("export", "--stage", stage, *tiny(), "--format", "ipynb", "--out",
                      str(folder)).exit_code == 0
    kernel = KernelManager(kernel_name="python3")
    kernel.start_kernel(env=blocked(folder), cwd=str(folder))
    yield folder, kernel
    kernel.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_a_notebook_prints_what_mnistlab_run_prints(notebooks, stage):
    from nbclient import NotebookClient

    folder, kernel = notebooks
    book = nbformat.read(folder / f"{stage}.ipynb", as_version=4)
    book.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))  # nothing of the one before
    client = NotebookClient(book, km=kernel, timeout=600)
    client.execute()
    client.kc.stop_channels()  # the kernel is the module's: only this client ends here
    last = book.cells[-1].outputs[-1]
    assert last.output_type == "stream" and last.name == "stdout"
    assert without_seconds(json.loads(last.text.splitlines()[-1])) == without_seconds(
        reference((stage,), tiny()))


@pytest.mark.slow
def test_a_run_in_a_notebook_draws_its_progress_bar_without_escape_codes(tmp_path):
    book = executed(tmp_path, 'import mnistlab\n\nmnistlab.run("fit", '
                    'epochs=2, data="sample")')
    outputs = book.cells[0].outputs
    text = [output.get("text", "") + json.dumps(output.get("data", {})) for output in outputs]
    assert not [line for line in text if ANSI.search(line)]
    bars = [output.data for output in outputs if output.output_type == "display_data"]
    assert len(bars) == 1  # one bar for the run, updated in place
    assert '<progress value="63" max="63">' in bars[0]["text/html"]
    assert bars[0]["text/plain"].startswith("epoch 2  63/63  loss ")
    assert "validation after training" in "".join(text)


# --- refusals ----------------------------------------------------------------------------------


def test_an_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text("mine\n", encoding="utf-8")
    line = refused("export", "--stage", "fit", *SAMPLE, "--out", str(script))
    assert line == f"{str(script)!r} exists; pass --force to replace it, or choose another --out"
    assert script.read_text(encoding="utf-8") == "mine\n"
    assert [path.name for path in tmp_path.iterdir()] == ["fit.py"]  # no data, no temp file
    assert invoke("export", "--stage", "fit", *SAMPLE, "--out", str(script),
                  "--force").exit_code == 0
    assert script.read_text(encoding="utf-8").startswith('"""Stage 9 of mnistlab, fit:')


def test_a_data_file_is_shared_when_it_holds_the_same_data_and_refused_when_not(tmp_path):
    for stage in ("fit", "cnn"):
        assert invoke("export", "--stage", stage, *SAMPLE, "--out",
                      str(tmp_path)).exit_code == 0
    data = tmp_path / "sample.pkl.gz"
    data.write_bytes(b"other data")
    line = refused("export", "--stage", "dataloader", *SAMPLE, "--out", str(tmp_path))
    assert line == f"{str(data)!r} holds other data; pass --force to replace it, or choose " \
                   "another --out"
    assert not (tmp_path / "dataloader.py").exists()
    assert invoke("export", "--stage", "dataloader", *SAMPLE, "--out", str(tmp_path),
                  "--force").exit_code == 0
    assert data.read_bytes() == build("fit", epochs=1, data="sample").data


def test_mistakes_are_one_line(tmp_path):
    assert refused("export", "--stage", "fitt") == (
        "unknown stage 'fitt' (did you mean 'fit'?); run `mnistlab stages` to list them")
    assert refused("export") == "missing --stage; run `mnistlab stages` to list them"
    assert refused("export", "--stage", "fit", "--out", str(tmp_path / "fit.ipynb"),
                   "--format", "py") == (f"--out {tmp_path / 'fit.ipynb'} is a .ipynb file but "
                                         "--format is py; make them agree")
    assert refused("export", "--stage", "fit", "--out", str(tmp_path / "no" / "fit.py")) == (
        f"folder {str(tmp_path / 'no')!r} does not exist; make it first, or choose another "
        "--out")
    assert refused("export", "--stage", "fit", "--out", f"{tmp_path / 'no'}/") == (
        f"folder {str(tmp_path / 'no')!r} does not exist; make it first, or choose another "
        "--out")
    assert refused("export", "--stage", "fit", "--data", "nothing-here").startswith(
        "'nothing-here' is not a dataset name or an existing file or folder")
    assert list(tmp_path.iterdir()) == []
