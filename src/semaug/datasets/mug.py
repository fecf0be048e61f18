"""MUG facial expression database: one folder of JPEG frames per take.

    subjects3/<subject>/[session0/]<expression>/take<NNN>[end]/img_<NNNN>.jpg
    landmarks3/<same relative path>/img_<NNNN>.txt     optional side files, 68 lines "x y"

Subjects 002 and 049 have the extra session level; some take folders end in "end" (ordinary
takes); frame numbers need not start at 0. ``neutral`` takes are not one of the six classes:
they are rejected with the reason "neutral excluded" unless ``classes`` lists ``neutral``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..classes import MUG_EXCLUDED
from .base import Candidate, DatasetError, DatasetFormat, Scan, register
from .files import find_tree, safe_id, subdirs

SUBJECTS_TREE = ("subjects3",)
LANDMARKS_TREE = ("landmarks3",)
SESSION = re.compile(r"session\d+")
FPS = 19.0  # nominal rate of the MUG recordings


@register
class MUG(DatasetFormat):
    name = "mug"
    layout = (
        "subjects3/<subject>/[session<N>/]<expression>/take<NNN>/img_<NNNN>.jpg under {root} "
        "(a single extra folder level from unzipping is accepted)"
    )
    ships_landmarks = True
    landmarks_hint = "the plain MUG release has no landmark files: use `landmarks: face_alignment`"
    excluded_classes = MUG_EXCLUDED

    def scan(self, root: Path, *, subject_regex: str, with_landmarks: bool) -> Scan:
        subjects = find_tree(root, SUBJECTS_TREE)
        if subjects is None:
            raise DatasetError(f"no subjects3/ found: {self.expected(root)}")
        landmarks = _landmarks_tree(root, subjects) if with_landmarks else None
        if with_landmarks and landmarks is None:
            raise DatasetError(
                f"`landmarks: dataset` needs landmarks3/<subject>/.../take<NNN>/img_<NNNN>.txt "
                f"beside {subjects} and there is none; {self.landmarks_hint}"
            )

        scan = Scan()
        for subject in subdirs(subjects):
            for expression in _expression_dirs(subject):
                for take in subdirs(expression):
                    relative = take.relative_to(subjects)
                    scan.candidates.append(Candidate(
                        video_id=safe_id(*relative.parts),
                        subject=subject.name,
                        label=expression.name,
                        source=take,
                        landmarks_source=landmarks / relative if landmarks else None,
                        fps=FPS,
                    ))
        if not scan.candidates:
            raise DatasetError(f"{subjects} holds no take folders: {self.expected(root)}")
        return scan


def _expression_dirs(subject: Path) -> list[Path]:
    """Expression folders of a subject, looking through session0/session1 where present."""
    dirs: list[Path] = []
    for child in subdirs(subject):
        dirs += subdirs(child) if SESSION.fullmatch(child.name) else [child]
    return dirs


def _landmarks_tree(root: Path, subjects: Path) -> Path | None:
    beside = subjects.parent / LANDMARKS_TREE[0]
    return beside if beside.is_dir() else find_tree(root, LANDMARKS_TREE)
