# Copyright 2026 face_recognition maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Face detection: YuNet (default, any CPU) and the factory that picks a detector backend.

YuNet is a 120 KB anchor-free detector that gives a box, a score and the 5 landmarks the
aligner needs, so no second model is needed for landmarks. It runs on one of two
runtimes, chosen by ``runtime``; both give the same faces (tested), and onnxruntime was
about three times faster on the 2-core test machine (``docs/backends.md``,
``benchmarks/model_backends.py``), so it is the default where it is installed:

- ``'onnxruntime'``: the network runs in onnxruntime (the shipped file is repaired once
  and cached, see ``model_files.prepared_model_for_onnxruntime``), and the anchor decoding and
  non-maximum suppression that OpenCV does in C++ are done here with numpy;
- ``'opencv'``: ``cv2.FaceDetectorYN``, which needs nothing beyond OpenCV.

The network input follows the frame size (padded to a multiple of 32), so there is no
letterboxing to undo; frames larger than ``max_side`` are shrunk first, because a
4000-pixel photo would otherwise take seconds, and faces in it are large anyway.
"""

from __future__ import annotations

import logging
import math
import os

import cv2
from face_recognition_ros.core.errors import FaceRecognitionError, ModelError
from face_recognition_ros.core.image_io import to_bgr8
from face_recognition_ros.core.model_files import (
    choose_runtime, DEFAULT_DETECTOR_MODEL, model_id_for, prepared_onnxruntime_session,
    resolve_model
)
from face_recognition_ros.core.types import Detection, FaceDetector
import numpy as np

_LOG = logging.getLogger(__name__)

"""Ways to run the YuNet network; ``None`` picks the first one installed."""

_STRIDES = (8, 16, 32)
_PAD_DIVISOR = 32  # YuNet's coarsest feature map has stride 32.
_ROW_WIDTH = 15  # x, y, w, h, 5 landmarks (x, y), score: the layout of FaceDetectorYN.


class YuNetDetector:
    """
    YuNet face detector: boxes, scores and 5 landmarks for every face in a BGR frame.

    ``score_threshold`` drops weak detections, ``nms_threshold`` is the IoU above which the
    weaker of two overlapping boxes is dropped, ``min_face_size`` drops faces whose box is
    narrower or shorter than that many pixels of the input image (too small to recognise),
    ``top_k`` keeps at most that many faces (the best ones), ``max_side`` shrinks larger
    frames before detection (results are scaled back; ``None`` disables it).
    ``hard_light`` (default True) looks again when a dark or flat frame gave no face: on a
    contrast-normalised copy, then on that copy padded for faces that fill the frame
    (``_hard_light_rows``); frames where a face was found, or that are lit normally, cost
    nothing more and give the same faces as with ``hard_light=False``.
    ``num_threads=None`` uses every core; with ``runtime='opencv'`` the thread count is
    OpenCV's process-wide setting (``cv2.setNumThreads``), with onnxruntime it is per model.
    Raises ModelError when the model file is missing, corrupt or not a YuNet model.
    Call one instance from one thread at a time (the OpenCV runtime keeps the last frame
    size as state); build one detector per worker thread instead.
    """

    provides_landmarks = True

    def __init__(self, model_path: str | os.PathLike | None = None,
                 score_threshold: float = 0.6, nms_threshold: float = 0.3,
                 min_face_size: float = 20, top_k: int = 50, num_threads: int | None = None,
                 max_side: int | None = 1280, runtime: str | None = None,
                 hard_light: bool = True) -> None:
        _check_range('score_threshold', score_threshold, 0.0, 1.0)
        _check_range('nms_threshold', nms_threshold, 0.0, 1.0)
        _check_range('min_face_size', min_face_size, 0.0, math.inf)
        if int(top_k) < 1:
            raise FaceRecognitionError(f'top_k must be at least 1, got {top_k}.')
        if max_side is not None and int(max_side) < _PAD_DIVISOR:
            raise FaceRecognitionError(
                f'max_side must be at least {_PAD_DIVISOR} pixels or None, got {max_side}.')
        if num_threads is not None and int(num_threads) < 1:
            raise FaceRecognitionError(
                f'num_threads must be at least 1 or None, got {num_threads}.')
        self.model_path, sha256 = resolve_model(model_path, DEFAULT_DETECTOR_MODEL)
        self.model_id = model_id_for(self.model_path, sha256)
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self.min_face_size = float(min_face_size)
        self.top_k = int(top_k)
        self.max_side = None if max_side is None else int(max_side)
        self.runtime = choose_runtime(runtime)
        self.num_threads = num_threads
        self.hard_light = bool(hard_light)
        if self.runtime == 'onnxruntime':
            self._network = _OnnxRuntimeYuNet(self.model_path, num_threads)
        else:
            self._network = _OpenCvYuNet(self.model_path, num_threads)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """
        Return the faces in ``image`` (BGR uint8; gray or BGRA are converted), best first.

        Boxes are clipped to the image; landmarks are left where the network put them,
        which can be just outside the image for a face cut by the frame edge (alignment
        handles that). An image too small to hold a face of ``min_face_size`` gives [].
        """
        frame = to_bgr8(image)
        height, width = frame.shape[:2]
        if min(height, width) < max(self.min_face_size, 1.0):
            return []
        scale = 1.0
        if self.max_side is not None and max(height, width) > self.max_side:
            scale = self.max_side / float(max(height, width))
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        rows = self._network.detect(frame, self.score_threshold, self.nms_threshold)
        if rows.shape[0] == 0 and self.hard_light:
            rows = self._hard_light_rows(frame)
        if rows.shape[0] == 0:
            return []
        rows = rows.astype(np.float32, copy=True)
        if scale != 1.0:
            rows[:, :14] /= scale
        return self._to_detections(rows, width, height)

    def _hard_light_rows(self, frame: np.ndarray) -> np.ndarray:
        """
        Look again in a dark or flat frame that gave no face; rows in ``frame`` pixels.

        In a dim corridor or beside a window the face is a few grey levels deep, where
        YuNet, trained on well-exposed photos, scores it below the threshold. Lifting the
        shadows and equalising contrast locally (``contrast_normalised``) brings it back
        into the range the network knows. Only frames that need it pay: the frame must be
        dark or flat by its own statistics (``is_dark_or_flat``) and the ordinary pass must
        have found nothing, so a normally lit frame, or one with a face already found,
        gives exactly the faces it gave before. A face that fills a tight crop is also
        harder to see than one with context around it (the network's anchors are
        tuned for faces inside a scene), so the normalised copy is tried once more with a
        border of a quarter of its size on each side; the border is cut off the result.
        """
        if not is_dark_or_flat(frame):
            return np.zeros((0, _ROW_WIDTH), dtype=np.float32)
        enhanced = contrast_normalised(frame)
        rows = self._network.detect(enhanced, self.score_threshold, self.nms_threshold)
        if rows.shape[0]:
            return rows
        height, width = enhanced.shape[:2]
        border = max(height, width) // 4
        padded = cv2.copyMakeBorder(enhanced, border, border, border, border,
                                    cv2.BORDER_REPLICATE)
        rows = self._network.detect(padded, self.score_threshold, self.nms_threshold)
        if rows.shape[0]:
            rows = rows.astype(np.float32, copy=True)
            rows[:, [0, 1]] -= border
            rows[:, 4:14] -= border
        return rows

    def _to_detections(self, rows: np.ndarray, width: int, height: int) -> list[Detection]:
        detections = []
        for row in rows[np.argsort(-rows[:, 14], kind='stable')]:
            x, y, w, h = (float(v) for v in row[:4])
            if min(w, h) < self.min_face_size:
                continue
            left, top = max(x, 0.0), max(y, 0.0)
            right, bottom = min(x + w, float(width)), min(y + h, float(height))
            if right - left < 1.0 or bottom - top < 1.0:
                continue
            detections.append(Detection(
                box=np.array([left, top, right - left, bottom - top], dtype=np.float32),
                score=float(min(max(row[14], 0.0), 1.0)),
                landmarks=row[4:14].reshape(5, 2).astype(np.float32),
            ))
            if len(detections) == self.top_k:
                break
        return detections


def create_detector(backend: str = 'yunet', **options) -> FaceDetector:
    """
    Return a face detector by backend name: ``'yunet'`` (any CPU) or ``'facedetect'``.

    ``options`` go to the backend's constructor (``YuNetDetector`` or
    ``jetson_detection.FaceDetectDetector``). FaceDetect needs a Jetson with
    jetson-inference; elsewhere it raises ModelError saying to use 'yunet'.
    """
    name = str(backend).strip().lower()
    if name == 'yunet':
        return YuNetDetector(**options)
    if name == 'facedetect':
        from face_recognition_ros.core.jetson_detection import FaceDetectDetector

        return FaceDetectDetector(**options)
    raise FaceRecognitionError(
        f"unknown detector backend {backend!r}: choose 'yunet' (any CPU) or 'facedetect' "
        '(NVIDIA Jetson with jetson-inference).'
    )


DARK_MEDIAN = 64
"""A frame whose median grey level is below this (a quarter of the 8-bit range) is dark: an
ordinary exposure puts the median near the middle (118 for the middle one of the 21
fixture photos, padded), gamma 2 darkening of a mid-grey scene puts it at 64. A dim stage
video can be this dark with its faces well seen (the bundled clip, letterboxed: 12), which
is why the extra pass also needs the ordinary one to have found no face."""
FLAT_RANGE = 64
"""A frame whose 10th to 90th percentile grey levels span less than this is flat (fog,
glare, a washed-out webcam): a quarter of the range, where a face's shading is lost."""


