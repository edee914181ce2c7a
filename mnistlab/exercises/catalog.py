"""The exercises: one per stage whose swapped plugin has an exercise file.

An exercise is data kept beside its plugin, ``plugins/exercises/PLUGIN.md``,
so that the kernel names no plugin: the stage table says which plugin a stage
swaps in, and that plugin's file says what to ask of a learner. The file has
these sections (``## Task``, ``## Steps``, ``## Hints``, ``## Check`` and
``## Stub``); the first stage swaps nothing, so its exercise is the first of
its plugins that has a file. Nothing here imports torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mnistlab.errors import MnistlabError, closest
from mnistlab.sources import plugin_path
from mnistlab.stages import PIECE_HOOKS, PIECES, STAGES, get_stage, pieces_of

_SECTION = re.compile(r"^## (\w+)\s*$", re.MULTILINE)
_ITEM = re.compile(r"^- ", re.MULTILINE)


@dataclass(frozen=True)
class Tolerance:
    """How closely a learner's run must follow the reference's, and for how long.

    Attributes:
        rtol: the relative difference allowed between two training losses
            (0: equal to the last bit).
        epochs: whole epochs compared (with what the loop measures at their end).
        batches: training batches compared after them.
        init: judge the learner's own initial weights by their statistics.
        why: why this tolerance, in a sentence or two.
    """

    rtol: float = 0.0
    epochs: int = 1
    batches: int = 4
    init: bool = False
    why: str = ""


@dataclass(frozen=True)
class Exercise:
    """One exercise: write the plugin that ``stage`` swaps in."""

    stage: str
    piece: str
    plugin: str
    title: str
    task: str
    steps: tuple[str, ...]
    hints: tuple[str, ...]
    tolerance: Tolerance
    stub: str
    path: Path = field(repr=False)

    @property
    def hook(self) -> str:
        """The hook the learner's plugin implements."""
        return PIECE_HOOKS[self.piece]


def exercise_file(plugin: str) -> Path:
    """Where the exercise of the built-in plugin ``plugin`` is kept (it may not exist)."""
    source = plugin_path(plugin)
    return source.parent / "exercises" / f"{source.stem}.md"


def _exercise_piece(stage: str) -> str | None:
    """The piece a learner writes for ``stage``: the one it swaps, else its first with a file."""
    info = get_stage(stage)
    candidates = [info.swaps] if info.swaps else list(PIECES)
    filled = pieces_of(stage)
    return next((piece for piece in candidates if exercise_file(filled[piece]).is_file()), None)


def exercises() -> list[Exercise]:
    """Every exercise, in the order of the stages."""
    return [read(stage.name) for stage in STAGES if _exercise_piece(stage.name)]


def get_exercise(stage: str) -> Exercise:
    """The exercise of ``stage``, or an error that lists the stages that have one."""
    get_stage(stage)  # an unknown name: the stage table's own error
    if _exercise_piece(stage) is None:
        names = [info.name for info in STAGES if _exercise_piece(info.name)]
        raise MnistlabError(f"stage {stage!r} has no exercise{closest(stage, names)}; "
                            "run `mnistlab exercise` to list them")
    return read(stage)


def read(stage: str) -> Exercise:
    """Read the exercise of ``stage`` from its plugin's exercise file."""
    piece = _exercise_piece(stage)
    plugin = pieces_of(stage)[piece]
    path = exercise_file(plugin)
    text = path.read_text(encoding="utf-8")
    title = text.split("\n", 1)[0].removeprefix("# ").strip()
    parts = _SECTION.split(text)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    sections = {name.lower(): body.strip() for name, body in pairs}
    missing = {"task", "steps", "hints", "check", "stub"} - set(sections)
    if missing:
        raise MnistlabError(f"{path} lacks the section(s) {', '.join(sorted(missing))}")
    stub = re.search(r"```python\n(.*?)```", sections["stub"], re.DOTALL)
    if stub is None:
        raise MnistlabError(f"{path}: the Stub section holds no ```python block")
    return Exercise(stage, piece, plugin, title, sections["task"], _items(sections["steps"]),
                    _items(sections["hints"]), _tolerance(sections["check"], path),
                    stub.group(1), path)


def _items(text: str) -> tuple[str, ...]:
    """The items of a Markdown list, each joined into one paragraph."""
    return tuple(" ".join(item.split()) for item in _ITEM.split(text) if item.strip())


def _tolerance(text: str, path: Path) -> Tolerance:
    """``key = value`` lines, then ``Why:`` and the reason."""
    settings, _, why = text.partition("Why:")
    values: dict[str, object] = {}
    kinds = {"rtol": float, "epochs": int, "batches": int, "init": lambda v: v == "statistics"}
    for line in settings.splitlines():
        key, equals, value = (part.strip() for part in line.partition("="))
        if not equals:
            continue
        if key not in kinds:
            raise MnistlabError(f"{path}: unknown Check setting {key!r}")
        values[key] = kinds[key](value)
    return Tolerance(**values, why=" ".join(why.split()))
