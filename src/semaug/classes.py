"""Class vocabularies of the supported dataset formats."""

from __future__ import annotations

# CK+ emotion codes (Emotion/*.txt): 0 neutral, 1..7 below. Neutral is not a class.
CKPLUS_CODES: dict[int, str] = {
    1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sadness", 7: "surprise",
}
CKPLUS_CLASSES: list[str] = [CKPLUS_CODES[c] for c in sorted(CKPLUS_CODES)]
# Labelled sequences per class in CK+ (the imbalance the demo reproduces).
CKPLUS_COUNTS: dict[str, int] = {
    "anger": 45, "contempt": 18, "disgust": 59, "fear": 25, "happy": 69, "sadness": 28,
    "surprise": 83,
}

MUG_CLASSES: list[str] = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]
MUG_EXCLUDED: tuple[str, ...] = ("neutral",)
MUG_COUNTS: dict[str, int] = {
    "anger": 167, "disgust": 153, "fear": 127, "happiness": 175, "sadness": 136, "surprise": 173,
}


def default_classes(fmt: str) -> list[str] | None:
    """The class list of a format, or None for `folder` (classes = its sub-folder names)."""
    return {"ckplus": CKPLUS_CLASSES, "mug": MUG_CLASSES}.get(fmt)
