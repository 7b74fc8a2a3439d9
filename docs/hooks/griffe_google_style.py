"""A griffe extension for the API reference: gandiff's Google-style docstrings, as griffe reads them.

gandiff's docstrings follow Google style as ``tests/test_docstrings.py`` defines it, which
allows two forms that griffe's Google parser does not know:

* ``Example:`` as the heading of the doctests (griffe knows only ``Examples:``, and would render
  the singular as an admonition of plain Markdown, where ``>>>`` lines become block quotes);
* one entry naming several parameters or attributes, ``a, b: as for X`` (the names may run
  over several lines, each but the last ending with a comma), which griffe would read as one
  parameter called "a, b" and report as missing from the signature.

This extension rewrites the docstring before griffe parses it: the heading becomes
``Examples:``, and a grouped entry becomes one entry per name with the same description, so
each parameter gets its own row, type and default in the reference. Nothing else changes.
Lines are added only where a group is split, so griffe's warnings for lines below a split
group in the same docstring point a few lines too far down.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:[ \t]*$")
_ITEM_SECTIONS = re.compile(
    r"^(\s*)(Args|Arguments|Params|Parameters|Keyword Args|Keyword Arguments|Other Parameters|Attributes):\s*$"
)
_NAME = r"\*{0,2}\w+"
# "a, b: description" (two names or more), or "a, b," when the names continue on the next line.
_GROUP = re.compile(rf"^(?P<names>{_NAME}(?:\s*,\s*{_NAME})+)\s*:(?P<rest>.*)$")
_OPEN_GROUP = re.compile(rf"^(?P<names>{_NAME}(?:\s*,\s*{_NAME})*)\s*,\s*$")


def rewrite(docstring: str) -> str:
    """The docstring with ``Example:`` headings renamed and grouped entries split, one per name."""
    lines = docstring.split("\n")
    out: list[str] = []
    section_indent: int | None = None  # indentation of the current Args-like heading
    i = 0
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.strip() and section_indent is not None and indent <= section_indent:
            section_indent = None  # the section ended
        heading = _ITEM_SECTIONS.match(line)
        if heading:
            section_indent = len(heading.group(1))
            out.append(line)
            i += 1
            continue
        if section_indent is None:
            out.append(_EXAMPLE_HEADING.sub(r"\1Examples:", line))
            i += 1
            continue
        # Inside an item section: join "a, b," lines until the one with the colon.
        text, j = line.strip(), i
        while _OPEN_GROUP.match(text) and j + 1 < len(lines):
            j += 1
            text = f"{text} {lines[j].strip()}"
        group = _GROUP.match(text)
        if group is None:
            out.append(line)
            i += 1
            continue
        names = [name.strip() for name in group.group("names").split(",")]
        # The description: the rest of the line and the lines indented below the entry.
        k = j + 1
        while k < len(lines) and (not lines[k].strip() or len(lines[k]) - len(lines[k].lstrip()) > indent):
            k += 1
        while k > j + 1 and not lines[k - 1].strip():  # leave trailing blank lines to the section
            k -= 1
        for name in names:
            out.append(f"{' ' * indent}{name}:{group.group('rest')}")
            out.extend(lines[j + 1 : k])
        i = k
    return "\n".join(out)


class GoogleStyle(griffe.Extension):
    """Apply `rewrite` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
