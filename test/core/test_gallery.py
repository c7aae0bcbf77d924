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

"""Gallery: the immutable value, open-set matching, the file format, names, enrollment."""

import json
import os
from pathlib import Path
import stat
import zipfile

from face_recognition_ros.core import gallery_store as gallery_module
from face_recognition_ros.core.enrollment import enroll_folder, MAX_ENROLL_IMAGE_PIXELS
from face_recognition_ros.core.errors import GalleryError, InvalidNameError
from face_recognition_ros.core.gallery import (
    DEFAULT_THRESHOLD, Gallery, MAX_EMBEDDINGS_PER_PERSON, similarity_to_confidence, validate_name
)
from face_recognition_ros.core.types import UNKNOWN
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'


def unit(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


@pytest.fixture
def random_gallery():
    rng = np.random.default_rng(7)
    gallery = Gallery('test-model')
    people = {name: unit(rng.normal(size=(3, 128))) for name in ('ada', 'grace', 'alan')}
    for name, vectors in people.items():
        gallery = gallery.with_person(name, vectors)
    return gallery, people


def test_match_names_enrolled_and_rejects_stranger(random_gallery):
    gallery, people = random_gallery
    rng = np.random.default_rng(1)
    noisy_grace = unit(people['grace'][1] + 0.02 * rng.normal(size=128))
    stranger = unit(rng.normal(size=128))
    matches = gallery.match(np.stack([noisy_grace, people['alan'][2], stranger]))
    assert [m.name for m in matches] == ['grace', 'alan', UNKNOWN]
    assert matches[0].confidence > 0.5 and matches[2].confidence < 0.5
    assert matches[1].similarity == pytest.approx(1.0, abs=1e-5)


def test_a_nan_or_zero_embedding_is_unknown_and_the_other_faces_are_named(random_gallery):
    """A broken crop or model output costs that face its name, never the whole frame."""
    gallery, people = random_gallery
    queries = np.stack([np.full(128, np.nan, np.float32), people['ada'][0],
                        np.zeros(128, np.float32)])
    matches = gallery.match(queries)
    assert [m.name for m in matches] == [UNKNOWN, 'ada', UNKNOWN]
    assert matches[0].confidence == 0.0 and matches[1].nearest_name == 'ada'
    with pytest.raises(GalleryError, match='NaN'):  # enrolling one still refuses
        gallery.with_person('nan', queries[:1])


def test_confidence_is_half_at_threshold_and_monotonic():
    assert similarity_to_confidence(DEFAULT_THRESHOLD, DEFAULT_THRESHOLD) == pytest.approx(0.5)
    values = similarity_to_confidence(np.linspace(-1, 1, 201), DEFAULT_THRESHOLD)
    assert np.all(np.diff(values) > 0) or np.all(np.diff(values) >= 0)
    assert 0.0 <= values.min() and values.max() <= 1.0
    assert values[0] < 0.01 and values[-1] > 0.99


def test_person_similarities_is_best_row_per_person(random_gallery):
    gallery, people = random_gallery
    query = people['ada'][0]
    scores = gallery.person_similarities(query)
    assert scores.shape == (1, 3)
    for column, name in enumerate(gallery.names()):
        assert scores[0, column] == pytest.approx(float(np.max(people[name] @ query)), abs=1e-5)


def test_with_person_extends_and_without_forgets_leaving_the_old_value(random_gallery):
    gallery, people = random_gallery
    extended = gallery.with_person('ada', people['alan'][0])  # a second look of ada
    assert extended.counts() == {'ada': 4, 'grace': 3, 'alan': 3}
    assert gallery.counts() == {'ada': 3, 'grace': 3, 'alan': 3}  # unchanged
    assert extended.match(people['alan'][0])[0].name in ('ada', 'alan')
    smaller = extended.without('alan')
    assert smaller.without('alan') is smaller
    assert smaller.names() == ['ada', 'grace'] and len(smaller) == 2
    assert smaller.match(people['grace'][2])[0].name == 'grace'
    np.testing.assert_array_equal(smaller.embeddings_of('grace'), people['grace'])
    assert extended.match(people['alan'][2])[0].name == 'alan'  # the old value still names


def test_a_gallery_value_cannot_be_changed(random_gallery):
    gallery, _ = random_gallery
    with pytest.raises(AttributeError, match='immutable'):
        gallery.threshold = 0.5
    with pytest.raises(ValueError):
        gallery.embeddings[0, 0] = 1.0
    with pytest.raises(ValueError):
        gallery.embeddings_of('ada')[0, 0] = 1.0


def test_the_oldest_embeddings_are_replaced_past_the_cap():
    rng = np.random.default_rng(3)
    vectors = unit(rng.normal(size=(MAX_EMBEDDINGS_PER_PERSON + 5, 64)))
    gallery = Gallery('m').with_person('bob', unit(rng.normal(size=(2, 64))))
    for row in vectors:
        gallery = gallery.with_person('ada', row)
    assert gallery.counts() == {'bob': 2, 'ada': MAX_EMBEDDINGS_PER_PERSON}
    np.testing.assert_array_equal(gallery.embeddings_of('ada'), vectors[5:])


def test_edits_cost_rows_not_people_times_rows():
    # 20,000 people: the old person-by-person copy took seconds; slicing takes milliseconds.
    import time
    rng = np.random.default_rng(5)
    rows = unit(rng.normal(size=(20000, 128)))
    gallery = Gallery('m', names=[f'p{i}' for i in range(20000)], counts=[1] * 20000,
                      embeddings=rows)
    start = time.perf_counter()
    gallery = gallery.with_person('p10000', unit(rng.normal(size=128))).without('p5')
    assert time.perf_counter() - start < 1.0
    assert gallery.counts()['p10000'] == 2 and 'p5' not in gallery and len(gallery) == 19999
    assert gallery.match(rows[7])[0].name == 'p7'


def test_empty_gallery_says_unknown():
    match, = Gallery('m').match(unit(np.ones(128)))
    assert match.name == UNKNOWN and match.confidence == 0.0


def test_dimension_mismatch_is_refused(random_gallery):
    gallery, _ = random_gallery
    with pytest.raises(GalleryError, match='dimensions'):
        gallery.with_person('bob', unit(np.ones(64)))
    with pytest.raises(GalleryError, match='dimensions'):
        gallery.match(unit(np.ones(512)))
    with pytest.raises(GalleryError, match='NaN'):
        gallery.with_person('bob', np.full(128, np.nan))


def test_round_trip_keeps_everything(tmp_path, random_gallery):
    gallery, people = random_gallery
    gallery = gallery.with_threshold(0.42).with_calibration({'scores': [0.1, 0.2], 'n': 3})
    path = tmp_path / 'people.npz'
    gallery.save(path)
    loaded = Gallery.load(path, expected_model_id='test-model')
    assert loaded.names() == gallery.names() and loaded.counts() == gallery.counts()
    assert loaded.threshold == 0.42 and loaded.model_id == 'test-model'
    assert loaded.calibration == {'scores': [0.1, 0.2], 'n': 3}
    for name in people:
        np.testing.assert_allclose(loaded.embeddings_of(name), gallery.embeddings_of(name))
    # Data, not code: the archive opens without pickle and holds JSON metadata.
    with np.load(path, allow_pickle=False) as archive:
        metadata = json.loads(str(archive['metadata']))
    assert metadata['model_id'] == 'test-model' and metadata['names'] == gallery.names()


def test_saved_file_is_owner_only_and_no_temp_left(tmp_path, random_gallery):
    gallery, _ = random_gallery
    path = tmp_path / 'people.npz'
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        gallery.save(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ['people.npz']


def test_failed_save_keeps_previous_file(tmp_path, random_gallery, monkeypatch):
    gallery, _ = random_gallery
    path = tmp_path / 'people.npz'
    gallery.save(path)
    before = path.read_bytes()
    gallery = gallery.with_person('eve', unit(np.arange(1, 129)))

    def broken_write(handle, *args):
        handle.write(b'partial garbage')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(gallery_module, '_write_archive', broken_write)
    with pytest.raises(GalleryError, match='unchanged'):
        gallery.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['people.npz']
    assert 'eve' not in Gallery.load(path).names()


def test_unwritable_folder_is_reported_and_previous_file_kept(tmp_path, random_gallery,
                                                              monkeypatch):
    gallery, _ = random_gallery
    path = tmp_path / 'people.npz'
    gallery.save(path)
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')

    # What a read-only folder does to the temporary file (root ignores chmod, so simulate).
    monkeypatch.setattr(gallery_module.tempfile, 'mkstemp', refuse)
    with pytest.raises(GalleryError, match='writable'):
        gallery.save(path)
    assert path.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason='root ignores directory permissions')
def test_save_into_read_only_folder_keeps_previous_file(tmp_path, random_gallery):
    gallery, _ = random_gallery
    folder = tmp_path / 'ro'
    folder.mkdir()
    path = folder / 'people.npz'
    gallery.save(path)
    before = path.read_bytes()
    gallery = gallery.without('ada')
    folder.chmod(0o500)
    try:
        with pytest.raises(GalleryError, match='writable'):
            gallery.save(path)
    finally:
        folder.chmod(0o700)
    assert path.read_bytes() == before


def test_other_model_is_refused(tmp_path, random_gallery):
    gallery, _ = random_gallery
    path = tmp_path / 'people.npz'
    gallery.save(path)
    with pytest.raises(GalleryError, match='enroll the people again'):
        Gallery.load(path, expected_model_id='another-model')


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'bad_json', 'bad_labels', 'npy'])
def test_corrupt_file_is_reported_and_left_alone(tmp_path, random_gallery, damage):
    gallery, _ = random_gallery
    path = tmp_path / 'people.npz'
    gallery.save(path)
    if damage == 'truncate':
        path.write_bytes(path.read_bytes()[:300])
    elif damage == 'garbage':
        path.write_bytes(b'\x00not a gallery' * 10)
    elif damage == 'npy':
        with open(path, 'wb') as handle:
            np.save(handle, np.zeros((3, 128), np.float32))
    else:
        with np.load(path) as archive:
            arrays = dict(archive)
        if damage == 'bad_json':
            arrays['metadata'] = np.array('{"format_version": 1, "names": [')
        else:
            arrays['labels'] = arrays['labels'] + 7
        with open(path, 'wb') as handle:
            np.savez(handle, **arrays)
    before = path.read_bytes()
    with pytest.raises(GalleryError, match='unreadable'):
        Gallery.load(path)
    assert path.read_bytes() == before


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / 'evil.npz'
    with open(path, 'wb') as handle:
        np.savez(handle, embeddings=np.array([object()], dtype=object),
                 labels=np.zeros(1, np.int32), metadata=np.array('{}'))
    assert zipfile.is_zipfile(path)
    with pytest.raises(GalleryError, match='unreadable'):
        Gallery.load(path)


