"""face_recognizer node: names the faces that face_detector found, and manages the gallery.

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

Services: ``~/enroll`` (a name and an image, or an empty image for the face in the latest
frame), ``~/forget``, ``~/list_people``. Every change is saved atomically to
``gallery_path`` before it is used, so the file and the node never disagree.

The default gallery is ``$ROS_HOME/face_recognition/gallery.npz`` (``~/.ros/...`` when
ROS_HOME is unset), where ROS keeps other per-user state; a missing file means an empty
gallery, created by the first enrollment.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import Sequence

import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from face_recognition.msg import FaceArray
from face_recognition.srv import Enroll, Forget, ListPeople
from face_recognition_ros.core.errors import FaceRecognitionError, ImageError, InvalidNameError
from face_recognition_ros.core.gallery import Gallery, validate_name
from face_recognition_ros.core.pipeline import build_pipeline
from face_recognition_ros.core.types import Detection
from face_recognition_ros.nodes import message_pairing, node_support
from face_recognition_ros.ros_conversions import (detections_from_msg,
                                                  faces_to_face_array_msg,
                                                  faces_to_identified_msg, image_is_empty,
                                                  image_msg_to_bgr, stamp_to_ns)

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


def _copy_gallery(gallery: Gallery, without: str | None = None) -> Gallery:
    """A new Gallery with the same people (minus ``without``): changes are made on a copy,
    saved, and only then swapped in, so a failed save leaves the running gallery as it was."""
    copy = Gallery(gallery.model_id, gallery.threshold)
    copy.created = gallery.created
    for name in gallery.names():
        if name != without:
            copy.add(name, gallery.embeddings_of(name))
    return copy


class FaceRecognizerNode(Node):
    """Pairs images with detections, names the faces, serves enrollment.

    ``detections_in_process``: no image and detection subscriptions; frames come through
    ``recognize_detected`` from a face_detector in the same process (``face_pipeline``).
    """

    def __init__(self, *, detections_in_process: bool = False, **node_options):
        super().__init__(NODE_NAME, **node_options)
        self._declare_parameters()
        p = self._parameter_values()
        self.gallery_path = Path(p['gallery_path']).expanduser() if p['gallery_path'] \
            else default_gallery_path()
        self.pipeline = build_pipeline(
            gallery_path=self.gallery_path, create_gallery=True,
            embedder_backend=p['embedder_backend'],
            embedder_model=p['embedder_model_path'] or None,
            tracker_options={'reembed_interval': p['reembed_interval']},
            num_threads=p['num_threads'] or None)
        gallery = self.pipeline.gallery
        # match_threshold overrides the gallery's threshold for this run only: enrollments
        # save the gallery with the threshold it was made with.
        self._saved_threshold = gallery.threshold
        self._threshold = p['match_threshold'] or gallery.threshold
        gallery.threshold = self._threshold
        self.get_logger().info(
            f'gallery {self.gallery_path}: {len(gallery)} people '
            f'({", ".join(gallery.names()) or "nobody yet: call ~/enroll"}), '
            f'threshold {gallery.threshold:.3f}, embedder {self.pipeline.embedder.model_id}')

        self._latest = None  # (frame, detections, received) of the last paired frame
        # Frames (the executor's thread, or this node's worker in face_pipeline) and the
        # services (the executor) both use the tracker and the gallery: one at a time.
        self._pipeline_lock = threading.Lock()
        self._logged_problems: dict[str, float] = {}
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._identified_pub = self.create_publisher(Detection2DArray, 'faces/identified',
                                                     reliable)
        self._faces_pub = self.create_publisher(FaceArray, 'faces/faces', reliable)
        self._pairing, self._worker = None, None
        if not detections_in_process:
            self._pairing = message_pairing.ImageDetectionsPairing(
                self, self._on_frame, detections_type=Detection2DArray,
                detections_topic='faces/detections', slop_s=p['sync_slop'])
        self.create_service(Enroll, '~/enroll', self._on_enroll)
        self.create_service(Forget, '~/forget', self._on_forget)
        self.create_service(ListPeople, '~/list_people', self._on_list_people)
        self._diagnostics = node_support.NodeDiagnostics(self, 'face recognition')
        self._diagnostics.gallery_size = len(gallery)
        if detections_in_process:
            # Its own thread, so face_detector detects the next frame meanwhile, as with
            # two processes.
            self._worker = node_support.LatestFrameWorker(
                lambda item: self._recognize_and_publish(*item), self.get_logger(),
                name='face_recognizer', on_drop=self._diagnostics.count_dropped,
                capacity=COMPOSED_QUEUE_FRAMES)
        source = 'face_detector in this process' if detections_in_process else \
            f'{self.resolve_topic_name("image")} + {self.resolve_topic_name("faces/detections")}'
        self.get_logger().info(
            f'ready: {source} -> {self.resolve_topic_name("faces/identified")}')

    # ------------------------------------------------------------------ parameters
    def _declare_parameters(self) -> None:
        def describe(text, **ranges):
            return ParameterDescriptor(description=text, **ranges)

        self.declare_parameter('gallery_path', '', describe(
            'Gallery file (.npz) to load and to save enrollments into. Empty: '
            '$ROS_HOME/face_recognition/gallery.npz (~/.ros/... without ROS_HOME). '
            'A missing file is an empty gallery.', read_only=True))
        self.declare_parameter('match_threshold', 0.0, describe(
            'Cosine similarity at or above which a face takes the enrolled name. 0: the '
            "threshold stored in the gallery (SFace's published 0.363 for a new one).",
            read_only=True,
            floating_point_range=[FloatingPointRange(from_value=0.0, to_value=1.0)]))
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
        self.declare_parameter('publish_embeddings', False, describe(
            'Put each computed embedding into faces/faces (128 floats per embedded face); '
            'can be changed while the node runs.'))
        self.declare_parameter('num_threads', 0, describe(
            'CPU threads per model; 0: the runtime decides.', read_only=True,
            integer_range=[IntegerRange(from_value=0, to_value=64, step=1)]))

    def _parameter_values(self) -> dict:
        names = ('gallery_path', 'match_threshold', 'embedder_backend', 'embedder_model_path',
                 'sync_slop', 'reembed_interval', 'publish_embeddings', 'num_threads')
        return {name: self.get_parameter(name).value for name in names}

    # ---------------------------------------------------------------------- frames
    def _on_frame(self, image_msg: Image, detections_msg: Detection2DArray) -> None:
        """A paired image and Detection2DArray from the topics."""
        start = time.perf_counter()
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
                              + ' | '.join(rejected), error=False)
        self._recognize_and_publish(image_msg.header, frame, detections, start)

    def recognize_detected(self, header: Header, frame: np.ndarray,
                           detections: Sequence[Detection]) -> None:
        """A frame and its detections from face_detector in this process (face_pipeline).

        The detections keep the detector's landmarks, which the topic cannot carry, so no
        landmark search is needed for them. Queued for this node's worker thread.
        """
        self._worker.submit((header, frame, list(detections)))

    def _recognize_and_publish(self, header: Header, frame: np.ndarray,
                               detections: list[Detection], start: float | None = None
                               ) -> None:
        start = time.perf_counter() if start is None else start
        try:
            with self._pipeline_lock:
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
        if self._worker is not None:
            self._worker.stop()
        return super().destroy_node()

    def _log_problem(self, text: str, error: bool = True, period_s: float = 5.0) -> None:
        """Log a bad-input message at most once per period for each kind of problem.

        rclpy throttles per call site, which would hide a second, different problem (a
        truncated image after a wrong encoding); the kind here is the message's start.
        """
        kind = text[:40]
        now = time.monotonic()
        if now - self._logged_problems.get(kind, -period_s) < period_s:
            return
        self._logged_problems[kind] = now
        if error:
            self.get_logger().error(text)
        else:
            self.get_logger().warning(text)

    # -------------------------------------------------------------------- services
    def _on_enroll(self, request: Enroll.Request, response: Enroll.Response):
        response.success, response.samples = False, 0
        gallery = self.pipeline.gallery
        try:
            name = validate_name(request.name)
        except InvalidNameError as error:
            response.message = f'not enrolled: {error}'
            return self._answer('enroll', response)
        try:
            if image_is_empty(request.image):
                if self._latest is None:
                    response.message = (
                        f'not enrolled: no frame received yet on '
                        f'{self.resolve_topic_name("image")}; send an image with the '
                        'request or start the camera and face_detector')
                    return self._answer('enroll', response)
                frame, detections, received = self._latest
                age_s = time.monotonic() - received
                if age_s > LATEST_FRAME_MAX_AGE_S:
                    response.message = (
                        f'not enrolled: the latest frame is {age_s:.0f} s old; is the camera '
                        'still publishing? Enroll while the person is in view, or send an '
                        'image with the request')
                    return self._answer('enroll', response)
                source = 'the latest frame'
                found = self.pipeline.embed_faces(frame, detections)
            else:
                source = 'the image'
                found = self.pipeline.embed_faces(image_msg_to_bgr(request.image))
        except FaceRecognitionError as error:
            response.message = f'not enrolled: {error}'
            return self._answer('enroll', response)
        if not found:
            response.message = (f'not enrolled: no usable face in {source}; the person should '
                                'face the camera, closer and well lit')
            return self._answer('enroll', response)
        if len(found) > 1:
            response.message = (f'not enrolled: {len(found)} faces in {source}; exactly one '
                                 'person must be in view (or send a cropped image)')
            return self._answer('enroll', response)
        embedding = np.asarray(found[0][1], dtype=np.float32)[None]
        updated = _copy_gallery(gallery)
        samples = updated.add(name, embedding)
        if not self._save_and_use(updated, response):
            return self._answer('enroll', response)
        response.success, response.samples = True, int(samples)
        response.message = (f'enrolled {name!r} from {source}: {samples} sample(s); '
                            f'saved to {self.gallery_path}')
        return self._answer('enroll', response)

    def _on_forget(self, request: Forget.Request, response: Forget.Response):
        response.success = False
        gallery = self.pipeline.gallery
        try:
            name = validate_name(request.name)
        except InvalidNameError as error:
            response.message = f'nothing forgotten: {error}'
            return self._answer('forget', response)
        if name not in gallery:
            response.message = (f'nothing forgotten: {name!r} is not enrolled (enrolled: '
                                f'{", ".join(gallery.names()) or "nobody"})')
            return self._answer('forget', response)
        count = gallery.counts()[name]
        if not self._save_and_use(_copy_gallery(gallery, without=name), response):
            return self._answer('forget', response)
        response.success = True
        response.message = (f'forgot {name!r} ({count} sample(s)); saved to '
                            f'{self.gallery_path}')
        return self._answer('forget', response)

    def _on_list_people(self, request: ListPeople.Request, response: ListPeople.Response):
        counts = self.pipeline.gallery.counts()
        response.names = sorted(counts)
        response.counts = [int(counts[name]) for name in response.names]
        return response

    def _save_and_use(self, gallery: Gallery, response) -> bool:
        """Persist ``gallery`` then make it the one in use; on failure keep the old one."""
        try:
            self.gallery_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            gallery.threshold = self._saved_threshold
            gallery.save(self.gallery_path)
        except (OSError, FaceRecognitionError) as error:
            response.message = f'gallery unchanged: {error}'
            return False
        finally:
            gallery.threshold = self._threshold
        with self._pipeline_lock:
            self.pipeline.gallery = gallery  # the setter makes every track identify afresh
        self._diagnostics.gallery_size = len(gallery)
        return True

    def _answer(self, service: str, response):
        # rclpy refuses two severities from one call site: one call per severity.
        if response.success:
            self.get_logger().info(f'{service}: {response.message}')
        else:
            self.get_logger().warning(f'{service} refused: {response.message}')
        return response


def main(args=None) -> int:
    """Entry point of ``ros2 run face_recognition face_recognizer``."""
    return node_support.run_node(FaceRecognizerNode, args=args)


if __name__ == '__main__':
    raise SystemExit(main())