def is_dark_or_flat(frame: np.ndarray) -> bool:
    """
    Whether a BGR frame is dark (median grey < DARK_MEDIAN) or flat (spread < FLAT_RANGE).

    Measured on a 64x48 thumbnail (about 0.1 ms on 640x480), from the frame's own
    statistics, so the rule does not depend on a camera or a data set.
    """
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    thumbnail = cv2.resize(gray, (64, 48), interpolation=cv2.INTER_AREA)
    low, median, high = np.percentile(thumbnail, (10, 50, 90))
    return bool(median < DARK_MEDIAN or high - low < FLAT_RANGE)


def contrast_normalised(frame: np.ndarray) -> np.ndarray:
    """
    Return a copy of a BGR frame with shadows lifted and contrast equalised locally (CLAHE).

    Noise is smoothed first (5x5 median). Only the lightness (L of Lab) changes, so colours
    keep their hue. A gamma chosen from the frame's own median brings that median to
    mid-grey (never darkening, at most ``gamma 1/4``), then CLAHE (clip limit 2, 8x8 tiles)
    evens out a one-sided light, tile by tile, while its clip limit keeps sensor noise in
    the shadows from being amplified into false edges.
    """
    # A 5x5 median first: in deep shadow the sensor noise is as strong as the face's
    # shading, and lifting and equalising would amplify it into texture that hides the face.
    lab = cv2.cvtColor(cv2.medianBlur(frame, 5), cv2.COLOR_BGR2LAB)
    light = lab[:, :, 0]
    median = float(np.median(cv2.resize(light, (64, 48), interpolation=cv2.INTER_AREA)))
    lift = 1.0
    if 0.0 < median < 128.0:
        lift = max(0.25, math.log(0.5) / math.log(median / 255.0))
    elif median <= 0.0:
        lift = 0.25
    if lift < 1.0:
        table = (255.0 * (np.arange(256) / 255.0) ** lift).round().astype(np.uint8)
        light = cv2.LUT(light, table)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    lab[:, :, 0] = clahe.apply(light)
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= float(value) <= high:
        raise FaceRecognitionError(f'{name} must be in [{low}, {high}], got {value}.')


