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
ResNet-18 fine-tuning, resume and ONNX export on real ORL photos, on the CPU.

One short training run (4 epochs of 15 photos at 64x64, --weights none) is shared by the
tests of this module; each step reads what the previous one wrote, as a user would.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import urllib.error

import cv2
import numpy as np
import pytest

torch = pytest.importorskip('torch')
pytest.importorskip('torchvision')
pytest.importorskip('onnx')

from training import export, train  # noqa: E402
from training.face_dataset import (  # noqa: E402
    build_transforms, list_people, load_rgb, split_per_person
)

ORL = Path(__file__).resolve().parents[1] / 'fixtures' / 'orl'
FIXTURES_FACEAPI = ORL.parent / 'faceapi'
COMMON = ['--batch-size', '5', '--input-size', '64', '--lr-step', '2', '--lr-gamma', '0.1',
          '--val-per-person', '1', '--threads', '2', '--no-progress', '--weights', 'none',
          '--seed', '0']


def run_train(data_dir, out_dir, *extra):
    args = train.get_args_parser().parse_args([str(data_dir), '--output-dir', str(out_dir),
                                               *COMMON, *extra])
    return train.main(args)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    # a copy, so the checkpoint records a folder this module owns
    target = tmp_path_factory.mktemp('orl') / 'people'
    shutil.copytree(ORL, target, ignore=shutil.ignore_patterns('README'))
    return target


@pytest.fixture(scope='module')
def trained(data_dir, tmp_path_factory):
    torch.set_num_threads(2)
    out_dir = tmp_path_factory.mktemp('run')
    summary = run_train(data_dir, out_dir, '--epochs', '4')
    return out_dir, summary


def test_split_is_per_person_deterministic_and_disjoint():
    people = list_people(ORL)
    train_a, val_a, names = split_per_person(people, val_per_person=1, seed=4)
    train_b, val_b, _ = split_per_person(people, val_per_person=1, seed=4)
    assert names == ['s1', 's2', 's3']
    assert [s.path for s in val_a] == [s.path for s in val_b]
    assert sorted(s.label for s in val_a) == [0, 1, 2]  # one validation photo per person
    assert not {s.path for s in train_a} & {s.path for s in val_a}
    # a fraction that rounds to zero still leaves one validation photo per person
    _, val_c, _ = split_per_person(people, val_fraction=0.01, seed=0)
    assert len(val_c) == 3


def test_validation_transform_is_deterministic_and_training_one_is_not():
    image = load_rgb(str(ORL / 's1' / '1.pgm'))
    val = build_transforms(64, train=False)
    assert torch.equal(val(image), val(image))
    augment = build_transforms(64, train=True)
    torch.manual_seed(0)
    assert not all(torch.equal(augment(image), augment(image)) for _ in range(3))


def test_training_lowers_the_loss_and_writes_its_records(trained):
    out_dir, summary = trained
    history = summary['history']
    assert [h['epoch'] for h in history] == [0, 1, 2, 3]
    # per-epoch losses of 3 batches of 5 augmented photos are noisy: compare the first
    # epoch with the mean of the last two (from random weights it starts near ln 3 = 1.1)
    first = history[0]['train_loss']
    assert np.mean([h['train_loss'] for h in history[2:]]) < 0.8 * first
    for name in ('checkpoint.pth', 'best.pth', 'metrics.json', 'curves.png'):
        assert (out_dir / name).stat().st_size > 0
    assert (out_dir / 'checkpoint.pth').stat().st_mode & 0o077 == 0
    checkpoint = torch.load(out_dir / 'checkpoint.pth', map_location='cpu',
                            weights_only=True)
    assert checkpoint['epoch'] == 3
    assert checkpoint['class_names'] == ['s1', 's2', 's3']
    assert checkpoint['args']['freeze'] == 'none'
    assert {'model', 'optimizer', 'lr_scheduler'} <= set(checkpoint)


def test_resume_continues_with_the_saved_optimizer_and_scheduler(trained, data_dir):
    out_dir, _ = trained
    before = torch.load(out_dir / 'checkpoint.pth', map_location='cpu', weights_only=True)
    resumed_dir = out_dir / 'resumed'
    summary = run_train(data_dir, resumed_dir, '--epochs', '5', '--resume',
                        str(out_dir / 'checkpoint.pth'))
    after = torch.load(resumed_dir / 'checkpoint.pth', map_location='cpu', weights_only=True)
    assert [h['epoch'] for h in summary['history']] == [0, 1, 2, 3, 4]
    # StepLR(step 2, gamma 0.1) restored at epoch 4: a fresh scheduler would use lr 1e-3
    assert summary['history'][4]['lr'] == pytest.approx(1e-5)
    assert after['lr_scheduler']['last_epoch'] == before['lr_scheduler']['last_epoch'] + 1
    # AdamW's step counter continues: 3 batches of 5 photos per epoch
    steps_before = {int(s['step']) for s in before['optimizer']['state'].values()}
    steps_after = {int(s['step']) for s in after['optimizer']['state'].values()}
    assert steps_before == {12} and steps_after == {15}


