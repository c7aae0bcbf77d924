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
What ROS 2 costs: the nodes end to end vs the in-process FacePipeline, same frames.

    scripts/build_ros.sh && source scripts/ros_env.sh
    python benchmarks/ros_pipeline.py [--frames 275] [--pad-to 640x480] [--annotated]
                                      [--layouts separate,composed] [--rounds 3]

One run, same clip frames (the bundled Hamilton clip, padded with black borders to
640x480 by default, so faces keep their shape), same gallery (its two people), same
models and tracking settings:

1. in-process: a child Python process runs ``FacePipeline.process`` frame after frame
   (detect, track, landmarks, embed, match), the way the library and CLI run; it reports
   per-frame latency, throughput and its peak RSS;
2. ROS, once per layout: ``separate``: face_detector, face_recognizer and face_overlay as
   three processes; ``composed``: face_pipeline (detector and recognizer in one process,
   frames handed over in memory) and face_overlay. The package's executables,
   config/face_recognition.yaml, shared-memory Fast DDS profile, localhost-only discovery
   in a domain of its own. This process publishes each frame on
   ``image`` (stamped just before conversion and publish, as a camera driver would) and
   waits for ``faces/identified`` with that stamp:
   - serial pass: one frame in flight, as in-process; latency = identified arrival - stamp;
   - pipelined pass: two frames in flight, so the detector works on the next frame while
     the recognizer finishes this one (the most a stream can get through);
   - camera-rate pass (``--camera-rate``, default 30 Hz, the clip's rate): frames sent at
     that pace whatever is in flight, as a camera driver does; reports frames answered,
     latency and the CPU the node processes took (cores busy on average, from /proc),
     and separately this process's CPU for converting and publishing (the camera's
     share). The in-process side also runs the frames at that pace and reports the CPU
     taken inside ``process``.
   With ``--annotated`` it also subscribes ``faces/image_annotated``, so the overlay
   converts, draws and publishes every frame too (off by default: the in-process side
   draws nothing).

Printed as one JSON object: throughput (frames/s) and median/p90 latency of each, ROS
overhead in % of the in-process throughput and added median latency in ms, peak RSS
(VmHWM) of each node process and their total. ``--rounds N`` measures in-process and each
layout N times in turn (the load of a shared machine drifts between passes) and adds the
median of each overhead figure over the rounds. Frames the pipeline lost (skipped by the
detector, which always works on the newest frame, or not answered within ``--timeout``)
are counted, not hidden. Nothing here asserts a timing; numbers on a shared or busy
machine move: compare within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from face_recognition_ros.node_support import keep_frame_buffers, reserved_domain_id  # noqa: E402
from face_recognition_ros.tools.demo import (  # noqa: E402
    build_demo_gallery, COMPOSED_EXECUTABLES, dds_environment, DEFAULT_CLIP, NODES,
    package_paths, write_parameters
)
from face_recognition_ros.tools.processes import node_command, NodeProcess  # noqa: E402

LAYOUTS = {'separate': NODES, 'composed': COMPOSED_EXECUTABLES}
"""The executables each layout starts (NODES: the nodes whose /diagnostics are reported,
in either layout)."""
WARMUP_FRAMES = 5
"""Frames sent before timing: model sessions allocate buffers on their first runs."""


# --- Frames -----------------------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int] | None:
    if text in ('', 'none', '0'):
        return None
    width, height = (int(v) for v in text.lower().split('x'))
    return width, height


def read_frames(clip: Path, count: int | None, pad_to: tuple[int, int] | None):
    """Yield the clip's BGR frames, centred on a black canvas of ``pad_to`` when given."""
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(clip))
    produced = 0
    try:
        while count is None or produced < count:
            ok, frame = capture.read()
            if not ok:
                return
            if pad_to is not None:
                width, height = pad_to
                h, w = frame.shape[:2]
                if w > width or h > height:
                    raise SystemExit(f'--pad-to {width}x{height} is smaller than the clip {w}x{h}')
                canvas = np.zeros((height, width, 3), np.uint8)
                top, left = (height - h) // 2, (width - w) // 2
                canvas[top:top + h, left:left + w] = frame
                frame = canvas
            produced += 1
            yield frame
    finally:
        capture.release()


