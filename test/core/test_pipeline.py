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

"""Pipeline on real photos and the bundled clip: names, unknowns, tracking, bad boxes, drawing."""

from collections import Counter, defaultdict

import cv2
from face_recognition_ros.core.drawing import color_for_name, draw_faces, UNKNOWN_COLOR
from face_recognition_ros.core.errors import GalleryError
from face_recognition_ros.core.gallery import Gallery
from face_recognition_ros.core.image_io import load_image
from face_recognition_ros.core.pipeline import (
    build_pipeline, FacePipeline, plausible_landmarks, STAGES
)
from face_recognition_ros.core.tracking import FaceTracker
from face_recognition_ros.core.types import Detection, Face, UNKNOWN
import numpy as np
import pytest


def enroll(pipeline, gallery, name, path):
    faces = pipeline.embed_faces(load_image(path))
    assert len(faces) == 1, path
    return gallery.with_person(name, faces[0][1])


@pytest.fixture(scope='module')
def obama_biden_gallery(detector, embedder, obama_biden_dir):
    gallery = Gallery(embedder.model_id)
    pipeline = FacePipeline(detector, embedder, gallery, tracking=False)
    gallery = enroll(pipeline, gallery, 'obama', obama_biden_dir / 'obama.jpg')
    gallery = enroll(pipeline, gallery, 'biden', obama_biden_dir / 'biden.jpg')
    return gallery


@pytest.fixture(scope='module')
def clip_frames(fixtures_dir):
    capture = cv2.VideoCapture(str(fixtures_dir / 'hamilton' / 'short_hamilton_clip.mp4'))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) > 250
    return frames


def test_photo_of_two_people_names_both(detector, embedder, obama_biden_gallery,
                                        obama_biden_dir):
    pipeline = FacePipeline(detector, embedder, obama_biden_gallery, tracking=False)
    result = pipeline.process(load_image(obama_biden_dir / 'two_people.jpg'))
    assert sorted(face.name for face in result.faces) == ['biden', 'obama']
    assert all(face.confidence > 0.5 for face in result.faces)
    assert set(result.timings_ms) == set(STAGES)
    assert result.timings_ms['total'] >= result.timings_ms['detect'] > 0
    for face in result.faces:
        assert face.landmarks.shape == (5, 2) and face.track_id is None
        assert face.embedding.shape == (128,)
        assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-4)


def test_strangers_in_a_group_photo_are_unknown(detector, embedder, obama_biden_gallery,
                                                faceapi_dir):
    pipeline = FacePipeline(detector, embedder, obama_biden_gallery, tracking=False)
    result = pipeline.process(load_image(faceapi_dir / 'bbt4.jpg'))
    assert len(result.faces) == 6
    assert all(face.name == UNKNOWN and face.confidence < 0.5 for face in result.faces)


def test_group_photos_name_people_enrolled_from_crops(detector, embedder, faceapi_dir):
    gallery = Gallery(embedder.model_id)
    pipeline = FacePipeline(detector, embedder, gallery, tracking=False)
    for crop in sorted(faceapi_dir.glob('*/*.png')):
        gallery = enroll(pipeline, gallery, crop.parent.name, crop)
    assert len(gallery) == 8 and gallery.num_embeddings == 16
    pipeline.gallery = gallery
    expected = {'bbt1.jpg': ['raj', 'leonard', 'howard', 'sheldon'],
                'bbt4.jpg': ['leonard', 'amy', 'raj', 'penny', 'sheldon', 'bernadette']}
    for photo, names_left_to_right in expected.items():
        faces = pipeline.process(load_image(faceapi_dir / photo)).faces
        faces.sort(key=lambda face: face.box[0])
        assert [face.name for face in faces] == names_left_to_right, photo


def test_clip_names_both_people_and_audience_stays_unknown(detector, embedder, fixtures_dir,
                                                           clip_frames):
    gallery = Gallery(embedder.model_id)
    pipeline = FacePipeline(detector, embedder, gallery)
    gallery = enroll(pipeline, gallery, 'lin',
                     fixtures_dir / 'hamilton' / 'lin-manuel-miranda.png')
    gallery = enroll(pipeline, gallery, 'alex', fixtures_dir / 'hamilton' / 'alex-lacamoire.png')
    pipeline.gallery = gallery
    names_by_frame = []
    ids_by_name = defaultdict(set)
    embedded = 0
    for frame in clip_frames:
        result = pipeline.process(frame)
        names_by_frame.append([face.name for face in result.faces])
        for face in result.faces:
            ids_by_name[face.name].add(face.track_id)
            embedded += face.embedding is not None
    # The opening shot: Lin-Manuel on stage, Alex at the piano, both named, one id each.
    opening = Counter(name for names in names_by_frame[:18] for name in names)
    assert opening['lin'] >= 15 and opening['alex'] >= 15
    # The close-up of Lin-Manuel in the middle of the clip.
    middle = names_by_frame[95:200]
    assert sum('lin' in names for names in middle) >= 0.9 * len(middle)
    # The audience at the end: strangers, never given a name.
    assert all(name == UNKNOWN for names in names_by_frame[215:] for name in names)
    assert 'alex' not in {n for names in names_by_frame[30:] for n in names}
    # Tracking embeds far fewer faces than there are face observations.
    observations = sum(len(names) for names in names_by_frame)
    assert embedded < 0.5 * observations


