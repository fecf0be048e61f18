"""Generators: animate a source face with a driving video's motion, built by scenario name.

A generator is one module of this package whose class is decorated with
:func:`register_generator` (see :mod:`semaug.catalog`). Importing this package is cheap (no
torch); generator modules load when the catalog is first asked.
"""

from ..catalog import declare_generator, register_generator
from .motion import similarity_fit, transfer_landmarks
from .registry import Generator, build_generator

__all__ = ["Generator", "build_generator", "declare_generator", "register_generator",
           "similarity_fit", "transfer_landmarks"]