class _OpenCvYuNet:
    """``cv2.FaceDetectorYN``; re-sized only when the frame size changes (cheap anyway)."""

    def __init__(self, model_path, num_threads: int | None) -> None:
        if num_threads is not None:
            cv2.setNumThreads(int(num_threads))
        try:
            # top_k=5000: keep every candidate through NMS; YuNetDetector applies its own
            # top_k after the size filter, so small faces do not crowd out large ones.
            self._detector = cv2.FaceDetectorYN.create(
                os.fspath(model_path), '', (320, 320), 0.5, 0.3, 5000)
        except cv2.error as error:
            raise ModelError(
                f'OpenCV cannot load {os.fspath(model_path)!r} as a YuNet model ({error}). '
                'Pass a YuNet ONNX file, or omit model_path for the bundled one.'
            ) from error
        self._size = (320, 320)

    def detect(self, frame: np.ndarray, score_threshold: float,
               nms_threshold: float) -> np.ndarray:
        size = (frame.shape[1], frame.shape[0])
        if size != self._size:
            self._detector.setInputSize(size)
            self._size = size
        self._detector.setScoreThreshold(score_threshold)
        self._detector.setNMSThreshold(nms_threshold)
        _, faces = self._detector.detect(frame)
        if faces is None:
            return np.zeros((0, _ROW_WIDTH), dtype=np.float32)
        return np.asarray(faces, dtype=np.float32).reshape(-1, _ROW_WIDTH)


