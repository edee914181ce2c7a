"""A plugin module as plain code: its own source, less pluggy and mnistlab.

What ``mnistlab export`` keeps of a plugin module is its text, as the docs
show it: the hook that fills the piece and everything around it, with the
``@hookimpl`` decorators, the other hooks and the imports taken out (the
imports go to the top of the script). A function or class the plugin imports
from mnistlab (``accuracy``, say) is copied in from its own source, with
what it needs in turn, so that the script imports nothing of mnistlab.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import io
import sys
import textwrap
import tokenize
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from mnistlab.errors import MnistlabError

OWN = "mnistlab"


@dataclass
class Plain:
    """What a script needs of some modules: their imports, and the code that goes in it."""

    imports: dict[tuple[str, str, str], None] = field(default_factory=dict)  # kind, module, name
    copied: dict[int, str] = field(default_factory=dict)  # id of a mnistlab object -> its name

    def add_import(self, node: ast.Import | ast.ImportFrom, used: set[str] | None = None) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            if used is None or bound in used:
                kind = "import" if isinstance(node, ast.Import) else "from"
                spelled = alias.name + (f" as {alias.asname}" if alias.asname else "")
                module = node.module if isinstance(node, ast.ImportFrom) else None
                self.imports[kind, module or alias.name, spelled] = None

    def add_imports(self, lines: list[str]) -> None:
        for line in lines:
            node = ast.parse(line).body[0]
            assert isinstance(node, ast.Import | ast.ImportFrom)
            self.add_import(node)

    def import_lines(self) -> str:
        """The imports, grouped and sorted as isort does: the standard library, then others."""
        groups: list[list[str]] = [[], []]
        froms: dict[tuple[int, str], list[str]] = {}
        for kind, module, spelled in self.imports:
            group = 0 if module.split(".")[0] in sys.stdlib_module_names else 1
            if kind == "import":
                groups[group].append(f"import {spelled}")
            else:
                froms.setdefault((group, module), []).append(spelled)
        for (group, module), names in froms.items():
            names = sorted(set(names), key=lambda name: (not name.isupper(),
                                                         not name[:1].isupper(), name))
            groups[group].append(f"from {module} import {', '.join(names)}")
        return "\n\n".join("\n".join(sorted(set(lines), key=_import_order))
                           for lines in groups if lines)

    def copy(self, obj: Any, alias: str) -> list[str]:
        """The source of the mnistlab function or class ``obj`` (named ``alias`` where it is
        used), after the sources it needs; empty when an earlier part copied it already."""
        blocks: list[str] = []
        if id(obj) not in self.copied:
            self.copied[id(obj)] = obj.__name__
            module = sys.modules[obj.__module__]
            source = textwrap.dedent(inspect.getsource(obj))
            for name in sorted(free_names(ast.parse(source))):
                blocks += self._needed(module, name)
            where = obj.__module__.replace(".", "/")
            blocks.append(f"# {obj.__name__}, from {where}.py:\n{source.rstrip()}")
        if alias != self.copied[id(obj)]:
            blocks.append(f"{alias} = {self.copied[id(obj)]}")
        return blocks

    def _needed(self, module: ModuleType, name: str) -> list[str]:
        """What a copied source needs for one of its module's names: an import, or a copy."""
        if name in vars(builtins):
            return []
        tree = ast.parse(inspect.getsource(module))
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom) and name in bound_names(node):
                if is_own(node):
                    return self.copy(vars(module)[name], name)
                self.add_import(node, {name})
                return []
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
                return self.copy(vars(module)[name], name)
            if isinstance(node, ast.Assign) and name in bound_names(node):
                return [ast.get_source_segment(inspect.getsource(module), node) or ""]
        raise MnistlabError(f"cannot export {module.__name__}: it uses {name!r}, which is "
                            "neither imported nor defined at the top of the module")


def _import_order(line: str) -> tuple[bool, str]:
    """Plain imports first, then ``from`` imports, each by module, as isort sorts them."""
    return line.startswith("from"), line.split()[1]


