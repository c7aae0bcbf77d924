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
face_recognizer node: names the faces that face_detector found, and manages the gallery.

Subscribes ``image`` (sensor_msgs/Image, sensor-data QoS overridable from YAML) and
``faces/detections`` (vision_msgs/Detection2DArray, reliable depth 10), pairs them by
stamp, and runs ``FacePipeline.recognize`` with tracking on (only new, uncertain or stale
tracks are embedded; boxes without landmarks get them from the landmark locator).

Publishes, with the header of the image every time and an empty array for a frame
without faces:
- ``faces/identified`` (vision_msgs/Detection2DArray): class_id = name or 'unknown',
  score = match confidence, Detection2D.id = track id, bbox as detected (clipped to the
  image);
- ``faces/faces`` (face_recognition/FaceArray): the same plus landmarks, similarity and,
  with ``publish_embeddings``, the embeddings computed for that frame.

In ``face_pipeline`` (face_detector and this node in one process) the image and detection
subscriptions are replaced by ``recognize_detected``, which face_detector calls with each
frame in memory; topics, services and parameters stay the same.

Frames are recognised on one worker thread, the newest first: in the two-process layout
the subscription callback only queues the pair (a frame that waits while a newer one
arrives is dropped and counted on /diagnostics), in face_pipeline up to three wait.

Services: ``~/enroll`` (a name and an image, or an empty image for the face in the latest
frame), ``~/forget``, ``~/list_people``. The models of an enrollment run as a job on that
same worker, so no two threads ever use one model session. Every change goes to the
gallery store (``gallery_path``: a file, or a ``postgresql://`` database shared by a
fleet) in one locked step that re-reads what others stored, and only then into use.
Changes made by others (the CLI, another node, another robot) are picked up by a watcher
thread within a second (``core/gallery_store.py``). Names are personal data: the log
says who only at DEBUG level; a refused ``~/forget`` does not say who is enrolled.

