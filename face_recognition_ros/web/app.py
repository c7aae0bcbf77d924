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
The operator page's HTTP app (aiohttp), free of ROS.

What it serves (all under one origin, no external files: robots are often offline):
- ``/``: the page (``static/index.html``, ``app.js``, ``style.css``);
- ``/stream.mjpg``: the annotated camera image as MJPEG (multipart/x-mixed-replace), which
  every browser shows in a plain ``<img>``. Frames are drawn (``core.drawing.draw_faces``,
  as the overlay draws them) and JPEG-encoded once per frame for all viewers, at most
  ``max_view_fps`` times a second, and only while at least one viewer is connected: the
  ``LiveView.viewers`` count tells the node whether to receive images at all;
- ``/api/events``: Server-Sent Events: ``identities`` (the faces in view, as the
  recognizer names them) and ``status`` (rate, latency, dropped frames per node, from
  /diagnostics);
- ``/api/people`` (GET), ``/api/enroll`` (POST JSON: a face of the live view, by track id
  or point), ``/api/enroll_upload`` (POST multipart photos), ``/api/forget`` (POST JSON),
  answered through a ``Backend`` (the node: the recognizer's services).

Security: the server binds 127.0.0.1 by default. When a token is set (required for any
other address) every request but the login needs it, as ``Authorization: Bearer``, an
``X-Face-Web-Token`` header or the cookie the login sets, compared in constant time;
without it the answer is 401 and nothing about the gallery. Without a token, requests must
name a loopback Host (a page on another site cannot reach the server through DNS
rebinding). Every POST must carry the page's CSRF token in ``X-CSRF-Token`` (a header a
cross-site form or script cannot set), and a cross-origin ``Origin`` is refused. Uploads
are limited in size and count; names are checked as the gallery checks them before any
service is called.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import hmac
import html
import ipaddress
import json
from pathlib import Path
import secrets
import threading
import time
from typing import Any, Protocol, Sequence

from aiohttp import web
import cv2
from face_recognition_ros.core.drawing import draw_faces
from face_recognition_ros.core.errors import FaceRecognitionError, ImageError, InvalidNameError
from face_recognition_ros.core.gallery import validate_name
from face_recognition_ros.core.image_io import to_bgr8
from face_recognition_ros.core.types import Face
import numpy as np

STATIC_DIR = Path(__file__).resolve().parent / 'static'
TOKEN_COOKIE = 'face_web_token'
TOKEN_HEADER = 'X-Face-Web-Token'
CSRF_HEADER = 'X-CSRF-Token'
MJPEG_BOUNDARY = 'faceframe'
CROP_MARGIN = 0.6
"""Context around a clicked face, as a fraction of its box's longer side on every side: the
recognizer detects the face again in the crop, and a detector needs some forehead, chin
and background around a face to find it."""
MAX_PHOTO_PIXELS = 40_000_000
"""Largest uploaded photo, in pixels (a 40 MP camera's; decoded: 120 MB)."""
PUBLIC_PATHS = frozenset({'/login', '/static/style.css', '/favicon.ico'})
"""What is served without the token: the log-in form and its style, nothing of the gallery."""
STATUS_STALE_S = 5.0
"""A node that has not reported on /diagnostics for this long is shown as stale."""
EVENT_PERIOD_S = 0.1
STATUS_PERIOD_S = 1.0


class WebConfigError(FaceRecognitionError):
    """A setting of the operator page is unusable (another address without a token, ...)."""


class BackendUnavailable(FaceRecognitionError):
    """The gallery service does not answer (recognizer not running, timeout)."""


@dataclass
class BackendReply:
    """What a gallery service answered: success and its message, in words for a person."""

    success: bool
    message: str
    samples: int = 0


class Backend(Protocol):
    """
    The gallery, as the page sees it. Blocking calls; the app runs them in threads.

    They raise BackendUnavailable with a message that says what to start or check.
    """

    def people(self) -> dict[str, int]:
        """Enrolled names and their sample counts."""

    def enroll(self, name: str, image: np.ndarray) -> BackendReply:
        """Enroll the one face in ``image`` (BGR) under ``name``."""

    def forget(self, name: str) -> BackendReply:
        """Remove ``name`` from the gallery."""