def test_export_loads_in_the_recognizer_and_names_a_training_photo(trained, data_dir):
    from face_recognition_ros.core.classifier_embedding import ClassifierRecognizer
    from face_recognition_ros.core.embedding import create_embedder
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.types import UNKNOWN

    out_dir, _ = trained
    model_path = out_dir / 'faces.onnx'
    calibration = export.main(export.get_args_parser().parse_args(
        [str(out_dir / 'checkpoint.pth'), '--output', str(model_path), '--threads', '2']))
    assert model_path.stat().st_mode & 0o077 == 0
    recognizer = ClassifierRecognizer(model_path)
    assert recognizer.class_names == ['s1', 's2', 's3']
    assert recognizer.network_input_size == 64
    assert recognizer.threshold == pytest.approx(calibration['unknown_threshold'])
    assert 1 / 3 <= recognizer.threshold <= 1.0
    assert 'keeps 95%' in recognizer.threshold_rule

    train_samples, _, _ = split_per_person(list_people(data_dir), val_per_person=1, seed=0)
    photos = [load_image(s.path) for s in train_samples]
    labels = np.array([s.label for s in train_samples])
    probabilities = recognizer.probabilities(photos)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(probabilities.argmax(axis=1) == labels) >= 0.6
    # the training photo the model is surest about is named, and named right
    best = int(np.argmax(probabilities[np.arange(len(labels)), labels]))
    match = recognizer.identify([photos[best]])[0]
    assert match.name == recognizer.class_names[labels[best]]
    assert match.name != UNKNOWN and match.confidence >= 0.5
    # no cosine similarity exists here: NaN, never the softmax probability (Face.msg
    # documents the field as a cosine similarity)
    assert np.isnan(match.similarity) and match.nearest_name == match.name

    embedder = create_embedder('classifier', model_path=model_path)
    embeddings = embedder.embed(photos[:4])
    assert embeddings.shape == (4, 512) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert embedder.model_id.startswith('classifier-')


