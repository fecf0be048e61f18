"""Any labelled set of videos: one sub-folder per class holding video files or frame folders.

    root/<class>/<subject>_<anything>.mp4      decoded with ffmpeg
    root/<class>/<subject>_<anything>/*.png    a folder of frame images

The subject is the ``subject`` group of a configurable regex searched in the file name
(extension included) or frame folder name. The classes are the sub-folder names.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..video import VIDEO_EXTENSIONS
from .base import Candidate, DatasetError, DatasetFormat, Reject, Scan, register
from .files import list_dir, safe_id, subdirs

# Frame folders carry no rate; the nominal one of CK+-like captures.
FRAME_FOLDER_FPS = 30.0


@register
class Folder(DatasetFormat):
    name = "folder"
    layout = (
        "<class>/<video file (" + ", ".join(VIDEO_EXTENSIONS) + ")> or "
        "<class>/<frame folder>/<images> under {root}"
    )

    def default_classes(self, root: Path) -> list[str]:
        return [d.name for d in subdirs(root)]

    def known_classes(self, root: Path) -> list[str]:
        return self.default_classes(root)

    def scan(self, root: Path, *, subject_regex: str, with_landmarks: bool) -> Scan:
        pattern = _subject_pattern(subject_regex)
        scan = Scan()
        for class_dir in subdirs(root):
            dirs, files = list_dir(class_dir)
            videos = [f for f in files if f.suffix.lower() in VIDEO_EXTENSIONS]
            for item in sorted(videos + dirs):
                match = pattern.search(item.name)
                subject = match.group("subject") if match else None
                if not subject:
                    scan.rejects.append(Reject(
                        item, "subject not matched",
                        f"name {item.name!r} does not match subject_regex {subject_regex!r}",
                    ))
                    continue
                is_video = item in videos
                scan.candidates.append(Candidate(
                    video_id=safe_id(class_dir.name, item.stem if is_video else item.name,
                                     sep="__"),
                    subject=subject,
                    label=class_dir.name,
                    source=item,
                    fps=None if is_video else FRAME_FOLDER_FPS,
                ))
        if not scan.candidates and not scan.rejects:
            raise DatasetError(f"no class folder with videos or frame folders: "
                               f"{self.expected(root)}")
        return scan


def _subject_pattern(subject_regex: str) -> re.Pattern[str]:
    try:
        pattern = re.compile(subject_regex)
    except re.error as err:
        raise DatasetError(f"subject_regex {subject_regex!r} is not a valid regex: {err}") from err
    if "subject" not in pattern.groupindex:
        raise DatasetError(
            f"subject_regex {subject_regex!r} needs a named group (?P<subject>...)"
        )
    return pattern
