"""argparse types shared by the management commands."""

from collections.abc import Callable


def positive(kind: type) -> Callable[[str], int | float]:
    """An argparse type: ``kind(text)`` that must be more than zero."""

    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise ValueError(text)
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse
