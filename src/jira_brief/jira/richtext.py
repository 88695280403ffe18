"""Jira's two rich-text formats as Markdown: Atlassian Document Format (REST v3) and wiki markup (REST v2).

Pure functions: a brief keeps its paragraphs, lists and tables only if the ticket text keeps them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

PANEL_LABELS = {"info": "Info", "note": "Note", "warning": "Warning", "error": "Error", "success": "Success"}
# Nodes nested deeper than this (real documents stay under ten) keep their text, flattened, and a note:
# the conversion recurses, and a hostile document of 600 levels must not reach Python's recursion limit.
MAX_ADF_DEPTH = 40
CUT_NOTE = f"[nested deeper than {MAX_ADF_DEPTH} levels: shown as plain text]"


def adf_to_markdown(document: Any) -> str:
    """Markdown from an ADF document (or any ADF node); unknown nodes keep their text."""
    if isinstance(document, list):
        return _blocks([_within(node) for node in document if isinstance(node, dict)])
    if not isinstance(document, dict):
        return "" if document is None else str(document)
    return _block(_within(document)).strip()


def _within(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each node at MAX_ADF_DEPTH replaced by a paragraph of its text (read without
    recursion) and CUT_NOTE; the nodes above are copied, the input is left as it is."""
    top = dict(document)
    stack = [(top, 0)]
    while stack:
        node, depth = stack.pop()
        children = _children(node)
        if not children:
            continue
        if depth + 1 >= MAX_ADF_DEPTH:
            node["content"] = [_flattened(child) for child in children]
            continue
        node["content"] = copied = [dict(child) if isinstance(child, dict) else child for child in children]
        stack.extend((child, depth + 1) for child in copied if isinstance(child, dict))
    return top


def _flattened(node: Any) -> dict[str, Any]:
    """A paragraph holding the text of `node` and all below it, in document order, then CUT_NOTE."""
    texts, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("text"), str):
                texts.append(current["text"])
            stack.extend(reversed(_children(current)))
    text = " ".join(" ".join(texts).split())
    return {"type": "paragraph", "content": [{"type": "text", "text": f"{text} {CUT_NOTE}".strip()}]}


def _children(node: dict[str, Any]) -> list[Any]:
    content = node.get("content")
    return content if isinstance(content, list) else []


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _blocks(nodes: list[Any]) -> str:
    return "\n\n".join(text for text in (_block(node) for node in nodes if isinstance(node, dict)) if text.strip())


def _block(node: dict[str, Any]) -> str:
    """One block node as Markdown lines (no trailing blank line)."""
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(_children(node))
    if kind == "heading":
        level = attrs.get("level")
        return "#" * max(1, min(6, level if isinstance(level, int) else 2)) + " " + _inline(_children(node))
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _list(node)
    if kind == "codeBlock":
        language = attrs.get("language") or ""
        return f"```{language}\n{_plain(_children(node))}\n```"
    if kind == "blockquote":
        return _quote(_blocks(_children(node)))
    if kind == "panel":
        label = PANEL_LABELS.get(str(attrs.get("panelType")), "Note")
        return _quote(f"**{label}:** " + _blocks(_children(node)))
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node)
    if kind in ("expand", "nestedExpand"):
        title = attrs.get("title")
        return "\n\n".join(filter(None, [f"**{title}**" if title else "", _blocks(_children(node))]))
    if kind in ("blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind in ("mediaSingle", "mediaGroup", "media"):
        return ""
    if kind in ("listItem", "taskItem", "decisionItem"):  # an item's paragraph and its nested list stay together
        children = _children(node)
        if _all_inline(children):  # task and decision items hold their text directly
            return _inline(children)
        return "\n".join(text for text in (_block(c) for c in children if isinstance(c, dict)) if text.strip())
    if kind in ("doc", "layoutSection", "layoutColumn", "bodiedExtension"):
        return _inline(_children(node)) if _all_inline(_children(node)) else _blocks(_children(node))
    return _inline(_children(node)) if _children(node) else _inline([node])


INLINE = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "mediaInline"})


def _all_inline(nodes: list[Any]) -> bool:
    return all(isinstance(node, dict) and node.get("type") in INLINE for node in nodes)


def _list(node: dict[str, Any]) -> str:
    """A bullet, numbered, task or decision list; an item's later lines are indented under its marker."""
    ordered = node.get("type") == "orderedList"
    start = _attrs(node).get("order")
    number = start if isinstance(start, int) else 1
    items = []
    for item in _children(node):
        if not isinstance(item, dict):
            continue
        marker = f"{number}." if ordered else "-"
        if item.get("type") == "taskItem":
            marker += " [x]" if _attrs(item).get("state") == "DONE" else " [ ]"
        body = _block(item) or ""
        lines = body.splitlines() or [""]
        indent = " " * (len(marker) + 1)
        items.append("\n".join([f"{marker} {lines[0]}", *(indent + line if line else "" for line in lines[1:])]))
        number += 1
    return "\n".join(items)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _table(node: dict[str, Any]) -> str:
    rows = []
    for row in _children(node):
        if isinstance(row, dict):
            cells = [cell for cell in _children(row) if isinstance(cell, dict)]
            rows.append([_blocks(_children(cell)).replace("\n", "<br>").replace("|", "\\|") for cell in cells])
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _plain(nodes: list[Any]) -> str:
    return "".join(str(node.get("text", "")) for node in nodes if isinstance(node, dict))


def _inline(nodes: list[Any]) -> str:
    return "".join(_inline_node(node) for node in nodes if isinstance(node, dict)).strip()


