"""Every regular expression in src/jira_brief runs in linear time: a ticket, a model answer or a diff
cannot make one backtrack for minutes (a regex runs in C, where no time budget can interrupt it).

Each regex is found in the source (module constants as compiled, inline `re.*` calls from their
literal), used the way the code uses it (`match`, `fullmatch`, `sub`…), and fed inputs built from its
own characters and words: first short ones to find its worst case, then 100 KB of that case, which must
take well under a second. Then the known attacks go through the functions that read untrusted text."""

from __future__ import annotations

import ast
import importlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from re import _parser as re_parser  # type: ignore[attr-defined]  # re's own parse, to build inputs
from typing import Any

import pytest

from jira_brief.brief.normalize import normalize_brief
from jira_brief.config.masking import mask_shapes
from jira_brief.jira.richtext import adf_to_markdown, wiki_to_markdown
from jira_brief.jira.sections import description_section
from jira_brief.jira.yaml_text import read_yaml
from jira_brief.keys.scan import KEY_TEXT
from jira_brief.publish.neutralize import sanitize

SRC = Path(__file__).resolve().parents[2] / "src" / "jira_brief"
METHODS = ("match", "fullmatch", "search", "sub", "subn", "finditer", "findall", "split")
FLAGS = {"I": re.I, "IGNORECASE": re.I, "M": re.M, "MULTILINE": re.M, "S": re.S, "DOTALL": re.S}
BIG = 100_000
SCREEN = 1_000
LIMIT = 0.5  # seconds for 100 KB, the best of 3 runs; a linear regex takes milliseconds, a quadratic one minutes
FILLERS = (" ", "\t", "\n", "a", "A", "1", "-", ":", "#")
# Patterns built at run time: one instance of each, as the code builds it.
DYNAMIC = {
    "brief/normalize.py": [(re.compile(r" {0,3}`{3,}[ \t]*"), "fullmatch")],
    "publish/neutralize.py": [(re.compile(r" {0,3}~{3,}[ \t]*"), "fullmatch")],
    "llm/client.py": [(re.compile(r"\btemperature\b"), "search")],
    "jira/normalize.py": [(re.compile(r"^(?:#+\s*|\w+\s+)?\[?PAY\-142\]?\s*[:\-–]\s*(.+)$", re.M | re.I), "search")],
    "keys/scan.py": [
        (re.compile(r"(?<![A-Za-z0-9])(PAY|WEB)-([1-9][0-9]*)(?![A-Za-z0-9])", re.I), "finditer"),
        (re.compile(KEY_TEXT, re.I), "fullmatch"),
    ],
}


@dataclass(frozen=True)
class Use:
    where: str
    pattern: re.Pattern[Any]
    method: str

    @property
    def source(self) -> str:
        pattern = self.pattern.pattern
        return pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern

    def run(self, text: str) -> None:
        data: Any = text.encode() if isinstance(self.pattern.pattern, bytes) else text
        if self.method in ("sub", "subn"):
            getattr(self.pattern, self.method)(data[:0], data)
        elif self.method == "finditer":
            for _ in self.pattern.finditer(data):
                pass
        else:
            getattr(self.pattern, self.method)(data)


def _flags(nodes: list[ast.expr]) -> int:
    return sum(
        {
            FLAGS[node.attr]
            for arg in nodes
            for node in ast.walk(arg)
            if isinstance(node, ast.Attribute) and node.attr in FLAGS
        }
    )


def _compiled_in(module: str) -> dict[str, re.Pattern[Any]]:
    """The module's regex constants, as compiled (f-string patterns included)."""
    loaded = importlib.import_module(module)
    return {name: value for name, value in vars(loaded).items() if isinstance(value, re.Pattern)}


def _use(node: ast.Call, relative: str, compiled: dict[str, re.Pattern[Any]]) -> Use | None:
    """A regex call: a module constant's method, or `re.<method>(literal, …)`."""
    owner, method, where = node.func.value, node.func.attr, f"{relative}:{node.lineno}"  # type: ignore[attr-defined]
    if isinstance(owner, ast.Name) and owner.id in compiled:
        return Use(where, compiled[owner.id], method)
    if not (isinstance(owner, ast.Name) and owner.id == "re" and node.args):
        return None
    try:
        literal = ast.literal_eval(node.args[0])
    except ValueError:
        assert relative in DYNAMIC, f"{where}: a pattern built at run time: add an instance to DYNAMIC"
        return None
    flags = _flags([*node.args[3 if method == "sub" else 2 :], *(keyword.value for keyword in node.keywords)])
    return Use(where, re.compile(literal, flags), method)


def all_uses() -> list[Use]:
    """Every regex call of the source, and an instance of each pattern built at run time."""
    uses = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative == "__main__.py":  # importing it runs the command line
            continue
        compiled = _compiled_in("jira_brief." + relative.removesuffix(".py").replace("/", "."))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
                found = _use(node, relative, compiled)
                uses += [found] if found else []
        uses += [Use(f"{relative} (built)", pattern, method) for pattern, method in DYNAMIC.get(relative, [])]
    return uses


USES = all_uses()


