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
Conversions between the core's types and ROS 2 messages: the one module that knows both.

Images: ``sensor_msgs/Image`` <-> BGR uint8 arrays. cv_bridge is used where it is installed;
where it is not (ROS 2 from pip wheels) a fallback converts the encodings cameras actually
send (bgr8, rgb8, mono8, bgra8, rgba8), honouring row padding (``step``), and refuses anything
else with an ImageError that says what to do. Malformed messages (zero size, a step shorter
than a row, data shorter than height x step) are refused the same way with or without
cv_bridge, before any pixel is touched.

Faces: core ``Detection`` / ``Face`` lists <-> ``vision_msgs/Detection2DArray`` (the topic
contract in DESIGN.md: ``class_id`` 'face' for detections, the person's name or 'unknown'
for identified faces, ``Detection2D.id`` the track id, box centre and size in pixels) and
<-> ``face_recognition/FaceArray`` (landmarks, embeddings, similarity as well). Every output
carries the header of the image it came from: callers pass it in.
"""

from __future__ import annotations

import array
import logging
import math
from typing import Sequence

from builtin_interfaces.msg import Time
import cv2
from face_recognition.msg import Face as FaceMsg
from face_recognition.msg import FaceArray
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.core.types import (
    confidence_from_name_score, Detection, Face, name_score, UNKNOWN
)
import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import (
    BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis, ObjectHypothesisWithPose,
    Point2D
)

_LOG = logging.getLogger(__name__)

FACE_CLASS_ID = 'face'
"""``class_id`` of every hypothesis on the detections topic."""

NO_TRACK = FaceMsg.NO_TRACK
"""``Face.track_id`` of a face that is not tracked (``Detection2D.id`` is then empty)."""

# Encoding -> (channels, OpenCV conversion to BGR or None when the bytes already are BGR).
_FALLBACK_ENCODINGS = {
    'bgr8': (3, None),
    'rgb8': (3, cv2.COLOR_RGB2BGR),
    'mono8': (1, cv2.COLOR_GRAY2BGR),
    'bgra8': (4, cv2.COLOR_BGRA2BGR),
    'rgba8': (4, cv2.COLOR_RGBA2BGR),
}
SUPPORTED_ENCODINGS = tuple(_FALLBACK_ENCODINGS)
"""Encodings converted without cv_bridge; with cv_bridge, all that cv_bridge knows."""

try:  # cv_bridge exists with a system ROS 2, not with the pip wheels.
    from cv_bridge import CvBridge, CvBridgeError
    _BRIDGE = CvBridge()
except Exception as error:  # noqa: BLE001 - a broken cv_bridge (numpy ABI) is also absent
    _LOG.debug('cv_bridge not usable (%s); using the built-in image conversion', error)
    CvBridge = CvBridgeError = _BRIDGE = None


def cv_bridge_available() -> bool:
    """Return True when image conversion goes through cv_bridge."""
    return _BRIDGE is not None


# --- Images -----------------------------------------------------------------------------

def image_is_empty(msg: Image) -> bool:
    """Return True for an Image with no pixels (how Enroll says 'use the latest frame')."""
    return msg.width == 0 or msg.height == 0


def image_msg_to_bgr(msg: Image, use_cv_bridge: bool | None = None) -> np.ndarray:
    """
    Return the pixels of a sensor_msgs/Image as a new BGR uint8 (H, W, 3) array.

    ``use_cv_bridge``: None uses cv_bridge when installed; False forces the built-in
    conversion (tests use it to cover both). Raises ImageError for a malformed message or,
    without cv_bridge, an encoding other than SUPPORTED_ENCODINGS.
    """
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageError(
            f'image is {width}x{height} pixels: nothing to process. Check the camera driver '
            'or the topic remapping.')
    if step <= 0:
        raise ImageError(f'image step is {step}: it must be the bytes per row (>= width).')
    data_size = len(msg.data)
    if data_size < height * step:
        raise ImageError(
            f'image data holds {data_size} bytes but height x step = {height} x {step} = '
            f'{height * step}: the message is truncated or its step is wrong.')
    if use_cv_bridge is None:
        use_cv_bridge = _BRIDGE is not None
    if use_cv_bridge:
        if _BRIDGE is None:
            raise ImageError('cv_bridge is not installed: call with use_cv_bridge=None.')
        if not _is_camera_encoding(msg.encoding):
            raise ImageError(
                f'unsupported image encoding {msg.encoding!r}: this node reads camera images '
                f'(8 or 16 bit colour or mono, Bayer, YUV 4:2:2), e.g. '
                f'{", ".join(SUPPORTED_ENCODINGS)}; depth and float images hold no faces. '
                'Remap the node to the colour image topic of the camera.')
        try:
            readable = _as_cv_bridge_reads_it(msg, height, width, step)
            return np.array(_BRIDGE.imgmsg_to_cv2(readable, desired_encoding='bgr8'),
                            copy=True)
        except (CvBridgeError, TypeError, ValueError, cv2.error) as error:
            raise ImageError(
                f'cannot convert a {msg.encoding!r} image to bgr8: {error}. Publish bgr8, '
                'rgb8 or mono8 images.') from error
    return _fallback_to_bgr(msg, height, width, step)


_CAMERA_PIXEL_BYTES = {
    'bgr8': 3, 'rgb8': 3, 'bgra8': 4, 'rgba8': 4, 'mono8': 1, 'bgr16': 6, 'rgb16': 6,
    'bgra16': 8, 'rgba16': 8, 'mono16': 2, 'yuv422': 2, 'uyvy': 2, 'yuyv': 2, 'yuv422_yuy2': 2,
}
"""Bytes per pixel of the camera encodings cv_bridge converts to bgr8 (sensor_msgs'
image_encodings); Bayer patterns are added by ``_pixel_bytes``."""


def _pixel_bytes(encoding: str) -> int | None:
    if encoding in _CAMERA_PIXEL_BYTES:
        return _CAMERA_PIXEL_BYTES[encoding]
    if encoding.startswith('bayer_') and encoding.endswith(('8', '16')):
        return 1 if encoding.endswith('8') else 2
    return None


def _is_camera_encoding(encoding: str) -> bool:
    """Colour, mono, Bayer or YUV: what a face can be seen in (not depth, not float)."""
    return _pixel_bytes(encoding) is not None


def _as_cv_bridge_reads_it(msg: Image, height: int, width: int, step: int) -> Image:
    """
    Return ``msg`` in the form cv_bridge's imgmsg_to_cv2 reads correctly.

    That is rows exactly one row of pixels long, because it takes the row width from
    ``step`` (step / itemsize / channels), so padding that is not a whole number of pixels
    (step 13 bytes past a bgr8 row) would shift every row; and little-endian, because its
    byte swap for big-endian data calls ``ndarray.newbyteorder``, which NumPy 2 removed (an
    AttributeError even for 8-bit images, where the flag means nothing and the built-in
    conversion ignores it).
    """
    row_bytes = width * _pixel_bytes(msg.encoding)
    if step == row_bytes and not msg.is_bigendian:
        return msg
    if step < row_bytes:
        raise ImageError(
            f'image step {step} is shorter than one row of {width} {msg.encoding} pixels '
            f'({row_bytes} bytes): the message is malformed.')
    rows = np.frombuffer(msg.data, dtype=np.uint8, count=height * step).reshape(height, step)
    rows = rows[:, :row_bytes]
    if msg.is_bigendian and msg.encoding.endswith('16'):
        rows = rows.reshape(height, -1, 2)[:, :, ::-1]  # 16-bit samples to little-endian
    return Image(header=msg.header, height=height, width=width, encoding=msg.encoding,
                 is_bigendian=0, step=row_bytes, data=np.ascontiguousarray(rows).tobytes())


def _fallback_to_bgr(msg: Image, height: int, width: int, step: int) -> np.ndarray:
    encoding = msg.encoding
    if encoding not in _FALLBACK_ENCODINGS:
        raise ImageError(
            f'unsupported image encoding {encoding!r}: without cv_bridge this node reads '
            f'{", ".join(SUPPORTED_ENCODINGS)}. Configure the camera for one of these, or '
            'install cv_bridge (ros-<distro>-cv-bridge).')
    channels, conversion = _FALLBACK_ENCODINGS[encoding]
    row_bytes = width * channels
    if step < row_bytes:
        raise ImageError(
            f'image step {step} is shorter than one row of {width} {encoding} pixels '
            f'({row_bytes} bytes): the message is malformed.')
    rows = np.frombuffer(msg.data, dtype=np.uint8, count=height * step).reshape(height, step)
    pixels = rows[:, :row_bytes].reshape(height, width, channels)
    if conversion is None:
        return np.array(pixels, order='C', copy=True)  # never a view of the message
    if channels == 1:
        pixels = pixels[:, :, 0]
    return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)


def bgr_to_image_msg(image: np.ndarray, header: Header | None = None) -> Image:
    """
    Return a sensor_msgs/Image (bgr8, or mono8 for a 2-D array) holding a copy of ``image``.

    ``header`` should be the header of the frame the image was made from.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0 or (
            image.ndim == 3 and image.shape[2] != 3):
        raise ImageError(
            f'cannot publish an array of shape {image.shape} and type {image.dtype}: expected '
            'BGR uint8 (H, W, 3) or gray uint8 (H, W).')
    image = np.ascontiguousarray(image)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = 'bgr8' if image.ndim == 3 else 'mono8'
    msg.is_bigendian = 0
    msg.step = int(image.strides[0])
    data = array.array('B')
    data.frombytes(image.data)  # array.array skips the per-byte checks of a list
    msg.data = data
    return msg