def _inline_node(node: dict[str, Any]) -> str:
    """One inline node as Markdown: text with its marks, a mention as the person's name, a card as its URL."""
    kind, attrs = node.get("type"), _attrs(node)
    if kind == "text":
        return _marked(str(node.get("text", "")), node.get("marks"))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = str(attrs.get("text") or attrs.get("displayName") or attrs.get("id") or "someone")
        return name if name.startswith("@") else f"@{name}"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "inlineCard":
        return f"<{attrs['url']}>" if attrs.get("url") else ""
    if kind == "date":
        return _date(attrs.get("timestamp"))
    if kind == "status":
        return f"[{attrs.get('text', '')}]"
    if _children(node):
        return _block(node)
    return ""


def _date(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")


def _marked(text: str, marks: Any) -> str:
    """Text with its ADF marks as Markdown: code innermost, a link outermost."""
    kinds = {mark.get("type"): _attrs(mark) for mark in marks or [] if isinstance(mark, dict)}
    if not text.strip():
        return text
    if "code" in kinds:
        text = f"`{text}`"
    if "em" in kinds:
        text = f"*{text}*"
    if "strong" in kinds:
        text = f"**{text}**"
    if "strike" in kinds:
        text = f"~~{text}~~"
    href = kinds.get("link", {}).get("href")
    return f"[{text}]({href})" if href else text


# --- Jira wiki markup (REST v2, Jira Server/Data Center) ---------------------------------------

BLOCK_START = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}(.*)$")
LIST_ITEM = re.compile(r"^([*#-]+)\s+(.*)$")
HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
# {{monospace}}: no "{{" or "}}" inside, so a run of braces is read once, not once per brace.
CODE_SPAN = re.compile(r"\{\{((?:[^{}\n]|\{(?!\{)|\}(?!\}))++)\}\}")


def wiki_to_markdown(text: str) -> str:
    """Markdown from Jira wiki markup: headings, lists, code/noformat blocks, quotes, tables, inline marks."""
    out: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        block = BLOCK_START.match(line.strip())
        if block:
            index = _code_block(lines, index, block, out)
            continue
        out.append(_wiki_line(line))
        index += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(_with_table_rules(out))).strip()


def _code_block(lines: list[str], index: int, start: re.Match[str], out: list[str]) -> int:
    """Copy a {code}/{noformat} block verbatim as a fenced block; returns the index after it."""
    tag, options, rest = start.group(1), start.group(2) or "", start.group(3)
    language = "" if tag == "noformat" or "=" in options else options.split("|")[0].strip()
    body, closing = [rest] if rest else [], "{" + tag + "}"
    index += 1
    while index < len(lines) and closing not in lines[index]:
        body.append(lines[index])
        index += 1
    if index < len(lines):
        before = lines[index].split(closing)[0]
        if before:
            body.append(before)
    out.append("```" + language)
    out.extend(body)
    out.append("```")
    return index + 1


def _wiki_line(line: str) -> str:
    """One line of wiki markup outside code blocks: heading, quote, list item, table row or text."""
    stripped = line.strip()
    heading = HEADING.match(stripped)
    if heading:
        return "#" * int(heading.group(1)) + " " + _wiki_inline(heading.group(2))
    if stripped.startswith("bq. "):
        return "> " + _wiki_inline(stripped[4:])
    if stripped in ("{quote}", "----") or re.fullmatch(r"\{panel(:[^}]*)?\}", stripped):
        return "---" if stripped == "----" else ""
    item = LIST_ITEM.match(stripped)
    if item and not (item.group(1) == "-" * len(item.group(1)) and len(item.group(1)) > 1):
        depth, marker = len(item.group(1)), item.group(1)[-1]
        bullet = "1." if marker == "#" else "-"
        return "   " * (depth - 1) + f"{bullet} {_wiki_inline(item.group(2))}"
    if stripped.startswith("||") or (stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1):
        return _table_row(stripped)
    return _wiki_inline(line.rstrip())


def _table_row(row: str) -> str:
    cells = [cell.strip() for cell in re.split(r"\|\|?", row.strip("|"))]
    return "| " + " | ".join(_wiki_inline(cell) for cell in cells) + " |"


def _with_table_rules(lines: list[str]) -> list[str]:
    """Markdown tables need a rule after their first row (Jira's header row, or its first row when it has none)."""
    result: list[str] = []
    for line in lines:
        starts_table = line.startswith("| ") and not (result and result[-1].startswith("| "))
        result.append(line)
        if starts_table:
            result.append("| " + " | ".join(["---"] * (line.count(" | ") + 1)) + " |")
    return result


def _wiki_inline(text: str) -> str:
    """Inline wiki marks as Markdown; {{monospace}} is kept verbatim."""
    parts = CODE_SPAN.split(text)
    for index in range(0, len(parts), 2):
        parts[index] = _wiki_marks(parts[index])
    for index in range(1, len(parts), 2):
        parts[index] = f"`{parts[index]}`"
    return "".join(parts)


def _wiki_marks(text: str) -> str:
    # No bracketed part may hold "[" (nor a {color} part "{"): each match then ends before the next
    # one could start, and a ticket of 16,000 "[~" is read once.
    text = re.sub(r"\[~(?:accountid:)?([^\][]+)\]", r"@\1", text)
    text = re.sub(r"\[([^|\]\[]+)\|((?:https?|mailto|ftp):[^\][\s]+)\]", r"[\1](\2)", text)
    text = re.sub(r"\[((?:https?|mailto):[^\][\s|]+)\]", r"<\1>", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])", r"**\1**", text)
    text = re.sub(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])", r"*\1*", text)
    text = re.sub(r"(?<![\w-])-(?=\S)([^-\n]+?)(?<=\S)-(?![\w-])", r"~~\1~~", text)
    text = re.sub(r"\{color(?::[^{}]*)?\}", "", text)
    return text.replace("\\\\", "\n")
