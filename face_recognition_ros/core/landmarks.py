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
Landmarks for a face box that came without them (NVIDIA FaceDetect, a tracker, a user).

Alignment needs the 5 landmarks, and only some detectors give them. Rather than a second
landmark model, YuNet is run again on the box enlarged by a margin: the face is then the
one large, centred face of a small image, which YuNet finds reliably in a few
milliseconds, and its landmarks are mapped back to image pixels. Boxes of other
detectors differ in style (FaceDetect's are taller), so the match is tolerant: the
YuNet face whose centre lies in the given box and overlaps it most wins.
"""

from __future__ import annotations

import logging

import cv2
from face_recognition_ros.core.errors import FaceRecognitionError
from face_recognition_ros.core.image_io import to_bgr8
from face_recognition_ros.core.types import FaceDetector
import numpy as np

_LOG = logging.getLogger(__name__)

_CROP_SIDE = 320
"""The enlarged crop is resized so its longer side is this many pixels: a face of about
160 pixels (with margin 0.5) is well inside YuNet's comfortable range, the cost (a few
milliseconds) is the same for any box size, and on the fixture photos 160 to 416 pixels
gave landmarks equally close (3-4 % of the face width) to YuNet's on the whole frame."""
_MIN_OVERLAP = 0.25
"""Smallest IoU between the given box and YuNet's box for the same face."""


class YuNetLandmarkLocator:
    """
    Finds the 5 landmarks (YuNet order) of the face inside a box given by any detector.

    ``detector`` is the landmark-giving detector to run on the crop; ``None`` builds a
    YuNet detector with a low score threshold (the box already says a face is there) and
    no size filter. ``margin`` is the fraction of the box's width and height added on each
    side before cropping; YuNet needs some context around a face to find it.
    """

    def __init__(self, detector: FaceDetector | None = None, margin: float = 0.5) -> None:
        if not 0.0 <= float(margin) <= 3.0:
            raise FaceRecognitionError(f'margin must be in [0, 3], got {margin}.')
        if detector is None:
            from face_recognition_ros.core.detection import YuNetDetector

            detector = YuNetDetector(score_threshold=0.3, min_face_size=0, top_k=10,
                                     max_side=None)
        if not getattr(detector, 'provides_landmarks', False):
            raise FaceRecognitionError(
                'the landmark locator needs a detector that gives landmarks (YuNet); '
                'pass detector=None for the default.'
            )
        self.detector = detector
        self.margin = float(margin)

    def locate(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """
        Return (5, 2) float32 landmarks in ``image`` pixels, or None if no face is in box.

        ``box`` is (x, y, w, h) in pixels; it may reach outside the image (the outside is
        padded black, so the face stays centred in the crop).
        """
        x, y, w, h = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
        if not np.isfinite([x, y, w, h]).all() or w < 2.0 or h < 2.0:
            return None
        frame = to_bgr8(image)
        left = x - self.margin * w
        top = y - self.margin * h
        crop_w = w * (1.0 + 2.0 * self.margin)
        crop_h = h * (1.0 + 2.0 * self.margin)
        scale = _CROP_SIDE / max(crop_w, crop_h)
        # One affine warp crops, pads and resizes at once, without copying the whole frame.
        matrix = np.array([[scale, 0.0, -left * scale], [0.0, scale, -top * scale]])
        size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
        interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        crop = cv2.warpAffine(frame, matrix, size, flags=interpolation,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        target = np.array([self.margin * w, self.margin * h, w, h]) * scale
        best, best_key = None, None
        for detection in self.detector.detect(crop):
            if detection.landmarks is None:
                continue
            overlap = _iou(target, detection.box)
            center = detection.box[:2] + detection.box[2:] / 2.0
            inside = (target[0] <= center[0] <= target[0] + target[2]
                      and target[1] <= center[1] <= target[1] + target[3])
            if not inside or overlap < _MIN_OVERLAP:
                continue
            key = (overlap, detection.score)
            if best_key is None or key > best_key:
                best, best_key = detection, key
        if best is None:
            return None
        points = best.landmarks.astype(np.float64) / scale + np.array([left, top])
        return points.astype(np.float32)


def _iou(first: np.ndarray, second: np.ndarray) -> float:
    left = max(first[0], second[0])
    top = max(first[1], second[1])
    right = min(first[0] + first[2], second[0] + second[2])
    bottom = min(first[1] + first[3], second[1] + second[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = first[2] * first[3] + second[2] * second[3] - inter
    return float(inter / union) if union > 0 else 0.0
