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
The recognizer backend for the ResNet-18 classifier that ``training/export.py`` writes.

The exported ONNX file is self-describing: its ``metadata_props`` carry the class names
(the people it was trained on), the network input size, the normalisation, the colour
order and the open-set ``unknown`` threshold calibrated at export time (the rule is
recorded beside it, in ``threshold_rule``). Running it needs onnxruntime and numpy only,
no torch.

It serves two roles:
- **open-set classifier**, ``ClassifierRecognizer.identify(aligned) -> list[Match]``: the
  person with the highest softmax probability, or ``UNKNOWN`` when that probability is
  below the calibrated threshold. Adding a person to the classifier means retraining;
  people enrolled in a gallery beside it are named by the gallery and the trained people
  still by the classifier (``FacePipeline._identify``).
- **embedder**, ``ClassifierRecognizer.embed(aligned) -> (N, 512)``: the L2-normalised
  penultimate features (the file's second output), so the model also plugs into
  ``create_embedder(backend='classifier', model_path=...)`` and a gallery, where people
  are enrolled without retraining. ``embedding_threshold`` is the cosine threshold
  calibrated for that use, by the same rule.

Inputs are aligned 112x112 BGR crops (``core.alignment.align_face``), as everywhere in
the core; they are resized to the network's input size here.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import cv2
from face_recognition_ros.core.errors import ModelError
from face_recognition_ros.core.model_files import file_sha256
from face_recognition_ros.core.types import Match, UNKNOWN
import numpy as np

_LOG = logging.getLogger(__name__)

MODEL_KIND = 'face_recognition_ros.resnet18_classifier'
"""Value of the ``model_kind`` metadata key that marks a file written by training/export.py."""
FORMAT_VERSION = '1'
ALIGNED_SIZE = 112


def probability_to_confidence(probability, threshold: float):
    """
    Map a top softmax probability to [0, 1] with exactly 0.5 at ``threshold``.

    Piecewise linear: [0, threshold] -> [0, 0.5] and [threshold, 1] -> [0.5, 1], so a named
    match has confidence >= 0.5 and ``UNKNOWN`` < 0.5, as for the gallery (``Match``).
    """
    p = np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    t = float(np.clip(threshold, 1e-6, 1.0 - 1e-6))
    confidence = np.where(p >= t, 0.5 + 0.5 * (p - t) / (1.0 - t), 0.5 * p / t)
    return float(confidence) if np.ndim(confidence) == 0 else confidence


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class ClassifierRecognizer:
    """
    An exported ResNet-18 face classifier, run with onnxruntime.

    Attributes: ``class_names`` (people, in output order), ``threshold`` (open-set top
    probability threshold), ``embedding_threshold`` (cosine threshold for gallery use),
    ``threshold_rule`` (how both were chosen), ``model_id`` (``classifier-<sha256[:16]>``,
    recorded by galleries), ``dimension`` (embedding size), ``input_size`` (112: the aligned
    crop this backend takes, as for every FaceEmbedder), ``network_input_size``.
    """

    def __init__(self, model_path: str | os.PathLike, num_threads: int | None = None,
                 threshold: float | None = None):
        try:
            import onnxruntime
        except ImportError as error:
            raise ModelError('the classifier backend needs onnxruntime: pip install '
                             'onnxruntime') from error
        path = Path(model_path)
        if not path.is_file():
            raise ModelError(f'classifier model {str(path)!r} does not exist: give the .onnx '
                             'file that training/export.py wrote')
        self.model_path = path
        digest = file_sha256(path)
        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=['CPUExecutionProvider'])
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f'cannot load classifier model {str(path)!r} ({error}): it is '
                             'corrupt or not an ONNX file; export it again with '
                             'training/export.py') from error
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get('model_kind') != MODEL_KIND:
            raise ModelError(f'{str(path)!r} is not a classifier exported by '
                             'training/export.py (its metadata has no model_kind '
                             f'{MODEL_KIND!r}); export the checkpoint with training/export.py')
        try:
            self.class_names = list(json.loads(meta['class_names']))
            self.network_input_size = int(meta['input_size'])
            self.mean = np.asarray(json.loads(meta['mean']), dtype=np.float32)
            self.std = np.asarray(json.loads(meta['std']), dtype=np.float32)
            self.color_order = meta.get('color_order', 'RGB')
            self.threshold = float(meta['unknown_threshold'])
            self.embedding_threshold = float(meta.get('embedding_threshold', 'nan'))
            self.threshold_rule = meta.get('threshold_rule', '')
        except (KeyError, ValueError, TypeError) as error:
            raise ModelError(f'{str(path)!r} has incomplete metadata ({error}); export it '
                             'again with training/export.py') from error
        if threshold is not None:
            self.threshold = float(threshold)
        outputs = {o.name: o for o in self._session.get_outputs()}
        if 'logits' not in outputs:
            raise ModelError(f'{str(path)!r} has no "logits" output; export it again with '
                             'training/export.py')
        self._has_embedding = 'embedding' in outputs
        self.dimension = int(outputs['embedding'].shape[1]) if self._has_embedding else 0
        self._input_name = self._session.get_inputs()[0].name
        self.model_id = f'classifier-{digest[:16]}'
        self.input_size = ALIGNED_SIZE
        self.provides_embedding = self._has_embedding

    # ------------------------------------------------------------------ inference
    def preprocess(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """BGR uint8 crops -> (N, 3, S, S) float32, normalised as in training."""
        batch = np.empty((len(aligned_faces), 3, self.network_input_size,
                          self.network_input_size), dtype=np.float32)
        size = self.network_input_size
        for i, face in enumerate(aligned_faces):
            face = np.asarray(face)
            if face.ndim == 2:
                face = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
            if face.ndim != 3 or face.shape[2] != 3 or face.dtype != np.uint8:
                raise ModelError(f'aligned face {i} must be a BGR uint8 (H, W, 3) crop, got '
                                 f'{face.dtype} {face.shape}; use core.alignment.align_face')
            if face.shape[:2] != (size, size):
                interpolation = cv2.INTER_AREA if face.shape[0] > size else cv2.INTER_LINEAR
                face = cv2.resize(face, (size, size), interpolation=interpolation)
            if self.color_order == 'RGB':
                face = face[:, :, ::-1]
            pixels = face.astype(np.float32) / 255.0
            batch[i] = ((pixels - self.mean) / self.std).transpose(2, 0, 1)
        return batch

    def _run(self, aligned_faces: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        if len(aligned_faces) == 0:
            return (np.zeros((0, len(self.class_names)), np.float32),
                    np.zeros((0, self.dimension), np.float32))
        names = ['logits'] + (['embedding'] if self._has_embedding else [])
        results = self._session.run(names, {self._input_name: self.preprocess(aligned_faces)})
        return results[0], (results[1] if self._has_embedding else None)

    def probabilities(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """(N, C) softmax probabilities over ``class_names``."""
        logits, _ = self._run(aligned_faces)
        return softmax(logits.astype(np.float64)).astype(np.float32)

    def identify(self, aligned_faces: Sequence[np.ndarray]) -> list[Match]:
        """
        Open-set names: the top class, or ``UNKNOWN`` below ``threshold``.

        ``Match.confidence`` is 0.5 exactly at the threshold; ``Match.similarity`` is NaN:
        this backend has no cosine similarity, and a probability must not be published in a
        field that ROS users read as one (``Face.msg``). ``nearest_name`` is the top class.
        """
        logits, _ = self._run(aligned_faces)
        return self._matches(logits)

    def _matches(self, logits: np.ndarray) -> list[Match]:
        probabilities = softmax(logits.astype(np.float64)).astype(np.float32)
        matches = []
        for row in probabilities:
            best = int(np.argmax(row))
            p = float(row[best])
            name = self.class_names[best] if p >= self.threshold else UNKNOWN
            matches.append(Match(name, probability_to_confidence(p, self.threshold),
                                 float('nan'), self.class_names[best]))
        return matches

    @staticmethod
    def _normalised(features: np.ndarray) -> np.ndarray:
        features = features.astype(np.float32)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        return features / np.maximum(norms, 1e-12)

    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dimension) float32 L2-normalised penultimate features (FaceEmbedder)."""
        if not self._has_embedding:
            raise ModelError(f'{str(self.model_path)!r} was exported without an embedding '
                             'output; export it again with training/export.py')
        _, features = self._run(aligned_faces)
        return self._normalised(features)

    def identify_and_embed(self, aligned_faces: Sequence[np.ndarray]
                           ) -> tuple[list[Match], np.ndarray]:
        """
        ``identify`` and ``embed`` from one forward pass: (matches, (N, dimension)).

        The pipeline needs both once people are enrolled beside the trained ones (the
        gallery names the enrolled, the classifier the trained, see
        ``FacePipeline._identify``); running the network twice would double the cost per
        face. Without an embedding output the embeddings are (N, 0).
        """
        logits, features = self._run(aligned_faces)
        if features is None:
            features = np.zeros((len(aligned_faces), 0), np.float32)
        else:
            features = self._normalised(features)
        return self._matches(logits), features


def load_classifier(model_path: str | os.PathLike, num_threads: int | None = None,
                    threshold: float | None = None) -> ClassifierRecognizer:
    """Load an exported classifier; ``create_embedder(backend='classifier')`` calls this."""
    return ClassifierRecognizer(model_path, num_threads=num_threads, threshold=threshold)


__all__ = ['ClassifierRecognizer', 'MODEL_KIND', 'load_classifier',
           'probability_to_confidence']
