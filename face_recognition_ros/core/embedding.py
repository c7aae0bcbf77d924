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
Face embedding: SFace (default) and the factory that picks an embedding backend.

SFace maps an aligned 112x112 face to a 128-D vector; two photos of one person give
vectors with a high cosine similarity. Like the detector, it runs on onnxruntime (the
default where installed: faster on the test machine, and it takes a whole batch of faces
in one call) or on OpenCV's DNN (``cv2.FaceRecognizerSF``); both give the same vectors,
so a gallery made with one works with the other and ``model_id`` names only the file.

Channel order matters and is easy to get wrong silently: the network was trained on RGB.
``cv2.FaceRecognizerSF.feature`` takes a BGR crop and swaps it to RGB itself, so crops
from ``align_face`` (BGR) go in as they are there, and are swapped here for onnxruntime.
The tests check it on known same-person and different-person pairs.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import cv2
from face_recognition_ros.core.errors import FaceRecognitionError, ModelError
from face_recognition_ros.core.image_io import to_bgr8
from face_recognition_ros.core.model_files import (
    choose_runtime, DEFAULT_EMBEDDER_MODEL, model_id_for, prepared_onnxruntime_session,
    resolve_model
)
from face_recognition_ros.core.types import FaceEmbedder
import numpy as np

_LOG = logging.getLogger(__name__)

"""Ways to run the SFace network; ``None`` picks the first one installed."""

_INPUT_SIZE = 112
_DIMENSION = 128


class SFaceEmbedder:
    """
    SFace: 128-D unit-length embeddings of aligned 112x112 BGR face crops.

    ``num_threads=None`` uses every core; with ``runtime='opencv'`` the thread count is
    OpenCV's process-wide setting (``cv2.setNumThreads``). ``model_id`` is
    ``'sface-2021dec-int8bq:<first 16 hex of the file's sha256>'`` for the bundled file.
    Raises ModelError when the model file is missing, corrupt or not an SFace model.
    """

    dimension = _DIMENSION
    input_size = _INPUT_SIZE

    def __init__(self, model_path: str | os.PathLike | None = None,
                 num_threads: int | None = None, runtime: str | None = None) -> None:
        if num_threads is not None and int(num_threads) < 1:
            raise FaceRecognitionError(
                f'num_threads must be at least 1 or None, got {num_threads}.')
        self.model_path, sha256 = resolve_model(model_path, DEFAULT_EMBEDDER_MODEL)
        self.model_id = model_id_for(self.model_path, sha256)
        self.runtime = choose_runtime(runtime)
        self.num_threads = num_threads
        if self.runtime == 'onnxruntime':
            self._network = _OnnxRuntimeSFace(self.model_path, num_threads)
        else:
            self._network = _OpenCvSFace(self.model_path, num_threads)

    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """
        Return an (N, 128) float32 array of L2-normalised embeddings, one per crop.

        Each crop is a (112, 112, 3) BGR uint8 image from ``align_face(image, landmarks)``
        (gray or BGRA crops are converted). An empty sequence gives a (0, 128) array.
        Raises FaceRecognitionError for a crop of another size.
        """
        crops = [self._check_crop(index, crop) for index, crop in enumerate(aligned_faces)]
        if not crops:
            return np.zeros((0, self.dimension), dtype=np.float32)
        features = np.asarray(self._network.features(crops), dtype=np.float32)
        features = features.reshape(len(crops), -1)
        if features.shape[1] != self.dimension:
            raise ModelError(
                f'{str(self.model_path)!r} gave {features.shape[1]}-D vectors, expected '
                f'{self.dimension}: it is not an SFace model. Omit model_path for the '
                'bundled one.'
            )
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        # A zero vector cannot be normalised; it stays zero and matches nobody.
        return features / np.maximum(norms, 1e-12)

    def _check_crop(self, index: int, crop: np.ndarray) -> np.ndarray:
        crop = to_bgr8(crop)
        if crop.shape[:2] != (self.input_size, self.input_size):
            raise FaceRecognitionError(
                f'face crop {index} is {crop.shape[1]}x{crop.shape[0]}, expected '
                f'{self.input_size}x{self.input_size}: make it with '
                f'align_face(image, landmarks, size={self.input_size}).'
            )
        return crop


def create_embedder(backend: str = 'sface', model_path: str | os.PathLike | None = None,
                    **options) -> FaceEmbedder:
    """
    Return a face embedder by backend name: ``'sface'`` or ``'classifier'``.

    ``'classifier'`` is the ONNX file that ``training/`` exports (its penultimate features
    serve as the embedding) and needs ``model_path``. ``options`` go to the backend's
    constructor (``num_threads``, and for SFace ``runtime``).
    """
    name = str(backend).strip().lower()
    if name == 'sface':
        return SFaceEmbedder(model_path=model_path, **options)
    if name == 'classifier':
        if model_path is None:
            raise ModelError(
                "the 'classifier' embedder needs model_path: the .onnx file written by "
                "training/export.py. Or use backend='sface'."
            )
        from face_recognition_ros.core.classifier_embedding import load_classifier

        return load_classifier(model_path, **options)
    raise FaceRecognitionError(
        f"unknown embedder backend {backend!r}: choose 'sface' (bundled) or 'classifier' "
        '(a model exported by training/export.py).'
    )


class _OpenCvSFace:
    """``cv2.FaceRecognizerSF``: one crop per call; it swaps BGR to RGB itself."""

    def __init__(self, model_path, num_threads: int | None) -> None:
        self._model_path = model_path
        if num_threads is not None:
            cv2.setNumThreads(int(num_threads))
        try:
            self._recognizer = cv2.FaceRecognizerSF.create(os.fspath(model_path), '')
        except cv2.error as error:
            raise ModelError(
                f'OpenCV cannot load {os.fspath(model_path)!r} as an SFace model ({error}). '
                'Pass an SFace ONNX file, omit model_path for the bundled one, or use '
                "runtime='onnxruntime' (OpenCV 5 rejects the bundled file)."
            ) from error

    def features(self, crops: list[np.ndarray]) -> np.ndarray:
        try:
            return np.concatenate([self._recognizer.feature(crop).reshape(1, -1)
                                   for crop in crops], axis=0)
        except cv2.error as error:
            # OpenCV loads any ONNX file here; another network fails on the first crop.
            raise ModelError(_not_sface(self._model_path, error)) from error


class _OnnxRuntimeSFace:
    """SFace in onnxruntime, batched; input is RGB float 0..255 NCHW, as OpenCV feeds it."""

    def __init__(self, model_path, num_threads: int | None) -> None:
        self._session = prepared_onnxruntime_session(model_path, {0: 'N'}, num_threads)
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        # Checked at load: another network (a detector, say) would otherwise fail on the
        # first face with onnxruntime's dimension error.
        if list(model_input.shape[1:]) != [3, _INPUT_SIZE, _INPUT_SIZE]:
            raise ModelError(_not_sface(model_path, f'its input is {model_input.shape}, '
                                        f'expected [N, 3, {_INPUT_SIZE}, {_INPUT_SIZE}]'))

    def features(self, crops: list[np.ndarray]) -> np.ndarray:
        batch = np.stack(crops)[:, :, :, ::-1]  # BGR -> RGB, the network's training order.
        blob = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        return self._session.run(None, {self._input_name: blob})[0]


def _not_sface(model_path, reason) -> str:
    return (f'{os.fspath(model_path)!r} is not an SFace model ({reason}). Pass an SFace '
            "ONNX file, omit the model path for the bundled one, or use the 'classifier' "
            'backend for a model exported by training/export.py.')
