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
The demo: the whole ROS 2 pipeline on the bundled clip, and what it saw.

    python -m face_recognition_ros.tools.demo [--max-frames N] [--output output/demo]

(``scripts/demo.sh`` sets up ROS 2, builds the package and runs this.) Steps:
1. enroll the clip's two people from one photo each (``test/fixtures/hamilton``) into a
   fresh gallery in the output folder, so the demo shows enrollment as users do it;
2. start ``face_detector``, ``face_recognizer`` and ``face_overlay`` as the launch file
   does: detector and recognizer composed in one process (``face_pipeline``), the overlay
   in its own (``--separate-processes``: one process per node), warm their models up
   with the clip's first frame mirrored (left out of every output), then
   ``video_source`` (the clip, once, at its own rate);
3. collect ``faces/identified`` and ``faces/image_annotated`` here, write
   ``annotated.mp4`` and ``identified.jsonl`` (one line per identified message), and print
   frames, faces per name, throughput and latency (image stamp -> identified arrival);
4. stop every node when the clip ends (or after ``--max-frames`` frames) and exit.

Runs in its own ROS domain on localhost only (unless ROS_DOMAIN_ID is set), with the
package's shared-memory Fast DDS profile unless another profile is set.
"""

from __future__ import annotations

import argparse
from collections import Counter
import contextlib
import json
import logging
import os
from pathlib import Path
import sys
import threading
import time

import cv2
from face_recognition_ros.tools.processes import node_command, NodeProcess
import numpy as np

PACKAGE = 'face_recognition'
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / 'test' / 'fixtures' / 'hamilton'
DEFAULT_CLIP = FIXTURES / 'short_hamilton_clip.mp4'
DEMO_PEOPLE = {
    'Lin-Manuel Miranda': FIXTURES / 'lin-manuel-miranda.png',
    'Alex Lacamoire': FIXTURES / 'alex-lacamoire.png',
}
"""The clip's two people and the one reference photo each is enrolled from."""

NODES = ('face_detector', 'face_recognizer', 'face_overlay')
COMPOSED_EXECUTABLES = ('face_pipeline', 'face_overlay')
"""The same nodes in two processes (the launch file's default, use_composition:=true)."""
STARTUP_TIMEOUT_S = 60.0
"""Loading models and DDS discovery on a busy 2-core machine."""
WARMUP_FRAME_ID = 'demo_warmup'
"""frame_id of the frames that wake the models up before the clip plays."""
DRAIN_TIMEOUT_S = 5.0
"""After the last frame: how long to wait for results still in the pipeline."""

_LOG = logging.getLogger('face_recognition.demo')


# --- Gallery ----------------------------------------------------------------------------------

def build_demo_gallery(path: Path, people: dict[str, Path] = DEMO_PEOPLE) -> dict[str, int]:
    """
    Enroll each person from their photo into a new gallery at ``path``; return counts.

    Uses the same detector and embedder as the nodes' defaults, so the recognizer accepts
    the gallery (it checks the embedding model id).
    """
    from face_recognition_ros.core.errors import FaceRecognitionError
    from face_recognition_ros.core.gallery import Gallery
    from face_recognition_ros.core.image_io import load_image
    from face_recognition_ros.core.pipeline import build_pipeline, default_threshold_for

    pipeline = build_pipeline(tracking=False)
    gallery = Gallery(pipeline.embedder.model_id, default_threshold_for(pipeline.embedder))
    for name, photo in people.items():
        found = pipeline.embed_faces(load_image(photo))
        if len(found) != 1:
            raise FaceRecognitionError(
                f'{photo} shows {len(found)} faces, the demo needs exactly one per photo')
        gallery = gallery.with_person(name, found[0][1])
    path.parent.mkdir(parents=True, exist_ok=True)
    gallery.save(path)
    return gallery.counts()


# --- Processes --------------------------------------------------------------------------------

def package_paths() -> tuple[Path, Path]:
    """(lib/face_recognition with the node executables, share/face_recognition)."""
    from ament_index_python.packages import (
        get_package_prefix, get_package_share_directory, PackageNotFoundError
    )
    try:
        prefix = Path(get_package_prefix(PACKAGE))
        share = Path(get_package_share_directory(PACKAGE))
    except PackageNotFoundError as error:
        raise SystemExit(
            f'the ROS 2 package {PACKAGE} is not on AMENT_PREFIX_PATH: run scripts/demo.sh, '
            'or scripts/build_ros.sh then `source scripts/ros_env.sh`') from error
    return prefix / 'lib' / PACKAGE, share