class _OnnxRuntimeYuNet:
    """YuNet in onnxruntime, with OpenCV's decoding (face_detect.cpp) redone in numpy."""

    def __init__(self, model_path, num_threads: int | None) -> None:
        self._session = prepared_onnxruntime_session(model_path, {2: 'H', 3: 'W'}, num_threads)
        self._input_name = self._session.get_inputs()[0].name
        self._output_names = [output.name for output in self._session.get_outputs()]
        expected = {f'{kind}_{stride}' for kind in ('cls', 'obj', 'bbox', 'kps')
                    for stride in _STRIDES}
        if not expected.issubset(self._output_names):
            raise ModelError(
                f'{os.fspath(model_path)!r} is not a YuNet 2023mar model: its outputs are '
                f'{self._output_names}, expected {sorted(expected)}. Pass a YuNet ONNX file, '
                'or omit model_path for the bundled one.'
            )
        self._grids: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}

    def detect(self, frame: np.ndarray, score_threshold: float,
               nms_threshold: float) -> np.ndarray:
        height, width = frame.shape[:2]
        pad_h = -(-height // _PAD_DIVISOR) * _PAD_DIVISOR
        pad_w = -(-width // _PAD_DIVISOR) * _PAD_DIVISOR
        # Zero padding at the bottom and right, as OpenCV does: coordinates stay unchanged.
        blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        blob[0, :, :height, :width] = frame.transpose(2, 0, 1)
        outputs = dict(zip(self._output_names,
                           self._session.run(None, {self._input_name: blob})))
        rows = [self._decode(outputs, stride, pad_h, pad_w, score_threshold)
                for stride in _STRIDES]
        candidates = np.concatenate(rows, axis=0)
        if candidates.shape[0] == 0:
            return candidates
        keep = cv2.dnn.NMSBoxes(candidates[:, :4].tolist(), candidates[:, 14].tolist(),
                                score_threshold, nms_threshold)
        return candidates[np.asarray(keep, dtype=np.int64).reshape(-1)]

    def _decode(self, outputs: dict, stride: int, pad_h: int, pad_w: int,
                score_threshold: float) -> np.ndarray:
        cls = np.clip(outputs[f'cls_{stride}'].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[f'obj_{stride}'].reshape(-1), 0.0, 1.0)
        scores = np.sqrt(cls * obj)
        index = np.flatnonzero(scores >= score_threshold)
        rows = np.empty((index.size, _ROW_WIDTH), dtype=np.float32)
        if index.size == 0:
            return rows
        cols_x, rows_y = self._grid(stride, pad_h, pad_w)
        gx, gy = cols_x[index], rows_y[index]
        bbox = outputs[f'bbox_{stride}'].reshape(-1, 4)[index]
        kps = outputs[f'kps_{stride}'].reshape(-1, 10)[index]
        center_x = (gx + bbox[:, 0]) * stride
        center_y = (gy + bbox[:, 1]) * stride
        box_w = np.exp(bbox[:, 2]) * stride
        box_h = np.exp(bbox[:, 3]) * stride
        rows[:, 0] = center_x - box_w / 2
        rows[:, 1] = center_y - box_h / 2
        rows[:, 2] = box_w
        rows[:, 3] = box_h
        rows[:, 4:14:2] = (kps[:, 0::2] + gx[:, None]) * stride
        rows[:, 5:14:2] = (kps[:, 1::2] + gy[:, None]) * stride
        rows[:, 14] = scores[index]
        return rows

    def _grid(self, stride: int, pad_h: int, pad_w: int) -> tuple[np.ndarray, np.ndarray]:
        key = (stride, pad_h, pad_w)
        if key not in self._grids:
            cols = pad_w // stride
            rows = pad_h // stride
            flat = np.arange(rows * cols)
            self._grids[key] = ((flat % cols).astype(np.float32),
                                (flat // cols).astype(np.float32))
        return self._grids[key]
