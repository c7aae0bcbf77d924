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

"""Alignment onto the 112x112 template and SFace embeddings on real photos."""

from __future__ import annotations

import cv2
from face_recognition_ros.core.alignment import align_face, REFERENCE_LANDMARKS_112
from face_recognition_ros.core.embedding import create_embedder, SFaceEmbedder
from face_recognition_ros.core.errors import FaceRecognitionError, ModelError
from face_recognition_ros.core.image_io import load_image
from face_recognition_ros.core.model_files import DEFAULT_EMBEDDER_MODEL
from face_recognition_ros.core.types import FaceEmbedder
import numpy as np
import pytest


@pytest.fixture(scope='module')
def faces(detector, obama_biden_dir):
    """Map name -> (image, best detection) for the Obama/Biden photos."""
    found = {}
    for name in ('obama', 'obama2', 'biden'):
        image = load_image(obama_biden_dir / f'{name}.jpg')
        found[name] = (image, detector.detect(image)[0])
    return found


@pytest.fixture(scope='module')
def crops(faces):
    return {name: align_face(image, detection.landmarks)
            for name, (image, detection) in faces.items()}


def test_crop_shape_and_landmarks_land_on_the_template(faces):
    image, detection = faces['obama']
    crop = align_face(image, detection.landmarks)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    # Map the landmarks with the same transform: they must sit near the template points.
    matrix, _ = cv2.estimateAffinePartial2D(detection.landmarks, REFERENCE_LANDMARKS_112,
                                            method=cv2.LMEDS)
    mapped = detection.landmarks @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - REFERENCE_LANDMARKS_112).max() < 6.0
    assert align_face(image, detection.landmarks, size=224).shape == (224, 224, 3)


def test_alignment_is_pure(faces):
    image, detection = faces['obama']
    before = image.copy()
    first = align_face(image, detection.landmarks)
    np.testing.assert_array_equal(first, align_face(image, detection.landmarks))
    np.testing.assert_array_equal(image, before)


def test_crop_matches_opencv_align_crop(faces):
    recognizer = cv2.FaceRecognizerSF.create(str(DEFAULT_EMBEDDER_MODEL), '')
    for image, detection in faces.values():
        row = np.concatenate([detection.box, detection.landmarks.ravel(),
                              [detection.score]]).astype(np.float32)[None]
        reference = recognizer.alignCrop(image, row)
        ours = align_face(image, detection.landmarks)
        assert np.abs(reference.astype(int) - ours).mean() < 1.0


@pytest.mark.parametrize('landmarks', [np.zeros((4, 2)), np.full((5, 2), np.nan),
                                       np.ones((5, 2))])
def test_bad_landmarks_raise(faces, landmarks):
    with pytest.raises(FaceRecognitionError):
        align_face(faces['obama'][0], landmarks)


def test_embeddings_are_unit_norm_128d(embedder, crops):
    assert isinstance(embedder, FaceEmbedder)
    assert embedder.model_id == 'sface-2021dec-int8bq:fb143eea07838aa5'
    assert (embedder.dimension, embedder.input_size) == (128, 112)
    vectors = embedder.embed(list(crops.values()))
    assert vectors.shape == (3, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 128)


def test_same_person_is_clearly_closer_than_different(embedder, crops):
    obama, obama2, biden = embedder.embed([crops['obama'], crops['obama2'], crops['biden']])
    same = float(obama @ obama2)
    different = max(float(obama @ biden), float(obama2 @ biden))
    assert same > 0.5 > 0.3 > different
    assert same - different > 0.3


def test_channel_order_is_the_one_that_separates_people(embedder, crops):
    """Feeding RGB where BGR is expected still "works", only worse: guard the order."""
    names = ('obama', 'obama2', 'biden')
    right = embedder.embed([crops[name] for name in names])
    swapped = embedder.embed([np.ascontiguousarray(crops[name][:, :, ::-1]) for name in names])
    margin = float(right[0] @ right[1]) - float(right[0] @ right[2])
    margin_swapped = float(swapped[0] @ swapped[1]) - float(swapped[0] @ swapped[2])
    assert margin > margin_swapped


def test_batch_equals_one_by_one(embedder, crops):
    batch = embedder.embed(list(crops.values()))
    single = np.concatenate([embedder.embed([crop]) for crop in crops.values()])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_runtimes_agree(crops):
    via_cv = SFaceEmbedder(runtime='opencv')
    via_ort = SFaceEmbedder(runtime='onnxruntime')
    assert via_cv.model_id == via_ort.model_id
    vectors_cv = via_cv.embed(list(crops.values()))
    vectors_ort = via_ort.embed(list(crops.values()))
    assert (np.sum(vectors_cv * vectors_ort, axis=1) > 0.999).all()


