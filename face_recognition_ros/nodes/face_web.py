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
face_web node: the operator page (live view, who is in view, enroll, forget, status).

A thin adapter between ROS and the ROS-free web app (``face_recognition_ros/web``):
- subscribes ``faces/identified`` (vision_msgs/Detection2DArray) for the list of who is in
  view, and ``/diagnostics`` for the status table;
- subscribes ``image`` (sensor-data QoS) only while a browser shows the live view, pairs
  each image with its identities by stamp and hands both to the app, which draws them as
  face_overlay does and streams MJPEG; with nobody watching, no image is received, converted
  or drawn (checked four times a second, as face_overlay does);
- answers the page's gallery requests through the recognizer's services
  ``<recognizer>/list_people``, ``<recognizer>/enroll`` (with the clicked face's crop or an
  uploaded photo as the image) and ``<recognizer>/forget``.

The HTTP server (aiohttp) runs on its own asyncio loop in a thread beside the rclpy
executor; service calls from it wait on rclpy futures that the executor completes.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from face_recognition.srv import Enroll, Forget, ListPeople
from face_recognition_ros import node_support
from face_recognition_ros.core.errors import ImageError
from face_recognition_ros.node_support import message_pairing
from face_recognition_ros.ros_conversions import (
    bgr_to_image_msg, faces_from_identified_msg, image_msg_to_bgr, stamp_to_ns
)
from face_recognition_ros.web.app import (
    BackendReply, BackendUnavailable, LiveView, OperatorApp, read_token_file, WebServer,
    WebSettings
)
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

NODE_NAME = 'face_web'
WATCH_PERIOD_S = 0.25
"""How often the node checks whether a browser shows the live view."""
LEVELS = {0: 'OK', 1: 'WARN', 2: 'ERROR', 3: 'STALE'}


class RecognizerServices:
    """The page's Backend: the recognizer's gallery services, called from the HTTP thread."""

    def __init__(self, node: Node, recognizer: str, timeout_s: float):
        self._node = node
        self._timeout_s = timeout_s
        self._clients = {
            kind: node.create_client(srv, f'{recognizer}/{kind}')
            for kind, srv in (('enroll', Enroll), ('forget', Forget),
                              ('list_people', ListPeople))
        }

    def _call(self, kind: str, request):
        client = self._clients[kind]
        # Right after start-up DDS discovery may not have found the service yet.
        if not client.wait_for_service(timeout_sec=min(self._timeout_s, 5.0)):
            raise BackendUnavailable(
                f'the recognizer does not answer on {client.srv_name}: start face_recognizer '
                '(or face_pipeline), or set the parameter recognizer to its node name')
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _: done.set())
        if not done.wait(self._timeout_s):
            future.cancel()
            raise BackendUnavailable(
                f'{client.srv_name} gave no answer within {self._timeout_s:.0f} s: the '
                'recognizer may be overloaded; try again')
        if future.exception() is not None:
            raise BackendUnavailable(f'{client.srv_name} failed: {future.exception()}')
        return future.result()

    def people(self) -> dict[str, int]:
        response = self._call('list_people', ListPeople.Request())
        return {name: int(count) for name, count in zip(response.names, response.counts)}

    def enroll(self, name: str, image) -> BackendReply:
        request = Enroll.Request(name=name, image=bgr_to_image_msg(image))
        response = self._call('enroll', request)
        return BackendReply(bool(response.success), response.message, int(response.samples))

    def forget(self, name: str) -> BackendReply:
        response = self._call('forget', Forget.Request(name=name))
        return BackendReply(bool(response.success), response.message)


