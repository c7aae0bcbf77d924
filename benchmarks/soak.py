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
Soak: the launch-file pipeline on the looping clip for minutes, to see what grows or drifts.

    scripts/build_ros.sh && source scripts/ros_env.sh
    python benchmarks/soak.py [--minutes 10] [--launcher auto|ros2-launch|processes]
                              [--use-composition true|false] [--json out.json]

What runs: ``ros2 launch face_recognition face_recognition.launch.py`` with
``video_source:=<clip>`` (``--launcher ros2-launch``, the way users start it), so
``video_source`` plays the bundled clip in a loop at the clip's own 30 frames/s into the
detector and recognizer (``face_pipeline`` by default) and ``face_overlay``, with the
installed config/face_recognition.yaml and a gallery of the clip's two people. Where the
``ros2`` command is missing (pip wheels without the upstream tools), ``--launcher
processes`` starts the same executables with the same parameters as child processes
(``tools/processes.NodeProcess``), as the other benchmarks do; ``auto`` (default) picks
the first that is there, and the JSON says which ran.

This process subscribes to the input and every output: ``image``, ``faces/detections``,
``faces/identified``, ``faces/faces``, ``faces/image_annotated`` (so the overlay draws every
frame) and ``/diagnostics``, and once a minute records per topic the messages received and
the p50/p99 latency (header stamp, set by ``video_source`` when it read the frame, to
arrival here), and the resident memory (RSS, psutil) of every process of the pipeline.
A crash is a pipeline process that exited or was replaced during the run.

Verdicts (printed, not asserted; the exit code is 1 when one fails): RSS of each process
and of all together grows less than 5 % from the end of the first minute (model sessions
and buffers settle during it) to the end; the p50 latency of ``faces/identified`` in the
last minute is at most 20 % (or 5 ms) above the second minute's; no crashes. Numbers on a
shared machine move with its load: the JSON has the load average at each minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
import shutil
import sys
import tempfile
import threading
import time
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from face_recognition_ros.node_support import reserved_domain_id  # noqa: E402
from face_recognition_ros.tools.demo import (  # noqa: E402
    build_demo_gallery, COMPOSED_EXECUTABLES, dds_environment, DEFAULT_CLIP, NODES,
    package_paths, write_parameters
)
from face_recognition_ros.tools.processes import node_command, NodeProcess  # noqa: E402

if TYPE_CHECKING:  # psutil is imported where it is used: only the annotations need it here.
    import psutil

OUTPUTS = ('faces/detections', 'faces/identified', 'faces/faces', 'faces/image_annotated')
"""The pipeline's outputs; ``image`` (the input) is watched too."""
LATENCY_TOPIC = 'faces/identified'
"""Whose latency the drift verdict reads: the answer the user waits for."""
RSS_GROWTH_LIMIT = 0.05
DRIFT_LIMIT = (0.20, 5.0)
"""Latency drift allowed: 20 % of the second minute's p50, or 5 ms, whichever is more."""
STARTUP_TIMEOUT_S = 120.0


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile; no interpolation (a p99 is a latency that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)


# --- The pipeline's processes -------------------------------------------------------------------

def start_pipeline(args, work: Path, env: dict, share: Path, lib_dir: Path) -> NodeProcess | dict:
    """
    Start the pipeline and return what was started.

    ``ros2 launch`` (one NodeProcess whose children are the nodes) or the executables
    as NodeProcesses of their own (a dict by name).
    """
    logs = work / 'logs'
    logs.mkdir(parents=True, exist_ok=True)
    if args.launcher == 'ros2-launch':
        argv = [shutil.which('ros2'), 'launch', 'face_recognition', 'face_recognition.launch.py',
                f'video_source:={args.clip}', f'gallery:={args.gallery}',
                f'use_composition:={args.use_composition}']
        return NodeProcess('ros2 launch', argv, env, logs / 'ros2_launch.log')
    # The launch file's nodes and parameters, started directly (see test_launch_file.py).
    composed = args.use_composition == 'true'
    executables = ['video_source'] + list(COMPOSED_EXECUTABLES if composed else NODES)
    params = write_parameters(work / 'soak_parameters.yaml', {
        'video_source': {'source': str(args.clip)},
        'face_recognizer': {'gallery_path': str(args.gallery)},
    })
    config = share / 'config' / 'face_recognition.yaml'
    return {name: NodeProcess(name, node_command(lib_dir / name, [config, params]), env,
                              logs / f'{name}.log')
            for name in executables}


