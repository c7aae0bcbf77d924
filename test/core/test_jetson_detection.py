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
FaceDetectDetector against a stand-in for jetson-inference.

No Jetson can run here, so ``jetson_inference`` and ``jetson_utils`` are replaced by test
doubles that have the shape of their documented Python API: ``detectNet(network,
threshold=...)`` / ``detectNet(model=..., ...)``, ``Detect(cuda_image, overlay=...)``
returning objects with Left/Top/Width/Height/Confidence/ClassID, and
``cudaFromNumpy(array)``. They check what this code can get wrong: the colour order
handed to the GPU, the keyword the threshold travels in, and the conversion of results.
"""

from __future__ import annotations

import sys
import types

from face_recognition_ros.core.detection import create_detector
from face_recognition_ros.core.errors import FaceRecognitionError, ModelError
from face_recognition_ros.core.jetson_detection import FaceDetectDetector
from face_recognition_ros.core.types import FaceDetector
import numpy as np
import pytest


class _FakeDetection:

    def __init__(self, left, top, width, height, confidence, class_id=0):
        self.Left, self.Top, self.Width, self.Height = left, top, width, height
        self.Right, self.Bottom = left + width, top + height
        self.Confidence, self.ClassID = confidence, class_id


class _FakeCudaImage:
    """What cudaFromNumpy returns: a GPU copy, here a host copy kept for inspection."""

    def __init__(self, array):
        self.array = np.array(array, copy=True)
        self.width, self.height = array.shape[1], array.shape[0]


@pytest.fixture
def fake_jetson(monkeypatch):
    calls = {'created': [], 'detected': []}
    results = []

    class detectNet:  # noqa: N801 - the real class is named so.

        def __init__(self, *args, **kwargs):
            calls['created'].append((args, kwargs))

        def Detect(self, image, width=None, height=None, overlay='box,labels,conf'):  # noqa: N802
            calls['detected'].append((image, overlay))
            return list(results)

    inference = types.ModuleType('jetson_inference')
    inference.detectNet = detectNet
    utils = types.ModuleType('jetson_utils')
    utils.cudaFromNumpy = _FakeCudaImage
    monkeypatch.setitem(sys.modules, 'jetson_inference', inference)
    monkeypatch.setitem(sys.modules, 'jetson_utils', utils)
    return calls, results


def test_threshold_and_network_are_passed_as_documented(fake_jetson):
    calls, _ = fake_jetson
    FaceDetectDetector(threshold=0.4)
    args, kwargs = calls['created'][-1]
    assert args == ('facedetect',) and kwargs == {'threshold': 0.4}
    FaceDetectDetector(model='/models/faces.onnx', labels='/models/labels.txt',
                       input_blob='input_0', output_cvg='scores', output_bbox='boxes')
    args, kwargs = calls['created'][-1]
    assert args == () and kwargs == {
        'model': '/models/faces.onnx', 'threshold': 0.5, 'labels': '/models/labels.txt',
        'input_blob': 'input_0', 'output_cvg': 'scores', 'output_bbox': 'boxes'}


def test_frame_goes_to_the_gpu_as_rgb_without_overlay(fake_jetson):
    calls, _ = fake_jetson
    frame = np.zeros((40, 60, 3), dtype=np.uint8)
    frame[..., 0] = 255  # Pure blue in BGR.
    FaceDetectDetector().detect(frame)
    image, overlay = calls['detected'][-1]
    assert overlay == 'none'  # The overlay would draw into our frame.
    assert (image.array[..., 2] == 255).all() and (image.array[..., 0] == 0).all()
    assert image.array.flags['C_CONTIGUOUS']
    assert (frame[..., 0] == 255).all()  # The caller's frame is untouched.


def test_results_become_detections_sorted_and_clipped(fake_jetson):
    _, results = fake_jetson
    results.extend([
        _FakeDetection(10.0, 20.0, 50.0, 60.0, 0.7),
        _FakeDetection(-5.0, 30.0, 40.0, 45.0, 0.95),  # Past the left edge.
        _FakeDetection(100.0, 100.0, 8.0, 9.0, 0.99),  # Smaller than min_face_size.
    ])
    detector = FaceDetectDetector()
    assert isinstance(detector, FaceDetector) and detector.provides_landmarks is False
    detections = detector.detect(np.zeros((200, 300, 3), dtype=np.uint8))
    assert [d.score for d in detections] == pytest.approx([0.95, 0.7])
    np.testing.assert_allclose(detections[0].box, [0.0, 30.0, 35.0, 45.0])
    np.testing.assert_allclose(detections[1].box, [10.0, 20.0, 50.0, 60.0])
    assert all(d.landmarks is None and d.box.dtype == np.float32 for d in detections)


def test_gray_frames_are_converted(fake_jetson):
    calls, _ = fake_jetson
    FaceDetectDetector().detect(np.zeros((30, 40), dtype=np.uint8))
    assert calls['detected'][-1][0].array.shape == (30, 40, 3)


def test_create_detector_selects_facedetect(fake_jetson):
    calls, _ = fake_jetson
    detector = create_detector('facedetect', threshold=0.3)
    assert isinstance(detector, FaceDetectDetector)
    assert calls['created'][-1][1] == {'threshold': 0.3}


def test_load_failure_is_a_model_error(fake_jetson, monkeypatch):
    def broken(*args, **kwargs):
        raise Exception('detectNet failed to load network')

    monkeypatch.setattr(sys.modules['jetson_inference'], 'detectNet', broken)
    with pytest.raises(ModelError, match='yunet'):
        FaceDetectDetector()


def test_without_jetson_inference_the_error_says_use_yunet(monkeypatch):
    for name in ('jetson_inference', 'jetson_utils', 'jetson', 'jetson.inference',
                 'jetson.utils'):
        monkeypatch.setitem(sys.modules, name, None)  # Makes the import fail.
    with pytest.raises(ModelError, match="only on a Jetson.*'yunet'"):
        FaceDetectDetector()
    with pytest.raises(ModelError, match="'yunet'"):
        create_detector('facedetect')


def test_bad_threshold_is_refused(fake_jetson):
    with pytest.raises(FaceRecognitionError):
        FaceDetectDetector(threshold=2.0)


def test_the_command_line_passes_min_face_size_and_threshold_to_facedetect(fake_jetson):
    from face_recognition_ros import cli

    args = cli.build_parser().parse_args(
        ['embed', '--detector', 'facedetect', '--min-face-size', '64',
         '--score-threshold', '0.4', 'photo.jpg'])
    pipeline = cli._build_pipeline(args, tracking=False)

    assert pipeline.detector.min_face_size == 64.0
    assert fake_jetson[0]['created'][-1][1] == {'threshold': 0.4}
