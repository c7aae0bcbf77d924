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
Export a trained checkpoint to a self-describing ONNX file the recognizer loads.

    python -m training.export runs/orl/best.pth --output models/orl_resnet18.onnx

The file has two outputs, ``logits`` (N, people) and ``embedding`` (N, 512, the
L2-normalised penultimate features), and ``metadata_props`` with the class names, input
size, normalisation, colour order and two calibrated thresholds, read by
``face_recognition_ros.core.classifier_embedding``. Running it needs no torch.

**Threshold rule (documented, not tuned).** The open-set ``unknown_threshold`` on the top
softmax probability is the value that keeps 95 % (``--keep``) of the correct predictions
on the validation split the checkpoint was trained with: the 5th percentile of the top
probability over correctly classified validation photos. Validation holds only known
people, so this rule bounds the loss of correct names, not the rate at which strangers are
named; with ``--unknown-dir`` (photos of people the model was not trained on, one folder
per person or flat) the threshold is instead the lowest one at which at most ``--fpir``
(5 %) of those strangers are given a name. ``embedding_threshold`` (cosine similarity, for
galleries built on the ``embedding`` output) follows the same keep-95 % rule on the
validation photos' best similarity to their own person's training photos.

Calibration runs the exported ONNX file itself through the recognizer's own
preprocessing, so the thresholds describe exactly what will run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import sys
import tempfile
import warnings

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import torch
from torch import nn
from training.face_dataset import IMAGE_SUFFIXES, list_people, split_per_person
from training.train import build_model, read_checkpoint

LOG = logging.getLogger('training.export')
OPSET = 17