def pipeline_processes(started) -> dict[str, psutil.Process]:
    """
    Return every process of the pipeline by a readable name.

    The nodes (by executable) and, with ros2 launch, the launch process itself.
    """
    import psutil

    if isinstance(started, dict):
        return {name: psutil.Process(process.pid) for name, process in started.items()}
    launch = psutil.Process(started.pid)
    found = {'ros2 launch': launch}
    for child in launch.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            argv = child.cmdline()
            script = next((Path(a).name for a in argv[:2] if '/lib/face_recognition/' in a),
                          None)
            found[script or child.name()] = child
    return found


def rss_mib(processes: dict) -> dict[str, float | None]:
    import psutil

    sizes = {}
    for name, process in processes.items():
        try:
            sizes[name] = round(process.memory_info().rss / 2**20, 1)
        except psutil.Error:
            sizes[name] = None
    return sizes


def dead(processes: dict) -> list[str]:
    """Names of pipeline processes that are gone (or are zombies: exited, not yet reaped)."""
    import psutil

    gone = []
    for name, process in processes.items():
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                gone.append(name)
        except psutil.Error:
            gone.append(name)
    return gone


# --- The subscriber -----------------------------------------------------------------------------

class Watcher:
    """Subscribes to ``image`` and every output; buckets arrival latencies by minute."""

    def __init__(self):
        from diagnostic_msgs.msg import DiagnosticArray
        from face_recognition.msg import FaceArray
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from vision_msgs.msg import Detection2DArray

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('face_recognition_soak', context=self.context)
        reliable = QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE)
        types = {'faces/detections': Detection2DArray, 'faces/identified': Detection2DArray,
                 'faces/faces': FaceArray, 'faces/image_annotated': Image}
        self.lock = threading.Lock()
        self.minute = None  # None: not measuring yet (warm-up)
        self.latencies: dict[str, list[float]] = {}
        self.counts: dict[str, int] = {}
        self.diagnostics: dict[str, dict] = {}
        self.node.create_subscription(Image, 'image', self._callback('image'),
                                      qos_profile_sensor_data)
        for topic, kind in types.items():
            self.node.create_subscription(kind, topic, self._callback(topic), reliable)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 50)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name='soak_watcher', daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            while self.context.ok():
                self._executor.spin_once(timeout_sec=0.1)

    def _callback(self, topic: str):
        def on_message(msg) -> None:
            arrival = time.time_ns()
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            with self.lock:
                self.counts[topic] = self.counts.get(topic, 0) + 1
                if self.minute is not None:
                    self.latencies.setdefault(topic, []).append((arrival - stamp) / 1e6)
        return on_message

    def _on_diagnostics(self, msg) -> None:
        with self.lock:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                self.diagnostics[status.name] = {
                    'level': int.from_bytes(status.level, 'little')
                    if isinstance(status.level, bytes) else int(status.level),
                    'message': status.message,
                    **{key: values[key] for key in ('frames', 'dropped_frames', 'errors')
                       if key in values}}

    def take_minute(self) -> tuple[dict, dict, dict]:
        """(messages per topic, latencies per topic, diagnostics) since the last call."""
        with self.lock:
            counts, latencies = self.counts, self.latencies
            self.counts, self.latencies = {}, {}
            self.minute = 0
            return counts, latencies, dict(self.diagnostics)

    def wait_ready(self, timeout: float, alive) -> None:
        """Until an identified answer has arrived (models loaded, discovery done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.counts.get(LATENCY_TOPIC) and self.counts.get('faces/image_annotated'):
                    return
            alive()
            time.sleep(0.2)
        raise SystemExit(f'no answer on {LATENCY_TOPIC} within {timeout:.0f} s')

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(timeout=5.0)
        self._executor.shutdown()
        self.node.destroy_node()


# --- Measuring ----------------------------------------------------------------------------------

def soak(args, env: dict, share: Path, lib_dir: Path, work: Path) -> dict:
    for key in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE',
                'FASTRTPS_DEFAULT_PROFILES_FILE', 'ROS_LOCALHOST_ONLY'):
        if key in env:
            os.environ[key] = env[key]
    minutes, crashes = [], []
    with contextlib.ExitStack() as stack:
        started = start_pipeline(args, work, env, share, lib_dir)
        launchers = started.values() if isinstance(started, dict) else [started]
        for process in launchers:
            stack.callback(process.stop, 30.0)
        watcher = Watcher()
        stack.callback(watcher.close)

        def alive() -> None:
            for process in launchers:
                if not process.is_running():
                    raise SystemExit(f'{process.name} exited at start:\n{process.output()}')

        watcher.wait_ready(STARTUP_TIMEOUT_S, alive)
        time.sleep(2.0)  # let ros2 launch finish starting every node before listing them
        processes = pipeline_processes(started)
        print(f'soak: measuring {", ".join(processes)} for {args.minutes} min', file=sys.stderr)
        watcher.take_minute()  # drop the warm-up's messages
        start = time.monotonic()
        for minute in range(1, args.minutes + 1):
            while time.monotonic() < start + args.interval_s * minute:
                time.sleep(1.0)
                for name in dead(processes):
                    if name not in crashes:
                        crashes.append(name)
            counts, latencies, diagnostics = watcher.take_minute()
            # A process replaced under the same name (respawn) is a crash too.
            for name, process in pipeline_processes(started).items():
                if name in processes and process.pid != processes[name].pid \
                        and name not in crashes:
                    crashes.append(name)
            minutes.append({
                'minute': minute,
                'messages': {topic: counts.get(topic, 0) for topic in ('image',) + OUTPUTS},
                'latency_ms': {topic: {'p50': percentile(latencies.get(topic, []), 0.5),
                                       'p99': percentile(latencies.get(topic, []), 0.99)}
                               for topic in ('image',) + OUTPUTS},
                'rss_mib': rss_mib(processes),
                'diagnostics': diagnostics,
                'load_average': round(os.getloadavg()[0], 2),
            })
            print(table_row(minutes[-1], node_counts(minutes, len(minutes) - 1)),
                  file=sys.stderr)
        log_text = '\n'.join(process.output() for process in launchers)
    died_lines = [line for line in log_text.splitlines() if 'process has died' in line]
    return {'minutes': minutes, 'crashes': crashes, 'launch_died_lines': died_lines,
            'tracebacks_in_logs': log_text.count('Traceback'),
            'processes': list(processes)}


def verdicts(result: dict) -> dict:
    minutes = result['minutes']
    first, last = minutes[0]['rss_mib'], minutes[-1]['rss_mib']
    growth = {}
    for name in first:
        if first[name] and last.get(name):
            growth[name] = round((last[name] - first[name]) / first[name] * 100.0, 2)
    total_first = sum(v for v in first.values() if v)
    total_last = sum(v for v in last.values() if v)
    growth['total'] = round((total_last - total_first) / total_first * 100.0, 2)
    reference = minutes[1] if len(minutes) > 1 else minutes[0]
    p50_ref = reference['latency_ms'][LATENCY_TOPIC]['p50']
    p50_last = minutes[-1]['latency_ms'][LATENCY_TOPIC]['p50']
    drift = None if p50_ref is None or p50_last is None else round(p50_last - p50_ref, 1)
    allowed = None if p50_ref is None else max(DRIFT_LIMIT[0] * p50_ref, DRIFT_LIMIT[1])
    crashed = bool(result['crashes'] or result['launch_died_lines'])
    return {
        'rss_growth_percent_after_minute_1': growth,
        'rss_ok': all(value < RSS_GROWTH_LIMIT * 100.0 for value in growth.values()),
        'latency_p50_drift_ms': drift, 'latency_drift_allowed_ms': allowed,
        # Only growth is drift: a machine that got quieter makes the latency drop.
        'latency_ok': drift is not None and drift <= allowed,
        'crashes_ok': not crashed,
    }


def node_counts(minutes: list[dict], index: int) -> dict[str, tuple[int, int]]:
    """
    Return (frames, dropped frames) per node in minute ``index``.

    From the cumulative counters on /diagnostics (None where a node reported nothing).
    """
    def counters(minute):
        found = {}
        for name, status in minute['diagnostics'].items():
            node = name.split(':')[0].strip('/')
            with contextlib.suppress(KeyError, ValueError):
                found[node] = (int(status['frames']), int(status['dropped_frames']))
        return found

    now = counters(minutes[index])
    before = counters(minutes[index - 1]) if index else {}
    return {node: (frames - before.get(node, (0, 0))[0], dropped - before.get(node, (0, 0))[1])
            for node, (frames, dropped) in now.items()}


def table_row(minute: dict, counts: dict | None = None) -> str:
    messages, latency, rss = minute['messages'], minute['latency_ms'], minute['rss_mib']
    identified = latency[LATENCY_TOPIC]
    annotated = latency['faces/image_annotated']
    memory = ' / '.join(f'{value:.0f}' if value else '-' for value in rss.values())
    counts = counts or {}
    published = counts.get('video_source', ('-', '-'))[0]
    dropped = ' / '.join(str(counts.get(node, ('-', '-'))[1])
                         for node in ('face_detector', 'face_recognizer'))
    return (f"| {minute['minute']} | {published} | {messages['image']} | {dropped} | "
            f"{messages['faces/identified']} | "
            f"{messages['faces/image_annotated']} | {identified['p50']} / {identified['p99']} | "
            f"{annotated['p50']} / {annotated['p99']} | {memory} | {minute['load_average']} |")


def print_table(result: dict) -> None:
    names = ' / '.join(result['processes'])
    print(f'| minute | frames published | image received | dropped: detector / recognizer | '
          f'identified out | annotated out | identified p50 / p99 ms | annotated p50 / p99 ms | '
          f'RSS MiB: {names} | load |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for index, minute in enumerate(result['minutes']):
        print(table_row(minute, node_counts(result['minutes'], index)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--minutes', type=int, default=10, help='how long to measure (default 10)')
    parser.add_argument('--clip', type=Path, default=DEFAULT_CLIP,
                        help='the video video_source loops (default: the bundled 30 Hz clip)')
    parser.add_argument('--launcher', choices=['auto', 'ros2-launch', 'processes'],
                        default='auto', help="ros2-launch: the launch file through 'ros2 "
                        "launch'; processes: the same executables started directly")
    parser.add_argument('--use-composition', choices=['true', 'false'], default='true',
                        help="the launch file's argument (true: face_pipeline)")
    parser.add_argument('--interval-s', type=float, default=60.0,
                        help='seconds per reported interval (default 60: per minute; '
                             'shorter only to try the script out)')
    parser.add_argument('--json', type=Path, default=None, help='also write the JSON here')
    parser.add_argument('--logs', type=Path, default=None,
                        help="keep the nodes' logs in this folder (default: discarded)")
    parser.add_argument('--report', type=Path, default=None,
                        help="print the table and verdicts of an earlier run's --json file "
                             '(verdicts computed afresh), run nothing')
    args = parser.parse_args(argv)
    if args.report is not None:
        return report(json.loads(args.report.read_text()), print_json=False)
    if args.minutes < 2:
        parser.error('--minutes must be at least 2 (the first minute is the baseline)')
    if args.launcher == 'auto':
        args.launcher = 'ros2-launch' if shutil.which('ros2') else 'processes'
    elif args.launcher == 'ros2-launch' and not shutil.which('ros2'):
        parser.error("no 'ros2' command: source an apt ROS 2 or build the upstream tools "
                     '(scripts/build_ros.sh with ../shared/ros2_src), or use --launcher '
                     'processes')
    lib_dir, share = package_paths()
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix='soak_')))
        args.gallery = work / 'gallery.npz'
        build_demo_gallery(args.gallery)
        domain = int(os.environ['ROS_DOMAIN_ID']) if os.environ.get('ROS_DOMAIN_ID') else \
            stack.enter_context(reserved_domain_id())
        env = dds_environment(domain, share, work / 'logs')
        env['ROS_HOME'] = str(work / 'ros_home')
        result = soak(args, env, share, lib_dir, work)
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in (work / 'logs').glob('*.log'):
                (args.logs / log.name).write_bytes(log.read_bytes())
    result = {'clip': args.clip.name, 'launcher': args.launcher,
              'use_composition': args.use_composition, 'minutes_measured': args.minutes,
              'cpu_count': os.cpu_count(), 'load_average_at_start': round(load_before, 2),
              'fastdds_profile': env.get('FASTRTPS_DEFAULT_PROFILES_FILE'), **result}
    result['verdicts'] = verdicts(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + '\n')
    return report(result)


def report(result: dict, print_json: bool = True) -> int:
    """Print the JSON (optionally), the table and the verdicts; the exit code."""
    result['verdicts'] = verdicts(result)
    if print_json:
        print(json.dumps(result, indent=1))
    print_table(result)
    checks = result['verdicts']
    print(f"RSS growth after minute 1 (%): {checks['rss_growth_percent_after_minute_1']} "
          f"{'OK' if checks['rss_ok'] else 'FAIL'}; p50 drift {checks['latency_p50_drift_ms']} "
          f"ms {'OK' if checks['latency_ok'] else 'FAIL'}; crashes {result['crashes']} "
          f"{'OK' if checks['crashes_ok'] else 'FAIL'}")
    return 0 if all(checks[k] for k in ('rss_ok', 'latency_ok', 'crashes_ok')) else 1


if __name__ == '__main__':
    raise SystemExit(main())
