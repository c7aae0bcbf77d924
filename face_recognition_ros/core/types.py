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
Plain data types and the one small interface of each pipeline stage.

Everything in ``core`` speaks these types: numpy arrays in, dataclasses out. Nothing here
knows about ROS, so the same objects serve the library, the command line and the nodes
(``face_recognition_ros.ros_conversions`` is the only module that knows both sides).

Conventions, fixed once so no stage has to guess:
- images are ``numpy.uint8`` arrays in BGR order, shape (H, W, 3), as OpenCV reads them;
- a box is ``(x, y, w, h)`` in pixels of the input image, float32, top-left origin;
- landmarks are a (5, 2) float32 array in this order: right eye, left eye, nose tip,
  right mouth corner, left mouth corner (the subject's right and left, as YuNet gives them);
- an embedding is a float32 vector of unit L2 norm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Protocol, runtime_checkable, Sequence

import numpy as np

UNKNOWN = 'unknown'
"""The name given to a face that matches nobody in the gallery."""


@dataclass
class Detection:
    """One face found by a detector, before anyone knows who it is."""

    box: np.ndarray
    """(4,) float32: x, y, w, h in pixels."""
    score: float
    """Detector confidence in [0, 1]."""
    landmarks: np.ndarray | None = None
    """(5, 2) float32, or None when the detector gives boxes only (NVIDIA FaceDetect)."""


@dataclass
class Match:
    """The answer of the gallery for one embedding."""

    name: str
    """The enrolled person's name, or ``UNKNOWN``."""
    confidence: float
    """Confidence in [0, 1] that the face is the best-matching enrolled person; 0.5 is
    exactly the decision threshold (so ``UNKNOWN`` has < 0.5). ``name_score`` turns it into
    the confidence in ``name`` itself, which is what ROS messages carry."""
    similarity: float
    """Raw cosine similarity to the best enrolled embedding, in [-1, 1]; NaN when the face
    was named without one (the classifier backend's softmax)."""
    nearest_name: str = ''
    """The best-matching enrolled person, also when ``name`` is ``UNKNOWN`` ('' if none)."""


@dataclass
class Face:
    """One face in one frame, as the pipeline reports it."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray | None = None
    track_id: int | None = None
    name: str = UNKNOWN
    confidence: float = 0.0
    similarity: float = -1.0
    embedding: np.ndarray | None = None
    """The embedding this identity came from, when one was computed for this frame."""
    nearest_name: str = ''
    """As ``Match.nearest_name``: who an ``UNKNOWN`` face resembles most, '' if not known."""


def name_score(name: str, confidence: float) -> float:
    """
    Return the confidence in ``name`` itself, from a ``Match``/``Face`` confidence.

    For a person's name it is the confidence; for ``UNKNOWN`` it is the confidence that
    the face is nobody enrolled, ``1 - confidence`` (a certain stranger scores near 1, not
    near 0). ROS's ``ObjectHypothesis.score`` is read this way.
    """
    confidence = min(max(float(confidence), 0.0), 1.0) if math.isfinite(confidence) else 0.0
    return 1.0 - confidence if name == UNKNOWN else confidence


def confidence_from_name_score(name: str, score: float) -> float:
    """Invert ``name_score``: back to the confidence in the nearest person."""
    return name_score(name, score)


@dataclass
class FrameResult:
    """What the pipeline made of one frame."""

    faces: list[Face] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds spent per stage in this frame, e.g. {'detect': 12.1, 'embed': 20.3}."""


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in a frame."""

    provides_landmarks: bool

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Return the faces in a BGR image, best score first."""


@runtime_checkable
class LandmarkLocator(Protocol):
    """Finds the 5 landmarks of a face inside a box given by any detector."""

    def locate(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Return (5, 2) landmarks in image pixels, or None when no face is in the box."""


@runtime_checkable
class FaceEmbedder(Protocol):
    """Turns aligned face crops into unit-length vectors."""

    model_id: str
    """Names the model and its file checksum; galleries record it and refuse to mix."""
    dimension: int
    input_size: int
    """Side of the square aligned crop this embedder expects (112 for SFace)."""

    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """Return an (N, dimension) float32 array of L2-normalised embeddings."""