def test_missing_file_says_enroll_first(tmp_path):
    with pytest.raises(GalleryError, match='enroll'):
        Gallery.load(tmp_path / 'nothing.npz')


@pytest.mark.parametrize('name, expected', [('  Ada Lovelace ', 'Ada Lovelace'),
                                            ('José', 'José'), ("o'brien-2", "o'brien-2")])
def test_valid_names_are_stripped(name, expected):
    assert validate_name(name) == expected


@pytest.mark.parametrize('name', ['', '   ', 'a/b', '..\\x', 'tab\there', 'nl\nx', 'bell\x07',
                                  'x' * 65, 'unknown', ' Unknown ', '..', 42])
def test_invalid_names_are_refused(name):
    with pytest.raises(InvalidNameError):
        validate_name(name)
    with pytest.raises(ValueError):  # also a ValueError, for generic callers
        validate_name(name)


def test_add_refuses_bad_name(random_gallery):
    gallery, people = random_gallery
    with pytest.raises(InvalidNameError):
        gallery.with_person('../etc', people['ada'])
    assert gallery.names() == ['ada', 'grace', 'alan']


# ------------------------------------------------------------- real models, real photos
@pytest.fixture(scope='module')
def pipeline():
    from face_recognition_ros.core.pipeline import build_pipeline
    return build_pipeline(tracking=False)


