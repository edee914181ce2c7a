"""Exercises: every reference plugin passes its own exercise, every stub is "not done yet",
every wrong solution fails naming its mistake, and right ones written differently pass.

The learners' solutions live in ``examples/exercises/STAGE/``: ``right_*.py`` must pass,
``wrong_KEY.py`` must fail with the known mistake ``KEY`` named in the report. One exercise
of each kind runs in the fast tier; all of them in the full one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EXAMPLES, invoke

import mnistlab
from mnistlab.exercises import progress
from mnistlab.exercises.api import stub_text
from mnistlab.exercises.catalog import exercises, get_exercise
from mnistlab.exercises.mistakes import KNOWN
from mnistlab.sources import plugin_path
from mnistlab.stages import STAGES

SOLUTIONS = sorted((EXAMPLES / "exercises").glob("*/*.py"))
FAST = ("functional",)  # the cheapest exercise: a logistic model, one epoch


def stage_param(stage: str) -> object:
    return pytest.param(stage, marks=[] if stage in FAST else pytest.mark.slow)


EXERCISES = [stage_param(exercise.stage) for exercise in exercises()]


@pytest.fixture(autouse=True)
def own_progress(tmp_path, monkeypatch):
    """Progress kept in a folder of the test's, never the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_every_stage_that_swaps_a_plugin_has_an_exercise():
    swapping = [stage.name for stage in STAGES if stage.parent and stage.name != "distributed"]
    assert set(swapping) <= {exercise.stage for exercise in exercises()}
    assert len(exercises()) >= 12


@pytest.mark.parametrize("stage", EXERCISES)
def test_the_reference_plugin_passes_its_own_exercise(stage):
    result = mnistlab.check(plugin_path(get_exercise(stage).plugin), stage=stage,
                            keep_progress=False)
    assert result.passed, str(result)
    assert "passed" in str(result).splitlines()[0]


@pytest.mark.parametrize("stage", EXERCISES)
def test_the_stub_fails_with_not_done_yet(stage, tmp_path):
    exercise = get_exercise(stage)
    stub = tmp_path / "stub.py"
    stub.write_text(stub_text(exercise))
    result = mnistlab.check(stub, stage=stage, keep_progress=False)
    assert result.status == "not done yet", str(result)
    assert "Traceback" not in str(result)


def _param(path: Path) -> object:
    return pytest.param(path, id=f"{path.parent.name}/{path.stem}",
                        marks=[] if path.parent.name in FAST else pytest.mark.slow)


@pytest.mark.parametrize("path", [_param(p) for p in SOLUTIONS if p.stem.startswith("wrong_")])
def test_a_wrong_solution_fails_and_the_report_names_the_mistake(path):
    mistake = KNOWN[path.stem.removeprefix("wrong_")]
    result = mnistlab.check(path, stage=path.parent.name, keep_progress=False)
    assert not result.passed
    assert mistake in result.mistakes, str(result)
    assert f"known mistake: {mistake.name}" in str(result)


@pytest.mark.parametrize("path", [_param(p) for p in SOLUTIONS if p.stem.startswith("right_")])
def test_a_right_solution_written_differently_passes(path):
    result = mnistlab.check(path, stage=path.parent.name, keep_progress=False)
    assert result.passed, str(result)
    assert result.diff  # not the reference's file, line for line


def test_every_known_mistake_has_a_wrong_solution():
    keys = {path.stem.removeprefix("wrong_") for path in SOLUTIONS
            if path.stem.startswith("wrong_")}
    assert keys == set(KNOWN)


def test_the_command_line_prints_the_report_the_api_returns(tmp_path):
    path = EXAMPLES / "exercises" / "functional" / "wrong_softmax.py"
    result = mnistlab.check(path, stage="functional")
    done = invoke("check", str(path), "--stage", "functional")
    assert done.exit_code == 1
    assert done.stdout == str(result)
    assert result._repr_html_().startswith("<pre>")
    assert progress.status("functional") == "failing"


def test_a_pass_reveals_the_reference_and_is_kept_as_progress():
    path = EXAMPLES / "exercises" / "functional" / "right_nll_log_softmax.py"
    done = invoke("check", str(path), "--stage", "functional")
    assert done.exit_code == 0, done.output
    assert "the reference solution:" in done.stdout and "return F.cross_entropy" in done.stdout
    assert "functional  loss" in invoke("exercise").stdout
    assert "[passed]" in invoke("exercise").stdout
    assert invoke("exercise", "--reset").exit_code == 0
    assert progress.status("functional") == "not started"


def test_a_plugin_that_raises_is_reported_as_the_learners_with_its_line(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from mnistlab import hookimpl\n\n\n@hookimpl\ndef make_loss():\n"
                    "    return lambda scores, target: F.cross_entropy(scores, target)\n")
    done = invoke("check", str(path), "--stage", "functional")
    assert done.exit_code == 1
    assert "Traceback" not in done.output
    assert (f"your plugin raised NameError: name 'F' is not defined at line 6 of {path}"
            in done.stdout)


