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
Drawing recognised faces onto a frame: box, name, confidence and track id.

Readable at any size: line thickness and font scale follow the image's shorter side, the
label sits on a filled background in the face's colour with black or white text (whichever
contrasts more), and labels are moved inside the image when a face touches an edge. The
colour is derived from the name, so one person keeps one colour across frames and runs;
``unknown`` is always red.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import cv2
import numpy as np

from .types import Face, name_score, UNKNOWN

UNKNOWN_COLOR = (40, 40, 220)
"""BGR red for faces that match nobody."""

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def color_for_name(name: str) -> tuple[int, int, int]:
    """Return a stable, saturated BGR colour for ``name`` (red is kept for ``unknown``)."""
    if name == UNKNOWN:
        return UNKNOWN_COLOR
    digest = hashlib.md5(name.encode('utf-8')).digest()
    # Hue away from red (OpenCV hue 0..179; red is near 0 and 179).
    hue = 15 + digest[0] % 150
    hsv = np.uint8([[[hue, 200, 230]]])
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def face_label(face: Face) -> str:
    """
    ``name 0.87 #3``: the text drawn above a face.

    The number is the confidence in the name shown (``types.name_score``), as ROS
    publishes it: for ``unknown``, the confidence that the face is nobody enrolled. A face
    never compared with anyone (no similarity) shows no number.
    """
    parts = [face.name]
    similarity = face.similarity if face.similarity is not None else -1.0
    compared = face.name != UNKNOWN or bool(face.nearest_name) or similarity > -1.0
    if compared:
        parts.append(f'{name_score(face.name, face.confidence):.2f}')
    if face.track_id is not None:
        parts.append(f'#{face.track_id}')
    return ' '.join(parts)


def draw_faces(image: np.ndarray, faces: Sequence[Face], copy: bool = True,
               draw_landmarks: bool = False) -> np.ndarray:
    """
    Return ``image`` with every face drawn on it (a copy unless ``copy=False``).

    Text is ASCII-safe: OpenCV's Hershey fonts have no glyphs beyond ASCII, so other
    characters of a name are drawn as '?'.
    """
    canvas = image.copy() if copy else image
    height, width = canvas.shape[:2]
    short_side = max(min(height, width), 1)
    thickness = max(1, int(round(short_side / 320)))
    font_scale = max(0.35, short_side / 900)
    text_thickness = max(1, int(round(font_scale * 1.6)))
    pad = max(2, thickness * 2)
    for face in faces:
        box = np.asarray(face.box, dtype=np.float64)
        if box.shape != (4,) or not np.all(np.isfinite(box)):
            continue
        x1 = int(np.clip(round(box[0]), 0, width - 1))
        y1 = int(np.clip(round(box[1]), 0, height - 1))
        x2 = int(np.clip(round(box[0] + box[2]), 0, width - 1))
        y2 = int(np.clip(round(box[1] + box[3]), 0, height - 1))
        if x2 <= x1 or y2 <= y1:
            continue
        color = color_for_name(face.name)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        if draw_landmarks and face.landmarks is not None:
            for point in np.asarray(face.landmarks).reshape(-1, 2):
                if np.all(np.isfinite(point)):
                    cv2.circle(canvas, (int(point[0]), int(point[1])), thickness + 1, color,
                               -1, cv2.LINE_AA)
        text = face_label(face).encode('ascii', 'replace').decode('ascii')
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, text_thickness)
        label_w, label_h = text_w + 2 * pad, text_h + baseline + 2 * pad
        # Above the box if there is room, else inside its top edge; always inside the image.
        top = y1 - label_h if y1 - label_h >= 0 else y1
        top = int(np.clip(top, 0, max(height - label_h, 0)))
        left = int(np.clip(x1 - thickness // 2, 0, max(width - label_w, 0)))
        cv2.rectangle(canvas, (left, top), (left + label_w, top + label_h), color, -1)
        luminance = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
        text_color = (0, 0, 0) if luminance > 140 else (255, 255, 255)
        cv2.putText(canvas, text, (left + pad, top + pad + text_h), _FONT, font_scale,
                    text_color, text_thickness, cv2.LINE_AA)
    return canvas


__all__ = ['UNKNOWN_COLOR', 'color_for_name', 'draw_faces', 'face_label']