def embed_one(pipeline, path):
    from face_recognition_ros.core.image_io import load_image
    faces = pipeline.embed_faces(load_image(path))
    assert len(faces) == 1, f'{path} should hold exactly one face'
    return faces[0][1]


def test_real_faces_same_person_matches_stranger_is_unknown(pipeline):
    gallery = Gallery(pipeline.embedder.model_id).with_person(
        'obama', embed_one(pipeline, FIXTURES / 'obama_biden' / 'obama.jpg')).with_person(
        'biden', embed_one(pipeline, FIXTURES / 'obama_biden' / 'biden.jpg'))
    obama2, = gallery.match(embed_one(pipeline, FIXTURES / 'obama_biden' / 'obama2.jpg'))
    assert obama2.name == 'obama' and obama2.confidence > 0.5
    for stranger in ('penny/penny1.png', 'sheldon/sheldon1.png', 'raj/raj1.png'):
        match, = gallery.match(embed_one(pipeline, FIXTURES / 'faceapi' / stranger))
        assert match.name == UNKNOWN, stranger
        assert match.confidence < 0.5


def test_enroll_folder_reports_skipped_photos(tmp_path, pipeline):
    people = tmp_path / 'people'
    (people / 'obama').mkdir(parents=True)
    (people / 'biden').mkdir()
    (people / 'bad:name\x01').mkdir()
    source = FIXTURES / 'obama_biden'
    (people / 'obama' / 'a.jpg').write_bytes((source / 'obama.jpg').read_bytes())
    (people / 'obama' / 'both.jpg').write_bytes((source / 'two_people.jpg').read_bytes())
    (people / 'obama' / 'broken.jpg').write_bytes((source / 'obama2.jpg').read_bytes()[:500])
    (people / 'biden' / 'b.jpg').write_bytes((source / 'biden.jpg').read_bytes())
    blank = np.full((200, 200, 3), 127, np.uint8)
    import cv2
    cv2.imwrite(str(people / 'biden' / 'wall.png'), blank)
    side = int(MAX_ENROLL_IMAGE_PIXELS ** 0.5) + 1
    cv2.imwrite(str(people / 'biden' / 'huge.png'), np.zeros((side, side, 3), np.uint8))

    gallery, report = enroll_folder(Gallery(pipeline.embedder.model_id), people, pipeline)
    by_name = {person.name: person for person in report.people}
    assert gallery.counts() == {'biden': 1, 'obama': 1}
    reasons = {Path(photo).name: reason for photo, reason in by_name['obama'].skipped}
    assert reasons['broken.jpg'] == 'unreadable'
    assert reasons['both.jpg'].startswith('several faces')
    assert {Path(p).name: r for p, r in by_name['biden'].skipped} == {
        'wall.png': 'no face', 'huge.png': 'too large'}
    assert by_name['bad:name\x01'].error and not by_name['bad:name\x01'].used
    assert report.photos_used == 2 and report.photos_skipped == 4
    json.dumps(report.to_dict())  # the CLI prints it


