"""The benchmark commands' options, declared once: their counts, ``--only`` and ``--keep``."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.management.base import CommandError

from core.validation import positive


@dataclass(frozen=True)
class CountOption:
    """A positive whole-number option (``--name N``) of a benchmark."""

    name: str
    default: int
    help: str
    metavar: str | None = "N"


def add_options(parser, counts: Iterable[CountOption], phases: tuple[str, ...], keep: str) -> None:
    """Add the count options, ``--only`` (a subset of ``phases``) and ``--keep``."""
    for count in counts:
        parser.add_argument(
            f"--{count.name}",
            type=positive(int),
            default=count.default,
            metavar=count.metavar,
            help=f"{count.help} (default {count.default})",
        )
    parser.add_argument(
        "--only", default=",".join(phases), help=f"comma-separated subset of {','.join(phases)}"
    )
    parser.add_argument("--keep", action="store_true", help=keep)


def chosen_phases(text: str, known: tuple[str, ...]) -> list[str]:
    """The phases named by ``--only`` (comma-separated), or a CommandError."""
    only = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(only) - set(known))
    if unknown or not only:
        raise CommandError(f"--only takes names from {', '.join(known)}; got {text!r}")
    return only