# --- Time stamps ------------------------------------------------------------------------------

def stamp_to_ns(stamp: Time) -> int:
    """Nanoseconds since the epoch of a builtin_interfaces/Time (to pair messages exactly)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(nanoseconds: int) -> Time:
    """builtin_interfaces/Time for a count of nanoseconds since the epoch."""
    seconds, nanos = divmod(int(nanoseconds), 1_000_000_000)
    return Time(sec=seconds, nanosec=nanos)


# --- Boxes ------------------------------------------------------------------------------------

def _box_to_bbox(box: np.ndarray) -> BoundingBox2D:
    x, y, w, h = (float(v) for v in box)
    bbox = BoundingBox2D()
    bbox.center.position.x = x + w / 2.0
    bbox.center.position.y = y + h / 2.0
    bbox.center.theta = 0.0
    bbox.size_x = w
    bbox.size_y = h
    return bbox


def _bbox_to_box(bbox: BoundingBox2D) -> np.ndarray:
    w, h = float(bbox.size_x), float(bbox.size_y)
    return np.array([bbox.center.position.x - w / 2.0, bbox.center.position.y - h / 2.0, w, h],
                    dtype=np.float32)


def _check_box(box: np.ndarray, image_size: tuple[int, int] | None) -> str | None:
    """Return why a received box cannot be used, or None when it can."""
    if not np.all(np.isfinite(box)):
        return f'box {box.tolist()} holds NaN or infinity'
    x, y, w, h = box.tolist()
    if w <= 0 or h <= 0:
        return f'box {box.tolist()} has no area'
    if image_size is not None:
        width, height = image_size
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            return f'box {box.tolist()} lies outside the {width}x{height} image'
    return None


def _clip_box(box: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    width, height = image_size
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, y1 = min(float(width), float(box[0] + box[2])), min(float(height), float(box[1] + box[3]))
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float32)


def _hypothesis(class_id: str, score: float) -> ObjectHypothesisWithPose:
    result = ObjectHypothesisWithPose()
    result.hypothesis = ObjectHypothesis(class_id=class_id, score=float(score))
    return result


# --- Detections (the /faces/detections contract) ---------------------------------------------

def detections_to_msg(detections: Sequence[Detection], header: Header) -> Detection2DArray:
    """
    Detection2DArray for a detector's faces: class_id 'face', score = detector confidence.

    An empty ``detections`` gives an empty array with the header: subscribers learn that the
    frame had no face.
    """
    msg = Detection2DArray(header=header)
    for detection in detections:
        item = Detection2D(header=header, bbox=_box_to_bbox(detection.box))
        item.results.append(_hypothesis(FACE_CLASS_ID, detection.score))
        msg.detections.append(item)
    return msg


def detections_from_msg(msg: Detection2DArray, image_size: tuple[int, int] | None = None
                        ) -> tuple[list[Detection], list[str]]:
    """
    Return detections (boxes only) from a Detection2DArray, and why some were dropped.

    The detections have boxes only, no landmarks.

    ``image_size`` (width, height): boxes entirely outside the image are dropped and boxes
    partly outside are clipped to it. Boxes with NaN, infinity or no area are always dropped.
    The second list holds one human-readable reason per dropped box, for the caller's log.
    """
    detections, rejected = [], []
    for index, item in enumerate(msg.detections):
        box = _bbox_to_box(item.bbox)
        problem = _check_box(box, image_size)
        if problem is not None:
            rejected.append(f'detection {index}: {problem}; ignored')
            continue
        if image_size is not None:
            box = _clip_box(box, image_size)
        score = float(item.results[0].hypothesis.score) if item.results else 0.0
        detections.append(Detection(box=box, score=score if math.isfinite(score) else 0.0))
    return detections, rejected


# --- Identified faces (the /faces/identified contract) ---------------------------------------

def _track_id_text(track_id: int | None) -> str:
    return '' if track_id is None or track_id < 0 else str(int(track_id))


def _track_id_value(text: str) -> int | None:
    """
    Return the track id in ``Detection2D.id``, or None when it holds none we can read.

    Any publisher may put any string there: '²' passes ``str.isdigit`` but not ``int``,
    and a 5000-digit number would be too long to convert; neither may end a node.
    """
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def faces_to_identified_msg(faces: Sequence[Face], header: Header) -> Detection2DArray:
    """
    Return a Detection2DArray of identified faces.

    id = track id (empty when untracked), bbox as detected, and hypotheses whose ``score``
    is the confidence in their own ``class_id``:

    - ``results[0]``: the name, or 'unknown' with the confidence that the face is nobody
      enrolled (``core.types.name_score``: a certain stranger scores near 1);
    - ``results[1]``, only for an 'unknown' face whose nearest enrolled person is known:
      that person's name and the confidence that it is them (below 0.5, or it would have
      been named).
    """
    msg = Detection2DArray(header=header)
    for face in faces:
        item = Detection2D(header=header, bbox=_box_to_bbox(face.box),
                           id=_track_id_text(face.track_id))
        name = face.name or UNKNOWN
        item.results.append(_hypothesis(name, name_score(name, face.confidence)))
        if name == UNKNOWN and face.nearest_name:
            item.results.append(_hypothesis(face.nearest_name,
                                            name_score(face.nearest_name, face.confidence)))
        msg.detections.append(item)
    return msg


def faces_from_identified_msg(msg: Detection2DArray) -> list[Face]:
    """
    Faces (box, name, confidence, track id) from an identified Detection2DArray.

    The inverse of ``faces_to_identified_msg``: ``confidence`` is the core's (confidence
    in the nearest person, 0.5 at the threshold), ``nearest_name`` from a second
    hypothesis. The detector score and landmarks are not on this topic: ``score`` is the
    score of the first hypothesis, ``landmarks`` None. Boxes with NaN or no area are skipped.
    """
    faces = []
    for item in msg.detections:
        box = _bbox_to_box(item.bbox)
        if _check_box(box, None) is not None:
            continue
        name, score, nearest = UNKNOWN, 1.0, ''
        if item.results:
            name = item.results[0].hypothesis.class_id or UNKNOWN
            score = float(item.results[0].hypothesis.score)
        if name == UNKNOWN and len(item.results) > 1:
            nearest = item.results[1].hypothesis.class_id
        faces.append(Face(box=box, score=score, name=name,
                          confidence=confidence_from_name_score(name, score),
                          track_id=_track_id_value(item.id), nearest_name=nearest))
    return faces


# --- The rich FaceArray ----------------------------------------------------------------------

def _face_to_msg(face: Face) -> FaceMsg:
    msg = FaceMsg()
    msg.bbox = _box_to_bbox(face.box)
    msg.detection_score = float(face.score)
    if face.landmarks is not None:
        msg.landmarks = [Point2D(x=float(x), y=float(y))
                         for x, y in np.asarray(face.landmarks, dtype=np.float64)[:5]]
    if face.embedding is not None:
        msg.embedding = array.array('f', np.asarray(face.embedding, dtype=np.float32).ravel())
    msg.name = face.name or UNKNOWN
    msg.confidence = name_score(msg.name, face.confidence)
    msg.similarity = float(face.similarity)
    msg.track_id = NO_TRACK if face.track_id is None else int(face.track_id)
    return msg


def faces_to_face_array_msg(faces: Sequence[Face], header: Header) -> FaceArray:
    """face_recognition/FaceArray with everything the pipeline knows about each face."""
    return FaceArray(header=header, faces=[_face_to_msg(face) for face in faces])


def faces_from_face_array_msg(msg: FaceArray) -> list[Face]:
    """Core Faces from a FaceArray (the inverse of faces_to_face_array_msg)."""
    faces = []
    for item in msg.faces:
        landmarks = None
        if len(item.landmarks) == 5:
            landmarks = np.array([[p.x, p.y] for p in item.landmarks], dtype=np.float32)
        embedding = None
        if len(item.embedding):
            embedding = np.asarray(item.embedding, dtype=np.float32)
        faces.append(Face(
            box=_bbox_to_box(item.bbox), score=float(item.detection_score), landmarks=landmarks,
            track_id=None if item.track_id < 0 else int(item.track_id),
            name=item.name or UNKNOWN,
            confidence=confidence_from_name_score(item.name or UNKNOWN, float(item.confidence)),
            similarity=float(item.similarity), embedding=embedding))
    return faces
