"""Generators: animate a source face with a driving video's motion, built by name.

Importing this package is cheap (no torch); generator modules load on first lookup.
"""

from .motion import similarity_fit, transfer_landmarks
from .registry import (
    Generator,
    build_generator,
    generator_names,
    is_learned,
    register_generator,
    resolve_device,
)

__all__ = [
    "Generator", "build_generator", "generator_names", "is_learned", "register_generator",
    "resolve_device", "similarity_fit", "transfer_landmarks",
]
