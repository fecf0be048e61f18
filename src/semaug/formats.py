"""Facts about the dataset formats that the Snakefile needs at parse time.

Kept free of heavy imports: the DAG of a full CK+ grid must build in seconds.
"""

from __future__ import annotations

from .video import VIDEO_EXTENSIONS

FORMATS = ("ckplus", "mug", "folder")

# What a dataset root must hold, for error messages ("{root}" is filled in).
LAYOUTS: dict[str, str] = {
    "ckplus": (
        "cohn-kanade-images/<subject>/<sequence>/*.png and Emotion/ under {root} (nested unzip "
        "folders like extended-cohn-kanade-images/cohn-kanade-images are accepted)"
    ),
    "mug": (
        "subjects3/<subject>/[session<N>/]<expression>/take<NNN>/img_<NNNN>.jpg under {root} "
        "(a single extra folder level from unzipping is accepted)"
    ),
    "folder": (
        "<class>/<video file (" + ", ".join(VIDEO_EXTENSIONS) + ")> or "
        "<class>/<frame folder>/<images> under {root}"
    ),
}


def default_landmarks(fmt: str) -> str:
    """Landmark backend when the config names none: CK+ and MUG-style trees can ship landmark
    files (CK+ does; MUG's side files are optional); a folder of videos never does."""
    return "face_alignment" if fmt == "folder" else "dataset"