def test_imagenet_weights_offline_say_what_to_do(monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError('no route to host')

    monkeypatch.setattr(torchvision.models, 'resnet18', offline)
    with pytest.raises(SystemExit, match='--weights none'):
        train.build_model(3, 'imagenet')


def test_a_person_with_one_photo_is_refused(tmp_path):
    for name, count in (('a', 3), ('b', 1)):
        (tmp_path / name).mkdir()
        for i in range(count):
            shutil.copy(ORL / 's1' / f'{i + 1}.pgm', tmp_path / name / f'{i}.pgm')
    with pytest.raises(SystemExit, match="'b' has 1 photo"):
        run_train(tmp_path, tmp_path / 'out', '--epochs', '1')


def test_export_calibrated_on_strangers_names_none_of_them(trained, tmp_path):
    from face_recognition_ros.core.classifier_embedding import ClassifierRecognizer
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.types import UNKNOWN

    out_dir, _ = trained
    strangers = sorted((FIXTURES_FACEAPI).glob('*/*.png'))  # 8 people x 2, none in ORL
    model_path = tmp_path / 'strangers.onnx'
    export.main(export.get_args_parser().parse_args(
        [str(out_dir / 'checkpoint.pth'), '--output', str(model_path), '--threads', '2',
         '--unknown-dir', str(FIXTURES_FACEAPI), '--fpir', '0.05']))
    recognizer = ClassifierRecognizer(model_path)
    assert 'stranger photos' in recognizer.threshold_rule
    # 5 % of 16-17 strangers rounds down to none: the threshold clears every one of them
    matches = recognizer.identify([load_image(p) for p in strangers])
    assert len(matches) == len(strangers) >= 16
    assert all(m.name == UNKNOWN and m.confidence < 0.5 for m in matches)


def test_damaged_or_foreign_checkpoints_are_refused_with_a_message(trained, data_dir,
                                                                   tmp_path):
    out_dir, _ = trained
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes((out_dir / 'checkpoint.pth').read_bytes()[:100000])
    state_dict = tmp_path / 'state_dict.pth'
    checkpoint = torch.load(out_dir / 'checkpoint.pth', map_location='cpu',
                            weights_only=True)
    torch.save(checkpoint['model'], state_dict)
    missing = tmp_path / 'missing.pth'

    def export_main(path):
        export.main(export.get_args_parser().parse_args(
            [str(path), '--output', str(tmp_path / 'x.onnx')]))

    for path, message in ((truncated, 'not a readable PyTorch checkpoint'),
                          (state_dict, 'not a checkpoint of training/train.py'),
                          (missing, 'no such file')):
        with pytest.raises(SystemExit, match=f'^checkpoint .*{message}'):
            export_main(path)
        with pytest.raises(SystemExit, match=f'^--resume .*{message}'):
            run_train(data_dir, tmp_path / 'resumed', '--epochs', '1', '--resume', str(path))
    with pytest.raises(SystemExit, match='^--weights .*not a readable PyTorch checkpoint'):
        run_train(data_dir, tmp_path / 'weights', '--epochs', '1', '--weights', str(truncated))
    assert not (tmp_path / 'x.onnx').exists()


def test_sixteen_bit_gray_photos_train_as_the_recognizer_sees_them(tmp_path):
    # PIL's convert('RGB') turned a 16-bit gray PNG into an almost white image.
    from face_recognition_ros.core.image_io import load_image
    from PIL import Image

    gray = load_image(ORL / 's1' / '1.pgm')[:, :, 0]
    path = tmp_path / 'deep.png'
    Image.fromarray(gray.astype(np.uint16) * 257).save(path)  # a 16-bit gray PNG
    assert Image.open(path).mode.startswith('I')
    loaded = np.asarray(load_rgb(str(path)), dtype=np.int16)
    assert loaded.shape == gray.shape + (3,)
    assert np.abs(loaded - gray[:, :, None]).max() <= 1


def test_an_unreadable_photo_stops_training_before_it_starts(tmp_path, monkeypatch):
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        for i in range(3):
            shutil.copy(ORL / 's1' / f'{i + 1}.pgm', tmp_path / name / f'{i}.pgm')
    (tmp_path / 'b' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n damaged')
    monkeypatch.setattr(train, 'train_one_epoch', lambda *args, **kwargs: pytest.fail(
        'training started although a photo cannot be read'))
    with pytest.raises(SystemExit, match=r'1 training photo\(s\) cannot be read.*broken.png'):
        run_train(tmp_path, tmp_path / 'out', '--epochs', '1')


def test_photos_that_are_not_face_crops_are_warned_about(tmp_path, caplog):
    # The recognizer feeds the exported model square aligned crops; whole photos (the
    # seed's "sort your photos into folders") would train it on something else, silently.
    from PIL import Image
    from training.face_dataset import check_images, Sample

    crop = tmp_path / 'crop.png'
    Image.fromarray(np.zeros((112, 112, 3), np.uint8)).save(crop)
    check_images([Sample(str(crop), 0)])
    assert 'not square face crops' not in caplog.text
    check_images([Sample(str(crop), 0), Sample(str(ORL / 's1' / '1.pgm'), 1)])
    assert '1 of 2 training photos are not square face crops' in caplog.text
    assert 'training.extract_faces' in caplog.text


def test_enrolling_beside_a_classifier_keeps_the_trained_people_named(trained, data_dir,
                                                                      tmp_path):
    """
    Keep the trained people named when an enrollment adds a person beside a classifier.

    An enrollment adds a person to the gallery; it must not make the trained ones
    ``unknown`` (the pipeline used to switch from the classifier to the gallery alone).
    """
    from face_recognition_ros.core.alignment import REFERENCE_LANDMARKS_112
    from face_recognition_ros.core.classifier_embedding import ClassifierRecognizer
    from face_recognition_ros.core.gallery import Gallery
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.pipeline import default_threshold_for, FacePipeline
    from face_recognition_ros.core.types import Detection

    out_dir, _ = trained
    model_path = tmp_path / 'faces.onnx'
    export.main(export.get_args_parser().parse_args(
        [str(out_dir / 'checkpoint.pth'), '--output', str(model_path), '--threads', '2']))
    classifier = ClassifierRecognizer(model_path)

    def as_frame(path):
        # ORL photos are face crops: stretched to 112x112 with the template's landmarks
        # as the detection, the pipeline's alignment leaves them as they are
        image = load_image(path)
        return cv2.resize(image, (112, 112), interpolation=cv2.INTER_LINEAR)

    whole_face = Detection(np.array([0, 0, 112, 112], np.float32), 0.99,
                           REFERENCE_LANDMARKS_112.astype(np.float32))
    train_samples, _, _ = split_per_person(list_people(data_dir), val_per_person=1, seed=0)
    frames = [as_frame(s.path) for s in train_samples]
    labels = np.array([s.label for s in train_samples])
    probabilities = classifier.probabilities(frames)
    best = int(np.argmax(probabilities[np.arange(len(labels)), labels]))
    trained_name = classifier.class_names[labels[best]]

    pipeline = FacePipeline(None, classifier, Gallery(classifier.model_id,
                                                      default_threshold_for(classifier)),
                            tracking=False)
    before = pipeline.recognize(frames[best], [whole_face]).faces[0]
    assert before.name == trained_name and before.confidence >= 0.5

    # a visitor enrolled as the service does it: the embedding of their face
    visitor = cv2.resize(load_image(sorted(FIXTURES_FACEAPI.glob('penny/*.png'))[0]),
                         (112, 112))
    [(_, vector)] = pipeline.embed_faces(visitor, [whole_face])
    pipeline.gallery = pipeline.gallery.with_person('visitor', vector)

    after = pipeline.recognize(frames[best], [whole_face]).faces[0]
    assert after.name == trained_name, 'the enrollment hid a trained person'
    assert after.confidence == pytest.approx(before.confidence)
    assert pipeline.recognize(visitor, [whole_face]).faces[0].name == 'visitor'
    # the gallery still has the last word for the people it holds
    pipeline.gallery = pipeline.gallery.with_person(
        'renamed', pipeline.embed_faces(frames[best], [whole_face])[0][1])
    assert pipeline.recognize(frames[best], [whole_face]).faces[0].name == 'renamed'
