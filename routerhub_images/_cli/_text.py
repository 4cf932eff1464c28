"""Making server-supplied text safe to print on a terminal."""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b) [0-?]* [\x20-/]* [@-~]            # CSI: colours, cursor moves, ESC[2J
    | (?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])           # OSC (window title), DCS, SOS, PM, APC
      [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)             # ... up to BEL or ST
    | \x1b [\x20-/]* [0-~]                              # any other escape sequence
    """,
    re.VERBOSE,
)
"""Whole escape sequences, removed first so their parameters do not remain as text."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls but tab and newline, DEL, and C1 controls."""


def printable(text: str) -> str:
    """``text`` without terminal control characters, for printing server-supplied text.

    Removes whole escape sequences (``ESC [2J`` clears the screen, ``ESC ]0;...BEL``
    sets the window title), then every remaining C0 control except newline and tab
    (ESC, BEL, backspace, carriage return, ...), DEL, and the C1 controls U+0080-U+009F.
    The readable text is kept.
    """
    return _CONTROL.sub("", _SEQUENCE.sub("", text))