def test_a_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def make_loss(:\n")
    result = mnistlab.check(path, stage="functional", keep_progress=False)
    assert not result.passed and f"line 1 of {path}" in str(result)


def test_the_stub_is_written_once_and_the_task_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = invoke("exercise", "functional", "--out", "mine.py")
    assert done.exit_code == 0
    assert "mnistlab check mine.py --stage functional" in done.stdout
    assert "def make_loss():" in (tmp_path / "mine.py").read_text()
    again = invoke("exercise", "functional", "--out", "mine.py")
    assert again.exit_code == 2 and "--force" in again.stderr


@pytest.mark.parametrize(("args", "says"), [
    (("check", "nowhere.py", "--stage", "functional"), "no file 'nowhere.py'"),
    (("check", "x.py", "--stage", "functionl"), "did you mean 'functional'"),
    (("exercise", "functional", "--out", "stub.txt"), "give a .py file name"),
    (("exercise", "--out", "x.py"), "name the exercise's stage"),
])
def test_bad_input_is_one_line(args, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = invoke(*args)
    assert done.exit_code == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_hints_come_one_at_a_time():
    path = EXAMPLES / "exercises" / "functional" / "wrong_softmax.py"
    first = invoke("check", str(path), "--stage", "functional", "--hint").stdout
    second = invoke("check", str(path), "--stage", "functional", "--hint").stdout
    assert "hint 1 of" in first and "hint 2 of" not in first
    assert "hint 2 of" in second


# --- the docs pages ------------------------------------------------------------------------

DOCS = EXAMPLES.parent / "docs"


def test_every_exercise_has_a_page_in_the_exercises_section_of_the_nav():
    import yaml

    class Loader(yaml.SafeLoader):  # mkdocs.yml names a Python function: read past it
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *args: None)
    nav = yaml.load((DOCS.parent / "mkdocs.yml").read_text(), Loader=Loader)["nav"]
    (section,) = [entry["Exercises"] for entry in nav if "Exercises" in entry]
    pages = [next(iter(entry.values())) if isinstance(entry, dict) else entry
             for entry in section]
    assert pages == ["exercises/index.md", *(f"exercises/{ex.stage}.md" for ex in exercises())]
    for exercise in exercises():
        assert f'exercise_page("{exercise.stage}")' in (
            DOCS / "exercises" / f"{exercise.stage}.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("stage", [exercise.stage for exercise in exercises()])
def test_an_exercise_page_shows_the_task_the_hints_and_the_report_the_cli_prints(stage):
    import sys

    sys.path.insert(0, str(DOCS / "_build"))
    from mnistlab_docs.exercise_pages import SOLUTIONS, exercise_page

    exercise = get_exercise(stage)
    page = exercise_page(stage)
    assert exercise.task in page
    assert page.count('??? tip "Hint') == len(exercise.hints)
    assert f"mnistlab check my_{exercise.plugin}.py --stage {stage}" in page
    wrong = sorted((SOLUTIONS / stage).glob("wrong_*.py"))
    if wrong:
        shown = str(mnistlab.check(wrong[0], stage=stage, keep_progress=False))
        path = wrong[0].relative_to(EXAMPLES.parent).as_posix()
        assert shown.replace(str(wrong[0]), path).rstrip() in page


# --- --watch -------------------------------------------------------------------------------


@pytest.mark.slow
def test_watch_checks_again_on_every_save_within_a_second(tmp_path):
    import re
    import shutil
    import signal
    import subprocess
    import sys
    import threading
    import time

    exercise_dir = EXAMPLES / "exercises" / "functional"
    path = tmp_path / "mine.py"
    shutil.copy(exercise_dir / "wrong_softmax.py", path)
    process = subprocess.Popen(
        [sys.executable, "-m", "mnistlab", "check", str(path), "--stage", "functional",
         "--watch"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**__import__("os").environ, "XDG_DATA_HOME": str(tmp_path / "data")})
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()

    def reports(count: int) -> None:
        deadline = time.monotonic() + 60
        while sum("against stage functional:" in line for line in lines) < count:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)

    try:
        reports(1)
        time.sleep(0.3)  # the watcher has taken the file's first stamp
        shutil.copy(exercise_dir / "right_nll_log_softmax.py", path)
        reports(2)
        time.sleep(0.5)  # its timing line, written after the report
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    output = "".join(lines)
    assert "functional: failing" in output and "functional: passed" in output
    assert process.returncode == 0, output  # the last check passed
    assert "Traceback" not in output
    seconds = [float(s) for s in re.findall(r"^\((\d+\.\d+) s\)$", output, re.MULTILINE)]
    assert len(seconds) == 2 and seconds[1] <= 1.0, output


def test_a_data_folder_that_cannot_be_written_loses_the_progress_not_the_check(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "file"))  # a file where a folder goes
    path = EXAMPLES / "exercises" / "functional" / "wrong_softmax.py"
    done = invoke("check", str(path), "--stage", "functional")
    assert done.exit_code == 1 and "note: cannot keep your progress" in done.stderr