@dataclass
class WebSettings:
    host: str = '127.0.0.1'
    port: int = 8080
    token: str = ''
    max_view_fps: float = 30.0
    jpeg_quality: int = 80
    max_upload_bytes: int = 8 * 1024 * 1024
    max_upload_files: int = 20

    def check(self) -> None:
        """Raise WebConfigError for settings that would expose the gallery or cannot work."""
        if not is_loopback(self.host) and not self.token:
            raise WebConfigError(
                f'host {self.host!r} is reachable from other machines, and the page can '
                'enroll and forget people: set web_token (or web_token_file) to bind it, '
                'or keep host 127.0.0.1 and use an SSH tunnel')
        if not 0 <= int(self.port) <= 65535:
            raise WebConfigError(f'port {self.port} is not a TCP port: use 1..65535 (0: any)')
        if self.token and (len(self.token) < 8 or not self.token.isprintable()
                           or any(ch.isspace() for ch in self.token)):
            raise WebConfigError('web_token must be at least 8 printable characters without '
                                 'spaces; e.g. python3 -c "import secrets; '
                                 'print(secrets.token_urlsafe(24))"')


def is_loopback(host: str) -> bool:
    """Return True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost."""
    host = host.strip().strip('[]')
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0: treat as reachable from outside


def read_token_file(path: str) -> str:
    """Read the token in ``path`` (first line, stripped); WebConfigError when unreadable/empty."""
    try:
        token = Path(path).expanduser().read_text(encoding='utf-8').strip().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise WebConfigError(f'cannot read web_token_file {path!r}: {error}') from error
    if not token or not token[0].strip():
        raise WebConfigError(f'web_token_file {path!r} is empty: write the token into it')
    return token[0].strip()


def decode_photo(data: bytes, label: str) -> np.ndarray:
    """Decode an uploaded photo as BGR uint8; ImageError in words when it is not one."""
    if not data:
        raise ImageError(f'{label} is empty: choose a photo (JPEG or PNG)')
    size = photo_size(data)
    if size is not None and size[0] * size[1] > MAX_PHOTO_PIXELS:
        raise ImageError(f'{label} is {size[0]}x{size[1]} pixels: upload a photo of at most '
                         f'{MAX_PHOTO_PIXELS // 1_000_000} megapixels')
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageError(f'{label} is not a photo OpenCV can read: upload a JPEG or PNG')
    return to_bgr8(image)


def photo_size(data: bytes) -> tuple[int, int] | None:
    """
    Return (width, height) from a PNG or JPEG header, read before decoding.

    A small file can hold a huge picture (a PNG of one colour compresses 1000:1) that would
    take gigabytes decoded. None for other formats (OpenCV's own pixel limit applies then).
    """
    if data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) >= 24:
        return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    if data[:2] != b'\xff\xd8':
        return None
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        length = int.from_bytes(data[index + 2:index + 4], 'big')
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            return (int.from_bytes(data[index + 7:index + 9], 'big'),
                    int.from_bytes(data[index + 5:index + 7], 'big'))
        index += 2 + length
    return None


def crop_around(frame: np.ndarray, box: Sequence[float],
                others: Sequence[Sequence[float]] = (), margin: float = CROP_MARGIN
                ) -> np.ndarray:
    """
    Return the part of ``frame`` around ``box`` (x, y, w, h), with ``margin`` context.

    The ``others`` boxes (the other faces of the frame) are painted over in grey.

    The recognizer enrolls only an image with exactly one face; in a crowd the context
    around a face holds its neighbours, so they are hidden (never over the chosen face).
    """
    x, y, w, h = (float(v) for v in box)
    pad = margin * max(w, h)
    height, width = frame.shape[:2]
    x0, y0 = max(0, int(x - pad)), max(0, int(y - pad))
    x1, y1 = min(width, int(np.ceil(x + w + pad))), min(height, int(np.ceil(y + h + pad)))
    if x1 <= x0 or y1 <= y0:
        raise LookupError('that face lies outside the image: click a face inside the view')
    crop = np.array(frame[y0:y1, x0:x1], copy=True)
    chosen = crop[max(0, int(y) - y0):max(0, int(np.ceil(y + h)) - y0),
                  max(0, int(x) - x0):max(0, int(np.ceil(x + w)) - x0)].copy()
    for other in others:
        ox, oy, ow, oh = (float(v) for v in other)
        grow = 0.15 * max(ow, oh)  # a detector box is tighter than the head
        crop[max(0, int(oy - grow) - y0):max(0, int(np.ceil(oy + oh + grow)) - y0),
             max(0, int(ox - grow) - x0):max(0, int(np.ceil(ox + ow + grow)) - x0)] = 128
    crop[max(0, int(y) - y0):max(0, int(y) - y0) + chosen.shape[0],
         max(0, int(x) - x0):max(0, int(x) - x0) + chosen.shape[1]] = chosen
    return crop


