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
The operator page's ROS-free parts that need no browser.

Reading a photo's size from its header (the guard against decompression bombs), the crop
of a clicked face, the settings that would expose the gallery. The page itself is tested in
a real browser against the real nodes in test/ros/test_web_page.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.web.app import (
    crop_around, decode_photo, is_loopback, photo_size, WebConfigError, WebSettings
)
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures'
PHOTOS = sorted(p for p in FIXTURES.rglob('*') if p.suffix.lower() in ('.jpg', '.jpeg', '.png'))


@pytest.mark.parametrize('path', PHOTOS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_photo_size_from_the_header_is_the_decoded_size(path):
    data = path.read_bytes()
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    height, width = decoded.shape[:2]
    # IMREAD_UNCHANGED does not apply EXIF rotation: the header's size is the stored one.
    assert photo_size(data) == (width, height)


def test_a_small_file_of_a_huge_picture_is_refused_before_decoding():
    for extension in ('.png', '.jpg'):
        bomb = cv2.imencode(extension, np.zeros((7000, 7000), np.uint8))[1].tobytes()
        assert len(bomb) < 2_000_000
        with pytest.raises(ImageError, match='7000x7000 pixels'):
            decode_photo(bomb, f'bomb{extension}')
    with pytest.raises(ImageError, match='not a photo'):
        decode_photo(b'GIF89a' + bytes(100), 'x.gif')
    with pytest.raises(ImageError, match='empty'):
        decode_photo(b'', 'empty.jpg')


def test_the_crop_of_a_face_hides_its_neighbours_but_not_the_face():
    frame = np.full((200, 300, 3), 200, np.uint8)
    chosen, neighbour = (100, 60, 40, 50), (150, 60, 40, 50)  # side by side, overlapping pad
    frame[60:110, 100:140] = 10
    frame[60:110, 150:190] = 250
    crop = crop_around(frame, chosen, [neighbour])
    x0, y0 = 100 - int(0.6 * 50), 60 - int(0.6 * 50)
    assert crop.shape[:2] == (110, 100)
    assert (crop[60 - y0:110 - y0, 100 - x0:140 - x0] == 10).all()  # the face itself intact
    neighbour_in_crop = crop[60 - y0:110 - y0, 150 - x0:]
    assert (neighbour_in_crop == 128).all()  # the neighbour painted over
    # A neighbour overlapping the chosen face never paints over the chosen face.
    crop = crop_around(frame, chosen, [(120, 70, 40, 50)])
    assert (crop[60 - y0:110 - y0, 100 - x0:140 - x0] == 10).all()


def test_another_address_than_loopback_needs_a_token():
    assert is_loopback('127.0.0.1') and is_loopback('::1') and is_loopback('localhost')
    assert not is_loopback('0.0.0.0') and not is_loopback('192.168.1.5')
    assert not is_loopback('robot.local')
    WebSettings().check()
    with pytest.raises(WebConfigError, match='web_token'):
        WebSettings(host='0.0.0.0').check()
    with pytest.raises(WebConfigError, match='at least 8'):
        WebSettings(host='0.0.0.0', token='short').check()
    WebSettings(host='0.0.0.0', token='a-long-enough-token').check()