def is_own(node: ast.Import | ast.ImportFrom) -> bool:
    """Whether an import statement imports from mnistlab."""
    names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [
        node.module or ""]
    return any(name == OWN or name.startswith(f"{OWN}.") for name in names)


def bound_names(node: ast.AST) -> set[str]:
    """The names an import or an assignment at the top of a module binds."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def free_names(tree: ast.AST) -> set[str]:
    """The names code reads but never binds itself: those it takes from its module."""
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
            bound |= bound_names(node)
    return read - bound


def is_hookimpl(decorator: ast.expr, markers: set[str]) -> bool:
    """Whether a decorator is pluggy's hook marker: ``@hookimpl`` or ``@hookimpl(...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
    return name in markers


@dataclass
class PluginCode:
    """A plugin module as plain code: its docstring, and its code less pluggy and mnistlab."""

    docstring: str
    code: str
    defines: set[str]
    needs: list[tuple[Any, str]]  # (mnistlab object, the name the code uses for it)


def plugin_code(module: ModuleType, hook: str, plain: Plain) -> PluginCode:
    """``module``'s source, keeping ``hook`` and dropping its other hooks (they are not the
    piece's); its imports go to ``plain``."""
    path = inspect.getsourcefile(module)
    source = open(path, encoding="utf-8").read() if path else inspect.getsource(module)
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree) or ""
    markers = {"hookimpl"} | {alias.asname or alias.name for node in tree.body
                              if isinstance(node, ast.ImportFrom) and is_own(node)
                              for alias in node.names if alias.name == "hookimpl"}
    dropped: set[int] = set()

    def drop(node: ast.AST) -> None:
        dropped.update(range(node.lineno, node.end_lineno + 1))

    own: list[ast.Import | ast.ImportFrom] = []
    others: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if node is tree.body[0] and docstring:
            drop(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            drop(node)
            (own if is_own(node) else others).append(node)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
            for function in methods if isinstance(node, ast.ClassDef) else [node]:
                hooks = [d for d in function.decorator_list if is_hookimpl(d, markers)]
                if hooks and function.name != hook:  # another hook: not this piece's
                    dropped.update(range(hooks[0].lineno, function.end_lineno + 1))
                for decorator in hooks:
                    dropped.update(range(decorator.lineno, decorator.end_lineno + 1))
    lines = [line for number, line in enumerate(source.splitlines(), 1) if number not in dropped]
    code = "\n".join(lines).strip("\n")
    while "\n\n\n\n" in code:
        code = code.replace("\n\n\n\n", "\n\n\n")
    kept = ast.parse(code)
    used = free_names(kept)
    for node in others:
        plain.add_import(node, used)
    needs = []
    for node in own:
        for alias in node.names:
            name = alias.asname or alias.name
            if name in used and name not in markers:
                needs.append((_own_object(node, alias.name, module), name))
    defines = set().union(*(bound_names(node) for node in kept.body
                            if not isinstance(node, ast.Expr)))
    return PluginCode(docstring, code, defines, needs)


def _own_object(node: ast.Import | ast.ImportFrom, name: str, plugin: ModuleType) -> Any:
    """The mnistlab function or class that ``from mnistlab... import name`` brings in."""
    if isinstance(node, ast.ImportFrom):
        obj = getattr(importlib.import_module(node.module or OWN), name, None)
        if obj is not None and (inspect.isfunction(obj) or inspect.isclass(obj)):
            return obj
    raise MnistlabError(f"plugin {plugin.__name__} uses {name!r} from mnistlab, which a plain "
                        "script cannot copy in (only functions and classes can be); import "
                        "what it needs from torch instead")


def renamed(code: str, old: str, new: str) -> str:
    """``code`` with the name ``old`` written ``new`` (not attributes such as ``x.old``)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    out = []
    for index, token in enumerate(tokens):
        before = tokens[index - 1].string if index else ""
        if token.type == tokenize.NAME and token.string == old and before != ".":
            token = token._replace(string=new)
        out.append(token)
    return tokenize.untokenize(out)
