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
Reading image files and arrays into the one format the pipeline speaks: BGR uint8.

Photos arrive as 8- or 16-bit, gray, gray+alpha, RGBA or palette PNGs, and sometimes
truncated or not images at all. Converting once here means no stage has to guess, and a
bad file fails with a message naming it instead of a cryptic error deep in a model.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
from face_recognition_ros.core.errors import ImageError
import numpy as np

_LOG = logging.getLogger(__name__)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """
    Read an image file and return it as a BGR uint8 (H, W, 3) array.

    The file is read as bytes and decoded with ``cv2.imdecode``, because ``cv2.imread``
    cannot open non-ASCII paths on every platform and says nothing about why it failed.
    JPEG photos are turned upright by their EXIF orientation, as every viewer shows them.
    Raises ImageError when the file is missing, empty, not an image, or truncated.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(
            f'cannot read image {str(path)!r}: {error.strerror or error}. '
            'Check that the file exists and is readable.'
        ) from error
    if not data:
        raise ImageError(f'image {str(path)!r} is an empty file. Replace it with a real photo.')
    if _looks_truncated(data):
        raise ImageError(
            f'image {str(path)!r} is truncated (the JPEG end marker is missing). '
            'Copy the file again or remove it.'
        )
    buffer = np.frombuffer(data, dtype=np.uint8)
    # JPEG has no alpha and (in practice) 8 bits, so IMREAD_COLOR loses nothing, and it
    # applies the EXIF orientation that phones set instead of rotating the pixels: read
    # UNCHANGED, a portrait phone photo would lie on its side and show no face.
    flags = cv2.IMREAD_COLOR if _is_jpeg(data) else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(buffer, flags)
    if image is None or image.size == 0:
        raise ImageError(
            f'cannot decode image {str(path)!r}: not an image format OpenCV reads, or the file '
            'is damaged. Convert it to JPEG or PNG, or remove it.'
        )
    try:
        return to_bgr8(image)
    except ImageError as error:
        raise ImageError(f'image {str(path)!r}: {error}') from error


def to_bgr8(array: np.ndarray) -> np.ndarray:
    """
    Convert an image array to a contiguous BGR uint8 (H, W, 3) array.

    Accepts (H, W) gray, (H, W, 1), (H, W, 2) gray+alpha, (H, W, 3) BGR and (H, W, 4) BGRA,
    in uint8, uint16 (scaled down by 257, so 65535 maps to 255), other integer types
    (clipped) or float (0..1 when the maximum is at most 1, else 0..255). Transparent
    pixels are composited onto white, since a transparent background is what the author
    of a cut-out face meant, and black would add a hard false edge around the face.
    An array already in BGR uint8 is returned as is (no copy).
    """
    image = np.asarray(array)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ImageError(
            f'unsupported image shape {image.shape}: expected (H, W) gray or (H, W, C) '
            'with 2, 3 or 4 channels.'
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f'image is empty (shape {image.shape}).')
    image = _to_uint8(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 3:
        return np.ascontiguousarray(image)
    if channels == 2:
        color = cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR)
        alpha = image[:, :, 1]
    else:
        color = np.ascontiguousarray(image[:, :, :3])
        alpha = image[:, :, 3]
    return _composite_on_white(color, alpha)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        # 257 maps 0..65535 exactly onto 0..255 (65535 / 257 = 255).
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        finite = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if finite.size and float(finite.max()) <= 1.0 else 1.0
        return np.clip(np.rint(finite * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer) or image.dtype == np.bool_:
        if image.dtype == np.bool_:
            return image.astype(np.uint8) * 255
        return np.clip(image, 0, 255).astype(np.uint8)
    raise ImageError(f'unsupported image dtype {image.dtype}: expected integers or floats.')


def _composite_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    if int(alpha.min()) == 255:  # Fully opaque: the common case, skip the float maths.
        return color
    weight = alpha.astype(np.float32)[:, :, None] / 255.0
    blended = color.astype(np.float32) * weight + 255.0 * (1.0 - weight)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _looks_truncated(data: bytes) -> bool:
    """
    Return True for a JPEG without its end-of-image marker.

    OpenCV's JPEG decoder fills a truncated file with gray and returns an image, so the
    damage would go unnoticed; the end marker is the cheap, reliable check. Some cameras
    pad files after the marker, so the tail is searched rather than only the last bytes.
    """
    if not _is_jpeg(data):
        return False
    return b'\xff\xd9' not in data[-4096:]


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b'\xff\xd8\xff')
