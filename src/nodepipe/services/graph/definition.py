"""The code-first way to declare a pipeline: nodes as functions, with pinned packages.

    import nodepipe

    pipe = nodepipe.define("train", project="ml", base={"numpy": "2.1.3"})

    @pipe.node(packages={"scikit-learn": "1.5.2"}, python=">=3.11", conda={"ffmpeg": "6.1.*"})
    def fit():
        import nodepipe_node as node
        ...

    @pipe.node(parents=["fit"], params={"top": 5})
    def report():
        ...

    nodepipe.open().materialize(pipe)   # node folders with their own locked environments

Each function's source becomes the node's ``main.py`` (the function is called when it runs);
``add`` takes code as text instead. Materialising again updates what changed.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from nodepipe.domain.errors import InvalidInputError
from nodepipe.domain.names import validate_name
from nodepipe.domain.specs import NodeSpec, PipelineSpec, package_mapping, param_mapping
from nodepipe.envs.python_requests import parse_request

F = TypeVar("F", bound=Callable[[], Any])


class PipelineDefinition:
    """A pipeline being declared; ``spec`` is its frozen value."""

    def __init__(
        self, tag: str, project: str | None = None, base: Mapping[str, str] | None = None
    ) -> None:
        self.tag = validate_name(tag, "pipeline tag")
        self.project = None if project is None else validate_name(project, "project name")
        self.base = package_mapping(base, f"the base packages of pipeline {tag!r}")
        self._nodes: list[NodeSpec] = []

    def add(
        self,
        tag: str,
        code: str,
        *,
        parents: Sequence[str] = (),
        packages: Mapping[str, str] | None = None,
        python: str | None = None,
        params: Mapping[str, Any] | None = None,
        conda: Mapping[str, str] | None = None,
    ) -> NodeSpec:
        """Declare a node whose ``main.py`` is ``code``; parents are read as slots 01, 02...
        (one parent may be given as its tag alone)."""
        if not isinstance(code, str):
            raise InvalidInputError(f"the code of node {tag!r} must be text, not {code!r}")
        spec = NodeSpec(
            validate_name(tag, "node tag"),
            code,
            (parents,) if isinstance(parents, str) else tuple(parents),
            package_mapping(packages, f"the packages of node {tag!r}"),
            python,
            param_mapping(params, f"the params of node {tag!r}"),
            package_mapping(conda, f"the conda packages of node {tag!r}"),
        )
        spec.check()
        declared = {node.tag for node in self._nodes}
        if spec.tag in declared:
            raise InvalidInputError(f"node {spec.tag!r} is declared twice")  # here, not later
        if spec.tag in spec.parents:
            raise InvalidInputError(
                f"node {spec.tag!r} names itself as its parent: a node cannot read its own outputs"
            )
        missing = [parent for parent in spec.parents if parent not in declared]
        if missing:
            raise InvalidInputError(
                f"node {spec.tag!r} reads {', '.join(map(repr, missing))}, not declared above it: "
                "declare a node's parents before it"
            )
        if spec.python is not None and not spec.python_range and parse_request(spec.python) is None:
            raise InvalidInputError(
                f"python={spec.python!r} of node {tag!r} is not a Python version request; "
                "write a version (3.12), an interpreter (cpython@3.12) or a range (>=3.11)"
            )
        self._nodes.append(spec)
        return spec

    def node(
        self,
        *,
        tag: str | None = None,
        parents: Sequence[str] = (),
        packages: Mapping[str, str] | None = None,
        python: str | None = None,
        params: Mapping[str, Any] | None = None,
        conda: Mapping[str, str] | None = None,
    ) -> Callable[[F], F]:
        """Decorator: the function (no arguments) is the node's code; its name is the tag."""

        def register(function: F) -> F:
            source = _source_of(function)
            definition = ast.parse(source).body[0]  # decorators may span several lines
            body = "\n".join(source.splitlines()[definition.lineno - 1 :])
            code = f'{body}\n\n\nif __name__ == "__main__":\n    {function.__name__}()\n'
            self.add(
                tag or function.__name__,
                code,
                parents=parents,
                packages=packages,
                python=python,
                params=params,
                conda=conda,
            )
            return function

        return register

    @property
    def spec(self) -> PipelineSpec:
        spec = PipelineSpec(self.tag, self.project, dict(self.base), tuple(self._nodes))
        spec.check()
        return spec