def latency_stats(latencies_ms: list[float]) -> dict:
    if not latencies_ms:
        return {'median': None, 'p90': None}
    ordered = sorted(latencies_ms)
    return {'median': round(statistics.median(ordered), 2),
            'p90': round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2)}


# --- In-process -------------------------------------------------------------------------------

def run_inprocess(args) -> dict:
    """
    Run the library's way: one process, FacePipeline.process per frame.

    It runs in a child process, so its peak memory is its own.
    """
    from face_recognition_ros.core.pipeline import build_pipeline

    pipeline = build_pipeline(gallery_path=args.gallery, num_threads=args.num_threads or None)
    frames = read_frames(args.clip, args.frames, parse_size(args.pad_to))
    warmup = read_frames(args.clip, WARMUP_FRAMES, parse_size(args.pad_to))
    for frame in warmup:
        pipeline.process(frame)
    pipeline.reset_tracks()
    latencies, busy_s = [], 0.0
    for frame in frames:
        start = time.perf_counter()
        pipeline.process(frame)
        elapsed = time.perf_counter() - start
        busy_s += elapsed
        latencies.append(elapsed * 1000.0)
    result = {
        'frames': len(latencies),
        'fps': round(len(latencies) / busy_s, 2),
        'latency_ms': latency_stats(latencies),
    }
    if args.camera_rate:
        # Read again, not kept from above: holding 275 frames would inflate the peak RSS.
        frames = read_frames(args.clip, args.frames, parse_size(args.pad_to))
        result['camera_rate'] = run_inprocess_at_rate(pipeline, frames, args.camera_rate)
    result['peak_rss_mib'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_inprocess_at_rate(pipeline, frames, rate_hz: float) -> dict:
    """
    Hand frames to the pipeline at ``rate_hz`` (a camera's pace): latency and CPU it takes.

    CPU as cores busy on average; all threads, counted only inside ``process``, since
    reading and decoding the clip stands for the camera, as in the ROS pass.
    """
    pipeline.reset_tracks()
    latencies, cpu_s = [], 0.0
    start = time.monotonic()
    for index, frame in enumerate(frames):
        time.sleep(max(0.0, start + index / rate_hz - time.monotonic()))
        began, cpu_began = time.perf_counter(), time.process_time()
        pipeline.process(frame)
        cpu_s += time.process_time() - cpu_began
        latencies.append((time.perf_counter() - began) * 1000.0)
    wall_s = time.monotonic() - start
    return {'rate_hz': rate_hz, 'answered': len(latencies),
            'latency_ms': latency_stats(latencies), 'cpu_cores': round(cpu_s / wall_s, 3)}


# --- ROS --------------------------------------------------------------------------------------

class FrameClient:
    """Publishes frames on ``image`` and waits for their ``faces/identified`` answers."""

    def __init__(self, annotated: bool):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('ros_pipeline_benchmark', context=self.context)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = self.node.create_publisher(Image, 'image', reliable)
        self.node.create_subscription(Detection2DArray, 'faces/identified', self._on_identified,
                                      reliable)
        from diagnostic_msgs.msg import DiagnosticArray

        self.diagnostics: dict[str, dict] = {}
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self.annotated = 0
        self.watching_annotated = bool(annotated)
        if annotated:
            self.node.create_subscription(Image, 'faces/image_annotated', self._on_annotated,
                                          QoSProfile(depth=2,
                                                     reliability=ReliabilityPolicy.RELIABLE))
        self._condition = threading.Condition()
        self._in_flight: set[int] = set()
        self._answers: dict[int, int] = {}
        self.skipped = 0
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            while self.context.ok():
                self._executor.spin_once(timeout_sec=0.05)

    def _on_identified(self, msg) -> None:
        arrival = time.time_ns()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self._condition:
            if stamp in self._in_flight:
                self._in_flight.discard(stamp)
                self._answers[stamp] = arrival
                # Answers come in stamp order: an older frame still in flight was skipped
                # (the detector works on the newest frame), so stop waiting for it.
                skipped = {s for s in self._in_flight if s < stamp}
                self._in_flight -= skipped
                self.skipped += len(skipped)
                self._condition.notify_all()

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            self.diagnostics[status.hardware_id.strip('/')] = {
                key: values.get(key) for key in ('processing_ms_median', 'latency_ms_median',
                                                 'dropped_frames', 'frames')}

    def node_timings(self) -> dict:
        """
        Return per node the median processing time and stamp->done latency.

        Both over its last 100 frames (from /diagnostics, published each second: wait for
        a fresh one first).
        """
        self.diagnostics.clear()
        deadline = time.monotonic() + 3.0
        while len(self.diagnostics) < len(NODES) and time.monotonic() < deadline:
            time.sleep(0.05)
        return {name: self.diagnostics[name] for name in NODES if name in self.diagnostics}

    def _on_annotated(self, msg) -> None:
        self.annotated += 1

    def wait_ready(self, timeout: float, processes, image_subscribers: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in processes:
                if not process.is_running():
                    raise SystemExit(f'{process.name} exited at start:\n{process.output()}')
            # detector, recognizer unless composed (and the overlay while watched).
            if (self.publisher.get_subscription_count() >= image_subscribers
                    + self.watching_annotated
                    and self.node.count_publishers('faces/identified') >= 1):
                return
            time.sleep(0.1)
        raise SystemExit('the nodes did not come up in time')

    def run(self, frames, window: int, timeout_s: float, rate_hz: float | None = None) -> dict:
        """
        Send every frame with at most ``window`` in flight; return latency/throughput.

        With ``rate_hz`` the frames go out at that rate as a camera's would, whatever is
        in flight (``window`` is ignored).
        """
        from face_recognition_ros.ros_conversions import bgr_to_image_msg, ns_to_stamp
        from std_msgs.msg import Header

        sent, lost = {}, 0
        with self._condition:
            self._answers.clear()
            self._in_flight.clear()
            self.skipped = 0
        first_sent = None
        paced_start = time.monotonic()
        for index, frame in enumerate(frames):
            if rate_hz:
                time.sleep(max(0.0, paced_start + index / rate_hz - time.monotonic()))
            with self._condition:
                while not rate_hz and len(self._in_flight) >= window:
                    if not self._condition.wait(timeout_s):
                        oldest = min(self._in_flight)  # no answer: count it lost, go on
                        self._in_flight.discard(oldest)
                        lost += 1
            stamp = time.time_ns()
            first_sent = first_sent or stamp
            msg = bgr_to_image_msg(frame, Header(stamp=ns_to_stamp(stamp), frame_id='bench'))
            with self._condition:
                self._in_flight.add(stamp)
            self.publisher.publish(msg)
            sent[stamp] = True
        with self._condition:
            deadline = time.monotonic() + timeout_s
            while self._in_flight and time.monotonic() < deadline:
                self._condition.wait(0.05)
            lost += len(self._in_flight) + self.skipped
            answers = dict(self._answers)
        latencies = [(arrival - stamp) / 1e6 for stamp, arrival in answers.items()]
        span_s = (max(answers.values()) - first_sent) / 1e9 if answers else 0.0
        return {
            'frames': len(sent), 'answered': len(answers), 'lost': lost,
            'fps': round(len(answers) / span_s, 2) if span_s else None,
            'latency_ms': latency_stats(latencies),
        }

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(timeout=5.0)
        self._executor.shutdown()
        self.node.destroy_node()


def run_ros(args, work: Path, layout: str) -> dict:
    lib_dir, share = package_paths()
    params = [p for p in [share / 'config' / 'face_recognition.yaml'] if p.is_file()]
    threads = {'num_threads': args.num_threads} if args.num_threads else {}
    params.append(write_parameters(work / 'parameters.yaml', {
        'face_detector': threads,
        'face_recognizer': dict(threads, gallery_path=str(args.gallery))}))
    pad = parse_size(args.pad_to)
    frames = list(read_frames(args.clip, args.frames, pad))
    warmup = frames[:WARMUP_FRAMES]
    with contextlib.ExitStack() as stack:
        domain = int(os.environ['ROS_DOMAIN_ID']) if os.environ.get('ROS_DOMAIN_ID') else \
            stack.enter_context(reserved_domain_id())
        logs = work / 'logs' / layout
        env = dds_environment(domain, share, logs)
        logs.mkdir(parents=True, exist_ok=True)
        for key in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE',
                    'FASTRTPS_DEFAULT_PROFILES_FILE', 'ROS_LOCALHOST_ONLY'):
            if key in env:
                os.environ[key] = env[key]
        processes = {name: NodeProcess(name, node_command(lib_dir / name, params), env,
                                       logs / f'{name}.log')
                     for name in LAYOUTS[layout]}
        for process in processes.values():
            stack.callback(process.stop)
        client = FrameClient(args.annotated)
        stack.callback(client.close)
        client.wait_ready(90.0, processes.values(),
                          image_subscribers=1 if layout == 'composed' else 2)
        client.run(warmup, 1, args.timeout)
        serial = client.run(frames, 1, args.timeout)
        serial['node_diagnostics'] = client.node_timings()
        pipelined = client.run(frames, 2, args.timeout)
        camera_rate = None
        if args.camera_rate:
            node_cpu_start = {name: p.cpu_seconds() for name, p in processes.items()}
            own_cpu_start, start = time.process_time(), time.monotonic()
            camera_rate = client.run(frames, 0, args.timeout, rate_hz=args.camera_rate)
            wall_s = time.monotonic() - start
            camera_rate.update({
                'rate_hz': args.camera_rate,
                'node_cpu_cores': {name: round((p.cpu_seconds() - node_cpu_start[name])
                                               / wall_s, 3) for name, p in processes.items()},
                # This process plays the camera driver: converting and publishing frames.
                'camera_cpu_cores': round((time.process_time() - own_cpu_start) / wall_s, 3)})
            camera_rate['node_cpu_cores']['total'] = round(
                sum(camera_rate['node_cpu_cores'].values()), 3)
        rss = {name: process.peak_rss_kib() for name, process in processes.items()}
        annotated = client.annotated
    rss_mib = {name: round(kib / 1024, 1) for name, kib in rss.items() if kib}
    return {'executables': list(LAYOUTS[layout]), 'serial': serial, 'pipelined': pipelined,
            'camera_rate': camera_rate, 'annotated_received': annotated,
            'peak_rss_mib': dict(rss_mib, total=round(sum(rss_mib.values()), 1)),
            'fastdds_profile': env.get('FASTRTPS_DEFAULT_PROFILES_FILE')}


def overhead(inproc: dict, ros: dict) -> dict:
    def percent(ros_fps):
        if not ros_fps or not inproc['fps']:
            return None
        return round((1.0 - ros_fps / inproc['fps']) * 100.0, 1)

    added = None
    if ros['serial']['latency_ms']['median'] is not None:
        added = round(ros['serial']['latency_ms']['median'] - inproc['latency_ms']['median'], 2)
    return {
        'throughput_cost_percent_serial': percent(ros['serial']['fps']),
        'throughput_cost_percent_pipelined': percent(ros['pipelined']['fps']),
        'added_median_latency_ms': added,
    }


def _median_of(values: list) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), 2) if known else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--clip', type=Path, default=DEFAULT_CLIP)
    parser.add_argument('--frames', type=int, default=None,
                        help='frames of the clip to use (default: all 275)')
    parser.add_argument('--pad-to', default='640x480',
                        help="canvas the frames are centred on ('none': the clip's 640x360)")
    parser.add_argument('--annotated', action='store_true',
                        help='also subscribe faces/image_annotated (the overlay draws)')
    parser.add_argument('--timeout', type=float, default=3.0,
                        help="seconds to wait for a frame's answer before counting it lost")
    parser.add_argument('--num-threads', type=int, default=0,
                        help='CPU threads per model, in-process and in each node (default 0: '
                             'the runtime decides)')
    parser.add_argument('--logs', type=Path, default=None,
                        help="keep the nodes' logs in this folder (default: discarded)")
    parser.add_argument('--layouts', default=','.join(LAYOUTS),
                        help='node layouts to measure, comma-separated: separate (three '
                             'processes), composed (face_pipeline + face_overlay)')
    parser.add_argument('--camera-rate', type=float, default=30.0,
                        help='also send the frames at this rate, as a camera would, and '
                             'measure the CPU each side takes (0: skip; default 30, the '
                             "clip's rate)")
    parser.add_argument('--rounds', type=int, default=1,
                        help='measure in-process and every layout this many times, in turn '
                             '(the load of a shared machine drifts; the medians are reported)')
    parser.add_argument('--gallery', type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument('--inprocess-worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')
    layouts = [layout.strip() for layout in args.layouts.split(',') if layout.strip()]
    if not layouts or set(layouts) - set(LAYOUTS):
        parser.error(f'--layouts: choose from {", ".join(LAYOUTS)}')
    if args.inprocess_worker:  # the library as users run it: glibc's defaults
        print(json.dumps(run_inprocess(args)))
        return 0
    # This process plays the camera driver: as every node does at start (run_node).
    frame_buffers_kept = keep_frame_buffers()

    with tempfile.TemporaryDirectory(prefix='ros_pipeline_bench_') as scratch:
        work = Path(scratch)
        args.gallery = work / 'gallery.npz'
        build_demo_gallery(args.gallery)
        worker = [sys.executable, str(Path(__file__).resolve()), '--inprocess-worker',
                  '--clip', str(args.clip), '--pad-to', args.pad_to, '--gallery',
                  str(args.gallery), '--num-threads', str(args.num_threads),
                  '--camera-rate', str(args.camera_rate)]
        if args.frames:
            worker += ['--frames', str(args.frames)]
        load_before = os.getloadavg()[0]
        rounds = []
        for _ in range(args.rounds):  # in-process and each layout in turn, `rounds` times
            inproc = json.loads(subprocess.run(worker, check=True, capture_output=True,
                                               text=True).stdout.strip().splitlines()[-1])
            ros = {layout: run_ros(args, work, layout) for layout in layouts}
            rounds.append({'inprocess': inproc, 'ros': ros, 'ros_overhead': {
                layout: overhead(inproc, ros[layout]) for layout in layouts}})
        if args.logs is not None:
            for log in (work / 'logs').glob('*/*.log'):  # logs/<layout>/<executable>.log
                target = args.logs / log.parent.name / log.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(log.read_bytes())
    result = {
        'clip': args.clip.name, 'frame_size': args.pad_to, 'frames': inproc['frames'],
        'cpu_count': os.cpu_count(), 'load_average_at_start': round(load_before, 2),
        'annotated_subscribed': args.annotated, 'frame_buffers_kept': frame_buffers_kept,
        'rounds': len(rounds),
        # The median over the rounds of each overhead figure; every round follows.
        'ros_overhead_median': {layout: {
            key: _median_of([r['ros_overhead'][layout][key] for r in rounds])
            for key in rounds[0]['ros_overhead'][layout]} for layout in layouts},
    }
    result.update(rounds[0] if len(rounds) == 1 else {'per_round': rounds})
    print(json.dumps(result, indent=1))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