@pytest.mark.parametrize('content', [b'\x00not a gallery' * 10, b'\x89PNG\r\n\x1a\n' + b'0' * 50])
def test_file_that_is_no_archive_gets_no_advice_to_unpickle(tmp_path, content):
    # numpy's own error for such a file says it holds pickled data and suggests
    # allow_pickle=True: exactly what a gallery of personal data must never be loaded with.
    path = tmp_path / 'people.npz'
    path.write_bytes(content)
    with pytest.raises(GalleryError, match='unreadable.*not an .npz archive') as raised:
        Gallery.load(path)
    assert 'pickle' not in str(raised.value)
    assert path.read_bytes() == content


@pytest.mark.parametrize('threshold', [1.5, -3.0, float('nan')])
def test_threshold_override_outside_cosine_range_is_refused(tmp_path, random_gallery,
                                                            threshold):
    # An override (the CLI's --threshold) below -1 named every stranger, above 1 nobody.
    gallery, _ = random_gallery
    with pytest.raises(GalleryError, match='not a cosine similarity'):
        gallery.with_threshold(threshold)
    with pytest.raises(GalleryError, match='not a cosine similarity'):
        Gallery('m', threshold)
    assert gallery.threshold == pytest.approx(0.363)


def test_composed_and_decomposed_spellings_are_one_person(random_gallery):
    # 'José' typed on Linux is NFC; a folder named on macOS is NFD: the same person.
    import unicodedata

    gallery, people = random_gallery
    decomposed = unicodedata.normalize('NFD', 'José')
    composed = unicodedata.normalize('NFC', 'José')
    assert decomposed != composed
    before = len(gallery.names())
    gallery = gallery.with_person(decomposed, people['ada'][:1])
    gallery = gallery.with_person(composed, people['ada'][1:])
    assert len(gallery.names()) == before + 1
    assert gallery.counts()[composed] == len(people['ada'])
    gallery = gallery.without(decomposed)
    assert composed not in gallery.names() and decomposed not in gallery.names()


def test_enrolling_the_same_photo_again_adds_nothing(embedder, detector):
    """A folder enrolled twice must not double the person's weight and counts."""
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.pipeline import FacePipeline

    pipeline = FacePipeline(detector, embedder, tracking=False)
    fixtures = Path(__file__).resolve().parents[1] / 'fixtures' / 'obama_biden'
    ((_, first),) = pipeline.embed_faces(load_image(fixtures / 'obama.jpg'))
    ((_, again),) = pipeline.embed_faces(load_image(fixtures / 'obama.jpg'))
    ((_, other),) = pipeline.embed_faces(load_image(fixtures / 'obama2.jpg'))
    gallery = Gallery(embedder.model_id).with_person('obama', first)
    assert gallery.with_person('obama', again).counts()['obama'] == 1
    assert gallery.with_person('obama', np.stack([again, other])).counts()['obama'] == 2
