"""The index stage: a dataset root -> one row per usable sequence, and every rejected item
with its reason.

A format's scan proposes sequences; here every one of them is checked the same way (class in
the list, at least two frames, every frame decodes, one frame size, a landmark file per frame
when the dataset's landmarks are used), so that later stages can trust each row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..atomic import write_csv
from .base import Candidate, DatasetError, DatasetFormat, Reject, get_format, reason_kind
from .files import list_frames
from .frames import (
    FrameError,
    MissingLandmarks,
    check_image,
    count_video_frames,
    read_landmark_files,
)

log = logging.getLogger(__name__)

INDEX_COLUMNS = ["video_id", "subject", "label", "n_frames", "source", "landmarks_source", "fps"]
REJECT_COLUMNS = ["item", "reason"]
LANDMARK_MODES = ("dataset", "face_alignment", "none")
DEFAULT_SUBJECT_REGEX = "^(?P<subject>[^_]+)_"


def build_index(
    fmt: str,
    root: str | os.PathLike,
    *,
    classes: Iterable[str] | None = None,
    subject_regex: str = DEFAULT_SUBJECT_REGEX,
    landmarks: str = "dataset",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(index, rejects) of the ``fmt`` dataset under ``root``.

    ``classes`` keeps and orders the classes (default: the format's own); the order is kept in
    ``index.attrs["classes"]``. With ``landmarks="dataset"`` every frame must have a landmark
    file. Paths in the tables are ``root``-joined, so a relative root gives relative paths.
    Raises :class:`DatasetError` when the root holds no recognisable layout or nothing usable.
    """
    dataset = get_format(fmt)
    root = Path(root)
    if landmarks not in LANDMARK_MODES:
        raise DatasetError(f"landmarks must be one of {', '.join(LANDMARK_MODES)}, "
                           f"got {landmarks!r}")
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetError(f"dataset root {root} {what}; {dataset.expected(root)}")
    if landmarks == "dataset" and not dataset.ships_landmarks:
        raise DatasetError(
            f"`landmarks: dataset` is not available for {fmt} datasets (no landmark files): use "
            f"`landmarks: face_alignment` to detect faces, or `none` if frames are face crops"
        )
    class_list = _resolve_classes(dataset, root, classes)
    scan = dataset.scan(root, subject_regex=subject_regex, with_landmarks=landmarks == "dataset")
    log.info("%s: %d sequences found under %s, %d items set aside while scanning",
             fmt, len(scan.candidates), root, len(scan.rejects))

    rows: list[dict] = []
    rejects = list(scan.rejects)
    sources_by_id: dict[str, Path] = {}
    for candidate in tqdm(scan.candidates, desc=f"index {fmt}", unit="seq", mininterval=1.0):
        if candidate.label not in class_list:
            rejects.append(_class_reject(dataset, candidate))
            continue
        if candidate.video_id in sources_by_id:
            rejects.append(Reject(
                candidate.source, "duplicate video_id",
                f"{candidate.video_id} is also the id of {sources_by_id[candidate.video_id]}; "
                f"rename one of them",
            ))
            continue
        sources_by_id[candidate.video_id] = candidate.source
        checked = _check(candidate, dataset)
        (rejects if isinstance(checked, Reject) else rows).append(checked)

    index = pd.DataFrame(rows, columns=INDEX_COLUMNS).sort_values("video_id", ignore_index=True)
    index.attrs["classes"] = class_list
    reject_table = pd.DataFrame(
        [{"item": str(r.item), "reason": r.reason} for r in rejects], columns=REJECT_COLUMNS
    ).sort_values("item", kind="stable", ignore_index=True)
    if index.empty:
        raise DatasetError(f"no usable sequence under {root}: {_reject_summary(reject_table)}")
    log.info("%s: %d sequences indexed, %d items rejected", fmt, len(index), len(reject_table))
    return index, reject_table


def write_index(
    index: pd.DataFrame,
    rejects: pd.DataFrame,
    index_csv: str | os.PathLike,
    rejects_csv: str | os.PathLike,
) -> None:
    """Write both tables as CSV and log what is in them: sequences per class, rejects per
    reason."""
    for table, path in ((index, index_csv), (rejects, rejects_csv)):
        write_csv(table, path)

    classes = index.attrs.get("classes") or sorted(index["label"].unique())
    counts = index["label"].value_counts()
    log.info("indexed %d sequences of %d subjects -> %s", len(index),
             index["subject"].nunique(), index_csv)
    log.info("per class: %s", ", ".join(f"{c} {counts.get(c, 0)}" for c in classes))
    empty = [c for c in classes if counts.get(c, 0) == 0]
    if empty:
        log.warning("no sequence of class %s: check the data or the `classes` list",
                    ", ".join(empty))
    if rejects.empty:
        log.info("nothing rejected")
        return
    log.info("rejected %d items -> %s: %s", len(rejects), rejects_csv, _reject_summary(rejects))
    if (n_unlabelled := int((rejects["reason"] == "unlabelled").sum())):
        log.info("%d sequences unlabelled", n_unlabelled)