def _source_of(function: Callable[..., Any]) -> str:
    """The function's source, dedented; refused when it cannot be a node's code: it takes
    arguments a run cannot give, or Python cannot read its source (typed at a prompt)."""
    name = getattr(function, "__name__", repr(function))
    if not inspect.isfunction(function) or inspect.iscoroutinefunction(function):
        raise InvalidInputError(
            f"@node() takes a plain function (def), not {function!r}; "
            "a node's code is the function's source"
        )
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise InvalidInputError(
            f"function {name!r} is a generator (it yields): its node would run nothing, as "
            "calling it only makes a generator; write a plain function that does the work"
        )
    if name == "<lambda>":
        raise InvalidInputError("@node() takes a function defined with def, not a lambda")
    needed = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if needed:
        raise InvalidInputError(
            f"function {name!r} takes {', '.join(needed)}, but a node's function is called "
            "with no arguments: read inputs and parameters with nodepipe_node "
            "(node.parent('01'), node.params())"
        )
    outside = _names_from_around(function)
    if outside:
        raise InvalidInputError(
            f"function {name!r} uses {', '.join(outside)} from the code around it, which its "
            "node will not have (its main.py is the function's source alone): import or "
            "define them inside the function"
        )
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise InvalidInputError(
            f"cannot read the source of function {name!r} (defined at a prompt or by exec?): "
            "define it in a file or a notebook cell, or give its code as text with "
            f"add({name!r}, code)"
        ) from None
    in_header = _names_in_header(source)
    if in_header:
        raise InvalidInputError(
            f"function {name!r} uses {', '.join(in_header)} from the code around it in its "
            "default values or annotations, which its node will not have (its main.py is the "
            "function's source alone, and its def line would fail): write the values inside "
            "the function, and leave such annotations out"
        )
    return source


def _names_in_header(source: str) -> list[str]:
    """The names the ``def`` line of ``source`` reads (its default values and annotations,
    evaluated when main.py defines the function) that are not builtins, nor bound there
    (a lambda's arguments, a comprehension's variables)."""
    import builtins

    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef)
    arguments = definition.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    header = [
        *arguments.defaults,
        *(d for d in arguments.kw_defaults if d is not None),
        *(a.annotation for a in every if a.annotation is not None),
        *([definition.returns] if definition.returns is not None else []),
    ]
    read: set[str] = set()
    bound: set[str] = set()
    for expression in header:
        for part in ast.walk(expression):
            if isinstance(part, ast.Name):
                (read if isinstance(part.ctx, ast.Load) else bound).add(part.id)
            elif isinstance(part, ast.arg):
                bound.add(part.arg)
    return sorted(n for n in read - bound if not hasattr(builtins, n))


def _names_from_around(function: Callable[..., Any]) -> list[str]:
    """The names ``function`` reads from its module or an enclosing function (not builtins,
    not itself): a node runs the function's source alone, where they are not defined."""
    import builtins
    import dis
    from types import CodeType

    names: set[str] = set(function.__code__.co_freevars)
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(
            str(instruction.argval)
            for instruction in dis.get_instructions(code)
            if instruction.opname == "LOAD_GLOBAL"  # not LOAD_NAME: a class body's own names
        )
        codes.extend(const for const in code.co_consts if isinstance(const, CodeType))
    module = getattr(function, "__globals__", {})
    return sorted(
        name
        for name in names
        if name != function.__name__
        and not (name.startswith("__") and name.endswith("__"))  # every module has them
        and (name in function.__code__.co_freevars or name in module)
        and not hasattr(builtins, name)
    )


def define(
    tag: str, project: str | None = None, base: Mapping[str, str] | None = None
) -> PipelineDefinition:
    """Start declaring pipeline ``tag`` (``base``: packages every node gets)."""
    return PipelineDefinition(tag, project, base)
