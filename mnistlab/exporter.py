"""``mnistlab export``: a stage as one plain PyTorch script or notebook, with its data file.

:func:`build` makes the files in memory and writes nothing; :func:`export`
writes them. The script imports nothing of mnistlab and reads its data from a
file in the tutorial's ``mnist.pkl.gz`` format; run with ``python``, its last
line is the JSON that ``mnistlab run --json`` prints with the same settings,
the seconds aside (``docs/runs.md`` says why it is exact).
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistlab import arguments
from mnistlab._version import __version__
from mnistlab.atomic import atomic_write, write_text
from mnistlab.errors import MnistlabError
from mnistlab.export_runner import Part
from mnistlab.stages import STAGE_NAMES, get_stage

FORMATS = ("py", "ipynb")
EXPORTS = "exports"  # the folder of the data cache that holds the data of scripts printed


@dataclass(frozen=True)
class Exported:
    """A stage written out as plain code.

    Attributes:
        stage: the stage's name.
        format: ``"py"`` (a script) or ``"ipynb"`` (a notebook).
        text: the script, or the notebook as JSON.
        parts: the script's parts: a notebook's code cells, in order.
        data_name: the name of the data file the script reads.
        data: that file's bytes: a gzipped pickle in the tutorial's format.
        path: where the script or notebook was written, if it was.
        data_path: where the data file is (beside ``path``, or in the data cache).
    """

    stage: str
    format: str
    text: str
    parts: list[Part]
    data_name: str
    data: bytes
    path: Path | None = None
    data_path: Path | None = None


def build(stage: str, *, format: str = "py", data_folder: str | Path | None = None,
          **settings: Any) -> Exported:
    """Write ``stage`` as a script (``format="py"``) or notebook (``"ipynb"``), in memory.

    The data file is named as beside the script unless ``data_folder`` is
    given: then the script names it by its path in that folder. ``settings``
    are those of :func:`mnistlab.run` (``epochs``, ``seed``, ``data``, ...).
    Nothing is written anywhere.
    """
    from mnistlab import data as datasets
    from mnistlab.assembly import assemble
    from mnistlab.config import make_config
    from mnistlab.export_script import script_parts

    if format not in FORMATS:
        raise MnistlabError(f"unknown format {format!r}; use one of: {', '.join(FORMATS)}")
    config = make_config(stage, **settings)
    session = assemble(config, quiet=True)
    splits = datasets.load(config.data, config.data_dir)
    if splits.checksum != session.data.checksum:
        raise MnistlabError(f"the data piece of this run ({session.pieces['data'].who}) makes "
                            f"other data than {splits.name!r}, and an exported script reads the "
                            "data --data names; drop the plugin that fills the data")
    slug = re.sub(r"[^\w.-]+", "-", re.sub(r"\.pkl(\.gz)?$", "", Path(splits.name).name)) or "data"
    if data_folder is None:
        name = f"{slug}.pkl.gz"
        where = (f'Path(__file__).with_name("{name}")' if format == "py"
                 else f'Path("{name}")  # beside this notebook, where Jupyter starts it')
    else:
        name = f"{slug}-{splits.checksum[:12]}.pkl.gz"
        where = f"Path({str(Path(data_folder).resolve() / name)!r})"
    parts, plain = script_parts(session, where, splits.description, dict(config.lesson))
    if format == "py":
        text = _script(stage, name, parts, plain.import_lines(), data_folder is None,
                       _elsewhere(session))
    else:
        from mnistlab.export_notebook import notebook

        text = notebook(stage, parts, plain.import_lines())
    return Exported(stage, format, text, parts, name, _tutorial_pickle(splits))


def export(stage: str, out: str | Path | None = None, *, format: str | None = None,
           force: bool = False, **settings: Any) -> Exported:
    """Write ``stage`` as a plain script or notebook, and the data file it reads.

    Args:
        stage: a stage name from ``mnistlab stages``.
        out: the file to write, or a folder to write ``STAGE.py`` (or ``.ipynb``) in; the
            data file goes beside it. Without it, the data goes to the data cache
            (``<data folder>/exports/``), and the text is returned for the caller to show.
        format: ``"py"`` or ``"ipynb"``; by default the suffix of ``out``, else ``"py"``.
        force: replace the files that ``out`` would write, where they exist.
        **settings: those of :func:`mnistlab.run`.
    """
    stage = arguments.text("stage", stage, "a stage name from `mnistlab stages`")
    force = arguments.flag("force", force)
    target = None if out is None else arguments.path("out", out)
    if target is not None and (target.is_dir() or str(out).endswith(("/", os.sep))):
        target = target / f"{stage}.{format or 'py'}"  # a folder: STAGE.py in it
    suffix = target.suffix.lstrip(".") if target is not None else ""
    if format is None:
        format = suffix if suffix in FORMATS else "py"
    elif suffix in FORMATS and suffix != format:
        raise MnistlabError(f"--out {out} is a .{suffix} file but --format is {format}; make "
                            "them agree")
    get_stage(stage)
    if target is None:
        from mnistlab.data import resolve_data_dir

        folder = resolve_data_dir(settings.get("data_dir")) / EXPORTS
        made = build(stage, format=format, data_folder=folder, **settings)
        data_path = folder / made.data_name
        if not data_path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            _write_bytes(data_path, made.data)
        return Exported(**{**vars(made), "data_path": data_path})
    if not target.parent.is_dir():
        raise MnistlabError(f"folder {str(target.parent)!r} does not exist; make it first, or "
                            "choose another --out")
    _refuse_existing(target, None, force)
    made = build(stage, format=format, **settings)
    data_path = target.parent / made.data_name
    if _refuse_existing(data_path, made.data, force):
        _write_bytes(data_path, made.data)
    write_text(target, made.text)
    return Exported(**{**vars(made), "path": target, "data_path": data_path})


def _refuse_existing(path: Path, content: bytes | None, force: bool) -> bool:
    """Refuse to replace ``path`` without ``force``; whether it must be written.

    A data file that already holds exactly ``content`` is kept as it is, so that
    a script and a notebook, or several stages, can share one.
    """
    if not os.path.lexists(path):
        return True
    if path.is_dir() and not path.is_symlink():
        raise MnistlabError(f"{str(path)!r} is a folder; choose another --out")
    if content is not None and not path.is_symlink() and path.read_bytes() == content:
        return False
    if not force:
        what = "holds other data" if content is not None else "exists"
        raise MnistlabError(f"{str(path)!r} {what}; pass --force to replace it, or choose "
                            "another --out")
    return True


def _write_bytes(path: Path, content: bytes) -> None:
    with atomic_write(path) as file:
        file.write(content)


_PICKLED: dict[str, bytes] = {}  # the last data file made, by checksum: stages share it


def _tutorial_pickle(splits: Any) -> bytes:
    """The splits as the tutorial's ``mnist.pkl.gz``: the same bytes for the same data."""
    if splits.checksum not in _PICKLED:
        x_test, y_test = splits.x_test, splits.y_test
        if x_test is None:  # the sample has no test split: an empty one keeps the format
            x_test, y_test = splits.x_valid[:0], splits.y_valid[:0]
        content = ((splits.x_train, splits.y_train), (splits.x_valid, splits.y_valid),
                   (x_test, y_test))
        buffer = io.BytesIO()
        # Level 3: within 11% of the smallest file, in a fifteenth of the time.
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=3, mtime=0) as file:
            pickle.dump(content, file, protocol=4)
        _PICKLED.clear()
        _PICKLED[splits.checksum] = buffer.getvalue()
    return _PICKLED[splits.checksum]


