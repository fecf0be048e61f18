"""CK+ (extended Cohn-Kanade): image sequences with an emotion code per labelled sequence.

    cohn-kanade-images/S005/001/S005_001_00000001.png ...
    Emotion/S005/001/S005_001_00000011_emotion.txt      "   3.0000000e+00"; absent = unlabelled
    Landmarks/S005/001/S005_001_00000001_landmarks.txt  68 lines "x y" per frame
"""

from __future__ import annotations

from pathlib import Path

from ..classes import CKPLUS_CODES
from .base import Candidate, DatasetError, DatasetFormat, Reject, Scan, register
from .files import find_tree, list_dir, safe_id, subdirs

IMAGES_TREE = ("cohn-kanade-images",)
EMOTION_TREE = ("Emotion",)
LANDMARKS_TREE = ("Landmarks",)
FPS = 30.0  # the capture rate reported for CK+


@register
class CKPlus(DatasetFormat):
    name = "ckplus"
    layout = (
        "cohn-kanade-images/<subject>/<sequence>/*.png and Emotion/ under {root} (nested unzip "
        "folders like extended-cohn-kanade-images/cohn-kanade-images are accepted)"
    )
    ships_landmarks = True
    landmarks_hint = "set `landmarks: face_alignment` to detect landmarks instead"

    def scan(self, root: Path, *, subject_regex: str, with_landmarks: bool) -> Scan:
        images = find_tree(root, IMAGES_TREE)
        emotion = find_tree(root, EMOTION_TREE)
        if images is None or emotion is None:
            missing = " and ".join(
                name for name, tree in (("cohn-kanade-images/", images), ("Emotion/", emotion))
                if tree is None
            )
            raise DatasetError(f"no {missing} found: {self.expected(root)}")
        landmarks = find_tree(root, LANDMARKS_TREE) if with_landmarks else None
        if with_landmarks and landmarks is None:
            raise DatasetError(
                f"`landmarks: dataset` needs Landmarks/<subject>/<sequence>/*_landmarks.txt under "
                f"{root} and there is none; {self.landmarks_hint}"
            )

        scan = Scan()
        for subject in subdirs(images):
            for sequence in subdirs(subject):
                relative = sequence.relative_to(images)
                label = _read_label(emotion / relative)
                if label is None:
                    scan.rejects.append(Reject(sequence, "unlabelled"))
                elif isinstance(label, Reject):
                    scan.rejects.append(Reject(sequence, label.kind, label.detail))
                else:
                    scan.candidates.append(Candidate(
                        video_id=safe_id(subject.name, sequence.name),
                        subject=subject.name,
                        label=label,
                        source=sequence,
                        landmarks_source=landmarks / relative if landmarks else None,
                        fps=FPS,
                    ))
        if not scan.candidates and not scan.rejects:
            raise DatasetError(f"{images} holds no sequence folders: {self.expected(root)}")
        scan.rejects += _labels_without_images(emotion, images)
        return scan


def _emotion_files(folder: Path) -> list[Path]:
    return [f for f in list_dir(folder)[1] if f.suffix == ".txt"] if folder.is_dir() else []


def _read_label(folder: Path) -> str | Reject | None:
    """The class of a sequence from its Emotion folder; None when it has no label file."""
    files = _emotion_files(folder)
    if not files:
        return None
    if len(files) > 1:
        return Reject(folder, "several emotion files", ", ".join(f.name for f in files))
    path = files[0]
    text = path.read_text(errors="replace").strip()
    try:
        value = float(text)  # written in e-notation: "   3.0000000e+00"
    except ValueError:
        return Reject(path, "unreadable emotion file", f"{path} holds {text[:40]!r}")
    code = int(value)
    if code != value:
        return Reject(path, "unreadable emotion file", f"{path} holds {text!r}, not a code")
    if code == 0:
        return Reject(path, "neutral excluded", f"{path}: code 0 (neutral) is not a class")
    if code not in CKPLUS_CODES:
        return Reject(path, "unknown emotion code",
                      f"{path}: code {code}, known codes {min(CKPLUS_CODES)}..{max(CKPLUS_CODES)}")
    return CKPLUS_CODES[code]


def _labels_without_images(emotion: Path, images: Path) -> list[Reject]:
    """Label files whose sequence has no image folder: a partial copy of the data."""
    rejects = []
    for subject in subdirs(emotion):
        for sequence in subdirs(subject):
            frames = images / sequence.relative_to(emotion)
            if not frames.is_dir():
                rejects += [Reject(label, "label without images", f"{frames} is missing")
                            for label in _emotion_files(sequence)]
    return rejects