def find_face(faces: Sequence[Face], track_id: int | None = None,
              point: tuple[float, float] | None = None) -> Face:
    """Return the face with ``track_id``, else the smallest face whose box holds ``point``."""
    if track_id is not None:
        for face in faces:
            if face.track_id == track_id:
                return face
    if point is not None:
        px, py = point
        inside = [f for f in faces if f.box[0] <= px <= f.box[0] + f.box[2]
                  and f.box[1] <= py <= f.box[1] + f.box[3]]
        if inside:
            return min(inside, key=lambda f: f.box[2] * f.box[3])
    if track_id is not None:
        raise LookupError(f'face #{track_id} is no longer in view: click a face that is on '
                          'screen now')
    raise LookupError('no face there: click inside a box of the live view')


def face_record(face: Face) -> dict[str, Any]:
    return {'name': face.name, 'confidence': round(float(face.confidence), 3),
            'track_id': face.track_id,
            'box': [round(float(v), 1) for v in face.box]}


@dataclass
class _Status:
    level: str
    message: str
    values: dict[str, str]
    received: float


class LiveView:
    """
    The state the node feeds and the page reads; thread-safe.

    The node calls ``push_frame`` (from its executor thread) only while ``viewers`` > 0,
    ``push_identities`` for every identified frame and ``push_status`` for /diagnostics.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._viewers = 0
        self._frame: tuple[np.ndarray, list[Face], int] | None = None
        self._frame_seq = 0
        self._identities: dict[str, Any] = {'stamp_ns': 0, 'faces': []}
        self._identities_seq = 0
        self._statuses: dict[str, _Status] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._frame_event: asyncio.Event | None = None
        self.frames_drawn = 0

    # --- fed by the node (any thread) ------------------------------------------------------
    @property
    def viewers(self) -> int:
        with self._lock:
            return self._viewers

    def push_frame(self, frame: np.ndarray, faces: list[Face], stamp_ns: int = 0) -> None:
        """Take the newest image and its identified faces (the frame is not modified)."""
        with self._lock:
            self._frame = (frame, list(faces), stamp_ns)
            self._frame_seq += 1
            loop, event = self._loop, self._frame_event
        if loop is not None and event is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop has just closed: the server is stopping
                pass

    def push_identities(self, faces: Sequence[Face], stamp_ns: int = 0) -> None:
        with self._lock:
            self._identities = {'stamp_ns': stamp_ns,
                                'faces': [face_record(face) for face in faces]}
            self._identities_seq += 1

    def push_status(self, name: str, level: str, message: str, values: dict[str, str]):
        with self._lock:
            self._statuses[name] = _Status(level, message, dict(values), time.monotonic())

    def clear_frame(self) -> None:
        """Forget the held image (the last viewer left: no face image kept without need)."""
        with self._lock:
            self._frame = None

    # --- read by the app ---------------------------------------------------------------------
    def identities(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return self._identities_seq, self._identities

    def statuses(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            items = sorted(self._statuses.items())
        rows = []
        for name, status in items:
            stale = now - status.received > STATUS_STALE_S
            rows.append({
                'name': name, 'level': 'STALE' if stale else status.level,
                'message': 'no report for a while' if stale else status.message,
                'rate_hz': status.values.get('rate_hz', ''),
                'latency_ms': status.values.get('latency_ms_median', ''),
                'processing_ms': status.values.get('processing_ms_median', ''),
                'dropped': status.values.get('dropped_frames', ''),
                'errors': status.values.get('errors', ''),
            })
        return rows

    def face_crop(self, track_id: int | None, point: tuple[float, float] | None
                  ) -> tuple[np.ndarray, Face]:
        """Crop of the chosen face from the current frame; LookupError in words."""
        with self._lock:
            held = self._frame
        if held is None:
            raise LookupError('no camera image yet: open the live view and wait until the '
                              'picture shows, then click a face')
        frame, faces, _ = held
        face = find_face(faces, track_id, point)
        others = [other.box for other in faces if other is not face]
        return crop_around(frame, face.box, others), face

    def _latest_frame(self) -> tuple[int, tuple[np.ndarray, list[Face], int] | None]:
        with self._lock:
            return self._frame_seq, self._frame

    def _add_viewer(self, delta: int) -> None:
        with self._lock:
            self._viewers += delta
            if self._viewers == 0:
                self._frame = None


@dataclass
class _Jpeg:
    seq: int = 0
    data: bytes = b''
    condition: asyncio.Condition | None = None
    closing: bool = False
    listeners: int = 0


class OperatorApp:
    """Builds the aiohttp Application over a LiveView and a Backend."""

    def __init__(self, settings: WebSettings, live: LiveView, backend: Backend,
                 logger=None):
        settings.check()
        self.settings = settings
        self.live = live
        self.backend = backend
        self._logger = logger
        self.csrf_token = secrets.token_urlsafe(32)
        self._jpeg = _Jpeg()
        self._encoder_task: asyncio.Task | None = None
        self._index = (STATIC_DIR / 'index.html').read_text(encoding='utf-8')
        self._login = (STATIC_DIR / 'login.html').read_text(encoding='utf-8')

    # --- application ---------------------------------------------------------------------------
    def build(self) -> web.Application:
        # The body limit covers the upload form; JSON requests are tiny.
        app = web.Application(middlewares=[self._security],
                              client_max_size=self.settings.max_upload_bytes + 64 * 1024)
        app.router.add_get('/', self._page)
        app.router.add_get('/favicon.ico', lambda request: web.Response(status=204))
        app.router.add_get('/login', self._login_page)
        app.router.add_post('/login', self._login_post)
        app.router.add_static('/static/', STATIC_DIR, show_index=False, follow_symlinks=False)
        app.router.add_get('/stream.mjpg', self._stream)
        app.router.add_get('/api/events', self._events)
        app.router.add_get('/api/people', self._people)
        app.router.add_get('/api/status', self._status)
        app.router.add_post('/api/enroll', self._enroll_face)
        app.router.add_post('/api/enroll_upload', self._enroll_upload)
        app.router.add_post('/api/forget', self._forget)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        self._jpeg.condition = asyncio.Condition()
        event = asyncio.Event()
        with self.live._lock:
            self.live._loop, self.live._frame_event = loop, event
        self._encoder_task = loop.create_task(self._encode_frames(event))

    async def _on_shutdown(self, app: web.Application) -> None:
        self._jpeg.closing = True
        async with self._jpeg.condition:
            self._jpeg.condition.notify_all()
        with self.live._lock:
            self.live._loop = None
        if self._encoder_task is not None:
            self._encoder_task.cancel()

    # --- security --------------------------------------------------------------------------------
    def _token_ok(self, request: web.Request) -> bool:
        token = self.settings.token
        if not token:
            return True
        offered = request.headers.get(TOKEN_HEADER, '')
        authorization = request.headers.get('Authorization', '')
        if not offered and authorization.lower().startswith('bearer '):
            offered = authorization[7:].strip()
        if not offered:
            offered = request.cookies.get(TOKEN_COOKIE, '')
        return hmac.compare_digest(offered.encode('utf-8'), token.encode('utf-8'))

    def _host_ok(self, request: web.Request) -> bool:
        """Without a token only loopback Host names are served (no DNS rebinding)."""
        if self.settings.token:
            return True
        host = request.headers.get('Host', '')
        name = host.rsplit(':', 1)[0] if not host.endswith(']') else host
        if host.startswith('[') and ']' in host:
            name = host[1:host.index(']')]
        return is_loopback(name)

    def _csrf_ok(self, request: web.Request) -> bool:
        offered = request.headers.get(CSRF_HEADER, '')
        if not hmac.compare_digest(offered.encode('utf-8'), self.csrf_token.encode('utf-8')):
            return False
        origin = request.headers.get('Origin')
        if origin and origin != 'null':
            host = request.headers.get('Host', '')
            return origin.split('://', 1)[-1] == host
        return True

    @web.middleware
    async def _security(self, request: web.Request, handler):
        if not self._host_ok(request):
            return web.Response(status=403, text='this page answers only on 127.0.0.1 or '
                                'localhost; set web_token to serve other addresses')
        public = request.path in PUBLIC_PATHS
        if not public and not self._token_ok(request):
            if request.path == '/' and request.method == 'GET':
                return self._login_response('', status=401)
            return _json_error(401, 'a valid token is needed: open the page and log in, or '
                                    f'send it as {TOKEN_HEADER} or Authorization: Bearer')
        if request.method == 'POST' and request.path != '/login' \
                and not self._csrf_ok(request):
            return _json_error(403, "the request lacks the page's CSRF token: reload the "
                                    'page and try again')
        response = await handler(request)
        if not response.prepared:
            _secure_headers(response.headers)
        return response

    def _login_response(self, problem: str, status: int = 200) -> web.Response:
        text = self._login.replace('{{problem}}', html.escape(problem))
        response = web.Response(status=status, text=text, content_type='text/html')
        return response

    async def _login_page(self, request: web.Request) -> web.Response:
        if not self.settings.token:
            raise web.HTTPSeeOther('/')
        return self._login_response('')

    async def _login_post(self, request: web.Request) -> web.Response:
        if not self.settings.token:
            raise web.HTTPSeeOther('/')
        form = await request.post()
        offered = str(form.get('token', ''))
        if not hmac.compare_digest(offered.encode('utf-8'),
                                   self.settings.token.encode('utf-8')):
            return self._login_response('wrong token: try again', status=401)
        response = web.HTTPSeeOther('/')
        response.set_cookie(TOKEN_COOKIE, self.settings.token, httponly=True,
                            samesite='Strict', path='/')
        return response

    # --- page ------------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.Response:
        text = self._index.replace('{{csrf_token}}', self.csrf_token)
        return web.Response(text=text, content_type='text/html')

    # --- live view -------------------------------------------------------------------------------
    async def _encode_frames(self, event: asyncio.Event) -> None:
        """Draw and encode the newest frame for all viewers, at most max_view_fps a second."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.settings.max_view_fps if self.settings.max_view_fps > 0 else 0.0
        last_seq, next_time = 0, 0.0
        while True:
            await event.wait()
            event.clear()
            wait = next_time - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # newer frames replace this one meanwhile
            seq, held = self.live._latest_frame()
            if held is None or seq == last_seq or not self._jpeg.listeners:
                continue
            last_seq = seq
            next_time = time.monotonic() + period
            data = await loop.run_in_executor(None, self._draw_and_encode, held)
            self.live.frames_drawn += 1
            async with self._jpeg.condition:
                self._jpeg.data, self._jpeg.seq = data, self._jpeg.seq + 1
                self._jpeg.condition.notify_all()

    def _draw_and_encode(self, held: tuple[np.ndarray, list[Face], int]) -> bytes:
        frame, faces, _ = held
        annotated = draw_faces(frame, faces, copy=True)
        ok, jpeg = cv2.imencode('.jpg', annotated,
                                [cv2.IMWRITE_JPEG_QUALITY, int(self.settings.jpeg_quality)])
        return jpeg.tobytes() if ok else b''

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            'Content-Type': f'multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}'})
        _secure_headers(response.headers)
        await response.prepare(request)
        jpeg = self._jpeg
        jpeg.listeners += 1
        self.live._add_viewer(1)
        last = 0
        try:
            while not jpeg.closing:
                async with jpeg.condition:
                    await jpeg.condition.wait_for(lambda: jpeg.seq != last or jpeg.closing)
                if jpeg.closing:
                    break
                last, data = jpeg.seq, jpeg.data
                if not data:
                    continue
                await response.write(
                    f'--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\n'
                    f'Content-Length: {len(data)}\r\n\r\n'.encode('ascii') + data + b'\r\n')
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            jpeg.listeners -= 1
            self.live._add_viewer(-1)
        return response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={'Content-Type': 'text/event-stream'})
        _secure_headers(response.headers)
        await response.prepare(request)
        last_seq, last_status = -1, 0.0
        try:
            while not self._jpeg.closing:
                seq, identities = self.live.identities()
                if seq != last_seq:
                    last_seq = seq
                    await response.write(_sse('identities', identities))
                if time.monotonic() - last_status >= STATUS_PERIOD_S:
                    last_status = time.monotonic()
                    await response.write(_sse('status', {
                        'nodes': self.live.statuses(), 'viewers': self.live.viewers}))
                await asyncio.sleep(EVENT_PERIOD_S)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    # --- gallery -------------------------------------------------------------------------------
    async def _call(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def _people(self, request: web.Request) -> web.Response:
        try:
            counts = await self._call(self.backend.people)
        except BackendUnavailable as error:
            return _json_error(503, str(error))
        return web.json_response({'people': [{'name': name, 'count': int(counts[name])}
                                             for name in sorted(counts)]})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({'nodes': self.live.statuses(),
                                  'viewers': self.live.viewers})

    async def _json_body(self, request: web.Request) -> dict:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise _HttpProblem(400, 'the request is not JSON: send {"name": ...}') from error
        if not isinstance(body, dict):
            raise _HttpProblem(400, 'the request must be a JSON object')
        return body

    @staticmethod
    def _checked_name(value: Any) -> str:
        try:
            return validate_name(value if isinstance(value, str) else '')
        except InvalidNameError as error:
            raise _HttpProblem(400, f'not accepted: {error}') from error

    async def _enroll_face(self, request: web.Request) -> web.Response:
        try:
            body = await self._json_body(request)
            name = self._checked_name(body.get('name'))
            track_id = _optional_int(body.get('track_id'))
            point = None
            if isinstance(body.get('x'), (int, float)) and isinstance(body.get('y'),
                                                                      (int, float)):
                point = (float(body['x']), float(body['y']))
            try:
                crop, face = self.live.face_crop(track_id, point)
            except LookupError as error:
                raise _HttpProblem(404, str(error)) from error
            reply = await self._call(self.backend.enroll, name, crop)
        except _HttpProblem as problem:
            return problem.response()
        except BackendUnavailable as error:
            return _json_error(503, str(error))
        self._log(f'enroll {name!r} from face #{face.track_id}: {reply.message}')
        return _reply_response(reply)

    async def _enroll_upload(self, request: web.Request) -> web.Response:
        limit = self.settings.max_upload_bytes
        if request.content_length is not None and request.content_length > limit:
            return _too_large(limit)
        try:
            name, photos = await self._read_upload(request, limit)
            name = self._checked_name(name)
            if not photos:
                raise _HttpProblem(400, 'no photo in the upload: choose one or more photos')
            images = []
            for label, data in photos:
                try:
                    images.append((label, decode_photo(data, label)))
                except ImageError as error:
                    raise _HttpProblem(400, f'not enrolled: {error}') from error
            results = []
            for label, image in images:
                reply = await self._call(self.backend.enroll, name, image)
                results.append({'file': label, 'success': reply.success,
                                'message': reply.message})
        except _HttpProblem as problem:
            return problem.response()
        except BackendUnavailable as error:
            return _json_error(503, str(error))
        done = sum(result['success'] for result in results)
        message = '; '.join(f'{r["file"]}: {r["message"]}' for r in results)
        self._log(f'enroll {name!r} from {len(results)} upload(s): {done} enrolled')
        return web.json_response({'success': done > 0, 'message': message,
                                  'results': results}, status=200 if done else 422)

    async def _read_upload(self, request: web.Request, limit: int
                           ) -> tuple[str, list[tuple[str, bytes]]]:
        """
        Read the name and photos of a multipart upload, in memory.

        Never spooled to disk: face photos are personal data. Refused past ``limit`` bytes
        in all.
        """
        if not request.content_type.startswith('multipart/'):
            raise _HttpProblem(400, 'send the photos as multipart/form-data')
        reader = await request.multipart()
        name, photos, total = '', [], 0
        while True:
            part = await reader.next()
            if part is None:
                break
            chunks = []
            while True:
                chunk = await part.read_chunk(64 * 1024)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise _HttpProblem(413, _too_large_text(limit))
                chunks.append(chunk)
            data = b''.join(chunks)
            if part.name == 'name':
                name = data.decode('utf-8', errors='replace')
            elif part.name == 'photos' and (part.filename or data):
                if len(photos) >= self.settings.max_upload_files:
                    raise _HttpProblem(413, f'too many photos: upload at most '
                                            f'{self.settings.max_upload_files} at once')
                photos.append((part.filename or f'photo {len(photos) + 1}', data))
        return name, photos

    async def _forget(self, request: web.Request) -> web.Response:
        try:
            body = await self._json_body(request)
            name = self._checked_name(body.get('name'))
            reply = await self._call(self.backend.forget, name)
        except _HttpProblem as problem:
            return problem.response()
        except BackendUnavailable as error:
            return _json_error(503, str(error))
        self._log(f'forget {name!r}: {reply.message}')
        return _reply_response(reply)

    def _log(self, text: str) -> None:
        if self._logger is not None:
            self._logger.info(text)


class _HttpProblem(Exception):

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def response(self) -> web.Response:
        return _json_error(self.status, str(self))


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _json_error(status: int, message: str) -> web.Response:
    response = web.json_response({'success': False, 'error': message, 'message': message},
                                 status=status)
    _secure_headers(response.headers)
    return response


def _reply_response(reply: BackendReply) -> web.Response:
    return web.json_response({'success': reply.success, 'message': reply.message,
                              'samples': reply.samples}, status=200 if reply.success else 422)


def _too_large_text(limit: int) -> str:
    return (f'the upload is larger than {limit / 1e6:.1f} MB: send fewer or smaller photos '
            '(or raise max_upload_bytes)')


def _too_large(limit: int) -> web.Response:
    return _json_error(413, _too_large_text(limit))


def _sse(event: str, data: Any) -> bytes:
    return f'event: {event}\ndata: {json.dumps(data, separators=(",", ":"))}\n\n'.encode()


def _secure_headers(headers) -> None:
    headers.setdefault('X-Content-Type-Options', 'nosniff')
    headers.setdefault('X-Frame-Options', 'DENY')
    headers.setdefault('Referrer-Policy', 'no-referrer')
    headers.setdefault('Cache-Control', 'no-store')
    headers.setdefault('Content-Security-Policy',
                       "default-src 'self'; img-src 'self' blob: data:; "
                       "style-src 'self'; script-src 'self'; frame-ancestors 'none'")


class WebServer:
    """
    Runs an OperatorApp on its own asyncio loop in a daemon thread.

    It runs beside rclpy's executor, so neither blocks the other.
    """

    def __init__(self, operator_app: OperatorApp):
        self._operator_app = operator_app
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    def start(self, timeout: float = 15.0) -> None:
        """Bind and serve; WebConfigError when the address cannot be bound."""
        ready = threading.Event()
        problem: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start())
            except BaseException as error:  # noqa: BLE001 - handed to the starting thread
                problem.append(error)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name='face_web_http', daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise WebConfigError('the web server did not start in time')
        if problem:
            error = problem[0]
            settings = self._operator_app.settings
            if isinstance(error, OSError):
                raise WebConfigError(
                    f'cannot serve on {settings.host}:{settings.port}: {error.strerror or error}'
                    '; choose another port (parameter port) or stop what uses it') from error
            raise error

    async def _start(self) -> None:
        settings = self._operator_app.settings
        self._runner = web.AppRunner(self._operator_app.build(), access_log=None,
                                     handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.host, settings.port)
        await site.start()
        addresses = self._runner.addresses  # the bound port, also for port 0
        self.port = int(addresses[0][1]) if addresses else settings.port

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None or not self._loop.is_running():
            return
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            try:
                future.result(timeout)
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    @property
    def url(self) -> str:
        host = self._operator_app.settings.host
        host = f'[{host}]' if ':' in host else host
        return f'http://{host}:{self.port}/'
