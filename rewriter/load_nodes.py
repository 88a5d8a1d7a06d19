"""YAML nodes that remember where they were written, and the checked readers the lens loader builds its
model with: each reads one kind of value (a mapping with its allowed keys, a list, a name, a member type, a
snippet) and reports what is wrong with file, line and YAML path instead of raising, so a lens's every
problem is found in one pass (``rewriter.load`` holds the pipeline and the model building).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import yaml
from sqlglot import exp
from yaml.constructor import SafeConstructor

from rewriter.lens import MEASURE_TYPES, MEMBER_TYPES, Location
from rewriter.load_checks import NAME_PATTERN, LensIssue, did_you_mean, parse_condition, parse_snippet

T = TypeVar("T")
MEASURE_TYPE_ALIASES = {"average": "avg"}
_NAME_RE = re.compile(rf"{NAME_PATTERN}\Z")


@dataclass(frozen=True)
class Src:
    """A YAML node with the file and YAML path it came from."""

    file: str
    node: yaml.Node
    path: str

    def loc(self) -> Location:
        return Location(self.file, self.node.start_mark.line + 1, self.path)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def items(self) -> list[Src]:
        return [Src(self.file, n, f"{self.path}[{i}]") for i, n in enumerate(self.node.value)]

    @property
    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == "tag:yaml.org,2002:null"


def peek(src: Src | None, *keys: str) -> str | None:
    """The scalar at ``keys`` under a mapping node, without reporting anything (for merging)."""
    node = src.node if src else None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return node.value if isinstance(node, yaml.ScalarNode) else None



class NodeReader:
    """Checked reading of YAML nodes; the subclass provides ``dialect``, ``found`` (issues) and ``where``
    (key locations for the whole-lens checks)."""

    dialect: str
    found: list[LensIssue]
    where: dict[tuple[Location, str], Location]

    def report(self, at: Location | Src, message: str) -> None:
        self.found.append(LensIssue(at.loc() if isinstance(at, Src) else at, message))

    def issues(self) -> list[LensIssue]:
        unique = list(dict.fromkeys(self.found))  # inherited members are built twice: report once
        return sorted(unique, key=lambda i: (i.location.file, i.location.line))

    def guard(self, at: Src, fn: Callable[..., T], *args: object) -> T | None:
        """``fn(*args)``, turning a crash into an issue so it hides nothing else."""
        try:
            return fn(*args)
        except Exception as exc:
            self.report(at, f"internal error: {type(exc).__name__}: {exc}")
            return None

    def parse(self, src: Src, self_name: str, *, condition: bool = False) -> exp.Expression | None:
        """The snippet at ``src`` parsed in the lens dialect (problems reported), or None."""
        what = src.path.rsplit(".", 1)[-1]
        text = self.text(src)
        if text is None or not text.strip():
            self.report(src, f"'{what}' is empty")
            return None
        parse = parse_condition if condition else parse_snippet
        tree, problems = parse(text, self.dialect, self_name, what=what)
        for problem in problems:
            self.report(src, problem)
        return tree

    # scalar values

    def mapping(
        self, src: Src, allowed: tuple[str, ...], *, required: tuple[str, ...] = (), what: str = ""
    ) -> dict[str, Src] | None:
        """The keys of a mapping node (null values dropped), reporting unknown, duplicate and missing keys."""
        if not isinstance(src.node, yaml.MappingNode):
            self.report(src, f"expected a mapping ({what or 'key: value'})")
            return None
        if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in src.node.value):
            SafeConstructor().flatten_mapping(src.node)  # YAML merge keys (<<: *anchor)
        keys: dict[str, Src] = {}
        seen: set[str] = set()
        for key_node, value_node in src.node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            key_src = Src(src.file, key_node, src.key(key))
            if key in seen:
                self.report(key_src, f"duplicate key '{key}'")
            elif key not in allowed:
                hint = did_you_mean(key, allowed) or f" (allowed: {', '.join(allowed)})"
                self.report(key_src, f"unknown key '{key}'{hint}")
            elif not (child := Src(src.file, value_node, src.key(key))).is_null:
                keys[key] = child
            seen.add(key)
        for key in required:
            if key not in keys:
                self.report(src, f"missing required key '{key}'")
        return keys

    def sequence(self, src: Src | None) -> list[Src]:
        if src is None or src.is_null:
            return []
        if not isinstance(src.node, yaml.SequenceNode):
            self.report(src, f"'{src.path.rsplit('.', 1)[-1]}' must be a list")
            return []
        return src.items()

    def text(self, src: Src | None) -> str | None:
        if src is None or src.is_null:
            return None
        if not isinstance(src.node, yaml.ScalarNode):
            self.report(src, "expected a single value (quote text that starts with '{' or '[')")
            return None
        return str(src.node.value)

    def texts(self, src: Src | None) -> tuple[str, ...]:
        if src is None or src.is_null:
            return ()
        if isinstance(src.node, yaml.SequenceNode):
            return tuple(t for item in src.items() if (t := self.text(item)) is not None)
        value = self.text(src)
        return (value,) if value is not None else ()

    def flag(self, src: Src | None) -> bool | None:
        if src is None or src.is_null:
            return None
        if isinstance(src.node, yaml.ScalarNode) and src.node.tag == "tag:yaml.org,2002:bool":
            return src.node.value.lower() in ("true", "yes", "on", "y")
        self.report(src, "expected true or false")
        return None

    def name(self, src: Src | None) -> str | None:
        value = self.text(src)
        if src is not None and value is not None and not _NAME_RE.match(value):
            self.report(src, f"invalid name '{value}': use letters, digits and _, not starting with a digit")
        return value

    def member_type(self, src: Src | None) -> str | None:
        value = (self.text(src) or "").strip().lower()
        if src is not None and value not in MEMBER_TYPES:
            self.report(src, f"unknown member type '{value}'{did_you_mean(value, MEMBER_TYPES)}")
            return None
        return value or None

    def measure_type(self, src: Src | None) -> str | None:
        value = (self.text(src) or "").strip().lower()
        value = MEASURE_TYPE_ALIASES.get(value, value)
        if src is not None and value not in MEASURE_TYPES:
            hint = did_you_mean(value, (*MEASURE_TYPES, *MEASURE_TYPE_ALIASES))
            self.report(src, f"unknown measure type '{value}'{hint}")
            return None
        return value or None

    def record(self, owner: Location, keys: dict[str, Src]) -> None:
        """Remember where each key's value was written, for the whole-lens checks."""
        self.where.update({(owner, key): src.loc() for key, src in keys.items()})