class FaceWebNode(Node):
    """Serves the operator page; receives images only while someone watches them."""

    def __init__(self, **node_options):
        super().__init__(NODE_NAME, **node_options)
        settings, recognizer, timeout_s, slop_s = self._read_parameters()
        self.live = LiveView()
        self._slop_s = slop_s
        self._pairing = None
        self._image_subscription = None
        self._diagnostics = node_support.NodeDiagnostics(self, 'operator page')
        # Each kind of bad image once per interval, as in the other nodes: rclpy's throttle
        # of one call site would hide a second kind behind the first.
        self._problems = node_support.RepeatLimitedLog(self.get_logger())
        self.create_subscription(Detection2DArray, 'faces/identified', self._on_identified,
                                 node_support.results_qos())
        self.create_subscription(DiagnosticArray, node_support.DIAGNOSTICS_TOPIC,
                                 self._on_diagnostics, 10)
        backend = RecognizerServices(self, recognizer, timeout_s)
        self._server = WebServer(OperatorApp(settings, self.live, backend,
                                             logger=self.get_logger()))
        self._server.start()
        self._watch_timer = self.create_timer(WATCH_PERIOD_S, self._update_subscription)
        self._update_subscription()
        access = 'token required' if settings.token else 'no token: this machine only'
        self.get_logger().info(
            f'ready: serving {self._server.url} ({access}); gallery via '
            f'{self.resolve_service_name(recognizer + "/enroll")}')

    def _read_parameters(self):
        def describe(text, read_only=True, **ranges):
            return ParameterDescriptor(description=text, read_only=read_only, **ranges)

        declare = self.declare_parameter
        declare('host', '127.0.0.1', describe(
            'Address to serve on. 127.0.0.1: this machine only (use an SSH tunnel); any other '
            'address (0.0.0.0: all) requires web_token or web_token_file.'))
        declare('port', 8080, describe('TCP port of the page; 0: any free port (logged).',
                                       integer_range=[IntegerRange(from_value=0,
                                                                   to_value=65535, step=1)]))
        declare('web_token', '', describe(
            'Token a browser must present (log-in form, cookie, X-Face-Web-Token or '
            'Authorization: Bearer). Visible to anyone on the ROS graph: prefer '
            'web_token_file. Empty: none (only allowed on a loopback host).'))
        declare('web_token_file', '', describe(
            'File whose first line is the token (owner-only permissions); wins over '
            'web_token.'))
        declare('max_view_fps', 30.0, describe(
            'Most frames per second drawn and streamed to the live view; 0: camera rate.',
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=120.0)]))
        declare('jpeg_quality', 80, describe(
            'JPEG quality of the live view (higher: sharper, more bytes).',
            integer_range=[IntegerRange(from_value=10, to_value=100, step=1)]))
        declare('max_upload_bytes', 8 * 1024 * 1024, describe(
            'Largest photo upload (all files of one request together), in bytes.',
            integer_range=[IntegerRange(from_value=1024, to_value=256 * 1024 * 1024,
                                        step=1)]))
        declare('max_upload_files', 20, describe(
            'Most photos in one upload.',
            integer_range=[IntegerRange(from_value=1, to_value=200, step=1)]))
        declare('recognizer', 'face_recognizer', describe(
            'Node whose enroll, forget and list_people services keep the gallery (relative '
            "names resolve in this node's namespace)."))
        declare('service_timeout', 30.0, describe(
            "Seconds to wait for an answer of the recognizer's services.",
            floating_point_range=[FloatingPointRange(from_value=1.0, to_value=300.0)]))
        declare('sync_slop', 0.0, describe(
            'Seconds by which image and identified stamps may differ and still pair; 0: '
            'exact (face_recognizer copies the image header).',
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)]))
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        token = value('web_token').strip()
        if value('web_token_file').strip():
            token = read_token_file(value('web_token_file').strip())
        settings = WebSettings(host=value('host').strip(), port=int(value('port')),
                               token=token, max_view_fps=float(value('max_view_fps')),
                               jpeg_quality=int(value('jpeg_quality')),
                               max_upload_bytes=int(value('max_upload_bytes')),
                               max_upload_files=int(value('max_upload_files')))
        return (settings, value('recognizer').strip() or 'face_recognizer',
                float(value('service_timeout')), float(value('sync_slop')))

    # --- images, only while watched ---------------------------------------------------------
    def _update_subscription(self) -> None:
        watched = self.live.viewers > 0
        self._diagnostics.idle_message = None if watched else 'idle: nobody watches the page'
        if watched and self._image_subscription is None:
            self._pairing = message_pairing.StampPairing(self._on_frame, self._slop_s)
            pairing = self._pairing
            self._image_subscription = node_support.create_image_subscription(
                self, lambda msg: pairing.add(0, msg), 'image', depth=2)
            self.get_logger().info('live view watched: receiving images')
        elif not watched and self._image_subscription is not None:
            self.destroy_subscription(self._image_subscription)
            self._image_subscription, self._pairing = None, None
            self.live.clear_frame()
            self.get_logger().info('nobody watches the live view: images off')

    def _on_identified(self, msg: Detection2DArray) -> None:
        self.live.push_identities(faces_from_identified_msg(msg), stamp_to_ns(msg.header.stamp))
        pairing = self._pairing
        if pairing is not None:
            pairing.add(1, msg)

    def _on_frame(self, image_msg: Image, identified_msg: Detection2DArray) -> None:
        if self.live.viewers == 0:
            return
        start = time.perf_counter()
        try:
            frame = image_msg_to_bgr(image_msg)
        except ImageError as error:
            self._diagnostics.count_error()
            self._problems.error(f'image skipped: {error}')
            return
        stamp_ns = stamp_to_ns(image_msg.header.stamp)
        self.live.push_frame(frame, faces_from_identified_msg(identified_msg), stamp_ns)
        self._diagnostics.frame_done(stamp_ns=stamp_ns,
                                     processing_ms=(time.perf_counter() - start) * 1000.0)

    # --- status ---------------------------------------------------------------------------------
    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            level = status.level[0] if isinstance(status.level, (bytes, bytearray)) \
                else int(status.level)
            self.live.push_status(status.name, LEVELS.get(level, str(level)), status.message,
                                  {item.key: item.value for item in status.values})

    def destroy_node(self):
        if getattr(self, '_server', None) is not None:
            self._server.stop()
        return super().destroy_node()


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_web``."""
    return node_support.run_node(FaceWebNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
