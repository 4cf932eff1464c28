"""The ``routerhub-images`` command line (``python -m routerhub_images`` too).

Commands: ``generate``, ``edit``, ``batch``, ``models`` and ``emulator``; see
``routerhub-images --help``. With no API key, or with ``--emulator``, the commands run
against the in-process emulator, so they work with no network and no credits.

Libraries, and why:

- **click** parses the command line. It is the most used and best kept parser for
  Python CLIs (Pallets), fully typed, and ships ``CliRunner`` so tests drive the real
  command in-process. Its conventions fit ours: usage errors exit with 2, exceptions
  carry their own exit code, and option values can come from the environment
  (``--api-key`` from ``$ROUTERHUB_API_KEY``). Typer would add a layer over click for
  annotations only; argparse would mean hand-rolling the error handling and test runner.
- **rich** draws the batch progress bar and summary table. Its ``Progress`` handles
  what hand-rolled progress gets wrong: live refresh from a background thread, ETA and
  rate columns, and degrading to plain output when stderr is not a terminal (pipes, CI,
  ``CliRunner``), so redirected output is never full of carriage returns.

Errors are one line on stderr and a distinct exit code (see `ExitCode`); ``--debug``
adds the traceback. The API key is never printed: it is redacted from every message.
"""

from __future__ import annotations

from ._errors import ExitCode
from ._main import main

__all__ = ["ExitCode", "main"]
