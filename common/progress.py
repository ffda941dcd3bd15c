"""Progress bars for long commands, shown only on a terminal (elsewhere ``\\r`` is clutter)."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def raw_stream(stream: Any) -> Any:
    """The file under Django's ``OutputWrapper`` (which would add a newline per write);
    ``call_command(stderr=self.stderr)`` nests them."""
    while hasattr(stream, "_out"):
        stream = stream._out
    return stream


def on_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def progress_bar(*, stream: Any, enabled: bool = True, **options: Any) -> tqdm:
    """A tqdm bar on ``stream``, disabled unless ``enabled`` and ``stream`` is a terminal."""
    stream = raw_stream(stream)
    return tqdm(file=stream, disable=not (enabled and on_terminal(stream)), **options)