The default gallery is ``$ROS_HOME/face_recognition/gallery.npz`` (``~/.ros/...`` when
ROS_HOME is unset), where ROS keeps other per-user state; a missing file means an empty
gallery, created by the first enrollment.
"""

from __future__ import annotations

import os
from pathlib import Path
import threading
import time
import traceback
from typing import Sequence

from face_recognition.msg import FaceArray
from face_recognition.srv import Enroll, Forget, ListPeople
from face_recognition_ros import node_support
from face_recognition_ros.core import open_set
from face_recognition_ros.core.enrollment import check_enrollment_image
from face_recognition_ros.core.errors import FaceRecognitionError, ImageError, InvalidNameError
from face_recognition_ros.core.gallery import Gallery, validate_name
from face_recognition_ros.core.gallery_store import is_database_location
from face_recognition_ros.core.pipeline import build_pipeline
from face_recognition_ros.core.types import Detection
from face_recognition_ros.node_support import message_pairing
from face_recognition_ros.ros_conversions import (
    detections_from_msg, faces_to_face_array_msg, faces_to_identified_msg, image_is_empty,
    image_msg_to_bgr, stamp_to_ns
)
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

NODE_NAME = 'face_recognizer'

COMPOSED_QUEUE_FRAMES = 3
"""In face_pipeline: frames that may wait for recognition while the detector goes on with
the next ones (a new face's embedding can take longer than a frame period); beyond that
the oldest waiting frame is dropped and counted."""

LATEST_FRAME_MAX_AGE_S = 5.0
"""~/enroll without an image refuses a latest frame older than this: whoever stood in
front of the camera then may have left, and a stranger's face must not be enrolled."""

GALLERY_FILE = Path('face_recognition') / 'gallery.npz'
"""Where the gallery lives under ROS_HOME (or ~/.ros) when gallery_path is empty."""


def default_gallery_path() -> Path:
    """``$ROS_HOME/face_recognition/gallery.npz``, or ``~/.ros/face_recognition/...``."""
    ros_home = os.environ.get('ROS_HOME')
    base = Path(ros_home) if ros_home else Path.home() / '.ros'
    return base.expanduser() / GALLERY_FILE


ENROLL_TIMEOUT_S = 30.0
"""Longest an enrollment waits for the worker (a frame's recognition, then the models)."""

STORE_WATCH_S = 0.5
"""How long the watcher waits for a change of the store per round (then checks for stop)."""


class FaceRecognizerNode(Node):
    """
    Pairs images with detections, names the faces, serves enrollment.

    ``detections_in_process``: no image and detection subscriptions; frames come through
    ``recognize_detected`` from a face_detector in the same process (``face_pipeline``).
    """

    def __init__(self, *, detections_in_process: bool = False, **node_options):
        super().__init__(NODE_NAME, **node_options)
        self._declare_parameters()
        p = self._parameter_values()
        location = p['gallery_path']
        if not location:
            location = default_gallery_path()
        elif not is_database_location(location):
            location = Path(location).expanduser()
        self.pipeline = build_pipeline(
            gallery_path=location, create_gallery=True,
            embedder_backend=p['embedder_backend'],
            embedder_model=p['embedder_model_path'] or None,
            tracker_options={'reembed_interval': p['reembed_interval'],
                             'confirm_votes': p['confirm_votes'],
                             'contest_distance': p['contest_distance']},
            num_threads=p['num_threads'] or None)
        self.store = self.pipeline.gallery_store
        # The threshold is derived from the gallery as it is and its stored calibration
        # (core/open_set.py), the same way in every process; match_threshold fixes it for
        # this run only, max_false_name_rate changes the target for this run only.
        self._threshold_override = p['match_threshold'] or None
        self._false_name_rate = p['max_false_name_rate'] or None
        self._stored = self.store.load()
        gallery, point = self._for_matching(self._stored)
        self.pipeline.gallery = gallery
        self.get_logger().info(
            f'gallery {self.store.location}: {len(gallery)} people'
            f'{"" if len(gallery) else " (nobody yet: call ~/enroll)"}, '
            f'{open_set.describe_operating_point(point)}, '
            f'embedder {self.pipeline.embedder.model_id}')
        self.get_logger().debug(f'enrolled: {", ".join(gallery.names())}')

        self._latest = None  # (frame, detections, received) of the last paired frame
        self._problems = node_support.RepeatLimitedLog(self.get_logger())
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._identified_pub = self.create_publisher(Detection2DArray, 'faces/identified',
                                                     reliable)
        self._faces_pub = self.create_publisher(FaceArray, 'faces/faces', reliable)
        self._pairing, self._worker = None, None
        if not detections_in_process:
            self._pairing = message_pairing.ImageDetectionsPairing(
                self, self._on_frame, detections_type=Detection2DArray,
                detections_topic='faces/detections', slop_s=p['sync_slop'])
        self.create_service(Enroll, '~/enroll', self._always_answer('enroll', self._on_enroll))
        self.create_service(Forget, '~/forget', self._always_answer('forget', self._on_forget))
        self.create_service(ListPeople, '~/list_people', self._on_list_people)
        self._diagnostics = node_support.NodeDiagnostics(self, 'face recognition')
        self._diagnostics.gallery_size = len(gallery)
        self._report_operating_point(point)
        # The one thread that uses the models: frames, and enrollments as jobs. Its own
        # thread, so the executor (face_detector's too in face_pipeline) goes on meanwhile.
        self._worker = node_support.LatestFrameWorker(
            self._process_frame, self.get_logger(), name='face_recognizer',
            on_drop=self._diagnostics.count_dropped,
            capacity=COMPOSED_QUEUE_FRAMES if detections_in_process else 1,
            context_ok=lambda: rclpy.ok(context=self.context))
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch_store, name='gallery_watcher',
                                         daemon=True)
        self._watcher.start()
        source = 'face_detector in this process' if detections_in_process else \
            f'{self.resolve_topic_name("image")} + {self.resolve_topic_name("faces/detections")}'
        self.get_logger().info(
            f'ready: {source} -> {self.resolve_topic_name("faces/identified")}')

    # ------------------------------------------------------------------ parameters
    def _declare_parameters(self) -> None:
        def describe(text, **ranges):
            return ParameterDescriptor(description=text, **ranges)

        self.declare_parameter('gallery_path', '', describe(
            'Gallery file (.npz) to load and to save enrollments into, or a postgresql:// '
            'URI of a database shared by several robots. Empty: '
            '$ROS_HOME/face_recognition/gallery.npz (~/.ros/... without ROS_HOME). '
            'A missing file is an empty gallery.', read_only=True))
        self.declare_parameter('match_threshold', 0.0, describe(
            'Fixed cosine similarity at or above which a face takes the enrolled name. 0: '
            'derived from max_false_name_rate, the gallery as it is and its calibration '
            '(the same in every process and robot sharing the gallery).',
            read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)]))
        self.declare_parameter('max_false_name_rate', 0.0, describe(
            "Share of strangers' faces that may be given a name; the threshold follows from "
            "it. 0: the target of the gallery's calibration (face_recognition calibrate), "
            'else 0.01.', read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=0.5)]))
        self.declare_parameter('embedder_backend', 'sface', describe(
            "Embedding model: 'sface' (bundled) or 'classifier' (an ONNX file exported by "
            'training/, named by embedder_model_path).', read_only=True))
        self.declare_parameter('embedder_model_path', '', describe(
            'ONNX file of the embedder; empty: the bundled model of the backend.',
            read_only=True))
        self.declare_parameter('sync_slop', 0.0, describe(
            'Seconds by which image and detection stamps may differ and still pair. 0: exact '
            'stamps (face_detector copies the image header, so exact is right for it).',
            read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)]))
        self.declare_parameter('reembed_interval', 15, describe(
            'Frames between routine re-embeddings of a tracked face (new and uncertain faces '
            'are embedded at once).', read_only=True,
            integer_range=[IntegerRange(from_value=1, to_value=1000, step=1)]))
        self.declare_parameter('confirm_votes', 2, describe(
            'Identifications that must agree on a person before a track publishes the name '
            '(unless all were decisive); until then the face is unknown, the candidate is the '
            'second hypothesis. 1: name on the first identification.', read_only=True,
            integer_range=[IntegerRange(from_value=1, to_value=7, step=1)]))
        self.declare_parameter('contest_distance', 0.8, describe(
            'Face sizes between two faces below which boxes cannot keep them apart: both '
            'drop their names until each is identified again once apart. 0: off.',
            read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=3.0)]))
        self.declare_parameter('publish_embeddings', False, describe(
            'Put each computed embedding into faces/faces (128 floats per embedded face); '
            'can be changed while the node runs.'))
        self.declare_parameter('num_threads', 0, describe(
            'CPU threads per model; 0: the runtime decides.', read_only=True,
            integer_range=[IntegerRange(from_value=0, to_value=64, step=1)]))

    def _parameter_values(self) -> dict:
        names = ('gallery_path', 'match_threshold', 'max_false_name_rate', 'embedder_backend',
                 'embedder_model_path',
                 'sync_slop', 'reembed_interval', 'confirm_votes', 'contest_distance',
                 'publish_embeddings', 'num_threads')
        return {name: self.get_parameter(name).value for name in names}

    # ---------------------------------------------------------------------- frames
    def _on_frame(self, image_msg: Image, detections_msg: Detection2DArray) -> None:
        """Queue a paired image and Detection2DArray from the topics for the worker."""
        self._worker.submit(('topics', image_msg, detections_msg, time.perf_counter()))

    def recognize_detected(self, header: Header, frame: np.ndarray,
                           detections: Sequence[Detection]) -> None:
        """
        Take a frame and its detections from face_detector in this process (face_pipeline).

        The detections keep the detector's landmarks, which the topic cannot carry, so no
        landmark search is needed for them. Queued for this node's worker thread.
        """
        self._worker.submit(('memory', header, frame, list(detections), None))

    def _process_frame(self, item) -> None:
        """On the worker: one queued frame."""
        if item[0] == 'memory':
            self._recognize_and_publish(*item[1:])
            return
        _, image_msg, detections_msg, start = item
        try:
            frame = image_msg_to_bgr(image_msg)
        except ImageError as error:
            self._diagnostics.count_error()
            self._log_problem(f'image skipped: {error}')
            return
        height, width = frame.shape[:2]
        detections, rejected = detections_from_msg(detections_msg, (width, height))
        if rejected:
            self._log_problem(f'bad boxes from {self._pairing.detections_topic}: '
                              + ' | '.join(rejected), error=False, kind='bad boxes')
        self._recognize_and_publish(image_msg.header, frame, detections, start)

    def _recognize_and_publish(self, header: Header, frame: np.ndarray,
                               detections: list[Detection], start: float | None = None
                               ) -> None:
        start = time.perf_counter() if start is None else start
        try:
            result = self.pipeline.recognize(frame, detections)
            self._latest = (frame, detections, time.monotonic())
        except FaceRecognitionError as error:
            self._diagnostics.count_error()
            self._log_problem(f'frame skipped: {error}')
            return
        except Exception:  # noqa: BLE001 - a bug on one frame must not stop the robot's node
            self._diagnostics.count_error()
            self._log_problem(f'frame skipped, unexpected error (please report it):\n'
                              f'{traceback.format_exc()}')
            return
        faces = result.faces
        # Read per frame: the only parameter that is not read-only, so `ros2 param set
        # /face_recognizer publish_embeddings true` takes effect on the next frame.
        if not self.get_parameter('publish_embeddings').value:
            for face in faces:
                face.embedding = None
        self._identified_pub.publish(faces_to_identified_msg(faces, header))
        if self._faces_pub.get_subscription_count():
            self._faces_pub.publish(faces_to_face_array_msg(faces, header))
        if self._pairing is not None:
            values = self._diagnostics.values
            values['unpaired_images'] = self._pairing.unpaired_images
            values['unpaired_detections'] = self._pairing.unpaired_detections
        self._diagnostics.frame_done(
            stamp_ns=stamp_to_ns(header.stamp),
            processing_ms=(time.perf_counter() - start) * 1000.0)

    def destroy_node(self):
        self._stopping.set()
        self._worker.stop()
        self._watcher.join(STORE_WATCH_S * 4)
        self.store.close()
        return super().destroy_node()

    # ---------------------------------------------------------------------- gallery
    def _for_matching(self, stored: Gallery):
        """``(gallery at its operating point, OperatingPoint)`` for this node's parameters."""
        return open_set.matching_gallery(stored, self._false_name_rate,
                                         self._threshold_override)

    def _report_operating_point(self, point: open_set.OperatingPoint) -> None:
        """
        Show the threshold in use and its origin on /diagnostics.

        Every robot sharing a gallery must show the same (and an operator can see what
        calibrate changed).
        """
        self._diagnostics.values['threshold'] = f'{point.threshold:.4f}'
        self._diagnostics.values['threshold_source'] = point.source
        expected = point.expected_false_name_rate
        self._diagnostics.values['expected_false_name_rate'] = \
            '' if expected is None else f'{expected:.4g}'

    def _watch_store(self) -> None:
        """Watcher thread: changes others made to the store go into use (on the worker)."""
        problem = None
        while not self._stopping.is_set():
            try:
                changed = self.store.changed(timeout=STORE_WATCH_S)
            except Exception as error:  # noqa: BLE001 - keep naming with the last gallery
                changed = None
                self.store_problem = f'gallery unreadable: {error}'
                self._stopping.wait(1.0)
            else:
                self.store_problem = self.store.problem or None
            if self.store_problem != problem:
                problem = self.store_problem
                self._diagnostics.problem = problem
                if problem:
                    self.get_logger().warning(
                        f'{problem}; naming goes on with the {len(self._stored)} people '
                        'last loaded')
                else:
                    self.get_logger().info(f'gallery {self.store.location} reachable again')
            if changed is not None:
                self._use_stored_gallery()

    def _use_stored_gallery(self):
        """
        Match with the store's newest value from the next frame on; the worker's job.

        The threshold is derived here, on the calling thread (the watcher, a service),
        while the worker goes on naming frames with the previous value: at 100,000 people
        it takes about half a second (docs/benchmarks.md). Only the swap runs on the worker.
        """
        stored = self.store.value
        if stored is self._stored:
            return None
        gallery, point = self._for_matching(stored)
        return self._worker.run_job(lambda: self._swap_gallery(stored, gallery, point))

    def _swap_gallery(self, stored: Gallery, gallery: Gallery,
                      point: open_set.OperatingPoint) -> None:
        """
        Put ``stored`` into use; runs on the worker.

        A value older than the store's newest is skipped: the job of the newest one (queued
        by whoever saw it) puts that one into use.
        """
        if stored is self._stored or stored is not self.store.value:
            return
        before = len(self._stored)
        self._stored = stored
        self.pipeline.gallery = gallery  # every track identifies afresh
        self._diagnostics.gallery_size = len(stored)
        self._report_operating_point(point)
        self.get_logger().info(f'gallery updated: {len(stored)} people (was {before}), '
                               f'{open_set.describe_operating_point(point)}')

    def _log_problem(self, text: str, error: bool = True, kind: str | None = None) -> None:
        """
        Log a bad-input message at most once per interval for each kind of problem.

        This is ``node_support.RepeatLimitedLog``: a publisher sending a bad frame at 30 Hz,
        or ever other bad sizes, must not flood the log.
        """
        if error:
            self._problems.error(text, kind)
        else:
            self._problems.warning(text, kind)

    # -------------------------------------------------------------------- services
    def _on_enroll(self, request: Enroll.Request, response: Enroll.Response):
        response.success, response.samples = False, 0
        try:
            name = validate_name(request.name)
        except InvalidNameError as error:
            response.message = f'not enrolled: {error}'
            return self._answer('enroll', response)
        try:
            if not image_is_empty(request.image):
                # Before any decoding: a huge image must not make the node allocate it.
                check_enrollment_image(request.image.width, request.image.height)
            found, source = self._worker.run_job(
                lambda: self._embed_for_enrollment(request.image)).result(ENROLL_TIMEOUT_S)
        except FaceRecognitionError as error:
            response.message = f'not enrolled: {error}'
            return self._answer('enroll', response, name)
        except TimeoutError:
            response.message = (f'not enrolled: the recognizer was busy for '
                                f'{ENROLL_TIMEOUT_S:.0f} s; try again')
            return self._answer('enroll', response, name)
        if found is None:
            response.message = f'not enrolled: {source}'
            return self._answer('enroll', response, name)
        if not found:
            response.message = (f'not enrolled: no usable face in {source}; the person should '
                                'face the camera, closer and well lit')
            return self._answer('enroll', response, name)
        if len(found) > 1:
            response.message = (f'not enrolled: {len(found)} faces in {source}; exactly one '
                                'person must be in view (or send a cropped image)')
            return self._answer('enroll', response, name)
        embedding = np.asarray(found[0][1], dtype=np.float32)[None]
        try:
            stored = self.store.enroll({name: embedding})
        except FaceRecognitionError as error:
            response.message = f'gallery unchanged: {error}'
            return self._answer('enroll', response, name)
        self._use_now()
        samples = stored.counts().get(name, 0)
        response.success, response.samples = True, int(samples)
        response.message = (f'enrolled {name!r} from {source}: {samples} sample(s); '
                            f'stored in {self.store.location}')
        return self._answer('enroll', response, name)

    def _embed_for_enrollment(self, image_msg: Image):
        """On the worker: (faces found, where) or (None, why not)."""
        if not image_is_empty(image_msg):
            return self.pipeline.embed_faces(image_msg_to_bgr(image_msg)), 'the image'
        if self._latest is None:
            return None, (f'no frame received yet on {self.resolve_topic_name("image")}; '
                          'send an image with the request or start the camera and '
                          'face_detector')
        frame, detections, received = self._latest
        age_s = time.monotonic() - received
        if age_s > LATEST_FRAME_MAX_AGE_S:
            return None, (f'the latest frame is {age_s:.0f} s old; is the camera still '
                          'publishing? Enroll while the person is in view, or send an image '
                          'with the request')
        return self.pipeline.embed_faces(frame, detections), 'the latest frame'

    def _use_now(self) -> None:
        """Put the store's newest value in use before a service answers (the next frame)."""
        try:
            job = self._use_stored_gallery()
            if job is not None:
                job.result(ENROLL_TIMEOUT_S)
        except (TimeoutError, RuntimeError):
            pass  # the watcher's job applies it a moment later

    def _on_forget(self, request: Forget.Request, response: Forget.Response):
        response.success = False
        try:
            name = validate_name(request.name)
        except InvalidNameError as error:
            response.message = f'nothing forgotten: {error}'
            return self._answer('forget', response)
        try:
            _, counts = self.store.forget([name])
        except FaceRecognitionError as error:
            response.message = f'gallery unchanged: {error}'
            return self._answer('forget', response, name)
        if not counts.get(name):
            # Who else is enrolled is not the caller's business: ~/list_people says it to
            # those allowed to call it.
            response.message = f'nothing forgotten: {name!r} is not enrolled'
            return self._answer('forget', response, name)
        self._use_now()
        response.success = True
        response.message = (f'forgot {name!r} ({counts[name]} sample(s)); removed from '
                            f'{self.store.location}')
        return self._answer('forget', response, name)

    def _on_list_people(self, request: ListPeople.Request, response: ListPeople.Response):
        counts = self.store.value.counts()
        response.names = sorted(counts)
        response.counts = [int(counts[name]) for name in response.names]
        return response

    def _always_answer(self, service: str, handler):
        """
        Return ``handler`` made to answer every request.

        An unexpected error (a bug) becomes success=False with a message, instead of a
        caller left waiting for a reply that never comes (rclpy sends none when the
        callback raises).
        """
        def answer(request, response):
            try:
                return handler(request, response)
            except Exception as error:  # noqa: BLE001 - the caller must get an answer
                self._log_problem(f'{service} failed: {type(error).__name__}: {error}\n'
                                  f'{traceback.format_exc()}')
                response.success = False
                response.message = (f'gallery unchanged: the recognizer failed '
                                    f'({type(error).__name__}: {error}); see its log')
                return response
        return answer

    def _answer(self, service: str, response, name: str | None = None):
        """Log the outcome; the person's name only at DEBUG (names are personal data)."""
        text = response.message
        if name:
            text = text.replace(repr(name), '<name>').replace(name, '<name>')
        # rclpy refuses two severities from one call site: one call per severity.
        if response.success:
            self.get_logger().info(f'{service}: {text}')
        else:  # each kind of refusal once per interval: any node may call the service
            # The kind from the message before '<name>' went in: a name such as 'a' put
            # '<name>' into every word and made each refusal a kind of its own.
            self._log_problem(f'{service} refused: {text}', error=False,
                              kind=f'{service}: {node_support.problem_kind(response.message)}')
        self.get_logger().debug(f'{service}: {response.message}')
        return response


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_recognizer``."""
    return node_support.run_node(FaceRecognizerNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
