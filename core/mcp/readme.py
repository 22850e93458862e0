"""The README as MCP resources: one resource per ``##`` and ``###`` section.

A checkout (and an editable install) reads README.md beside ``core/``; an installed wheel
has no such file, and reads the README from its distribution's metadata, where it is the
long description.
"""

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import core

DISTRIBUTION = "queueadmin"
#: The README of a checkout: beside core/, with the pyproject.toml that builds it.
CHECKOUT = Path(core.__file__).resolve().parent.parent

_HEADING = re.compile(r"^(#{2,3}) +(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    """One ``##`` or ``###`` section: its heading and its text, heading included (a ``##``
    section's text stops at its first ``###``)."""

    slug: str
    title: str
    level: int
    text: str


def readme_text(checkout: Path = CHECKOUT) -> str | None:
    """The README: the checkout's file, else the installed distribution's long
    description, else None."""
    path = checkout / "README.md"
    if path.is_file() and (checkout / "pyproject.toml").is_file():
        return path.read_text(encoding="utf-8")
    try:
        meta = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    text = meta.get("Description") or meta.get_payload()
    return text if isinstance(text, str) and text.strip() else None


def slugify(title: str) -> str:
    """A heading as a URI path segment: lower-case words joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words) or "section"


def sections(text: str) -> list[Section]:
    """The ``##`` and ``###`` sections of a Markdown text, in order; lines in fenced code
    blocks (shell comments, Python comments) are never headings. Repeated slugs get
    ``-2``, ``-3``…"""
    found: list[tuple[int, str, list[str]]] = []
    fence = None
    for line in text.splitlines():
        match = None
        opening = _FENCE.match(line)
        if opening and fence is None:
            fence = opening.group(1)
        elif opening and fence == opening.group(1):
            fence = None
        elif fence is None:
            match = _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2), [line]))
        elif found:
            found[-1][2].append(line)
    result, seen = [], {}
    for level, title, lines in found:
        slug = slugify(title)
        seen[slug] = seen.get(slug, 0) + 1
        if seen[slug] > 1:
            slug = f"{slug}-{seen[slug]}"
        result.append(Section(slug, title, level, "\n".join(lines).strip() + "\n"))
    return result