def _elsewhere(session: Any) -> str:
    """What the script says of the plugins that are not mnistlab's: the pieces they fill, and
    the hooks it leaves out (a plain script has no observers)."""
    from mnistlab.introspect import describe
    from mnistlab.stages import PIECE_HOOKS

    said = [f"The {piece} is {filled.plugin}'s ({filled.origin})."
            for piece, filled in session.pieces.items() if filled.origin != "built-in"]
    for name, origin, hooks in describe(session.pm):
        left = [hook for hook in hooks if hook not in (*PIECE_HOOKS.values(), "plugin_options")]
        if origin != "built-in" and left:
            said.append(f"Left out: {name}'s {', '.join(left)}, which a plain script never calls.")
    return " ".join(said)


def _script(stage: str, data_name: str, parts: list[Part], imports: str, beside: bool,
            elsewhere: str = "") -> str:
    """The script: a docstring that says what it is, its imports, then its parts as cells."""
    info = get_stage(stage)
    number = STAGE_NAMES.index(stage) + 1
    data = (f"{data_name} beside it" if beside else f"{data_name} in mnistlab's data cache")
    why = info.why[:1].upper() + info.why[1:]
    elsewhere = f"{elsewhere} " if elsewhere else ""
    header = (f'"""Stage {number} of mnistlab, {stage}: {info.title}.\n\n{why}.'
              f"\n\nThe program that `mnistlab run --stage {stage}` runs, in plain PyTorch: each "
              "piece is the source of the plugin that fills it at this stage (without pluggy's "
              "@hookimpl and mnistlab's imports), and the last parts are what mnistlab's runner "
              f"does around the pieces. Written by `mnistlab export` (mnistlab {__version__}); "
              f"it imports nothing from mnistlab. {elsewhere}Run it with `python {stage}.py`: "
              "it reads "
              f"{data}, and its last line is the JSON that `mnistlab run --stage {stage} --json`"
              " prints with the same settings, the seconds aside.")
    if any("dist.destroy_process_group" in part.code for part in parts):
        header += (f" `torchrun --standalone --nproc-per-node 2 {stage}.py` runs it as two "
                   "processes.")
    body = "\n\n\n".join(_cell(part) for part in parts)
    return f"{_wrap(header)}\n\"\"\"\n\n{imports}\n\n{body}\n"


def _cell(part: Part) -> str:
    prose = "\n".join(f"# {line}".rstrip() for line in _wrap(part.prose, 98).splitlines())
    return f"# %% {part.title}\n{prose}\n\n{part.code}"


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return "\n".join(textwrap.fill(paragraph, width, break_on_hyphens=False,
                                   break_long_words=False) if paragraph.strip() else ""
                     for paragraph in text.split("\n"))