def test_group_photo_crops_match_their_person(detector, embedder, faceapi_dir):
    """Every person's two face crops are each other's nearest neighbour among 16."""
    names, crops = [], []
    for person in sorted(p for p in faceapi_dir.iterdir() if p.is_dir()):
        for photo in sorted(person.glob('*.png')):
            image = load_image(photo)
            detection = detector.detect(image)[0]
            names.append(person.name)
            crops.append(align_face(image, detection.landmarks))
    vectors = embedder.embed(crops)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1.0)
    nearest = [names[index] for index in similarity.argmax(axis=1)]
    assert nearest == names


def test_wrong_crop_size_is_refused(embedder):
    with pytest.raises(FaceRecognitionError, match='align_face'):
        embedder.embed([np.zeros((100, 100, 3), dtype=np.uint8)])


def test_create_embedder():
    assert isinstance(create_embedder('sface'), SFaceEmbedder)
    with pytest.raises(ModelError, match='model_path'):
        create_embedder('classifier')
    with pytest.raises(FaceRecognitionError, match='sface'):
        create_embedder('arcface')


@pytest.mark.parametrize('runtime', ['onnxruntime', 'opencv'])
def test_corrupt_model_is_refused(tmp_path, runtime):
    corrupt = tmp_path / DEFAULT_EMBEDDER_MODEL.name
    corrupt.write_bytes(DEFAULT_EMBEDDER_MODEL.read_bytes()[:-1000])  # Truncated copy.
    with pytest.raises(ModelError, match='expected fb143eea'):
        SFaceEmbedder(model_path=corrupt, runtime=runtime)


# Landmarks for boxes without any (FaceDetect boxes): YuNet on the enlarged crop.

@pytest.fixture(scope='module')
def locator():
    from face_recognition_ros.core.landmarks import YuNetLandmarkLocator

    return YuNetLandmarkLocator()


def _grow(box, factor_w, factor_h=None):
    factor_h = factor_w if factor_h is None else factor_h
    center = box[:2] + box[2:] / 2.0
    size = box[2:] * np.array([factor_w, factor_h], dtype=np.float32)
    return np.concatenate([center - size / 2.0, size]).astype(np.float32)


@pytest.mark.parametrize('relative', ['obama_biden/two_people.jpg', 'faceapi/bbt1.jpg',
                                      'orl/s2/1.pgm'])
def test_located_landmarks_agree_with_yunet(detector, embedder, locator, fixtures_dir,
                                            relative):
    image = load_image(fixtures_dir / relative)
    detections = detector.detect(image)
    assert detections
    for detection in detections:
        # The exact box, and a taller looser one like FaceDetect's.
        for box in (detection.box, _grow(detection.box, 1.1, 1.3)):
            points = locator.locate(image, box)
            assert points is not None and points.shape == (5, 2)
            assert points.dtype == np.float32
            distance = np.linalg.norm(points - detection.landmarks, axis=1).mean()
            assert distance < 0.1 * detection.box[2]  # YuNet itself jitters 3-8 %.
            first, second = embedder.embed([align_face(image, detection.landmarks),
                                            align_face(image, points)])
            assert float(first @ second) > 0.85


def test_locator_says_none_where_there_is_no_face(locator, faces):
    image, detection = faces['obama']
    assert locator.locate(np.full((400, 400, 3), 90, dtype=np.uint8),
                          np.array([100, 100, 150, 180], dtype=np.float32)) is None
    height, width = image.shape[:2]
    corner = np.array([0, height - 200, 150, 180], dtype=np.float32)  # Suit, no face.
    assert locator.locate(image, corner) is None
    assert locator.locate(image, np.array([10, 10, 0, 0], dtype=np.float32)) is None


def test_locator_handles_a_box_past_the_frame_edge(detector, locator, faces):
    image, detection = faces['obama']
    x, y, w, h = detection.box
    cut = np.ascontiguousarray(image[:, int(x + 0.25 * w):])
    shifted = detection.box - np.array([int(x + 0.25 * w), 0, 0, 0], dtype=np.float32)
    points = locator.locate(cut, shifted)  # Box starts at x < 0.
    assert points is not None
    expected = detection.landmarks - np.array([int(x + 0.25 * w), 0], dtype=np.float32)
    assert np.linalg.norm(points - expected, axis=1).mean() < 0.1 * w


def test_locator_refuses_a_boxes_only_detector():
    from face_recognition_ros.core.landmarks import YuNetLandmarkLocator

    class BoxesOnly:
        provides_landmarks = False

    with pytest.raises(FaceRecognitionError, match='landmarks'):
        YuNetLandmarkLocator(detector=BoxesOnly())


@pytest.mark.parametrize('runtime', ['onnxruntime', 'opencv'])
def test_another_network_is_refused_as_sface(runtime):
    # The bundled YuNet detector passed as the embedder: a clear ModelError, at load
    # (onnxruntime) or on the first face (OpenCV loads any ONNX file), not a runtime error.
    from face_recognition_ros.core.model_files import DEFAULT_DETECTOR_MODEL

    with pytest.raises(ModelError, match='is not an SFace model'):
        SFaceEmbedder(model_path=DEFAULT_DETECTOR_MODEL, runtime=runtime).embed(
            [np.zeros((112, 112, 3), np.uint8)])
