"""Logging set-up shared by the workflow's scripts: one log file per rule."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(path: str | Path | None) -> logging.Logger:
    """Send logging and stderr (where tqdm draws its bars) to the rule's log file.

    Uncaught exceptions are written there too, with a one-line summary first so the cause
    reads before the traceback.
    """
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr, force=True)

    def excepthook(exc_type, exc, tb):  # noqa: ANN001
        logging.getLogger("semaug").error("%s: %s", exc_type.__name__, exc)
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = excepthook
    return logging.getLogger("semaug")
