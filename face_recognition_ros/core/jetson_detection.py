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
NVIDIA FaceDetect through jetson-inference's ``detectNet``: the detector of the seed.

On a Jetson, jetson-inference runs the FaceDetect network (a DetectNet trained by NVIDIA
on faces) with TensorRT on the GPU, which frees the CPU for the rest of the pipeline. It
gives boxes and confidences but no landmarks, so the pipeline finds them with
``landmarks.YuNetLandmarkLocator`` before alignment.

Written from jetson-inference's documented Python API (``jetson_inference.detectNet``,
``detectNet.Detect(image, overlay=...)`` returning objects with ``Left``, ``Top``,
``Width``, ``Height``, ``Confidence``, ``ClassID``; ``jetson_utils.cudaFromNumpy``).
**It has not run on a Jetson here**: no Jetson was available, and the tests check it
against a stand-in module with the same shape (``test/core/test_jetson_detection.py``).
jetson-inference is imported only when a ``FaceDetectDetector`` is built, so importing
this module is safe anywhere.
"""

from __future__ import annotations

import importlib
import logging

from face_recognition_ros.core.errors import FaceRecognitionError, ModelError
from face_recognition_ros.core.image_io import to_bgr8
from face_recognition_ros.core.types import Detection
import numpy as np

_LOG = logging.getLogger(__name__)


def _import_jetson_modules():
    """Return (jetson_inference, jetson_utils), trying the pre-2021 ``jetson.*`` names too."""
    errors = []
    for inference_name, utils_name in (('jetson_inference', 'jetson_utils'),
                                       ('jetson.inference', 'jetson.utils')):
        try:
            return (importlib.import_module(inference_name),
                    importlib.import_module(utils_name))
        except ImportError as error:
            errors.append(f'{inference_name}: {error}')
    raise ModelError(
        "the 'facedetect' detector runs only on a Jetson with jetson-inference installed "
        f"({'; '.join(errors)}). Use detector backend 'yunet' on this machine."
    )


class FaceDetectDetector:
    """
    Face boxes from NVIDIA FaceDetect (``detectNet``) on a Jetson; no landmarks.

    ``threshold`` is detectNet's minimum confidence; ``model`` is a built-in network name
    (``'facedetect'``) or the path of a custom detection ONNX file, in which case
    ``labels``, ``input_blob``, ``output_cvg`` and ``output_bbox`` name its parts as in
    jetson-inference's documentation. ``min_face_size`` drops boxes narrower or shorter
    than that many pixels. Raises ModelError when jetson-inference is not importable or
    the network does not load.
    """

    provides_landmarks = False

    def __init__(self, threshold: float = 0.5, model: str = 'facedetect',
                 min_face_size: float = 20, labels: str | None = None,
                 input_blob: str | None = None, output_cvg: str | None = None,
                 output_bbox: str | None = None) -> None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise FaceRecognitionError(f'threshold must be in [0, 1], got {threshold}.')
        self.threshold = float(threshold)
        self.min_face_size = float(min_face_size)
        self.model = str(model)
        self.model_id = f'jetson-{self.model}'
        inference, self._utils = _import_jetson_modules()
        custom = {key: value for key, value in (
            ('labels', labels), ('input_blob', input_blob), ('output_cvg', output_cvg),
            ('output_bbox', output_bbox)) if value is not None}
        try:
            if custom or self.model.lower().endswith('.onnx'):
                self._net = inference.detectNet(model=self.model, threshold=self.threshold,
                                                **custom)
            else:
                # A built-in name goes first, positionally: it is the ``network`` argument
                # in every release, while the ``model`` keyword only exists since 2022.
                self._net = inference.detectNet(self.model, threshold=self.threshold)
        except Exception as error:  # jetson-inference raises a bare Exception.
            raise ModelError(
                f'jetson-inference could not load the {self.model!r} network ({error}). '
                "Check that it is downloaded (jetson-inference's download-models tool), or "
                "use detector backend 'yunet'."
            ) from error
        _LOG.info('FaceDetect detector ready (model %s, threshold %.2f)', self.model,
                  self.threshold)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Return the faces in a BGR image, best score first; ``landmarks`` is None."""
        frame = to_bgr8(image)
        height, width = frame.shape[:2]
        # detectNet takes RGB (its networks were trained on it); OpenCV frames are BGR.
        rgb = np.ascontiguousarray(frame[:, :, ::-1])
        cuda_image = self._utils.cudaFromNumpy(rgb)
        raw = self._net.Detect(cuda_image, overlay='none')
        detections = []
        for found in raw:
            left = max(float(found.Left), 0.0)
            top = max(float(found.Top), 0.0)
            right = min(float(found.Left) + float(found.Width), float(width))
            bottom = min(float(found.Top) + float(found.Height), float(height))
            if min(float(found.Width), float(found.Height)) < self.min_face_size:
                continue
            if right - left < 1.0 or bottom - top < 1.0:
                continue
            detections.append(Detection(
                box=np.array([left, top, right - left, bottom - top], dtype=np.float32),
                score=float(min(max(float(found.Confidence), 0.0), 1.0)),
                landmarks=None,
            ))
        detections.sort(key=lambda detection: detection.score, reverse=True)
        return detections