def test_tracking_keeps_names_with_fewer_embeddings(detector, embedder, obama_biden_gallery,
                                                    obama_biden_dir):
    frame = load_image(obama_biden_dir / 'two_people.jpg')
    tracked = FacePipeline(detector, embedder, obama_biden_gallery,
                           tracker=FaceTracker(reembed_interval=10))
    naive = FacePipeline(detector, embedder, obama_biden_gallery, tracking=False)
    counts = Counter()
    for _ in range(12):
        for mode, pipeline in (('tracked', tracked), ('naive', naive)):
            result = pipeline.process(frame)
            counts[mode] += sum(face.embedding is not None for face in result.faces)
            assert sorted(face.name for face in result.faces) == ['biden', 'obama']
            if mode == 'tracked':
                assert {face.track_id for face in result.faces} == {1, 2}
    assert counts['naive'] == 24 and counts['tracked'] <= 8
    ids = [face.track_id for face in tracked.process(frame).faces]
    tracked.reset_tracks()
    assert not set(ids) & {face.track_id for face in tracked.process(frame).faces}


def test_person_enrolled_while_in_view_is_named_on_next_frame(detector, embedder,
                                                              obama_biden_dir):
    gallery = Gallery(embedder.model_id)
    pipeline = FacePipeline(detector, embedder, gallery)
    frame = load_image(obama_biden_dir / 'obama.jpg')
    assert pipeline.process(frame).faces[0].name == UNKNOWN
    pipeline.process(frame)
    pipeline.gallery = enroll(pipeline, gallery, 'obama', obama_biden_dir / 'obama2.jpg')
    face, = pipeline.process(frame).faces
    assert face.name == 'obama'


def test_recognize_external_boxes_without_landmarks_and_drops_bad_ones(
        detector, embedder, obama_biden_gallery, obama_biden_dir, caplog):
    image = load_image(obama_biden_dir / 'two_people.jpg')
    found = detector.detect(image)
    height, width = image.shape[:2]
    boxes = [Detection(d.box.copy(), d.score) for d in found]  # boxes only, like FaceDetect
    # A box reaching over the left edge is clipped, not dropped.
    boxes[0].box[2] += boxes[0].box[0] + 5
    boxes[0].box[0] = -5
    bad = [Detection(np.array([np.nan, 1, 20, 20], np.float32), 0.9),
           Detection(np.array([width + 10, 10, 50, 50], np.float32), 0.9),
           Detection(np.array([10, 10, 0, 30], np.float32), 0.9),
           Detection(np.array([10, 10, 60, 60], np.float32), 0.9,
                     landmarks=np.full((5, 2), np.inf, np.float32))]
    pipeline = FacePipeline(detector, embedder, obama_biden_gallery, tracking=False)
    result = pipeline.recognize(image, boxes + bad)
    assert 'dropping' in caplog.text
    names = [face.name for face in result.faces]
    assert sorted(names[:2]) == ['biden', 'obama']
    assert len(result.faces) == 3  # the box with broken landmarks is kept, found no face
    assert result.faces[0].box[0] == 0.0
    assert all(face.landmarks is not None for face in result.faces[:2])
    assert result.faces[2].name == UNKNOWN
    assert result.timings_ms['detect'] == 0.0 and result.timings_ms['landmarks'] > 0


def test_frame_without_faces_and_odd_frames(detector, embedder, obama_biden_gallery):
    pipeline = FacePipeline(detector, embedder, obama_biden_gallery)
    assert pipeline.process(np.zeros((480, 640, 3), np.uint8)).faces == []
    assert pipeline.process(np.zeros((8, 8), np.uint8)).faces == []  # tiny gray frame


def test_gallery_of_another_model_is_refused(detector, embedder):
    with pytest.raises(GalleryError, match='enroll'):
        FacePipeline(detector, embedder, Gallery('some-other-model:0123'))


def test_build_pipeline_loads_gallery_and_checks_model(tmp_path, embedder):
    path = tmp_path / 'g.npz'
    Gallery(embedder.model_id, threshold=0.4).save(path)
    pipeline = build_pipeline(gallery_path=path, tracking=False)
    assert pipeline.gallery.threshold == 0.4 and pipeline.tracker is None
    Gallery('other-model').save(path)
    with pytest.raises(GalleryError, match='embedding model'):
        build_pipeline(gallery_path=path)
    with pytest.raises(GalleryError, match='enroll'):
        build_pipeline(gallery_path=tmp_path / 'missing.npz')
    assert len(build_pipeline(gallery_path=tmp_path / 'new.npz', create_gallery=True).gallery) == 0