def _reject_summary(rejects: pd.DataFrame) -> str:
    """'266 unlabelled; 2 unreadable frame (e.g. <reason>)' — counts per kind of reason."""
    if rejects.empty:
        return "nothing found"
    kinds = rejects["reason"].map(reason_kind)
    parts = []
    for kind, count in kinds.value_counts().items():
        detail = rejects["reason"][kinds == kind].iloc[0][len(kind) + 2:]
        parts.append(f"{count} {kind}" + (f" (e.g. {detail})" if detail else ""))
    return "; ".join(parts)


def _resolve_classes(
    dataset: DatasetFormat, root: Path, classes: Iterable[str] | None
) -> list[str]:
    if classes is None:
        return dataset.default_classes(root)
    class_list = list(classes)
    known = dataset.known_classes(root)
    unknown = [c for c in class_list if c not in known]
    if unknown:
        raise DatasetError(
            f"classes {unknown} are not {dataset.name} classes under {root}; known: "
            f"{', '.join(known)}"
        )
    if len(set(class_list)) != len(class_list):
        raise DatasetError(f"classes {class_list} lists a class twice")
    return class_list


def _class_reject(dataset: DatasetFormat, candidate: Candidate) -> Reject:
    if candidate.label in dataset.excluded_classes:
        return Reject(candidate.source, f"{candidate.label} excluded",
                      f"not one of the {dataset.name} classes; list it in `classes` to keep it")
    return Reject(candidate.source, f"class '{candidate.label}' not in classes")


def _check(candidate: Candidate, dataset: DatasetFormat) -> dict | Reject:
    """The index row of a candidate, or why it cannot be used."""
    source = candidate.source
    frames = list_frames(source) if source.is_dir() else []
    if source.is_dir():
        n_frames, fps = len(frames), candidate.fps
    else:
        try:
            n_frames, fps = count_video_frames(source)
        except FrameError as err:
            return Reject(source, "unreadable video", str(err))
        fps = candidate.fps or fps
    problem = (
        _length_problem(source, frames, n_frames)
        or _frames_problem(source, frames)
        or _landmarks_problem(candidate, frames, dataset)
    )
    if problem:
        return problem
    return {
        "video_id": candidate.video_id,
        "subject": candidate.subject,
        "label": candidate.label,
        "n_frames": n_frames,
        "source": str(source),
        "landmarks_source": str(candidate.landmarks_source or ""),
        "fps": float(fps) if fps else float("nan"),
    }


def _length_problem(source: Path, frames: list[Path], n_frames: int) -> Reject | None:
    if n_frames == 0:
        return Reject(source, "no frames", f"{source} holds no frame")
    if n_frames == 1:
        only = frames[0] if frames else source
        return Reject(source, "one frame", f"{only} is the only frame; a video needs two or more")
    return None


def _frames_problem(source: Path, frames: list[Path]) -> Reject | None:
    """Every frame must decode (truncated files are common in copied datasets) and all must
    share one size, or the sequence cannot be stacked into one array."""
    if not frames:  # a video file: decoding it to count the frames checked it
        return None
    try:
        first = check_image(frames[0])
        for frame in frames[1:]:
            if (size := check_image(frame)) != first:
                return Reject(source, "frame size differs",
                              f"{frame} is {size[0]}x{size[1]}, {frames[0]} is "
                              f"{first[0]}x{first[1]}")
    except FrameError as err:
        return Reject(source, "unreadable frame", str(err))
    return None


def _landmarks_problem(
    candidate: Candidate, frames: list[Path], dataset: DatasetFormat
) -> Reject | None:
    if candidate.landmarks_source is None:
        return None
    try:
        read_landmark_files(candidate.landmarks_source, frames)
    except MissingLandmarks as err:
        return Reject(candidate.source, "missing landmarks", f"{err}; {dataset.landmarks_hint}")
    except FrameError as err:
        return Reject(candidate.source, "bad landmarks", str(err))
    return None


def build_index_file(settings: dict, index_csv: str | os.PathLike,
                     rejects_csv: str | os.PathLike) -> pd.DataFrame:
    """The ``index`` rule: index a dataset from its config block (``format``, ``root``,
    ``classes``, ``subject_regex``, ``landmarks``) and write both tables."""
    index, rejects = build_index(
        settings["format"], settings["root"], classes=settings.get("classes"),
        subject_regex=settings.get("subject_regex") or DEFAULT_SUBJECT_REGEX,
        landmarks=settings.get("landmarks") or "dataset")
    write_index(index, rejects, index_csv, rejects_csv)
    return index
