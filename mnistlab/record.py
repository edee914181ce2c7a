"""A run's record, ``config.json``: written from a session, read back into its settings.

The record keeps the lesson's settings apart from what the run was built
from, so a reader sees at once what the learner varied. Reading it back
never imports the plugins it names: the run's ``--plugin`` files must be
given again and match the hashes recorded here.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mnistlab import launch
from mnistlab.config import LESSON, RunConfig, make_config
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import CONFIG, RunFolder
from mnistlab.session import Session
from mnistlab.stages import OBSERVERS

# Settings that older run folders recorded and that are no longer part of a run's settings.
_RETIRED = ("stage", "out", "force", "epochs_from_tutorial")


def make_record(session: Session, folder: RunFolder) -> dict[str, Any]:
    """What ``config.json`` holds; copies each ``--plugin`` file into the folder."""
    import torch

    from mnistlab._version import __version__
    from mnistlab.introspect import describe, describe_update

    config, data = session.config, session.data
    settings = {key: value for key, value in asdict(config).items()
                if key not in ("stage", *LESSON)}
    user_plugins = []
    for index, (spec, source) in enumerate(session.pm.sources.items(), start=1):
        copy, text = folder.copy_plugin(index, source)
        user_plugins.append({"spec": spec, "sha256": hashlib.sha256(text).hexdigest(),
                             "copy": copy})
    return {
        "stage": config.stage,
        "lesson": config.lesson,
        "settings": settings,
        "versions": {"mnistlab": __version__, "torch": torch.__version__},
        "data": {"name": data.name, "description": data.description, "checksum": data.checksum},
        "pieces": {piece: {"plugin": filled.plugin, "origin": filled.origin}
                   for piece, filled in session.pieces.items()},
        "user_plugins": user_plugins,
        "update": describe_update(session.opt),
        "plugins": describe(session.pm),
        "device": str(session.device),
    }


def recorded_config(folder: RunFolder, record: dict[str, Any], plugins: tuple[str, ...],
                    object_names: set[str], **changes: Any) -> RunConfig:
    """The ``RunConfig`` that ``record`` describes, with ``changes`` applied.

    A piece filled by a plugin object must be given again (its name in
    ``object_names``); the printing observers a first command left out are
    not part of the run, so they are not left out again.
    """
    try:
        for piece, filled in record.get("pieces", {}).items():
            if filled["origin"] == "object" and filled["plugin"] not in object_names:
                raise MnistlabError(
                    f"the {piece} of the run in {str(folder)!r} came from the plugin object "
                    f"{filled['plugin']!r}, which a folder cannot rebuild; pass it again with "
                    "plugin_objects=[...]")
        settings = {**record["settings"], **record.get("lesson", {})}
        for key in _RETIRED:
            settings.pop(key, None)
        kept = [name for name in settings.get("blocked") or () if name not in OBSERVERS]
        settings["blocked"] = tuple(dict.fromkeys([*kept, *changes.pop("blocked", ())]))
        settings["plugins"] = match_plugins(folder, record, plugins)
        stage = record["stage"]
    except (KeyError, TypeError, AttributeError) as error:
        raise MnistlabError(f"{CONFIG} in {str(folder)!r} is damaged "
                            f"({type(error).__name__}: {error}); run the stage again") from None
    try:  # what the folder holds first: a value of the wrong type or range names the file
        make_config(stage, **settings)
    except MnistlabError as error:
        raise MnistlabError(f"{CONFIG} in {str(folder)!r} is damaged ({error}); run the stage "
                            "again") from None
    return make_config(stage, **{**settings, **changes})


def match_plugins(folder: RunFolder, record: dict[str, Any],
                  plugins: tuple[str, ...]) -> tuple[str, ...]:
    """The given ``--plugin`` values, in the run's order, each matching a recorded hash."""
    from mnistlab.plugin_loading import source_file

    named = record["settings"].get("plugins") or []
    if named and "user_plugins" not in record:  # written before runs kept their plugins' hashes
        raise MnistlabError(
            f"the run in {str(folder)!r} used --plugin {', '.join(map(str, named))}, but its "
            f"{CONFIG} keeps no hash to check a file against (an older mnistlab wrote it); "
            "start a new run with those plugins")
    recorded = record.get("user_plugins", [])
    given = {file_sha256(source_file(spec)): spec for spec in plugins}
    wanted = {entry["sha256"] for entry in recorded}
    unknown = [spec for digest, spec in given.items() if digest not in wanted]
    for entry in recorded:
        if entry["sha256"] in given:
            continue
        if unknown:
            raise MnistlabError(
                f"plugin {unknown[0]!r} differs from {entry['spec']!r}, which the run in "
                f"{str(folder)!r} used (sha256 {entry['sha256'][:12]}...; its copy is "
                f"{entry['copy']} there); pass the same file")
        raise MnistlabError(
            f"the run in {str(folder)!r} used the plugin {entry['spec']!r} (its copy is "
            f"{entry['copy']} there); a run folder never runs code by itself: pass the file "
            "again with --plugin")
    if unknown:
        raise MnistlabError(f"plugin {unknown[0]!r} was not part of the run in {str(folder)!r}; "
                            "leave it out, or start a new run")
    return tuple(given[entry["sha256"]] for entry in recorded)


def data_changed(record: dict[str, Any], session: Session) -> bool:
    """Whether the run's data differs from the data its record names (by checksum)."""
    recorded = record.get("data", {}).get("checksum")
    return bool(recorded) and recorded != session.data.checksum


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def interrupted(folder: RunFolder) -> str:
    """What an interrupted run kept in ``folder``, and the command that goes on from there
    (with the run's ``--plugin`` files, which a folder never imports by itself)."""
    if folder.holds_run():
        try:
            plugins = [entry["spec"] for entry in folder.read_record().get("user_plugins", [])]
        except (MnistlabError, TypeError, KeyError, AttributeError):
            plugins = []
        again = "".join(f" --plugin {shlex.quote(str(spec))}" for spec in plugins)
        if launch.processes() > 1:  # one of N processes: go on as N again
            again += f" --nproc {launch.processes()}"
        return (f"interrupted: {folder} keeps every complete epoch; continue with "
                f"`mnistlab run --resume {shlex.quote(str(folder))}{again}`")
    if not folder.path.exists():
        return "interrupted before the first epoch ended: nothing to keep; run again"
    return f"interrupted before the first epoch ended: nothing to keep in {folder}; run again"
