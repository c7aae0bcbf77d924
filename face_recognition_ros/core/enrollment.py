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
Enrollment: photos of people -> embeddings for the gallery, and the limits on them.

``enroll_folder`` turns ``folder/<person>/*.jpg`` into one embedding per usable photo and
returns the new gallery value; the caller stores it (``GalleryStore.update``), so a failed
enrollment never touches what is stored. ``check_enrollment_image`` is the size limit the
CLI and the recognizer's ``~/enroll`` apply to every image offered for enrollment: a face
needs a few hundred pixels, and a huge image is either a mistake or an attempt to make the
node decode gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import GalleryError, ImageError, InvalidNameError
from .gallery import Gallery, validate_name

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {'.jpg', '.jpeg', '.png', '.bmp', '.gif', '.pgm', '.ppm', '.pbm', '.tif', '.tiff', '.webp'})

MAX_ENROLL_IMAGE_PIXELS = 4096 * 4096
"""Largest image (width x height) accepted for enrollment: 16.8 megapixels, above any
camera a robot carries; larger images are refused with a message saying to scale down."""

SKIP_NO_FACE = 'no face'
SKIP_SEVERAL_FACES = 'several faces'
SKIP_UNREADABLE = 'unreadable'
SKIP_TOO_LARGE = 'too large'


def check_enrollment_image(width: int, height: int, what: str = 'the image') -> None:
    """Raise ImageError when a ``width`` x ``height`` image exceeds the enrollment limit."""
    if int(width) * int(height) > MAX_ENROLL_IMAGE_PIXELS:
        raise ImageError(
            f'{what} is {width}x{height} pixels, more than the {MAX_ENROLL_IMAGE_PIXELS:,} '
            f'accepted for enrollment: scale it down or crop it to the face')


@dataclass
class PersonEnrollment:
    """What ``enroll_folder`` did with one person's photos."""

    name: str
    used: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(photo path, reason) for each photo that was not enrolled."""
    error: str | None = None
    """Why the whole person was skipped (an invalid folder name), else None."""
    embeddings: list = field(default_factory=list, repr=False)
    """The embeddings of the used photos, in their order."""


@dataclass
class EnrollmentReport:
    """Per-person outcome of ``enroll_folder``."""

    people: list[PersonEnrollment] = field(default_factory=list)

    @property
    def photos_used(self) -> int:
        return sum(len(person.used) for person in self.people)

    @property
    def photos_skipped(self) -> int:
        return sum(len(person.skipped) for person in self.people)

    @property
    def people_enrolled(self) -> list[str]:
        return [person.name for person in self.people if person.used]

    def apply(self, gallery: Gallery) -> Gallery:
        """``gallery`` with every enrolled person's embeddings added (a new value)."""
        for person in self.people:
            if person.embeddings:
                gallery = gallery.with_person(person.name, np.stack(person.embeddings))
        return gallery

    def to_dict(self) -> dict:
        return {
            'people': [{'name': p.name, 'used': p.used,
                        'skipped': [{'photo': photo, 'reason': reason}
                                    for photo, reason in p.skipped],
                        'error': p.error} for p in self.people],
            'photos_used': self.photos_used,
            'photos_skipped': self.photos_skipped,
            'people_enrolled': self.people_enrolled,
        }


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith('.'))


def embed_folder(folder, pipeline, people: Iterable[str] | None = None) -> EnrollmentReport:
    """
    Embed ``folder/<person>/*.jpg``: one embedding per usable photo, in the report.

    ``pipeline`` is anything with ``embed_faces(image) -> [(Detection, embedding)]`` (a
    ``FacePipeline``). A photo is used only when it holds exactly one face: with several
    faces nobody can tell which one is the person, so such photos are skipped and
    reported, as are photos with no face, unreadable files and images over the size
    limit. ``people`` limits enrollment to those sub-folder names. Nothing is stored.
    """
    from .image_io import load_image  # lazy: keeps this importable without OpenCV

    folder = Path(folder)
    if not folder.is_dir():
        raise GalleryError(
            f'{folder} is not a folder: give a folder with one sub-folder of photos per person')
    wanted = None if people is None else set(people)
    report = EnrollmentReport()
    subfolders = sorted(p for p in folder.iterdir()
                        if p.is_dir() and not p.name.startswith('.'))
    if wanted is not None:
        # A mistyped --people name would otherwise end as "nothing could be enrolled".
        missing = sorted(wanted - {p.name for p in subfolders})
        if missing:
            raise GalleryError(
                f'no sub-folder {", ".join(repr(m) for m in missing)} in {folder}; its '
                f'sub-folders are: {", ".join(p.name for p in subfolders) or "none"}')
    loose = _image_files(folder)
    if loose:
        logger.warning("%d photos lie directly in %s and are ignored: put each person's "
                       'photos in a sub-folder named after them', len(loose), folder)
    for subfolder in subfolders:
        if wanted is not None and subfolder.name not in wanted:
            continue
        try:
            name = validate_name(subfolder.name)
        except InvalidNameError as error:
            report.people.append(PersonEnrollment(subfolder.name, error=str(error)))
            continue
        person = PersonEnrollment(name)
        report.people.append(person)
        for photo in _image_files(subfolder):
            try:
                image = load_image(photo)
                check_enrollment_image(image.shape[1], image.shape[0], str(photo))
            except ImageError as error:
                logger.warning('skipping %s: %s', photo, error)
                reason = SKIP_TOO_LARGE if 'accepted for enrollment' in str(error) \
                    else SKIP_UNREADABLE
                person.skipped.append((str(photo), reason))
                continue
            faces = pipeline.embed_faces(image)
            if not faces:
                person.skipped.append((str(photo), SKIP_NO_FACE))
            elif len(faces) > 1:
                person.skipped.append((str(photo), f'{SKIP_SEVERAL_FACES} ({len(faces)})'))
            else:
                person.embeddings.append(np.asarray(faces[0][1], dtype=np.float32))
                person.used.append(str(photo))
        if not person.embeddings and not person.skipped:
            person.error = 'no photos in the folder'
    return report


def enroll_folder(gallery: Gallery, folder, pipeline, people: Iterable[str] | None = None
                  ) -> tuple[Gallery, EnrollmentReport]:
    """``embed_folder``, then the new gallery value with everyone enrolled, and the report."""
    report = embed_folder(folder, pipeline, people)
    return report.apply(gallery), report


__all__ = ['EnrollmentReport', 'IMAGE_SUFFIXES', 'MAX_ENROLL_IMAGE_PIXELS', 'PersonEnrollment',
           'check_enrollment_image', 'embed_folder', 'enroll_folder']