class ExportWrapper(nn.Module):
    """ResNet-18 returning (logits, unit-norm penultimate features)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        features = torch.flatten(m.avgpool(x), 1)
        logits = m.fc(features)
        embedding = features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return logits, embedding


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Export a training checkpoint to ONNX with '
                                                 'calibrated open-set thresholds.')
    parser.add_argument('checkpoint', help='best.pth or checkpoint.pth from training/train.py')
    parser.add_argument('--output', required=True, help='the .onnx file to write')
    parser.add_argument('--data-dir', default=None,
                        help='the training data folder (default: the one recorded in the '
                             'checkpoint); its validation split calibrates the thresholds')
    parser.add_argument('--keep', type=float, default=0.95,
                        help='fraction of correct validation predictions the threshold keeps')
    parser.add_argument('--unknown-dir', default=None,
                        help='photos (aligned crops) of people NOT in training: calibrate the '
                             'threshold to --fpir on them instead')
    parser.add_argument('--fpir', type=float, default=0.05,
                        help='with --unknown-dir: highest fraction of strangers given a name')
    parser.add_argument('--threads', type=int, default=None)
    return parser


def export_onnx(model: nn.Module, input_size: int, path: Path) -> None:
    """
    Write the ONNX graph with the legacy TorchScript exporter.

    torch 2.14's default (dynamo) exporter needs the ``onnxscript`` package, which is not
    installed here; the TorchScript exporter (``dynamo=False``) produces the same plain
    convolutional graph and works offline.
    """
    wrapper = ExportWrapper(model).eval()
    example = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(wrapper, (example,), str(path), dynamo=False, opset_version=OPSET,
                          input_names=['input'], output_names=['logits', 'embedding'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'},
                                        'embedding': {0: 'batch'}})


def write_metadata(src: Path, dst: Path, metadata: dict[str, str]) -> None:
    """Add metadata_props and save atomically with owner-only permissions."""
    import onnx

    model = onnx.load(str(src))
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=dst.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(model.SerializeToString())
        os.chmod(tmp, 0o600)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_crops(paths) -> list[np.ndarray]:
    crops = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f'cannot read {path}: remove it or replace it with a valid image')
        crops.append(image)
    return crops


def keep_threshold(scores: np.ndarray, keep: float) -> float:
    from face_recognition_ros.evaluation import threshold_keeping
    return threshold_keeping(scores, keep)


def calibrate(model_path: Path, train_samples, val_samples, class_names, args) -> dict:
    """Thresholds from the exported model on the validation split (see module docstring)."""
    from face_recognition_ros.core.classifier_embedding import ClassifierRecognizer
    from face_recognition_ros.evaluation import threshold_at_fpir

    recognizer = ClassifierRecognizer(model_path, num_threads=args.threads, threshold=0.0)
    val_crops = read_crops(s.path for s in val_samples)
    val_labels = np.array([s.label for s in val_samples])
    probabilities = recognizer.probabilities(val_crops)
    predicted = probabilities.argmax(1)
    top = probabilities.max(1)
    correct = predicted == val_labels
    result = {'val_photos': int(len(val_samples)), 'val_accuracy': float(correct.mean())}
    if args.unknown_dir:
        unknown_root = Path(args.unknown_dir)
        files = sorted(p for p in unknown_root.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SystemExit(f'--unknown-dir {unknown_root}: no images found')
        stranger_top = recognizer.probabilities(read_crops(files)).max(1)
        threshold = threshold_at_fpir(stranger_top, args.fpir)
        rule = (f'lowest top-probability threshold naming at most {args.fpir:.0%} of '
                f'{len(files)} stranger photos in {unknown_root.name}')
    elif correct.any():
        threshold = keep_threshold(top[correct], args.keep)
        rule = (f'keeps {args.keep:.0%} of the {int(correct.sum())} correct validation '
                f'predictions (top probability percentile {1 - args.keep:.0%}); validation '
                'holds known people only, so the stranger acceptance rate is not bounded')
    else:
        LOG.warning('no validation photo is classified correctly: the model is not usable; '
                    'the threshold falls back to 1.0 (everything unknown)')
        threshold = 1.0
        rule = 'no correct validation prediction: everything is unknown'
    # The top softmax probability is never below 1/C, so a lower threshold means "never".
    threshold = float(max(threshold, 1.0 / len(class_names)))
    result.update({'unknown_threshold': threshold, 'threshold_rule': rule,
                   'val_correct_kept': float((top[correct] >= threshold).mean())
                   if correct.any() else 0.0})

    # Embedding threshold: best similarity of each validation photo to its own person's
    # training photos, over the photos whose nearest person is the right one.
    train_emb = recognizer.embed(read_crops(s.path for s in train_samples))
    train_labels = np.array([s.label for s in train_samples])
    val_emb = recognizer.embed(val_crops)
    sims = val_emb @ train_emb.T
    per_person = np.stack([sims[:, train_labels == c].max(1)
                           for c in range(len(class_names))], axis=1)
    nearest_ok = per_person.argmax(1) == val_labels
    if nearest_ok.any():
        own = per_person[np.arange(len(val_labels)), val_labels]
        result['embedding_threshold'] = keep_threshold(own[nearest_ok], args.keep)
    else:
        result['embedding_threshold'] = 1.0
    result['embedding_val_top1'] = float(nearest_ok.mean())
    return result


def main(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = read_checkpoint(args.checkpoint, 'checkpoint')
    class_names = list(checkpoint['class_names'])
    input_size = int(checkpoint['input_size'])
    train_args = checkpoint.get('args', {})
    data_dir = args.data_dir or train_args.get('data_dir')
    if not data_dir or not Path(data_dir).is_dir():
        raise SystemExit(f'the training data folder {data_dir!r} is not here: give it with '
                         '--data-dir (its validation split calibrates the threshold)')
    train_samples, val_samples, names = split_per_person(
        list_people(data_dir), train_args.get('val_per_person'),
        train_args.get('val_fraction', 0.2), train_args.get('seed', 0))
    if names != class_names:
        raise SystemExit(f'{data_dir} holds other people than the checkpoint was trained on')

    model = build_model(len(class_names), 'none')
    model.load_state_dict(checkpoint['model'])
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        raw = Path(tmp) / 'raw.onnx'
        export_onnx(model, input_size, raw)
        base = {
            'model_kind': 'face_recognition_ros.resnet18_classifier',
            'format_version': '1',
            'architecture': 'torchvision resnet18',
            'class_names': json.dumps(class_names),
            'input_size': str(input_size),
            'color_order': 'RGB',
            'mean': json.dumps([float(v) for v in checkpoint['mean']]),
            'std': json.dumps([float(v) for v in checkpoint['std']]),
            'unknown_threshold': '0.0',
            'embedding_threshold': '0.0',
            'threshold_rule': 'uncalibrated',
        }
        staged = Path(tmp) / 'staged.onnx'
        write_metadata(raw, staged, base)
        calibration = calibrate(staged, train_samples, val_samples, class_names, args)
        base.update({
            'unknown_threshold': repr(calibration['unknown_threshold']),
            'embedding_threshold': repr(calibration['embedding_threshold']),
            'threshold_rule': calibration['threshold_rule'],
            'calibration': json.dumps(calibration),
            'trained_epochs': str(int(checkpoint.get('epoch', -1)) + 1),
        })
        write_metadata(raw, output, base)
    LOG.info('wrote %s: %d people, input %d, unknown threshold %.4f (%s)', output,
             len(class_names), input_size, calibration['unknown_threshold'],
             calibration['threshold_rule'])
    return calibration


def cli(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    main(get_args_parser().parse_args(argv))
    return 0


if __name__ == '__main__':
    sys.exit(cli())
