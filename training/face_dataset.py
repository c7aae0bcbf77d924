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
A folder-per-person face dataset, its per-person split and its transforms.

The seed split all photos 80/20 at random, which with 10-15 photos per person leaves some
people with no validation photo at all, and applied random augmentation to validation too,
so validation accuracy changed from run to run. Here the split is made per person
(stratified, at least one validation photo each, deterministic for a seed) and validation
uses deterministic transforms only.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
from pathlib import Path
import random
from typing import Sequence

import numpy as np
from PIL import Image

_LOG = logging.getLogger('training.face_dataset')
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp')
# ImageNet statistics: right for ImageNet weights, and harmless for training from scratch.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DatasetError(ValueError):
    """The dataset folder cannot be used for training; the message says how to fix it."""


@dataclass
class Sample:
    path: str
    label: int


def natural_key(text: str) -> list:
    """Sort 'img2' before 'img10', as people number their photos."""
    parts, number = [], ''
    for char in text:
        if char.isdigit():
            number += char
            continue
        if number:
            parts.append(int(number))
            number = ''
        parts.append(char)
    if number:
        parts.append(int(number))
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts]


def list_people(root: str | Path) -> dict[str, list[str]]:
    """Map each person (sub-folder name) to their image paths, naturally sorted."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f'{root} is not a folder: give a folder with one sub-folder of '
                           'face photos per person (training/extract_faces.py makes one)')
    people = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted((str(f) for f in folder.iterdir()
                        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda s: natural_key(Path(s).name))
        if files:
            people[folder.name] = files
    if len(people) < 2:
        raise DatasetError(f'{root} holds {len(people)} person folder(s) with images; a '
                           'classifier needs at least 2 people (one sub-folder each)')
    return people


def split_per_person(people: dict[str, list[str]], val_per_person: int | None = None,
                     val_fraction: float = 0.2, seed: int = 0
                     ) -> tuple[list[Sample], list[Sample], list[str]]:
    """
    Split every person's photos into train and validation, the same way for a seed.

    Each person gives ``val_per_person`` photos to validation (or ``val_fraction`` of their
    photos, rounded, at least one) and keeps at least one for training. The shuffle uses
    its own ``random.Random(seed)`` so the split does not depend on any global state.
    """
    class_names = sorted(people)
    rng = random.Random(seed)
    train, val = [], []
    for label, name in enumerate(class_names):
        files = list(people[name])
        if len(files) < 2:
            raise DatasetError(f'person {name!r} has {len(files)} photo; every person needs '
                               'at least 2 (one to train on, one to validate)')
        rng.shuffle(files)
        if val_per_person is not None:
            n_val = val_per_person
        else:
            n_val = int(round(val_fraction * len(files)))
        n_val = min(max(1, n_val), len(files) - 1)
        val += [Sample(f, label) for f in sorted(files[:n_val])]
        train += [Sample(f, label) for f in sorted(files[n_val:])]
    return train, val, class_names


def load_rgb(path: str) -> Image.Image:
    """
    Open any image as 3-channel RGB, or raise DatasetError for an unreadable file.

    Decoded by the core's ``load_image``, as the recognizer and the export's calibration
    decode: PIL's ``convert('RGB')`` clips 16-bit photos to white and fails on a damaged
    file with its own error in the middle of an epoch. ORL photos are 8-bit gray PGM.
    """
    from face_recognition_ros.core.errors import ImageError
    from face_recognition_ros.core.image_io import load_image

    try:
        bgr = load_image(path)
    except ImageError as error:
        raise DatasetError(str(error)) from error
    return Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))


def check_images(samples: Sequence[Sample]) -> None:
    """
    Decode every photo once before training; raise DatasetError naming the bad files.

    Decoding up front makes a bad file stop the run at its start, not in the middle of an
    epoch.
    """
    problems, not_square = [], []
    for sample in samples:
        try:
            width, height = load_rgb(sample.path).size
        except DatasetError as error:
            problems.append(str(error))
            continue
        if width != height:
            not_square.append(f'{sample.path} ({width}x{height})')
    if problems:
        shown = '; '.join(problems[:3]) + ('; ...' if len(problems) > 3 else '')
        raise DatasetError(f'{len(problems)} training photo(s) cannot be read: {shown}')
    if not_square:
        # Whole photos train a model on what the recognizer never shows it: it is given
        # square aligned face crops, so accuracy would drop without any error.
        _LOG.warning('%d of %d training photos are not square face crops, e.g. %s: the '
                     'recognizer gives the model aligned 112x112 crops; make the training '
                     'set with python -m training.extract_faces', len(not_square),
                     len(samples), not_square[0])


def build_transforms(input_size: int, train: bool, mean: Sequence[float] = IMAGENET_MEAN,
                     std: Sequence[float] = IMAGENET_STD):
    """
    Training transforms augment; validation transforms are deterministic.

    The inputs are aligned face crops, so augmentation stays mild (a small crop and
    aspect jitter, a horizontal flip, colour jitter, sometimes grayscale): large crops or
    rotations would undo the alignment the recognizer will see at run time.
    """
    from torchvision import transforms

    if not train:
        return transforms.Compose([
            transforms.Resize((input_size, input_size)),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ])
    return transforms.Compose([
        transforms.RandomResizedCrop(input_size, scale=(0.85, 1.0), ratio=(0.9, 1.1)),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.2),
        transforms.RandomGrayscale(p=0.1),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])


class FaceFolderDataset:
    """A torch-style dataset over (path, label) samples, decoded on access."""

    def __init__(self, samples: Sequence[Sample], transform):
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        return self.transform(load_rgb(sample.path)), sample.label
