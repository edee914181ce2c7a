"""A stage as the plain program it stands for: its plugins' code, then the run around them.

The parts come in the order the runner builds the pieces: the settings, the
data, then device, model, loss, update, batches and loop, each the source of
the plugin that fills it (see :mod:`mnistlab.export_source`). Last comes what
mnistlab's runner does around the pieces, written out in plain code
(:mod:`mnistlab.export_runner`): the loop's view of the run, the epochs, and
the score after training. A stage has the tutorial's ``get_data``,
``get_model`` and ``fit`` from the step where the tutorial brings each in.
"""

from __future__ import annotations

import inspect
import sys
from typing import TYPE_CHECKING, Any

from mnistlab import export_runner as runner
from mnistlab.export_runner import Part
from mnistlab.export_source import Plain, plugin_code, renamed
from mnistlab.plugin_loading import declared
from mnistlab.stages import FIRST_PIECES, PIECE_HOOKS, PIECES, STAGE_NAMES, TUTORIAL_FUNCTIONS

if TYPE_CHECKING:
    from mnistlab.session import Session


def _call(hook: str, argnames: tuple[str, ...], given: dict[str, str]) -> str:
    """``hook(...)`` passing the arguments its implementation takes, as pluggy does."""
    values = [given.get(name, name) for name in argnames]
    if values == list(argnames):
        return f"{hook}({', '.join(argnames)})"
    pairs = zip(argnames, values, strict=True)
    return f"{hook}({', '.join(f'{name}={value}' for name, value in pairs)})"


def _piece_part(session: Session, piece: str, plain: Plain,
                defined: dict[str, str]) -> tuple[Part, str]:
    """The part of one piece, and how the run calls its hook."""
    filled = session.pieces[piece]
    hook = PIECE_HOOKS[piece]
    plugin = session.pm.get_plugin(filled.plugin)
    module = plugin if inspect.ismodule(plugin) else sys.modules[type(plugin).__module__]
    code = plugin_code(module, hook, plain)
    blocks = [block for obj, alias in code.needs for block in plain.copy(obj, alias)]
    text, notes, renames = code.code, [], {}
    for name in sorted(code.defines & defined.keys()):  # a name another part defines too
        renames[name] = f"{name}_{piece}"
        text = renamed(text, name, renames[name])
        notes.append(f"`{name}` is `{renames[name]}` here: the {defined[name]} has a "
                     f"`{name}` of its own.")
    defined.update(dict.fromkeys(code.defines, piece))
    if not inspect.ismodule(plugin):  # a plugin object: make_plugin() gives a fresh one
        text += f"\n\n\n{hook} = {renames.get('make_plugin', 'make_plugin')}().{hook}"
    impl = next(impl for impl in getattr(session.hook, hook).get_hookimpls()
                if impl.plugin_name == filled.plugin)
    call = _call(hook, tuple(impl.argnames), {"device": "dev"} if piece == "device" else {})
    where = (f"plugins/{filled.plugin}.py" if filled.origin == "built-in"
             else f"{filled.plugin} ({filled.origin})")
    prose = "\n\n".join([code.docstring, *notes]).strip()
    return Part(f"{piece.capitalize()}: {where}", prose, "\n\n\n".join([*blocks, text])), call


def has(stage: str, function: str) -> bool:
    """Whether the tutorial has ``function`` (``get_model``, ...) at the step of ``stage``."""
    return STAGE_NAMES.index(stage) >= STAGE_NAMES.index(TUTORIAL_FUNCTIONS[function])


def script_parts(session: Session, data_path: str, description: str,
                 settings: dict[str, Any]) -> tuple[list[Part], Plain]:
    """Every part of the stage ``session`` was assembled for, and the imports they need.

    ``data_path`` is the Python expression of the data file's path; ``description`` says
    what the file holds; ``settings`` are the lesson's settings, written as constants.
    """
    config, plain = session.config, Plain()
    plain.add_imports(runner.IMPORTS)
    defined = dict.fromkeys(runner.DEFINES, "run")
    parts, calls = [], {}
    for piece in PIECES:
        if piece == "data":  # the file export writes beside the script
            continue
        if piece == "device" and config.device is not None:
            calls[piece] = f"torch.device({runner.literal(config.device)})  # --device"
            continue
        part, calls[piece] = _piece_part(session, piece, plain, defined)
        parts.append(part)
    loop = session.pm.get_plugin(session.pieces["loop"].plugin)
    joins = declared(loop, "JOINS_PROCESSES")
    flags = config.device is not None or session.pieces["device"].plugin != FIRST_PIECES["device"]
    if flags:  # the device may be an accelerator: the kernels' setting matters there
        settings = {**settings, "deterministic": config.deterministic}
    plain.add_imports(["import os"] * (joins or flags)
                      + ["import sys", "import torch.distributed as dist"] * joins)
    evaluate = plain.copy(_evaluate(), "evaluate")
    plan = runner.Plan(
        stage=config.stage, data=session.data.name, settings=settings, calls=calls,
        to_device=hasattr(session.model, "to"), flags=flags, joins=joins,
        functions=tuple(name for name in TUTORIAL_FUNCTIONS if has(config.stage, name)),
        options=dict(config.options))
    return [*runner.head(plan, data_path, description), *parts,
            *runner.tail(plan, "\n\n\n".join(evaluate))], plain


def _evaluate() -> Any:
    from mnistlab.metrics import evaluate

    return evaluate
