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
video_source node: publishes frames from a camera, a video file or a folder of images.

Publishes ``image`` (sensor_msgs/Image, bgr8, sensor-data QoS overridable from the parameter
file), each stamped with the time it was captured and ``frame_id``. Sources (``source``):
- a camera: its index (``'0'``) or device (``/dev/video0``), through OpenCV;
- a video file (anything OpenCV/FFmpeg reads) or an RTSP/HTTP stream URL;
- a folder of images (sorted by name; unreadable files are skipped with a warning);
- ``csi://0`` and the other jetson_utils URIs (``v4l2://``, ``rtp://``, ``webrtc://``)
  through ``jetson_utils.videoSource`` where it is installed (a Jetson with
  jetson-inference), as the seed project's camera did.

``loop`` restarts a file or folder at its end; ``rate`` paces publishing (0: the video's
own rate, 10 frames/s for a folder, as delivered for a camera). The frames are read in a
thread of their own, so a slow disk or camera never blocks the node's executor.
A camera or stream that stops delivering (unplugged, the server gone) is reported as ERROR
on /diagnostics once it is silent for ``stall_timeout`` and reopened with a doubling wait
(up to ``reconnect_max_interval``) until it is back; publishing then resumes by itself.
"""

from __future__ import annotations

import os
from pathlib import Path
import threading
import time

import cv2
from diagnostic_msgs.msg import DiagnosticStatus
from face_recognition_ros import node_support
from face_recognition_ros.core.errors import FaceRecognitionError, ImageError
from face_recognition_ros.core.image_io import load_image
from face_recognition_ros.ros_conversions import bgr_to_image_msg
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from std_msgs.msg import Header

NODE_NAME = 'video_source'
IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp'}
FOLDER_RATE_HZ = 10.0
_JETSON_SCHEMES = ('csi://', 'v4l2://', 'rtp://', 'rtpmp4://', 'webrtc://', 'display://')


# --- Frame sources (ROS-free) -----------------------------------------------------------------

class _OpenCvSource:
    """A camera, video file or stream through cv2.VideoCapture."""

    def __init__(self, source: str, width: int, height: int):
        self.is_camera = source.isdigit() or source.startswith('/dev/video')
        # A camera or a network stream: no frame means it was lost, not that it ended.
        self.is_live = self.is_camera or ('://' in source and not source.startswith('file://'))
        if source.isdigit():
            self._capture = cv2.VideoCapture(int(source))
        elif self.is_camera:
            self._capture = cv2.VideoCapture(source, cv2.CAP_V4L2)
        else:
            if '://' not in source and not Path(source).is_file():
                raise FaceRecognitionError(
                    f'video source {source!r} does not exist: name a camera (0, /dev/video0), '
                    'a video file, an image folder or a URL.')
            self._capture = cv2.VideoCapture(source)
        if not self._capture.isOpened():
            raise FaceRecognitionError(
                f'cannot open video source {source!r}: check the device or file, and that '
                'OpenCV was built with a backend that reads it.')
        if self.is_camera and width > 0 and height > 0:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.native_rate = 0.0 if self.is_camera or not (0 < fps < 1000) else float(fps)
        self.description = source

    def read(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        return frame if ok and frame is not None and frame.size else None

    def rewind(self) -> bool:
        return not self.is_camera and self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        self._capture.release()


class _FolderSource:
    """The images of a folder in name order."""

    def __init__(self, folder: Path, logger):
        self._files = sorted(p for p in folder.iterdir()
                             if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise FaceRecognitionError(f'folder {str(folder)!r} holds no images '
                                       f'({", ".join(sorted(IMAGE_SUFFIXES))}).')
        self._index = 0
        self._logger = logger
        self.is_camera = False
        self.native_rate = FOLDER_RATE_HZ
        self.description = f'{folder} ({len(self._files)} images)'

    def read(self) -> np.ndarray | None:
        while self._index < len(self._files):
            path = self._files[self._index]
            self._index += 1
            try:
                return load_image(path)
            except ImageError as error:
                self._logger.warning(f'skipped: {error}')
        return None

    def rewind(self) -> bool:
        self._index = 0
        return True

    def close(self) -> None:
        pass


class _JetsonSource:
    """jetson_utils.videoSource: CSI cameras and the other jetson-utils streams."""

    def __init__(self, uri: str, width: int, height: int):
        try:
            import jetson_utils
        except ImportError:
            jetson_utils = None
        if jetson_utils is None:
            try:  # jetson-inference releases before 2022 name it jetson.utils
                import jetson.utils as jetson_utils
            except ImportError as error:
                raise FaceRecognitionError(
                    f'{uri!r} needs jetson_utils (jetson-inference), which is not installed: '
                    'run on a Jetson inside the dustynv/ros container, or use a V4L2 camera '
                    '(/dev/video0) instead.') from error
        self._utils = jetson_utils
        argv = []
        if width > 0 and height > 0:
            argv += [f'--input-width={width}', f'--input-height={height}']
        self._source = jetson_utils.videoSource(uri, argv=argv)
        self.is_camera = uri.startswith(('csi://', 'v4l2://'))
        self.native_rate = 0.0
        self.description = uri

    def read(self) -> np.ndarray | None:
        try:
            image = self._source.Capture(timeout=1000)
        except TypeError:  # jetson.utils before 2022: no timeout argument
            image = self._source.Capture()
        if image is None:  # a timeout; the stream may continue
            return np.empty((0, 0, 3), np.uint8) if self._source.IsStreaming() else None
        self._utils.cudaDeviceSynchronize()
        rgb = self._utils.cudaToNumpy(image)
        return cv2.cvtColor(np.asarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2BGR)

    def rewind(self) -> bool:
        return False

    def close(self) -> None:
        self._source.Close()


def open_source(source: str, width: int = 0, height: int = 0, logger=None):
    """Open the frame source ``source`` names (see the module docstring)."""
    source = source.strip()
    if not source:
        raise FaceRecognitionError(
            'parameter source is empty: name a camera (0, /dev/video0), a video file, an image '
            'folder or a URL.')
    if source.startswith(_JETSON_SCHEMES):
        return _JetsonSource(source, width, height)
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        return _FolderSource(path, logger)
    return _OpenCvSource(str(path) if path.exists() else source, width, height)


# --- The node -----------------------------------------------------------------------------------

class VideoSourceNode(Node):
    """Reads frames in a thread and publishes them on ``image`` at the chosen rate."""

    def __init__(self, **node_options):
        super().__init__(NODE_NAME, **node_options)
        self._declare_parameters()
        value = {name: self.get_parameter(name).value for name in (
            'source', 'loop', 'rate', 'frame_id', 'width', 'height', 'shutdown_at_end',
            'wait_for_subscriber', 'min_subscribers', 'stall_timeout',
            'reconnect_max_interval')}
        self._open_args = (value['source'], value['width'], value['height'])
        self._stall_timeout_s = value['stall_timeout']
        self._reconnect_max_s = value['reconnect_max_interval']
        self._loop = value['loop']
        self._frame_id = value['frame_id']
        self._shutdown_at_end = value['shutdown_at_end']
        self._wait_for_subscriber = value['wait_for_subscriber']
        self._min_subscribers = max(1, value['min_subscribers'])
        self._source = open_source(value['source'], value['width'], value['height'],
                                   self.get_logger())
        rate = value['rate'] or self._source.native_rate
        self._period_s = 1.0 / rate if rate > 0 else 0.0
        self._publisher = node_support.create_image_publisher(self, 'image')
        self._diagnostics = node_support.NodeDiagnostics(self, 'video source')
        self._diagnostics.values['source'] = self._source.description
        self.frames_published = 0
        self._last_frame_at = time.monotonic()
        self._lost: str | None = None  # why the live source gives no frames, while it does not
        self._stop = threading.Event()
        if getattr(self._source, 'is_live', False):
            # The reader thread may hang inside read() (a stream that stopped sending): the
            # executor notices the silence, within stall_timeout plus this period.
            self.create_timer(0.2, self._watch_live_source)
        self._thread = threading.Thread(target=self._run, name='video_source', daemon=True)
        self._thread.start()
        self.get_logger().info(
            f'publishing {self._source.description} on {self.resolve_topic_name("image")} at '
            f'{f"{rate:.1f} frames/s" if rate > 0 else "the camera rate"}'
            f'{", looping" if self._loop and not self._source.is_camera else ""}')

    def _declare_parameters(self) -> None:
        def describe(text, **extra):
            return ParameterDescriptor(description=text, read_only=True, **extra)

        self.declare_parameter('source', '0', describe(
            'Camera index (0) or device (/dev/video0), video file or URL, image folder, or a '
            'jetson_utils URI (csi://0) on a Jetson.'))
        self.declare_parameter('loop', True, describe(
            'Start a video file or image folder again when it ends.'))
        self.declare_parameter('rate', 0.0, describe(
            f"Frames per second to publish; 0: the video file's own rate, "
            f'{FOLDER_RATE_HZ:g} for a folder, as delivered for a camera.',
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1000.0)]))
        self.declare_parameter('frame_id', 'camera', describe(
            "header.frame_id of the published images (the camera's optical frame)."))
        self.declare_parameter('width', 0, describe(
            'Capture width to request from a camera; 0: its default.',
            integer_range=[IntegerRange(from_value=0, to_value=10000, step=1)]))
        self.declare_parameter('height', 0, describe(
            'Capture height to request from a camera; 0: its default.',
            integer_range=[IntegerRange(from_value=0, to_value=10000, step=1)]))
        self.declare_parameter('shutdown_at_end', False, describe(
            'Exit the node when a video file or folder ends (with loop false).'))
        self.declare_parameter('wait_for_subscriber', False, describe(
            'Start reading only once something subscribes to the image topic, so a recorded '
            'video is processed from its first frame (demos, benchmarks, tests).'))
        self.declare_parameter('stall_timeout', 1.0, describe(
            'Seconds without a frame from a camera or stream after which it counts as lost: '
            'ERROR on /diagnostics, and video_source reconnects.',
            floating_point_range=[FloatingPointRange(from_value=0.1, to_value=60.0)]))
        self.declare_parameter('reconnect_max_interval', 5.0, describe(
            'Longest wait between two attempts to reopen a lost camera or stream (the wait '
            'doubles from 0.25 s up to this).',
            floating_point_range=[FloatingPointRange(from_value=0.25, to_value=300.0)]))
        self.declare_parameter('min_subscribers', 1, describe(
            'With wait_for_subscriber: how many subscriptions to wait for (detector, '
            'recognizer and overlay: 3), so the first frames reach all of them.',
            integer_range=[IntegerRange(from_value=1, to_value=100, step=1)]))

    def _run(self) -> None:
        if self._wait_for_subscriber:
            # Subscribers match one by one, sometimes seconds apart (DDS discovery): frames
            # sent before the detector matched would reach only the others.
            self._diagnostics.idle_message = (
                f'waiting for {self._min_subscribers} subscriber(s) before publishing')
            while self._publisher.get_subscription_count() < self._min_subscribers:
                if self._stop.wait(0.05):
                    return
            self._diagnostics.idle_message = None
        next_time = time.monotonic()
        frames_this_pass = 0  # a loop over a source without one readable frame never ends
        while not self._stop.is_set():
            frame = self._source.read()
            if frame is None and getattr(self._source, 'is_live', False):
                if not self._reconnect():
                    return
                next_time = time.monotonic()
                continue
            if frame is None:
                if self._loop and frames_this_pass and self._source.rewind():
                    frames_this_pass = 0
                    continue
                if self._loop and not frames_this_pass and not self._source.is_camera:
                    self.get_logger().error(
                        f'{self._source.description} has no readable frame: nothing to '
                        "publish or loop over; check the file or the folder's images")
                else:
                    self.get_logger().info(
                        f'end of {self._source.description}: {self.frames_published} frames '
                        'published')
                    # Done on purpose: /diagnostics says so instead of warning "no frames".
                    self._diagnostics.idle_message = (
                        f'end of {self._source.description}: {self.frames_published} frames '
                        'published (loop is false)')
                if self._shutdown_at_end:
                    self.context.try_shutdown()  # rclpy.spin returns, main() cleans up
                return
            if frame.size == 0:
                continue
            frames_this_pass += 1
            if self._period_s:
                next_time += self._period_s
                delay = next_time - time.monotonic()
                if delay > 0:
                    if self._stop.wait(delay):
                        return
                else:
                    next_time = time.monotonic()  # late: do not try to catch up in a burst
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self._frame_id)
            try:
                self._publisher.publish(bgr_to_image_msg(frame, header))
            except Exception as error:  # noqa: BLE001 - context shut down while publishing
                if self.context.ok():
                    self.get_logger().error(f'publishing failed: {error}')
                return
            self.frames_published += 1
            self._last_frame_at = time.monotonic()
            self._diagnostics.frame_done()
            if self._lost is not None:
                self._set_lost(None)

    # ------------------------------------------------------------------ a lost camera
    def _set_lost(self, why: str | None) -> None:
        if why == self._lost:
            return
        self._lost = why
        self._diagnostics.problem_level = DiagnosticStatus.ERROR
        self._diagnostics.problem = why
        if why is not None:
            self.get_logger().error(f'{why}; reconnecting')
        else:
            self.get_logger().info(f'{self._source.description} is back: publishing again')

    def _watch_live_source(self) -> None:
        """
        Timer: a camera or stream silent for stall_timeout is lost.

        It is lost even while the reader thread still waits inside read().
        """
        silent_s = time.monotonic() - self._last_frame_at
        if self._lost is None and silent_s > self._stall_timeout_s and \
                not self._diagnostics.idle_message:
            self._set_lost(f'no frame from {self._source.description} for {silent_s:.1f} s')

    def _reconnect(self) -> bool:
        """
        Reopen the lost live source; False when the node stops meanwhile.

        It waits 0.25 s, 0.5 s, ... up to reconnect_max_interval between attempts.
        """
        self._set_lost(f'lost {self._source.description} (read failed)')
        wait_s, attempt = 0.25, 0
        while not self._stop.wait(wait_s):
            attempt += 1
            self._source.close()
            try:
                self._source = open_source(*self._open_args, self.get_logger())
                return True
            except FaceRecognitionError as error:
                self.get_logger().warning(
                    f'reconnect attempt {attempt} failed: {error}', throttle_duration_sec=10.0)
            wait_s = min(wait_s * 2, self._reconnect_max_s)
        return False

    def destroy_node(self):
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        # A reader still blocked in read() (a hung stream) must not have its capture freed
        # under it; the process is ending and the OS reclaims it.
        if not self._thread.is_alive():
            self._source.close()
        return super().destroy_node()


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition video_source``."""
    return node_support.run_node(VideoSourceNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