def write_parameters(path: Path, parameters: dict[str, dict]) -> Path:
    """Write a ROS parameter file: {node name: {parameter: value}} (JSON is valid YAML)."""
    document = {node: {'ros__parameters': values} for node, values in parameters.items()}
    path.write_text(json.dumps(document, indent=1))
    return path


def dds_environment(domain_id: int, share: Path, log_dir: Path) -> dict[str, str]:
    """Return the environment of the demo's nodes and of this process."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(domain_id)
    env.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    if env.get('ROS_DISTRO') == 'humble':
        env.setdefault('ROS_LOCALHOST_ONLY', '1')
    profile = share / 'config' / 'fastdds_shm.xml'
    if profile.is_file():
        env.setdefault('FASTRTPS_DEFAULT_PROFILES_FILE', str(profile))
    env['ROS_LOG_DIR'] = str(log_dir)
    env.setdefault('RCUTILS_CONSOLE_OUTPUT_FORMAT', '[{severity}] [{name}]: {message}')
    env['PYTHONUNBUFFERED'] = '1'
    return env


# --- Collector --------------------------------------------------------------------------------

class DemoCollector:
    """
    Subscribes to the pipeline's input and outputs, records them, writes the outputs.

    A frame is a stamp seen on ``image`` or on ``faces/identified``: the collector's own
    image subscription may miss the first frames while DDS discovery completes. With
    ``max_frames`` only the first N stamps count. Runs its rclpy node in a background
    thread; the main thread watches the processes.
    """

    def __init__(self, output: Path, video_fps: float, max_frames: int | None):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        self.output = output
        self.video_fps = video_fps
        self.max_frames = max_frames
        self.lock = threading.Lock()
        self.stamps: set[int] = set()
        self.image_stamps: set[int] = set()
        self.identified: dict[int, dict] = {}
        self.annotated_frames = 0
        self.warmup_answers: set[int] = set()
        self.last_message_at = time.monotonic()
        self._writer = None

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('face_recognition_demo', context=self.context)
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(Image, 'image', self._on_image, qos_profile_sensor_data)
        self.node.create_subscription(Detection2DArray, 'faces/identified', self._on_identified,
                                      reliable)
        self.node.create_subscription(Image, 'faces/image_annotated', self._on_annotated,
                                      QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE))
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name='demo_collector', daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            while self.context.ok():
                self._executor.spin_once(timeout_sec=0.05)

    def _see(self, stamp_ns: int) -> bool:
        """Note a frame's stamp; False when it is beyond the first max_frames (call locked)."""
        self.last_message_at = time.monotonic()
        if self.max_frames is not None and stamp_ns not in self.stamps and \
                len(self.stamps) >= self.max_frames and stamp_ns > max(self.stamps):
            return False
        self.stamps.add(stamp_ns)
        return True

    def _on_image(self, msg) -> None:
        from face_recognition_ros.ros_conversions import stamp_to_ns

        if msg.header.frame_id == WARMUP_FRAME_ID:
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        with self.lock:
            if self._see(stamp_ns):
                self.image_stamps.add(stamp_ns)

    def _on_identified(self, msg) -> None:
        from face_recognition_ros.ros_conversions import faces_from_identified_msg, stamp_to_ns

        arrival_ns = time.time_ns()
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if msg.header.frame_id == WARMUP_FRAME_ID:
            with self.lock:
                self.warmup_answers.add(stamp_ns)
            return
        faces = [{
            'name': face.name,
            'confidence': round(float(face.confidence), 4),
            'track_id': face.track_id,
            'box': [round(float(v), 1) for v in face.box],
        } for face in faces_from_identified_msg(msg)]
        with self.lock:
            if self._see(stamp_ns):
                self.identified[stamp_ns] = {
                    'stamp_ns': stamp_ns, 'frame_id': msg.header.frame_id,
                    'latency_ms': round((arrival_ns - stamp_ns) / 1e6, 2),
                    'arrival_ns': arrival_ns, 'faces': faces}

    def _on_annotated(self, msg) -> None:
        from face_recognition_ros.core.errors import ImageError
        from face_recognition_ros.ros_conversions import image_msg_to_bgr, stamp_to_ns

        if msg.header.frame_id == WARMUP_FRAME_ID:
            return
        with self.lock:
            if not self._see(stamp_to_ns(msg.header.stamp)):
                return
        try:
            frame = image_msg_to_bgr(msg)
        except ImageError as error:
            _LOG.warning('annotated image skipped: %s', error)
            return
        if self._writer is None:
            path = str(self.output / 'annotated.mp4')
            self._writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'),
                                           self.video_fps, (frame.shape[1], frame.shape[0]))
            if not self._writer.isOpened():
                _LOG.error('cannot write %s (no mp4v encoder in this OpenCV)', path)
        if self._writer.isOpened():
            self._writer.write(frame)
        with self.lock:
            self.annotated_frames += 1

    def warm_up(self, frame: np.ndarray, count: int = 3, timeout_s: float = 30.0) -> bool:
        """
        Send ``frame`` through the pipeline ``count`` times before the clip plays.

        The first inference of each model at a new image size allocates its buffers (a few
        hundred ms), and the detector works on the newest frame only: without a warm-up the
        clip's first frames would be skipped while the models wake up. Warm-up frames carry
        frame_id WARMUP_FRAME_ID and are left out of every output.
        """
        from face_recognition_ros.ros_conversions import bgr_to_image_msg, ns_to_stamp
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from std_msgs.msg import Header

        publisher = self.node.create_publisher(
            Image, 'image', QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + timeout_s
        try:
            for _ in range(count):
                stamp = time.time_ns()
                msg = bgr_to_image_msg(frame, Header(stamp=ns_to_stamp(stamp),
                                                     frame_id=WARMUP_FRAME_ID))
                while True:
                    publisher.publish(msg)
                    resend = time.monotonic() + 1.0
                    while time.monotonic() < min(resend, deadline):
                        with self.lock:
                            if stamp in self.warmup_answers:
                                break
                        time.sleep(0.01)
                    else:
                        if time.monotonic() >= deadline:
                            return False
                        continue  # lost on the way (best effort): send it again
                    break
            return True
        finally:
            self.node.destroy_publisher(publisher)

    def frames_seen(self) -> int:
        with self.lock:
            return len(self.stamps)

    def pending(self) -> int:
        """Frames seen on `image` that have no identified result yet."""
        with self.lock:
            return len(self.image_stamps - set(self.identified))

    def idle_s(self) -> float:
        with self.lock:
            return time.monotonic() - self.last_message_at

    def close(self) -> None:
        """Stop listening, finish the video, write identified.jsonl (in stamp order)."""
        self.context.try_shutdown()
        self._thread.join(timeout=5.0)
        self._executor.shutdown()
        self.node.destroy_node()
        if self._writer is not None:
            self._writer.release()
        with open(self.output / 'identified.jsonl', 'w', encoding='utf-8') as jsonl:
            for record in self.records():
                jsonl.write(json.dumps(record) + '\n')

    def records(self) -> list[dict]:
        with self.lock:
            return sorted(self.identified.values(), key=lambda r: r['stamp_ns'])

    def summary(self) -> dict:
        records = self.records()
        with self.lock:
            frames = len(self.stamps)
        per_name = Counter(face['name'] for record in records for face in record['faces'])
        latencies = np.array([record['latency_ms'] for record in records], dtype=np.float64)
        span_s = ((records[-1]['arrival_ns'] - records[0]['arrival_ns']) / 1e9
                  if len(records) > 1 else 0.0)
        return {
            'frames': frames,
            'frames_identified': len(records),
            'frames_without_result': max(frames - len(records), 0),
            'frames_annotated': self.annotated_frames,
            'frames_with_faces': sum(1 for record in records if record['faces']),
            'faces_per_name': dict(per_name.most_common()),
            'fps': round((len(records) - 1) / span_s, 2) if span_s > 0 else None,
            'latency_ms': {
                'median': round(float(np.median(latencies)), 1),
                'p90': round(float(np.percentile(latencies, 90)), 1),
                'max': round(float(latencies.max()), 1),
            } if latencies.size else None,
        }


# --- Main -------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m face_recognition_ros.tools.demo',
        description='Run the whole ROS 2 face pipeline on the bundled clip and report what '
                    'it saw.')
    parser.add_argument('--clip', type=Path, default=DEFAULT_CLIP,
                        help='video file to play (default: the bundled Hamilton clip)')
    parser.add_argument('--output', type=Path, default=Path('output/demo'),
                        help='folder for gallery.npz, annotated.mp4, identified.jsonl, '
                             'summary.json and the node logs (default: output/demo)')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='stop after this many frames (default: the whole clip)')
    parser.add_argument('--rate', type=float, default=0.0,
                        help="frames per second to play at (default 0: the clip's own rate)")
    parser.add_argument('--separate-processes', action='store_true',
                        help='one process per node (launch argument use_composition:=false) '
                             'instead of face_detector and face_recognizer in one')
    return parser.parse_args(argv)