# ------------------------------------------------------------------------ drawing
def test_labels_show_the_confidence_in_the_name_shown():
    from face_recognition_ros.core.drawing import face_label

    box = np.array([0, 0, 10, 10], np.float32)
    assert face_label(Face(box, 0.9, name='ada', confidence=0.87, track_id=3)) == 'ada 0.87 #3'
    # a stranger compared with the gallery: how sure it is nobody enrolled
    assert face_label(Face(box, 0.9, name=UNKNOWN, confidence=0.04, similarity=0.1)) == \
        'unknown 0.96'
    # never compared (no gallery, not embedded yet): no number to show
    assert face_label(Face(box, 0.9, name=UNKNOWN, track_id=1)) == 'unknown #1'


def test_draw_faces_marks_boxes_and_keeps_labels_inside(obama_biden_dir):
    image = load_image(obama_biden_dir / 'two_people.jpg')
    faces = [Face(np.array([50, 60, 100, 120], np.float32), 0.9, name='obama', confidence=0.97,
                  track_id=3),
             Face(np.array([image.shape[1] - 30, -10, 80, 50], np.float32), 0.8),  # at an edge
             Face(np.array([np.nan, 0, 10, 10], np.float32), 0.8)]  # ignored, no crash
    drawn = draw_faces(image, faces)
    assert drawn.shape == image.shape and drawn is not image
    assert np.array_equal(image, load_image(obama_biden_dir / 'two_people.jpg'))
    changed = np.any(drawn != image, axis=2)
    assert changed[60:180, 50].any() and changed[60, 50:150].any()
    assert changed[:, -30:].any()  # the edge face's label is drawn, inside the image
    red = np.all(drawn == np.array(UNKNOWN_COLOR, np.uint8), axis=2)
    assert red.any()
    assert color_for_name('obama') == color_for_name('obama') != UNKNOWN_COLOR


@pytest.mark.parametrize('size', [(40, 30), (2160, 3840)])
def test_draw_faces_scales_with_image(size):
    image = np.zeros((*size, 3), np.uint8)
    face = Face(np.array([size[1] * 0.25, size[0] * 0.25, size[1] * 0.5, size[0] * 0.5],
                         np.float32), 0.9, name='someone with a long name', confidence=0.7)
    drawn = draw_faces(image, [face])
    assert drawn.shape == image.shape and drawn.any()
    thickness = np.count_nonzero(drawn[size[0] // 2, : size[1] // 2].any(axis=1))
    assert thickness >= (5 if size[0] > 1000 else 1)


def _side_lit_gamma3(image, from_left, seed):
    """
    Darken a photo as in a dim room lit from one window.

    Light falling off linearly to 10 % across the photo, gamma 3, sensor noise of 6 grey
    levels.
    """
    ramp = np.linspace(1.0, 0.1, image.shape[1], dtype=np.float32)
    ramp = ramp if from_left else ramp[::-1]
    lit = image.astype(np.float32) / 255.0 * ramp[None, :, None]
    dark = 255.0 * lit ** 3.0 + np.random.default_rng(seed).normal(0.0, 6.0, image.shape)
    return np.clip(dark, 0, 255).round().astype(np.uint8)


def test_dark_faces_get_landmarks_found_again(detector, embedder, faceapi_dir):
    """
    Find a dark face's landmarks again on a contrast-normalised copy (hard light, issue 12.4).

    So more side-lit dark faces are named right; on normally lit photos the landmarks and
    names are exactly those without it.
    """
    people = sorted(path for path in faceapi_dir.iterdir() if path.is_dir())
    gallery = Gallery(embedder.model_id)
    enroller = FacePipeline(detector, embedder, gallery, tracking=False)
    for folder in people:
        gallery = enroll(enroller, gallery, folder.name, folder / f'{folder.name}1.png')
    named, normal = {}, {}
    for hard_light in (False, True):
        pipeline = FacePipeline(detector, embedder, gallery, tracking=False,
                                hard_light=hard_light)
        named[hard_light], normal[hard_light] = 0, []
        for index, folder in enumerate(people):
            probe = load_image(folder / f'{folder.name}2.png')
            border = probe.shape[0] // 2
            framed = cv2.copyMakeBorder(probe, border, border, border, border,
                                        cv2.BORDER_REPLICATE)
            faces = pipeline.process(_side_lit_gamma3(framed, index % 2 == 0, index)).faces
            named[hard_light] += any(face.name == folder.name for face in faces)
            normal[hard_light] += pipeline.process(framed).faces
    assert named[True] > named[False], named  # 3 -> 5 of 8 when written
    assert [face.name for face in normal[True]] == [face.name for face in normal[False]]
    for first, second in zip(normal[True], normal[False]):
        np.testing.assert_array_equal(first.landmarks, second.landmarks)


def test_landmark_plausibility(detector, obama_biden_dir):
    """Real landmarks pass; swapped eyes, a mouth above the eyes or collapsed points do not."""
    image = load_image(obama_biden_dir / 'two_people.jpg')
    for detection in detector.detect(image):
        points, box = detection.landmarks, detection.box
        assert plausible_landmarks(points, box)
        assert not plausible_landmarks(points[[1, 0, 2, 3, 4]], box)
        assert not plausible_landmarks(points[[3, 4, 2, 0, 1]], box)
        assert not plausible_landmarks(np.repeat(points[2:3], 5, axis=0), box)
        assert not plausible_landmarks(np.full((5, 2), np.nan), box)