def pieces(pattern: str) -> list[str]:
    """What a hostile text would repeat to trip `pattern`: its literal characters and words, and blanks."""
    words = set(re.findall(r"[A-Za-z]{2,}", pattern))
    marks = {char for char in pattern if not char.isalnum() and char not in "()?+*|^$.\\"}
    return sorted(words | marks | set(FILLERS))


def _one_of(items: list[tuple[object, object]], variant: int) -> str:
    """A character of a class `[...]`: the `variant`-th it names, or one it leaves out when negated."""
    chars: list[str] = []
    for op, value in items:
        name = str(op)
        if name == "LITERAL":
            chars.append(chr(value))  # type: ignore[arg-type]
        elif name == "RANGE":
            chars.append(chr(value[0]))  # type: ignore[index]
        elif name == "CATEGORY":
            chars.append({"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " "}.get(str(value), "a"))
    if items and str(items[0][0]) == "NEGATE":
        return next(char for char in "a b-1:" if char not in chars)
    return chars[variant % len(chars)] if chars else "a"


def sample(parsed: object, variant: int) -> str:
    """A text `parsed` (re's own parse of a pattern) matches, taking the `variant`-th branch and character
    wherever there is a choice, and every optional part once: its prefixes are what a pump repeats."""
    out = []
    for op, value in parsed:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL":
            out.append(chr(value))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(value) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_one_of(value, variant))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            out.append(sample(value[2], variant) * min(max(value[0], 1), 3))
        elif name == "SUBPATTERN":
            out.append(sample(value[3], variant))
        elif name == "ATOMIC_GROUP":
            out.append(sample(value, variant))
        elif name == "BRANCH":
            out.append(sample(value[1][variant % len(value[1])], variant))
    return "".join(out)


def candidates(use: Use, size: int) -> Iterator[str]:
    """Inputs of `size` characters: each piece repeated, each piece alternated with a filler, and each
    prefix of texts the pattern matches repeated (the start of a match, again and again)."""
    found = pieces(use.source)
    parsed = re_parser.parse(use.source, use.pattern.flags & ~re.UNICODE)
    prefixes = {text[:end] for variant in range(4) for text in [sample(parsed, variant)] for end in range(1, 41)}
    mixed = {unit for piece in found for filler in FILLERS for unit in (piece + filler, filler + piece)}
    for unit in sorted({*found, *mixed, *prefixes} - {""}):
        yield (unit * (size // len(unit) + 1))[:size]


def elapsed(run: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    run(text)
    return time.perf_counter() - start


@pytest.mark.parametrize("use", USES, ids=[use.where for use in USES])
def test_each_regex_stays_linear_on_100_kb_of_its_worst_input(use: Use) -> None:
    screened = sorted(candidates(use, SCREEN), key=lambda text: elapsed(use.run, text))
    for text in screened[-3:]:
        for size, limit in ((BIG // 10, LIMIT / 10), (BIG, LIMIT)):  # 10 KB first: a quadratic one fails in seconds
            big = (text * (size // len(text) + 1))[:size]
            best = min(elapsed(use.run, big) for _ in range(3))  # the machine's load, not the regex, slows the others
            assert best < limit, f"{use.where} {use.source!r} backtracks on {big[:24]!r}…"


def test_every_regex_of_the_source_is_checked() -> None:
    files = {use.where.split(":")[0].split(" ")[0] for use in USES}
    assert len(USES) > 80 and "brief/normalize.py" in files and "jira/richtext.py" in files


# The red team's attacks, through the functions that read untrusted text.
ATTACKS = {
    "spaces": " " * BIG,
    "tabs and spaces": " \t" * (BIG // 2),
    "mentions": "[~" * (BIG // 2),
    "code spans": "{{a" * (BIG // 3),
    "braces": "{" * BIG,
    "hashes": "#" + " " * BIG + "x",
    "bold": "**" + "a" * BIG,
    "links": "[x](" * (BIG // 4),
    "urls": "https://" * (BIG // 8),
    "userinfo": "a-" * (BIG // 2),
    "tokens": "&token" * (BIG // 6),
    "a query name": "&" + "token" * (BIG // 5),
    "wiki links": "[a|http:" * (BIG // 8),
    "colors": "{color:" * (BIG // 7),
    "stars": "*a " * (BIG // 3),
    "keys": "a: " * (BIG // 3),
    "bullets": " •" * (BIG // 2),
}
READERS: dict[str, Callable[[str], object]] = {
    "brief": lambda text: normalize_brief(f"Contexte :\n{text}\n- {text}", ["Contexte", "Objectif"]),
    "wiki": wiki_to_markdown,
    "adf": lambda text: adf_to_markdown(
        {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
    ),
    "sections": lambda text: description_section(f"h2. Acceptance criteria\n{text}", re.compile("acceptance", re.I)),
    "yaml": lambda text: read_yaml(f"key: PAY-1\nsummary: {text}\ndescription: |\n  {text}\n"),
    "publish": lambda text: sanitize(text, frozenset({"acme.atlassian.net"})),
    "mask": mask_shapes,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_the_known_attacks_cost_each_reader_well_under_a_second(reader: str) -> None:
    for name, text in ATTACKS.items():
        # Once more when the first run is slow: the machine's load can cost a run, never the second too.
        fast = elapsed(READERS[reader], text) < 1.0 or elapsed(READERS[reader], text) < 1.0
        assert fast, f"{reader} on 100 KB of {name}"