def clip_fps(clip: Path) -> float:
    capture = cv2.VideoCapture(str(clip))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return float(fps) if fps and fps > 0 else 30.0


def first_frame(clip: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(clip))
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    if not ok:
        raise SystemExit(f'demo: cannot read a frame from {clip}')
    return frame


def executables(args) -> tuple[str, ...]:
    """Return the node executables to start, video_source aside."""
    return NODES if args.separate_processes else COMPOSED_EXECUTABLES


def node_parameters(args, gallery_path: Path, fps: float) -> dict[str, dict]:
    """Parameters on top of config/face_recognition.yaml for this run."""
    return {
        'video_source': {'source': str(args.clip.resolve()), 'loop': False,
                         'shutdown_at_end': True, 'wait_for_subscriber': True,
                         # each node process reads the image once, and so does the collector
                         'min_subscribers': len(executables(args)) + 1,
                         'rate': float(args.rate or fps),
                         'frame_id': 'hamilton_clip'},
        'face_recognizer': {'gallery_path': str(gallery_path.resolve())},
    }


def run(args) -> int:
    if not args.clip.is_file():
        print(f'demo: no video at {args.clip}', file=sys.stderr)
        return 2
    if args.max_frames is not None and args.max_frames < 1:
        print('demo: --max-frames must be at least 1', file=sys.stderr)
        return 2
    output = args.output
    log_dir = output / 'logs'
    log_dir.mkdir(parents=True, exist_ok=True)
    for stale in ('annotated.mp4', 'identified.jsonl', 'summary.json', 'gallery.npz'):
        (output / stale).unlink(missing_ok=True)

    gallery_path = output / 'gallery.npz'
    counts = build_demo_gallery(gallery_path)
    print(f'Gallery {gallery_path}: ' + ', '.join(f'{n} ({c} photo)' for n, c in counts.items()))

    lib_dir, share = package_paths()
    fps = clip_fps(args.clip)
    params_files = [path for path in [share / 'config' / 'face_recognition.yaml'] if
                    path.is_file()]
    params_files.append(write_parameters(log_dir / 'demo_parameters.yaml',
                                         node_parameters(args, gallery_path, fps)))

    with contextlib.ExitStack() as stack:
        if os.environ.get('ROS_DOMAIN_ID'):
            domain = int(os.environ['ROS_DOMAIN_ID'])
        else:
            from face_recognition_ros.node_support import reserved_domain_id
            domain = stack.enter_context(reserved_domain_id())
        env = dds_environment(domain, share, log_dir)
        os.environ.update({key: env[key] for key in (
            'ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'FASTRTPS_DEFAULT_PROFILES_FILE',
            'ROS_LOCALHOST_ONLY', 'ROS_LOG_DIR') if key in env})
        collector = DemoCollector(output, fps, args.max_frames)
        stack.callback(collector.close)
        nodes: dict[str, NodeProcess] = {}
        exit_codes: dict[str, int] = {}

        def stop_all():
            for name, node in reversed(list(nodes.items())):
                exit_codes[name] = node.stop()
        stack.callback(stop_all)

        for name in executables(args):
            nodes[name] = NodeProcess(name, node_command(lib_dir / name, params_files), env,
                                      log_dir / f'{name}.log')
        if not _wait_ready(nodes, collector):
            return 1
        print('Nodes up; warming the models up with a mirrored first frame ...')
        # The clip's first frame mirrored: the models' first runs at this size, with faces
        # where the clip has none, so no track carries over into the clip.
        if not collector.warm_up(cv2.flip(first_frame(args.clip), 1)):
            print('demo: the pipeline did not answer a warm-up frame; logs in '
                  f'{log_dir}', file=sys.stderr)
            return 1
        print(f'Playing {args.clip.name} through video_source -> face_detector -> '
              f'face_recognizer -> face_overlay (processes: {", ".join(nodes)}; '
              f'ROS_DOMAIN_ID {domain}) ...')
        started = time.monotonic()
        source = NodeProcess('video_source', node_command(lib_dir / 'video_source',
                                                          params_files),
                             env, log_dir / 'video_source.log')
        nodes['video_source'] = source
        peak_rss = _play(source, nodes, collector, args.max_frames)
        elapsed = time.monotonic() - started

    summary = collector.summary()
    summary.update({'clip': str(args.clip), 'gallery': str(gallery_path),
                    'wall_time_s': round(elapsed, 1), 'peak_rss_mib': peak_rss,
                    'outputs': {'video': str(output / 'annotated.mp4'),
                                'identified': str(output / 'identified.jsonl')}})
    summary['exit_codes'] = exit_codes
    (output / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    _print_summary(summary)
    failed = {name: code for name, code in exit_codes.items() if code != 0}
    if failed:
        print(f'demo: nodes failed: {failed}; logs in {log_dir}', file=sys.stderr)
    return 0 if summary['frames_identified'] and not failed else 1


def _wait_ready(nodes: dict[str, NodeProcess], collector: DemoCollector) -> bool:
    """Wait until the nodes' subscriptions and publishers are matched with the collector's."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    node = collector.node
    while time.monotonic() < deadline:
        for process in nodes.values():
            if not process.is_running():
                print(f'demo: {process.name} exited at start; its log ({process.log_path}):\n'
                      f'{process.output()}', file=sys.stderr)
                return False
        if (node.count_publishers('faces/identified') >= 1
                and node.count_publishers('faces/image_annotated') >= 1
                and node.count_subscribers('image') >= len(nodes) + 1):
            return True
        time.sleep(0.1)
    print('demo: the nodes did not come up within '
          f'{STARTUP_TIMEOUT_S:.0f} s; logs in {next(iter(nodes.values())).log_path.parent}',
          file=sys.stderr)
    return False


def _play(source: NodeProcess, nodes: dict[str, NodeProcess], collector: DemoCollector,
          max_frames: int | None) -> dict[str, float]:
    """Let the clip run to its end (or max_frames), drain the pipeline, stop the nodes."""
    peak = {}
    while source.is_running():
        crashed = [p for n, p in nodes.items() if n != 'video_source' and not p.is_running()]
        if crashed:
            print(f'demo: {crashed[0].name} stopped during the clip; the end of its log '
                  f'({crashed[0].log_path}):\n{crashed[0].output()[-3000:]}', file=sys.stderr)
            break
        if max_frames is not None and collector.frames_seen() >= max_frames:
            break
        if collector.frames_seen() and collector.idle_s() > DRAIN_TIMEOUT_S:
            break  # the source stays up after the clip (or stalled): the clip is over
        time.sleep(0.05)
    peak['video_source'] = source.peak_rss_kib()
    source.stop()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while collector.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    for name, process in nodes.items():
        if name != 'video_source':
            peak[name] = process.peak_rss_kib()
    return {name: round(kib / 1024, 1) for name, kib in peak.items() if kib}


def _print_summary(summary: dict) -> None:
    print(f"Frames: {summary['frames']}: {summary['frames_identified']} identified "
          f"({summary['frames_without_result']} without a result), "
          f"{summary['frames_with_faces']} with faces, {summary['frames_annotated']} annotated")
    names = summary['faces_per_name']
    print('Faces per name: ' + (', '.join(f'{name}: {count}' for name, count in names.items())
                                or 'none'))
    latency = summary['latency_ms']
    if summary['fps'] is not None and latency is not None:
        print(f"Throughput: {summary['fps']:.1f} FPS; latency image stamp -> identified: "
              f"median {latency['median']:.1f} ms, p90 {latency['p90']:.1f} ms")
    print(f"Wrote {summary['outputs']['video']} and {summary['outputs']['identified']}")


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:  # the nodes were stopped on the way out of run()
        print('demo: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    raise SystemExit(main())
