"""semaug.faces: alignment geometry, the crop stage (shards, resume, rejects) and the
face_alignment backend run offline on randomly initialised weights of the real networks."""

from __future__ import annotations

import logging
import socket
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import semaug
from semaug.clip import load_clip
from semaug.faces import (FaceAlignmentBackend, FaceModelUnavailable, align_video, crop_shard,
                          fill_missing, merge_shards, shard_videos, template_landmarks,
                          warp_face, weight_files)
from semaug.faces.fan import load_face_alignment
from semaug.ibug import MEAN_FACE, NOSE_TIP, eye_centres
from semaug.video import read_video

SIZE = 32
INDEX_COLUMNS = ["video_id", "subject", "label", "n_frames", "source", "landmarks_source", "fps"]


def similarity(scale: float, angle: float, shift: tuple[float, float]) -> np.ndarray:
    """[2, 3] matrix: unit face coordinates -> image pixels."""
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def place_face(matrix: np.ndarray) -> np.ndarray:
    """MEAN_FACE moved into the image by ``matrix``, [68, 2]."""
    return MEAN_FACE @ matrix[:, :2].T + matrix[:, 2]


def draw_face(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 [H, W, 3]: white dots (radius 1.5% of the face scale) on a dark grey frame."""
    frame = np.full((height, width, 3), 30, dtype=np.uint8)
    sub = 16  # cv2 draws with sub-pixel precision when given coordinates × 2**4
    radius = int(round(0.015 * np.ptp(landmarks[:, 0]) / 0.64 * sub))
    for x, y in np.round(landmarks * sub).astype(int):
        cv2.circle(frame, (int(x), int(y)), radius, (255, 255, 255), -1, cv2.LINE_AA, shift=4)
    return frame


# --------------------------------------------------------------------------------- alignment

def test_alignment_puts_landmarks_and_pixels_on_the_template():
    rng = np.random.default_rng(0)
    size = 64
    matrices = [similarity(rng.uniform(60, 200), rng.uniform(-0.5, 0.5),
                           (rng.uniform(100, 160), rng.uniform(80, 100))) for _ in range(4)]
    landmarks = np.stack([place_face(m) for m in matrices])
    frames = np.stack([draw_face(points, 480, 480) for points in landmarks])

    aligned = align_video(frames, landmarks, size, smooth_sigma=0)

    target = template_landmarks(size)
    assert aligned.frames.shape == (4, size, size, 3) and aligned.frames.dtype == np.uint8
    assert np.abs(aligned.landmarks - target).max() < 0.5
    assert np.abs(eye_centres(aligned.landmarks) - eye_centres(target)).max() < 0.5
    # The same face at four poses becomes four crops that agree far better than one crop
    # agrees with itself moved by two pixels.
    crops = aligned.frames.astype(float)
    spread = np.abs(crops[1:] - crops[0]).mean()
    misregistered = np.abs(np.roll(crops[0], 2, axis=(0, 1)) - crops[0]).mean()
    assert spread < 0.3 * misregistered


def test_smoothing_keeps_a_still_face_exact_and_damps_jitter():
    rng = np.random.default_rng(1)
    still = np.repeat(place_face(similarity(150, 0.1, (100, 60)))[None], 30, axis=0)
    frames = np.zeros((30, 240, 320, 3), dtype=np.uint8)
    exact = align_video(frames, still, 64, smooth_sigma=2.0)
    assert np.abs(exact.landmarks - template_landmarks(64)).max() < 1e-3

    noisy = still + rng.normal(0, 2.0, still.shape)
    per_frame = align_video(frames, noisy, 64, smooth_sigma=0).matrices
    smoothed = align_video(frames, noisy, 64, smooth_sigma=2.0).matrices
    # Where the (fixed) eye centre of the image lands in the crop, frame by frame.
    eye = eye_centres(still[0])[0]
    wander = [np.linalg.norm((m[:, :, :2] @ eye + m[:, :, 2]).std(axis=0)) for m in
              (per_frame, smoothed)]
    assert wander[1] < 0.6 * wander[0]


@pytest.mark.parametrize("face_width", [40.0, 260.0])  # enlarged; shrunk (area pre-reduced)
def test_a_bright_square_at_the_nose_tip_lands_on_the_nose_tip_of_the_crop(face_width):
    size = 64
    landmarks = place_face(similarity(face_width, 0.2, (90.0, 30.0)))
    landmarks += np.round(landmarks[NOSE_TIP]) - landmarks[NOSE_TIP]  # nose on a pixel centre
    x, y = landmarks[NOSE_TIP].astype(int)
    half = max(1, int(face_width / 40))
    frame = np.zeros((360, 480, 3), dtype=np.uint8)
    frame[y - half:y + half + 1, x - half:x + half + 1] = 255

    aligned = align_video(frame[None], landmarks[None], size, smooth_sigma=0)

    brightness = aligned.frames[0, ..., 0].astype(float)
    rows, cols = np.indices(brightness.shape)
    centroid = np.array([(cols * brightness).sum(), (rows * brightness).sum()]) / brightness.sum()
    assert np.linalg.norm(centroid - aligned.landmarks[0, NOSE_TIP]) < 0.25
    assert np.linalg.norm(centroid - MEAN_FACE[NOSE_TIP] * size) < 1.0


@pytest.mark.parametrize("shift", [(60.0, 40.0), (-30.0, -20.0)])  # inside; half outside
def test_warp_reads_enough_of_the_frame(shift):
    """Warping only the window the crop reads gives what warping the whole frame gives."""
    frame = np.random.default_rng(4).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    matrix = cv2.invertAffineTransform(similarity(40 / 64, 0.3, shift))  # 40 px -> 64 px
    whole = cv2.warpAffine(frame, matrix, (64, 64), flags=cv2.INTER_LINEAR)
    # cv2 rounds sample positions to 1/32 px, so moving the origin may change a value by one.
    assert np.abs(warp_face(frame, matrix, 64).astype(int) - whole).max() <= 1


def test_missing_frames_are_interpolated_between_measured_ones():
    landmarks = np.stack([np.full((68, 2), float(t)) for t in range(6)]).astype(np.float32)
    landmarks[[0, 2, 3]] = np.nan
    track = fill_missing(landmarks, "test")
    assert track.missing == (0, 2, 3)
    assert np.allclose(track.landmarks[:, 0, 0], [1, 1, 2, 3, 4, 5])
    assert not fill_missing(np.full((3, 68, 2), np.nan), "test").found_any


# ------------------------------------------------------------------------ crop stage fixtures

class FakeDatasets(types.ModuleType):
    """Stands in for semaug.datasets over a tree of PNG frame folders + landmarks.npy."""

    def __init__(self) -> None:
        super().__init__("semaug.datasets")
        self.reads: list[str] = []

    def read_frames(self, row: pd.Series) -> np.ndarray:
        self.reads.append(row["video_id"])
        files = sorted(Path(row["source"]).glob("*.png"))
        return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])

    def read_landmarks(self, row: pd.Series) -> np.ndarray | None:
        path = row["landmarks_source"]
        return np.load(path) if isinstance(path, str) and path else None


@pytest.fixture
def datasets(monkeypatch) -> FakeDatasets:
    fake = FakeDatasets()
    monkeypatch.setitem(sys.modules, "semaug.datasets", fake)
    monkeypatch.setattr(semaug, "datasets", fake, raising=False)
    return fake


def make_video(root: Path, video_id: str, *, n_frames: int = 3, landmarks: bool = True,
               height: int = 72, width: int = 96, seed: int = 0) -> dict:
    """A frame folder of a face drawn at one random pose (+ its landmarks.npy)."""
    rng = np.random.default_rng(seed)
    folder = root / video_id
    folder.mkdir(parents=True)
    pose = similarity(rng.uniform(40, 60), rng.uniform(-0.3, 0.3),
                      (rng.uniform(10, 25), rng.uniform(0, 10)))
    points = np.repeat(place_face(pose)[None], n_frames, axis=0).astype(np.float32)
    for t in range(n_frames):
        Image.fromarray(draw_face(points[t], height, width)).save(folder / f"frame_{t:03d}.png")
    lm_path = ""
    if landmarks:
        lm_path = str(folder / "landmarks.npy")
        np.save(lm_path, points)
    return {"video_id": video_id, "subject": f"{seed:03d}", "label": "happy",
            "n_frames": n_frames, "source": str(folder), "landmarks_source": lm_path, "fps": 30.0}


@pytest.fixture
def index(tmp_path) -> pd.DataFrame:
    """Five small videos; v3 has a corrupt frame file."""
    rows = [make_video(tmp_path / "raw", f"v{i}", seed=i) for i in (4, 1, 3, 0, 2)]
    (tmp_path / "raw" / "v3" / "frame_001.png").write_bytes(b"not a png at all")
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def run_shard(index: pd.DataFrame, clip_dir: Path, *, shard: int = 0, n_shards: int = 1,
              backend: str = "dataset", max_missing: float = 0.2, size: int = SIZE,
              device: str = "cpu", code: str = ""):
    return crop_shard(index, shard=shard, n_shards=n_shards, clip_dir=clip_dir, backend=backend,
                      size=size, max_missing=max_missing, device=device, batch_size=2,
                      preview_fps=10.0, code=code)


# ------------------------------------------------------------------------------ crop stage

def test_crop_shard_writes_a_clip_and_preview_per_video_and_rejects_the_corrupt_one(
        datasets, index, tmp_path):
    clip_dir = tmp_path / "clips"
    table, rejects = run_shard(index, clip_dir)

    assert list(table.columns) == INDEX_COLUMNS + ["path", "preview", "n_missing"]
    assert list(table.video_id) == ["v0", "v1", "v2", "v4"]
    assert list(rejects.columns) == ["video_id", "item", "reason"]
    assert list(rejects.video_id) == ["v3"]
    assert "frame_001.png" in rejects.reason[0] and rejects.item[0].endswith("v3")
    for row in table.itertuples():
        clip = load_clip(row.path)
        assert clip.frames.shape == (3, SIZE, SIZE, 3) and clip.frames.dtype == np.uint8
        assert clip.landmarks.shape == (3, 68, 2) and clip.landmarks.dtype == np.float32
        assert np.abs(clip.landmarks - template_landmarks(SIZE)).max() < 0.5
        assert clip.meta["backend"] == "dataset" and clip.meta["landmarks"] == "dataset"
        assert np.asarray(clip.meta["transform"]["matrices"]).shape == (3, 2, 3)
        preview, _ = read_video(row.preview)
        assert preview.shape == (3, SIZE, 2 * SIZE, 3)  # crop | crop with landmarks
        assert row.n_missing == 0


def test_shards_partition_the_index_and_merge_back_in_order(datasets, index, tmp_path):
    ids = [f"id{i:02d}" for i in np.random.default_rng(2).permutation(11)]
    big = pd.DataFrame({"video_id": ids})
    parts = [set(shard_videos(big, s, 3).video_id) for s in range(3)]
    assert set().union(*parts) == set(ids)
    assert sum(map(len, parts)) == len(ids)
    assert parts[1] == set(sorted(ids)[1::3])
    with pytest.raises(ValueError, match="shard 3"):
        shard_videos(big, 3, 3)

    clip_dir, csvs = tmp_path / "clips", []
    for shard in range(2):
        table, rejects = run_shard(index, clip_dir, shard=shard, n_shards=2)
        csv = tmp_path / f"shard{shard}.csv"
        table.to_csv(csv, index=False)
        rejects.to_csv(tmp_path / f"shard{shard}_rejects.csv", index=False)
        csvs.append(csv)
    empty, no_rejects = run_shard(index, clip_dir, shard=5, n_shards=6)  # more shards than videos
    assert empty.empty and no_rejects.empty
    assert list(empty.columns) == INDEX_COLUMNS + ["path", "preview", "n_missing"]
    shard_ids = [set(pd.read_csv(c).video_id) | set(pd.read_csv(str(c)[:-4] + "_rejects.csv")
                                                     .video_id) for c in csvs]
    assert shard_ids[0] | shard_ids[1] == set(index.video_id) and not shard_ids[0] & shard_ids[1]

    table, rejects = merge_shards(csvs, tmp_path / "faces.csv", tmp_path / "faces_rejects.csv")
    written = pd.read_csv(tmp_path / "faces.csv", dtype={"subject": str})
    assert list(written.video_id) == ["v0", "v1", "v2", "v4"]
    assert written.subject.tolist() == ["000", "001", "002", "004"]  # leading zeros kept
    assert list(pd.read_csv(tmp_path / "faces_rejects.csv").video_id) == ["v3"]


def test_a_second_run_reuses_finished_clips(datasets, index, tmp_path, caplog):
    clip_dir = tmp_path / "clips"
    first, _ = run_shard(index, clip_dir)
    mtimes = {p: p.stat().st_mtime_ns for p in clip_dir.iterdir()}
    (clip_dir / "v1.mp4").unlink()  # as if killed between the clip and its preview
    datasets.reads.clear()

    with caplog.at_level(logging.INFO, logger="semaug.faces"):
        second, rejects = run_shard(index, clip_dir)

    assert datasets.reads == ["v3"]  # only the rejected video is tried again
    assert "4 reused" in caplog.text
    pd.testing.assert_frame_equal(first, second)
    assert (clip_dir / "v1.mp4").exists()
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items() if p.name != "v1.mp4")
    # A different crop size is a different result: recomputed, not reused.
    datasets.reads.clear()
    run_shard(index, clip_dir, size=SIZE + 8)
    assert sorted(datasets.reads) == ["v0", "v1", "v2", "v3", "v4"]
    # So is other crop code (the rule's code version): the job reruns and redoes the clips.
    datasets.reads.clear()
    run_shard(index, clip_dir, size=SIZE + 8, code="edited")
    assert sorted(datasets.reads) == ["v0", "v1", "v2", "v3", "v4"]
    datasets.reads.clear()
    run_shard(index, clip_dir, size=SIZE + 8, code="edited")
    assert datasets.reads == ["v3"]


def test_none_backend_resizes_frames_and_gives_the_template(datasets, tmp_path):
    folder = tmp_path / "raw" / "crop0"
    folder.mkdir(parents=True)
    frame = np.zeros((40, 48, 3), dtype=np.uint8)
    frame[:, :24] = 200  # left half bright
    for t in range(2):
        Image.fromarray(frame).save(folder / f"f{t}.png")
    row = {"video_id": "crop0", "subject": "001", "label": "fear", "n_frames": 2,
           "source": str(folder), "landmarks_source": "", "fps": 25.0}

    table, rejects = run_shard(pd.DataFrame([row]), tmp_path / "clips", backend="none")

    assert rejects.empty
    clip = load_clip(table.path[0])
    assert clip.frames.shape == (2, SIZE, SIZE, 3)
    assert clip.frames[:, :, : SIZE // 2 - 1].min() >= 190
    assert clip.frames[:, :, SIZE // 2 + 1:].max() <= 10
    assert np.allclose(clip.landmarks, template_landmarks(SIZE))
    assert clip.meta["landmarks"] == "template"


def test_dataset_backend_rejects_a_video_without_landmarks_or_with_too_many_gaps(
        datasets, tmp_path):
    no_files = make_video(tmp_path / "raw", "nolm", landmarks=False)
    gappy = make_video(tmp_path / "raw", "gappy", n_frames=4, seed=5)
    points = np.load(gappy["landmarks_source"])
    points[1:3] = np.nan  # frames 1 and 2 lack landmarks
    np.save(gappy["landmarks_source"], points)
    index = pd.DataFrame([no_files, gappy], columns=INDEX_COLUMNS)

    table, rejects = run_shard(index, tmp_path / "clips", max_missing=0.2)
    reasons = dict(zip(rejects.video_id, rejects.reason))
    assert table.empty and set(reasons) == {"nolm", "gappy"}
    assert "nolm" in reasons["nolm"] and "face_alignment" in reasons["nolm"]
    assert "2 of 4 frames" in reasons["gappy"]

    table, _ = run_shard(index, tmp_path / "clips", max_missing=0.5)
    assert table.set_index("video_id").n_missing["gappy"] == 2
    assert load_clip(table.path[0]).meta["missing_frames"] == [1, 2]


# ------------------------------------------------------------------- face_alignment offline

# The cache file names face-alignment 1.5 loads (face_alignment/api.py `models_urls`,
# face_alignment/detection/sfd/sfd_detector.py `models_urls`).
FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
S3FD_FILE = "s3fd-619a316812.pth"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def face_alignment_module():
    """face_alignment imported with numba's JIT off: compiling its two helpers takes tens of
    seconds on a busy CPU, and the tests only check wiring (no effect if already imported)."""
    numba = pytest.importorskip("numba")
    before = numba.config.DISABLE_JIT
    numba.config.DISABLE_JIT = True
    try:
        import face_alignment
        import face_alignment.utils  # noqa: F401 - the module holding the jitted helpers
    finally:
        numba.config.DISABLE_JIT = before
    return face_alignment


@pytest.fixture(scope="module")
def fake_torch_home(tmp_path_factory, face_alignment_module) -> Path:
    """A TORCH_HOME whose hub cache holds randomly initialised S3FD and 2D-FAN-4 weights,
    built from face-alignment's own network classes. The detector's face/background heads
    are set to always answer "background", so detection deterministically finds no face."""
    from semaug.faces.fan import save_random_weights

    home = tmp_path_factory.mktemp("torch_home")
    save_random_weights(home / "hub" / "checkpoints")
    return home


def test_weight_files_are_the_ones_face_alignment_loads(monkeypatch, tmp_path,
                                                        face_alignment_module):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert [(p.name, p.parent) for _, p in weight_files()] == [
        (S3FD_FILE, tmp_path / "hub" / "checkpoints"), (FAN_FILE, tmp_path / "hub" / "checkpoints")]


def test_missing_weights_stop_with_the_file_to_provide(
        monkeypatch, tmp_path, no_network, face_alignment_module, datasets, index):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(FaceModelUnavailable) as err:
        load_face_alignment("cpu")
    message = str(err.value)
    assert str(tmp_path / "empty" / "hub" / "checkpoints" / S3FD_FILE) in message
    assert str(tmp_path / "empty" / "hub" / "checkpoints" / FAN_FILE) in message
    assert "https://www.adrianbulat.com/downloads/python-fan/" + FAN_FILE in message
    assert "landmarks: dataset" in message
    # In the stage this is a set-up error that stops the job, not a rejected video.
    with pytest.raises(FaceModelUnavailable):
        run_shard(index, tmp_path / "clips", backend="face_alignment")


def test_face_alignment_rejects_a_video_where_no_face_is_found(
        monkeypatch, fake_torch_home, no_network, datasets, index, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(fake_torch_home))
    table, rejects = run_shard(index[index.video_id == "v0"], tmp_path / "clips",
                               backend="face_alignment")
    assert table.empty
    assert list(rejects.video_id) == ["v0"]
    assert "no face found in any of its 3 frames" in rejects.reason[0]


def test_face_alignment_batches_frames_through_fan_and_fills_missing_ones(
        monkeypatch, fake_torch_home, no_network):
    monkeypatch.setenv("TORCH_HOME", str(fake_torch_home))
    backend = FaceAlignmentBackend(device="cpu", batch_size=2)
    box = np.array([60.0, 20.0, 110.0, 70.0, 0.99])  # off-centre, so image coords are checked
    batches: list[tuple[int, ...]] = []

    def fixed_box(batch):  # the same box in every frame but frame 1
        first = sum(shape[0] for shape in batches)
        batches.append(tuple(batch.shape))
        return [[box] if first + i != 1 else [] for i in range(batch.shape[0])]

    monkeypatch.setattr(backend.model.face_detector, "detect_from_batch", fixed_box)
    # Averaging with a mirrored pass is about accuracy; skipping it halves the CPU time.
    monkeypatch.setattr(backend.model, "flip_input", False)
    frames = np.random.default_rng(3).integers(0, 255, (3, 96, 128, 3), dtype=np.uint8)

    track = backend.track(pd.Series({"video_id": "x"}), frames)

    assert batches == [(2, 3, 96, 128), (1, 3, 96, 128)]
    assert track.landmarks.shape == (3, 68, 2) and track.landmarks.dtype == np.float32
    assert track.missing == (1,)
    assert np.allclose(track.landmarks[1], track.landmarks[[0, 2]].mean(axis=0))
    width, height = box[2] - box[0], box[3] - box[1]
    found = track.landmarks[[0, 2]]
    assert (found[..., 0] > box[0] - width).all() and (found[..., 0] < box[2] + width).all()
    assert (found[..., 1] > box[1] - height).all() and (found[..., 1] < box[3] + height).all()
