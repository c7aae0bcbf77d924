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

"""load_image / to_bgr8: every image format a user may hand in ends as BGR uint8."""

from __future__ import annotations

import shutil

import cv2
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.core.image_io import load_image, to_bgr8
import numpy as np
import pytest


@pytest.fixture(scope='module')
def obama(obama_biden_dir):
    image = cv2.imread(str(obama_biden_dir / 'obama.jpg'))
    return cv2.resize(image, (228, 284), interpolation=cv2.INTER_AREA)


def _check_bgr8(image, shape):
    assert image.dtype == np.uint8
    assert image.shape == (shape[0], shape[1], 3)
    assert image.flags['C_CONTIGUOUS']


def test_32bit_png_fixture_loads_as_bgr(obama_biden_dir):
    image = load_image(obama_biden_dir / '32bit.png')
    raw = cv2.imread(str(obama_biden_dir / '32bit.png'), cv2.IMREAD_UNCHANGED)
    assert raw.shape[2] == 4  # The fixture really has an alpha channel.
    _check_bgr8(image, raw.shape)
    np.testing.assert_array_equal(image, raw[:, :, :3])  # Opaque: colours unchanged.


def test_unicode_path(tmp_path, obama_biden_dir):
    target = tmp_path / 'Ölçü 顔.jpg'
    shutil.copy(obama_biden_dir / 'obama.jpg', target)
    _check_bgr8(load_image(target), (1137, 910))


def test_16bit_png_is_scaled_down(tmp_path, obama):
    wide = obama.astype(np.uint16) * 257
    path = tmp_path / 'deep.png'
    cv2.imwrite(str(path), wide)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    np.testing.assert_array_equal(load_image(path), obama)


def test_gray_png(tmp_path, obama):
    gray = cv2.cvtColor(obama, cv2.COLOR_BGR2GRAY)
    path = tmp_path / 'gray.png'
    cv2.imwrite(str(path), gray)
    image = load_image(path)
    _check_bgr8(image, gray.shape)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], gray)


def test_gray_alpha_and_transparent_bgra_composite_on_white():
    gray_alpha = np.zeros((4, 4, 2), dtype=np.uint8)
    gray_alpha[:2, :, 1] = 255  # Top half opaque black, bottom half fully transparent.
    image = to_bgr8(gray_alpha)
    _check_bgr8(image, (4, 4))
    assert (image[:2] == 0).all() and (image[2:] == 255).all()
    bgra = np.zeros((2, 2, 4), dtype=np.uint8)
    bgra[..., 0] = 200
    bgra[..., 3] = 128  # Half transparent blue-ish over white.
    assert abs(int(to_bgr8(bgra)[0, 0, 0]) - 227) <= 1
    assert abs(int(to_bgr8(bgra)[0, 0, 2]) - 127) <= 1


def test_palette_png(tmp_path, obama):
    image_module = pytest.importorskip('PIL.Image')
    rgb = cv2.cvtColor(obama, cv2.COLOR_BGR2RGB)
    path = tmp_path / 'palette.png'
    image_module.fromarray(rgb).quantize(colors=64).save(path)
    assert image_module.open(path).mode == 'P'
    image = load_image(path)
    _check_bgr8(image, obama.shape)
    # 64 colours cannot be exact, but the picture (and its colour order) must survive.
    assert np.abs(image.astype(int) - obama).mean() < 12


def test_float_and_single_channel_arrays():
    _check_bgr8(to_bgr8(np.full((3, 5), 0.5, dtype=np.float32)), (3, 5))
    assert to_bgr8(np.full((3, 5), 0.5, dtype=np.float32))[0, 0, 0] == 128
    _check_bgr8(to_bgr8(np.zeros((3, 5, 1), dtype=np.uint8)), (3, 5))


def test_bgr8_array_is_returned_without_copy(obama):
    assert to_bgr8(obama) is obama


@pytest.mark.parametrize('shape', [(0, 4, 3), (4, 4, 5), (4,)])
def test_bad_arrays_raise_image_error(shape):
    with pytest.raises(ImageError):
        to_bgr8(np.zeros(shape, dtype=np.uint8))


def test_truncated_jpeg_names_the_file(tmp_path, obama_biden_dir):
    data = (obama_biden_dir / 'obama.jpg').read_bytes()
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageError, match='cut.jpg'):
        load_image(path)


def test_truncated_png_names_the_file(tmp_path, obama_biden_dir):
    data = (obama_biden_dir / '32bit.png').read_bytes()
    path = tmp_path / 'cut.png'
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match='cut.png'):
        load_image(path)


@pytest.mark.parametrize('content', [b'', b'this is not an image'])
def test_empty_or_non_image_file(tmp_path, content):
    path = tmp_path / 'bad.jpg'
    path.write_bytes(content)
    with pytest.raises(ImageError, match='bad.jpg'):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match='nothing.png'):
        load_image(tmp_path / 'nothing.png')


def test_jpeg_exif_orientation_is_applied(tmp_path, obama_biden_dir, detector):
    """A phone stores a portrait photo sideways plus an EXIF 'rotate 90' tag."""
    image_module = pytest.importorskip('PIL.Image')
    upright = image_module.open(obama_biden_dir / 'obama.jpg')
    sideways = upright.transpose(image_module.Transpose.ROTATE_90)  # Counter-clockwise.
    exif = sideways.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display.
    path = tmp_path / 'phone.jpg'
    sideways.save(path, exif=exif.tobytes(), quality=92)
    image = load_image(path)
    assert image.shape[:2] == (upright.height, upright.width)
    assert len(detector.detect(image)) == 1
