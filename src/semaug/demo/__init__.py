"""The embedded demo: procedural facial-expression sequences rendered into the real CK+ and MUG
layouts (see :mod:`semaug.demo.layouts` for the exact files), so the real loaders read them.

- :func:`render_dataset` writes a dataset and, last, its sentinel JSON file.
- :func:`contact_sheet` draws a PNG of neutral/apex frames read back from the written files.
"""

from .dataset import SENTINEL_NAME, render_dataset
from .knobs import DEFAULT_SIZE, DemoKnobs
from .sheet import contact_sheet

__all__ = ["DEFAULT_SIZE", "SENTINEL_NAME", "DemoKnobs", "contact_sheet", "render_dataset"]
