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
A camera stream lost and back: video_source reports ERROR and resumes by itself.

The test serves an MJPEG stream over HTTP on localhost (frames of the bundled clip, as an
IP camera does), points a real video_source process at it, then stops the server (the
camera is gone) and starts it again on the same port (the camera is back). Before, a read
failure ended the reader thread for good and /diagnostics said OK ("end of ...").
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
import pytest
import ros_harness
from sensor_msgs.msg import Image

CLIP = ros_harness.REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'


def _jpeg_frames(count: int = 20) -> list[bytes]:
    clip = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < count:
        ok, frame = clip.read()
        if not ok:
            break
        frames.append(cv2.imencode('.jpg', cv2.resize(frame, (320, 240)))[1].tobytes())
    clip.release()
    return frames


class MjpegCamera:
    """An IP camera on localhost: multipart JPEG over HTTP at 15 frames/s; stop and start."""

    def __init__(self):
        self.frames = _jpeg_frames()
        self.port = None
        self._server = None

    def start(self) -> None:
        frames, camera = self.frames, self

        class Handler(http.server.BaseHTTPRequestHandler):

            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=frame')
                self.end_headers()
                index = 0
                try:
                    while camera._server is self.server:
                        jpeg = frames[index % len(frames)]
                        index += 1
                        self.wfile.write(b'--frame\r\nContent-Type: image/jpeg\r\n'
                                         b'Content-Length: %d\r\n\r\n' % len(jpeg)
                                         + jpeg + b'\r\n')
                        time.sleep(1 / 15)
                except OSError:
                    pass  # the client went away

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(('127.0.0.1', self.port or 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        server, self._server = self._server, None  # the handlers see it and end the stream
        server.shutdown()
        server.server_close()
        time.sleep(0.3)

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}/stream.mjpg'


@pytest.fixture
def camera():
    camera = MjpegCamera()
    camera.start()
    yield camera
    if camera._server is not None:
        camera.stop()


def _source_status(diagnostics, since: int, wanted, timeout: float = 15.0
                   ) -> DiagnosticStatus:
    """Return the first video_source status after message ``since`` that satisfies ``wanted``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in diagnostics.messages[since:]:
            for status in message.status:
                if 'video_source' in status.name and wanted(status):
                    return status
        time.sleep(0.05)
    raise AssertionError(f'no such video_source status within {timeout} s')


def test_a_lost_stream_is_an_error_and_publishing_resumes_when_it_is_back(
        camera, start_node, probe):
    images = probe.collect('image', Image, probe.best_effort_qos())
    diagnostics = probe.collect('/diagnostics', DiagnosticArray)
    node = start_node('video_source', parameters={
        'source': camera.url, 'stall_timeout': 1.0, 'reconnect_max_interval': 1.0})
    node.wait_for_output('publishing', timeout=60)
    images.wait_for_count(10, timeout=30)

    camera.stop()
    lost_at = time.monotonic()
    seen = len(diagnostics.messages)
    status = _source_status(diagnostics, seen, lambda s: s.level == DiagnosticStatus.ERROR)
    reported_after = time.monotonic() - lost_at
    assert 'lost' in status.message or 'no frame' in status.message, status.message
    # stall_timeout 1 s + one diagnostics period: a broken design never reports at all
    assert reported_after < 5.0, f'reported {reported_after:.1f} s after the loss'
    time.sleep(2.0)  # a few failed reconnect attempts
    assert node.is_running()

    before = len(images.messages)
    camera.start()  # the same port: the camera is back
    images.wait_for_count(before + 10, timeout=30)
    status = _source_status(diagnostics, len(diagnostics.messages),
                            lambda s: s.level == DiagnosticStatus.OK)
    assert 'lost' not in status.message
    output = node.output()
    assert 'is back: publishing again' in output and 'Traceback' not in output
    assert node.stop() == 0
