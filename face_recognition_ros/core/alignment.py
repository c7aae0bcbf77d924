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
Face alignment: five landmarks onto a fixed 112x112 template by a similarity transform.

Embedding models are trained on faces cropped this way, so the crop must match their
training preprocessing closely; a similarity transform (rotation, uniform scale,
translation) keeps the face's proportions, which an affine or perspective fit would bend.
The function is pure: same inputs, same crop, no state, so every detector and the
training tools share it.
"""

from __future__ import annotations

import cv2
from face_recognition_ros.core.errors import FaceRecognitionError
import numpy as np

REFERENCE_LANDMARKS_112 = np.array(
    [
        [38.2946, 51.6963],  # right eye (on the image's left)
        [73.5318, 51.5014],  # left eye
        [56.0252, 71.7366],  # nose tip
        [41.5493, 92.3655],  # right mouth corner
        [70.7299, 92.2041],  # left mouth corner
    ],
    dtype=np.float32,
)
"""The ArcFace template (also SFace's, and OpenCV's ``alignCrop``): where the 5 landmarks
land in a 112x112 crop, in YuNet order."""


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """
    Return the (size, size, 3) crop of ``image`` with ``landmarks`` moved onto the template.

    ``landmarks`` is (5, 2) in image pixels, YuNet order. For ``size`` other than 112 the
    template is scaled, so a model trained on 224x224 crops gets the same framing.
    Raises FaceRecognitionError when the landmarks are malformed or degenerate (all on
    one point), which no similarity transform can map onto the template.
    """
    points = np.asarray(landmarks, dtype=np.float32)
    if points.shape != (5, 2) or not np.all(np.isfinite(points)):
        raise FaceRecognitionError(
            f'landmarks must be a finite (5, 2) array in YuNet order, got shape {points.shape}.'
            ' Pass the landmarks of a Detection or of a LandmarkLocator.'
        )
    if int(size) < 1:
        raise FaceRecognitionError(f'aligned crop size must be positive, got {size}.')
    template = REFERENCE_LANDMARKS_112 * (float(size) / 112.0)
    # LMEDS, like insightface's and OpenCV's alignCrop: with exactly 5 points it is a robust
    # least-squares fit, so one badly placed landmark shifts the crop less.
    matrix, _ = cv2.estimateAffinePartial2D(points, template, method=cv2.LMEDS)
    if matrix is None:
        raise FaceRecognitionError(
            'cannot align the face: its landmarks are degenerate (all on one point or one '
            'line). Skip this detection.'
        )
    return cv2.warpAffine(image, matrix, (int(size), int(size)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
