"""A reader for the block-style YAML some Jira MCP servers answer with (pyyaml is not a dependency).

Mappings, sequences, quoted and block scalars; anything else (flow collections, anchors, plain
scalars over several lines) makes `read_yaml` return None, and the answer is kept as text.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # nested further, the text is not the YAML this reader knows (each level is a call)
PAIR = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[][^:]*?)\s*:(?:\s+(.*))?$""")


def read_yaml(text: str) -> Any:
    """The mapping or sequence a YAML text holds, or None when it is not the YAML this reader knows."""
    reader = _Reader(text)
    try:
        value = reader.node(0)
        if reader.peek() is not None:
            raise ValueError("text left over")
    except (ValueError, IndexError):
        return None
    return value if isinstance(value, dict | list) else None


class _Reader:
    """Lines and a cursor; each method reads one node indented at a known level."""

    def __init__(self, text: str) -> None:
        self.lines = text.replace("\t", "    ").splitlines()
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[int, str] | None:
        """(indent, content) of the next line that holds data; blank, comment and `---` lines are skipped."""
        while self.index < len(self.lines):
            line = self.lines[self.index]
            content = line.strip()
            if content and not content.startswith("#") and content not in ("---", "..."):
                return len(line) - len(line.lstrip(" ")), content
            self.index += 1
        return None

    def node(self, indent: int) -> Any:
        found = self.peek()
        if found is None or found[0] < indent:
            return None
        level, content = found
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        try:
            return self.sequence(level) if _is_item(content) else self.mapping(level)
        finally:
            self.depth -= 1

    def sequence(self, level: int) -> list[Any]:
        items: list[Any] = []
        while (found := self.peek()) and found[0] == level and _is_item(found[1]):
            rest = found[1][1:].strip()
            if not rest:
                self.index += 1
                items.append(self.node(level + 1))
            elif PAIR.match(rest):  # "- key: value" opens a mapping two columns in
                self.lines[self.index] = " " * (level + 2) + rest
                items.append(self.node(level + 2))
            else:
                self.index += 1
                items.append(_scalar(rest))
        return items

    def mapping(self, level: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while (found := self.peek()) and found[0] == level and not _is_item(found[1]):
            match = PAIR.match(found[1])
            if match is None:
                raise ValueError("not a mapping line")
            self.index += 1
            key, rest = _scalar(match.group(1)), (match.group(2) or "").strip()
            if rest[:1] in ("|", ">"):
                result[str(key)] = self.block(rest, level)
            elif rest and not rest.startswith("#"):
                result[str(key)] = _scalar(rest)
            else:
                following = self.peek()
                nested = following and (following[0] > level or (following[0] == level and _is_item(following[1])))
                result[str(key)] = self.node(following[0]) if following and nested else None
        if (found := self.peek()) and found[0] > level:
            raise ValueError("unexpected indentation")
        return result

    def block(self, header: str, level: int) -> str:
        """A `|` (lines kept) or `>` (lines folded) block scalar."""
        lines: list[str] = []
        while self.index < len(self.lines):
            line = self.lines[self.index]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= level:
                break
            lines.append(line)
            self.index += 1
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
        body = [line[indent:] for line in lines]
        if header.startswith(">"):
            return re.sub(r"(?<!\n)\n(?!\n)", " ", "\n".join(body)).strip()
        return "\n".join(body).strip("\n")


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _scalar(text: str) -> Any:
    """A plain or quoted scalar: null, booleans and numbers as such, the rest as text."""
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError("unclosed quote")
        return text[1:-1].replace("''", "'")
    if text.startswith(("{", "[", "&", "*", "!")):
        if text in ("{}", "[]"):
            return {} if text == "{}" else []
        raise ValueError("flow collections, anchors and tags are not read")
    text = re.sub(r"(?<!\s)\s++#.*$", "", text)  # from the start of a blank run only: linear
    lowered = text.lower()
    if lowered in ("null", "~", ""):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text
