"""The `dlib` landmark backend on a real photograph (skimage's astronaut) moved by known
similarity transforms: landmarks follow the motion, aligned crops put the eyes on the
template, a blanked frame is missing (interpolated, or the video rejected above max_missing).

Without the `dlib` extra these tests skip (except the ones about the install hint)."""

from __future__ import annotations

import importlib.util
import sys
import types

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data

import semaug
from semaug.clip import load_clip
from semaug.faces import (SMOOTH_SIGMA_FRAMES, DlibOptions, DlibUnavailable, crop_shard,
                          crop_video, make_backend, template_points)
from semaug.faces.align import transform_points
from semaug.dlib_models import dlib_available, model_path
from semaug.faces.track import VideoRejected
from semaug.ibug import eye_centres

SKIP_REASON = "the dlib backend needs the `dlib` extra: pip install 'semaug[dlib]'"
FACE_CENTRE = (222.0, 127.0)  # the astronaut's face in the 512x512 photograph (x, y)
HEIGHT, WIDTH = 400, 480
BLANK = 6  # the frame whose face is painted over


@pytest.fixture(scope="module")
def dlib_ready() -> None:
    reason = dlib_available()
    if reason is not None:
        pytest.skip(f"{SKIP_REASON} ({reason})")


def photo_to_frame(scale: float, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    """[2, 3]: photograph -> frame; the face centre goes to the frame centre + shift."""
    a = np.deg2rad(degrees)
    matrix = np.array([[scale * np.cos(a), -scale * np.sin(a), 0.0],
                       [scale * np.sin(a), scale * np.cos(a), 0.0]])
    matrix[:, 2] = np.array([WIDTH / 2 + shift[0], HEIGHT / 2 + shift[1]]) - matrix[:, :2] @ FACE_CENTRE
    return matrix


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """[2, 3] of applying ``inner`` then ``outer``."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2]


@pytest.fixture(scope="module")
def astronaut_video() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 frames [12, H, W, 3], photograph -> frame matrices [12, 2, 3]): the head turns
    from -8 to +8 degrees, grows from 1.8x to 2.2x and drifts 36 px right and 16 px down;
    frame BLANK has its face painted over with the background grey."""
    n = 12
    steps = np.linspace(0, 1, n)
    matrices = np.stack([photo_to_frame(1.8 + 0.4 * s, -8 + 16 * s, (-18 + 36 * s, -8 + 16 * s))
                         for s in steps])
    photo = data.astronaut()
    frames = np.stack([cv2.warpAffine(photo, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT) for m in matrices])
    centre = transform_points(np.array([FACE_CENTRE]), matrices[BLANK])[0].astype(int)
    half = 130  # the face is ~180 px across at this scale: paint the whole head over
    frames[BLANK, max(0, centre[1] - half):centre[1] + half,
           max(0, centre[0] - half):centre[0] + half] = 128
    return frames, matrices


def expected_landmarks(first: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Frame 0's landmarks carried to every frame by the known motion, [T, 68, 2]."""
    to_photo = cv2.invertAffineTransform(matrices[0])
    return np.stack([transform_points(first, compose(m, to_photo)) for m in matrices])


def test_dlib_landmarks_follow_a_known_motion_and_a_blanked_frame_is_missing(
        dlib_ready, astronaut_video):
    frames, matrices = astronaut_video
    backend = make_backend("dlib", dlib_options={"redetect_every": 5})
    track = backend.track(pd.Series({"video_id": "astronaut"}), frames)

    assert track.source == "dlib" and track.landmarks.shape == (12, 68, 2)
    assert track.missing == (BLANK,)
    expected = expected_landmarks(track.landmarks[0], matrices)
    error = np.linalg.norm(track.landmarks - expected, axis=-1).mean(axis=-1)  # per frame
    measured = [t for t in range(12) if t != BLANK]
    assert error[measured].mean() <= 2.0, error
    assert error[measured].max() <= 3.5, error
    # The blanked frame is filled between its neighbours (the motion is smooth, so the
    # interpolation lands near where the face would have been).
    assert np.allclose(track.landmarks[BLANK],
                       (track.landmarks[BLANK - 1] + track.landmarks[BLANK + 1]) / 2, atol=1e-3)
    assert error[BLANK] <= 4.0


def test_every_frame_detected_gives_the_same_landmarks_as_tracking(dlib_ready, astronaut_video):
    frames, _ = astronaut_video
    tracked = make_backend("dlib").detect(frames)
    detected = make_backend("dlib", dlib_options={"redetect_every": 1}).detect(frames)
    found = np.isfinite(tracked).all(axis=(1, 2))
    assert np.array_equal(found, np.isfinite(detected).all(axis=(1, 2)))
    # Local search and full-frame detection find slightly different boxes; the fit in them
    # must agree to well under the 2 px the motion test allows.
    assert np.linalg.norm(tracked[found] - detected[found], axis=-1).mean() < 1.0


class FramesOnly(types.ModuleType):
    """Stands in for semaug.datasets: the video's frames are held in memory."""

    def __init__(self, frames: np.ndarray) -> None:
        super().__init__("semaug.datasets")
        self.frames = frames

    def read_frames(self, row: pd.Series) -> np.ndarray:
        return self.frames


@pytest.fixture
def astronaut_dataset(monkeypatch, astronaut_video) -> FramesOnly:
    fake = FramesOnly(astronaut_video[0])
    monkeypatch.setitem(sys.modules, "semaug.datasets", fake)
    monkeypatch.setattr(semaug, "datasets", fake, raising=False)
    return fake


ROW = pd.Series({"video_id": "astronaut", "source": "memory", "n_frames": 12})


# At the default crop size, with the stage's temporal smoothing and without it. (At 128 px the
# residual is ~1.3 px: the eye-weighted 5-point fit leaves that much of the astronaut's face
# shape, which differs from MEAN_FACE, on the eyes; smoothing adds ~1 px at the ends of this
# fast 1.5 degree-per-frame turn.)
@pytest.mark.parametrize("smooth_sigma", [SMOOTH_SIGMA_FRAMES, 0.0])
def test_aligned_crops_put_the_true_eye_centres_on_the_template(
        dlib_ready, astronaut_video, astronaut_dataset, smooth_sigma):
    frames, matrices = astronaut_video
    backend = make_backend("dlib")
    size = 64
    cropped = crop_video(ROW, backend, size=size, max_missing=0.2, smooth_sigma=smooth_sigma)

    assert cropped.missing == (BLANK,)
    assert cropped.clip.meta["landmarks"] == "dlib" and cropped.clip.meta["missing_frames"] == [BLANK]
    # Where the eyes really are in each frame: frame 0's measured eyes moved by the known
    # motion (independent of what dlib measured on frames 1..11), then into the crop.
    first_eyes = eye_centres(backend.detect(frames[:1])[0].astype(np.float64))
    true_eyes = expected_landmarks(first_eyes, matrices)
    crop_matrices = np.asarray(cropped.clip.meta["transform"]["matrices"])
    in_crop = transform_points(true_eyes, crop_matrices)
    target = template_points(size)[:2]
    distance = np.linalg.norm(in_crop - target, axis=-1)
    assert distance.max() <= 1.5, distance


def test_a_video_with_too_many_faceless_frames_is_rejected_with_its_reason(
        dlib_ready, astronaut_dataset):
    with pytest.raises(VideoRejected, match=r"no face in 1 of 12 frames \(8% > max_missing 5%\)"):
        crop_video(ROW, make_backend("dlib"), size=64, max_missing=0.05)
    astronaut_dataset.frames = np.full((3, HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    with pytest.raises(VideoRejected, match="no face found in any of its 3 frames .dlib."):
        crop_video(ROW, make_backend("dlib"), size=64, max_missing=0.5)


def test_crop_shard_passes_the_dlib_options_and_keys_its_cache_on_them(
        dlib_ready, astronaut_dataset, tmp_path):
    index = pd.DataFrame([{**ROW.to_dict(), "subject": "A", "label": "happy",
                           "landmarks_source": "", "fps": 10.0}])
    run = dict(shard=0, n_shards=1, clip_dir=tmp_path, backend="dlib", size=32,
               max_missing=0.2, device="cpu", batch_size=4, preview_fps=10.0)
    table, rejects = crop_shard(index, **run, dlib_options={"redetect_every": 4})
    assert rejects.empty and table.n_missing.tolist() == [1]
    meta = load_clip(table.path[0]).meta
    assert meta["settings"]["backend_settings"]["redetect_every"] == 4
    assert "threads" not in meta["settings"]["backend_settings"]  # speed, not result
    mtime = (tmp_path / "astronaut.npz").stat().st_mtime_ns
    crop_shard(index, **run, dlib_options={"redetect_every": 4, "threads": 2})
    assert (tmp_path / "astronaut.npz").stat().st_mtime_ns == mtime  # reused
    crop_shard(index, **run, dlib_options={"redetect_every": 2})
    assert (tmp_path / "astronaut.npz").stat().st_mtime_ns != mtime  # other landmarks: redone


def test_of_two_faces_the_largest_is_tracked(dlib_ready):
    photo = data.astronaut()
    big = cv2.warpAffine(photo, photo_to_frame(2.0, 0, (-90, 0)), (WIDTH, HEIGHT))
    small = cv2.warpAffine(photo, photo_to_frame(1.2, 0, (140, 0)), (WIDTH, HEIGHT))
    frame = np.where(np.arange(WIDTH)[None, :, None] < 330, big, small)
    landmarks = make_backend("dlib").detect(frame[None])[0]
    assert np.isfinite(landmarks).all()
    eyes = eye_centres(landmarks)
    in_photo = make_backend("dlib", dlib_options={"min_face": 80}).detect(photo[None])[0]
    expected = transform_points(eye_centres(in_photo), photo_to_frame(2.0, 0, (-90, 0)))
    assert np.linalg.norm(eyes - expected, axis=-1).max() < 4.0


def test_two_worker_processes_give_the_landmarks_of_one(dlib_ready, astronaut_video):
    frames, _ = astronaut_video
    long_video = np.concatenate([frames, frames[::-1], frames, frames[::-1]])  # 48 frames
    one = make_backend("dlib").detect(long_video)
    backend = make_backend("dlib", dlib_options={"threads": 2})
    try:
        two = backend.detect(long_video)
    finally:
        backend.close()
    assert np.array_equal(np.isnan(one), np.isnan(two))
    found = np.isfinite(one).all(axis=(1, 2))
    assert np.linalg.norm(one[found] - two[found], axis=-1).mean() < 1.0


def test_cnn_detector_option_finds_the_face(dlib_ready):
    frame = cv2.warpAffine(data.astronaut(), photo_to_frame(2.0, 0, (0, 0)), (WIDTH, HEIGHT))
    landmarks = make_backend("dlib", dlib_options={"detector": "cnn"}).detect(frame[None])[0]
    hog = make_backend("dlib").detect(frame[None])[0]
    assert np.isfinite(landmarks).all()
    # The predictor was trained on HOG boxes; MMOD's boxes sit a little differently, which
    # moves the jaw line by a few pixels (on a ~180 px face) but hardly the eyes.
    assert np.linalg.norm(eye_centres(landmarks) - eye_centres(hog), axis=-1).max() < 3.0
    assert np.linalg.norm(landmarks - hog, axis=-1).mean() < 8.0


# ------------------------------------------------------------- install hints and options

def test_missing_model_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition_models" else real(name, *a))
    with pytest.raises(DlibUnavailable, match=r"semaug\[dlib\]"):
        model_path("shape_predictor_68_face_landmarks.dat")
    assert "semaug[dlib]" in dlib_available()


def test_missing_dlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib now raises ImportError
    with pytest.raises(DlibUnavailable, match=r"pip install 'semaug\[dlib\]'"):
        make_backend("dlib").tracker  # noqa: B018 - loading the models is the point


def test_dlib_options_are_checked():
    assert DlibOptions.from_config(None) == DlibOptions()
    assert DlibOptions.from_config({"threads": 2}).threads == 2
    with pytest.raises(ValueError, match="unknown option.*'treads'"):
        DlibOptions.from_config({"treads": 2})
    with pytest.raises(ValueError, match="detector must be 'hog' or 'cnn'"):
        DlibOptions(detector="mtcnn")
