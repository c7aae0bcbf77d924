"""What every node of the package does the same way: QoS, diagnostics, start-up and shutdown.

- QoS: images use the sensor-data profile (best effort, keep last), which a user can change
  from the parameter file through ``qos_overrides`` (``QoSOverridingOptions``); results
  (detections, identities) are reliable with depth 10, so a subscriber sees every frame's
  answer, including the empty ones.
- ``NodeDiagnostics`` publishes ``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics``
  once a second: processing rate, processing time, latency from the image stamp, dropped
  frames, errors, and whatever the node adds (gallery size).
- ``LatestFrameWorker`` processes only the newest frame in a worker thread and counts the
  frames it had to skip: a detector slower than the camera then answers the freshest image
  instead of falling further behind, and the drops show in the diagnostics.
- ``run_node`` creates the node, spins it and shuts down cleanly on Ctrl-C or when the
  context is shut down from outside (launch), and turns a start-up error of the core (a
  missing model, a corrupt gallery) into one clear log line and exit code 1.
- ``keep_frame_buffers`` stops glibc from handing every frame-sized buffer back to the
  kernel, which halves the cost of receiving an image (see its docstring).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import logging
import os
import random
import socket
import sys
import threading
import time
from typing import Any, Callable, Sequence

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

from face_recognition_ros.core.errors import FaceRecognitionError

DIAGNOSTICS_TOPIC = '/diagnostics'


# --- QoS ------------------------------------------------------------------------------------

def image_qos(depth: int = 1) -> QoSProfile:
    """Sensor-data QoS (best effort, volatile, keep last ``depth``, as rclpy's
    qos_profile_sensor_data) for image topics.

    Depth 1 by default: a perception node wants the newest frame, never a backlog.
    """
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def results_qos(depth: int = 10) -> QoSProfile:
    """Reliable QoS for detections and identities: every frame's answer arrives."""
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def qos_overrides() -> QoSOverridingOptions:
    """Lets the parameter file change reliability, history and depth of a topic, e.g.

    ``qos_overrides./image.subscription.reliability: reliable``.
    """
    return QoSOverridingOptions.with_default_policies()


def create_image_subscription(node: Node, callback: Callable, topic: str = 'image',
                              depth: int = 1):
    """Subscribe to an image topic with the overridable sensor-data QoS."""
    from sensor_msgs.msg import Image

    return node.create_subscription(Image, topic, callback, image_qos(depth),
                                    qos_overriding_options=qos_overrides())


def create_image_publisher(node: Node, topic: str, depth: int = 1):
    """Publish images with the overridable sensor-data QoS."""
    from sensor_msgs.msg import Image

    return node.create_publisher(Image, topic, image_qos(depth),
                                 qos_overriding_options=qos_overrides())


# --- Diagnostics ----------------------------------------------------------------------------

class NodeDiagnostics:
    """Publishes the node's health on /diagnostics every ``period_s`` seconds.

    Call ``frame_done`` after each processed frame, ``count_dropped`` for frames skipped
    because the node was busy, ``count_error`` for frames refused (bad encoding, ...).
    ``values`` holds extra key/values (e.g. ``gallery_size``). The status is WARN while no
    frame arrives and when frames are dropped or refused in the last period, else OK.
    ``idle_message``: set it while the node has no frames on purpose (the overlay while
    nobody watches), and a period without frames is OK with that message, not a WARN that
    would tell a robot monitor something is broken.
    """

    def __init__(self, node: Node, task: str, period_s: float = 1.0, window: int = 100):
        self._node = node
        self.task = task
        self._lock = threading.Lock()
        self._frame_times: collections.deque[float] = collections.deque(maxlen=window)
        self._processing_ms: collections.deque[float] = collections.deque(maxlen=window)
        self._latency_ms: collections.deque[float] = collections.deque(maxlen=window)
        self.frames = 0
        self.dropped = 0
        self.errors = 0
        self._reported = (0, 0, 0)
        self.values: dict[str, Any] = {}
        self.idle_message: str | None = None
        self.problem: str | None = None
        """A condition that makes the status WARN whatever the frames do (the gallery
        database out of reach while the node names faces from memory)."""
        self._publisher = node.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._timer = node.create_timer(period_s, self.publish)

    @property
    def gallery_size(self) -> Any:
        return self.values.get('gallery_size')

    @gallery_size.setter
    def gallery_size(self, size: int) -> None:
        self.values['gallery_size'] = size

    def frame_done(self, stamp_ns: int | None = None, processing_ms: float | None = None):
        """Record one processed frame; ``stamp_ns`` is its image stamp (for the latency)."""
        now = time.monotonic()
        latency = None
        if stamp_ns:
            latency = (self._node.get_clock().now().nanoseconds - stamp_ns) / 1e6
        with self._lock:
            self.frames += 1
            self._frame_times.append(now)
            if processing_ms is not None:
                self._processing_ms.append(processing_ms)
            if latency is not None:
                self._latency_ms.append(latency)

    def count_dropped(self, count: int = 1) -> None:
        with self._lock:
            self.dropped += count

    def count_error(self, count: int = 1) -> None:
        with self._lock:
            self.errors += count

    def status(self) -> DiagnosticStatus:
        """The current DiagnosticStatus (also what ``publish`` sends)."""
        with self._lock:
            times = list(self._frame_times)
            processing = sorted(self._processing_ms)
            latency = sorted(self._latency_ms)
            frames, dropped, errors = self.frames, self.dropped, self.errors
            new = (frames - self._reported[0], dropped - self._reported[1],
                   errors - self._reported[2])
            self._reported = (frames, dropped, errors)
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and \
            times[-1] > times[0] else 0.0
        status = DiagnosticStatus(name=f'{self._node.get_fully_qualified_name()}: {self.task}',
                                  hardware_id=self._node.get_fully_qualified_name())
        if new[0] == 0 and self.idle_message and not (new[1] or new[2]):
            status.level, status.message = DiagnosticStatus.OK, self.idle_message
        elif new[0] == 0:
            status.level, status.message = DiagnosticStatus.WARN, 'no frames in the last period'
        elif new[1] or new[2]:
            status.level = DiagnosticStatus.WARN
            status.message = f'{new[1]} frames dropped, {new[2]} refused in the last period'
        else:
            status.level, status.message = DiagnosticStatus.OK, f'{rate:.1f} frames/s'
        problem = self.problem
        if problem:
            status.level = max(status.level, DiagnosticStatus.WARN)
            status.message = f'{problem}; {status.message}'
        values = {
            'rate_hz': f'{rate:.2f}',
            'processing_ms_median': _median_text(processing),
            'latency_ms_median': _median_text(latency),
            'latency_ms_max': f'{latency[-1]:.1f}' if latency else '',
            'frames': str(frames),
            'dropped_frames': str(dropped),
            'errors': str(errors),
        }
        values.update({key: str(value) for key, value in self.values.items()})
        status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
        return status

    def publish(self) -> None:
        array = DiagnosticArray(status=[self.status()])
        array.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(array)


def _median_text(sorted_values: list[float]) -> str:
    return f'{sorted_values[len(sorted_values) // 2]:.1f}' if sorted_values else ''


# --- Logging bad input without flooding ----------------------------------------------------------

class RepeatLimitedLog:
    """Logs each distinct message at once, and the same message again at most every
    ``period_s`` seconds with the number of repeats in between.

    A camera sending an unsupported encoding at 30 Hz must not flood the log, but a
    different problem (a truncated frame after a bad encoding) must not be hidden by the
    throttle of the first, as rclpy's per-call-site throttling would do.
    """

    def __init__(self, logger, period_s: float = 5.0, max_messages: int = 100):
        self._logger = logger
        self._period_s = period_s
        self._max_messages = max_messages
        self._last: dict[str, list] = {}  # text -> [time logged, repeats since]
        self._lock = threading.Lock()

    def error(self, text: str) -> None:
        self._log(self._logger.error, text)

    def warning(self, text: str) -> None:
        self._log(self._logger.warning, text)

    def _log(self, log: Callable[[str], Any], text: str) -> None:
        now = time.monotonic()
        with self._lock:
            entry = self._last.get(text)
            if entry is not None and now - entry[0] < self._period_s:
                entry[1] += 1
                return
            repeats = entry[1] if entry is not None else 0
            if len(self._last) >= self._max_messages:
                self._last.clear()
            self._last[text] = [now, 0]
        log(f'{text} (and {repeats} more times)' if repeats else text)


# --- Processing the newest frame --------------------------------------------------------------

class LatestFrameWorker:
    """Runs ``process(item)`` in one worker thread, on the newest submitted items.

    ``submit`` never blocks the executor: at most ``capacity`` items wait (1: only the
    newest); a newer one pushes out the oldest waiting, calling ``on_drop`` for it, and
    wakes the worker. Exceptions of ``process`` are logged, never fatal.

    ``run_job(function)`` queues other work for the same thread (never dropped, run before
    the waiting frames) and returns a ``concurrent.futures.Future``: work that uses the
    frames' models (an enrollment) then never runs beside them in a second thread.
    """

    def __init__(self, process: Callable[[Any], None], logger, name: str = 'frame_worker',
                 on_drop: Callable[[], None] | None = None, capacity: int = 1):
        self._process = process
        self._logger = logger
        self._on_drop = on_drop
        self._condition = threading.Condition()
        self._pending: collections.deque = collections.deque()
        self._jobs: collections.deque = collections.deque()
        self._capacity = max(1, int(capacity))
        self._running = True
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> None:
        with self._condition:
            if len(self._pending) >= self._capacity:
                self._pending.popleft()
                if self._on_drop is not None:
                    self._on_drop()
            self._pending.append(item)
            self._condition.notify()

    def run_job(self, function: Callable[[], Any]) -> concurrent.futures.Future:
        """Run ``function()`` on the worker thread; its result or exception in the future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._condition:
            if not self._running:
                future.set_exception(RuntimeError('the worker has stopped'))
                return future
            self._jobs.append((function, future))
            self._condition.notify()
        return future

    def idle(self) -> bool:
        """True when nothing waits and nothing is being processed."""
        with self._condition:
            return not self._pending and not self._jobs and not self._busy

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._running and not self._pending and not self._jobs:
                    self._condition.wait()
                if not self._running:
                    for _, future in self._jobs:
                        future.set_exception(RuntimeError('the worker has stopped'))
                    self._jobs.clear()
                    return
                job = self._jobs.popleft() if self._jobs else None
                item = None if job else self._pending.popleft()
                self._busy = True
            if job is not None:
                function, future = job
                try:
                    if future.set_running_or_notify_cancel():
                        future.set_result(function())
                except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                    future.set_exception(error)
                finally:
                    with self._condition:
                        self._busy = False
                continue
            try:
                self._process(item)
            except Exception as error:  # noqa: BLE001 - one bad frame must not stop the node
                self._logger.error(f'frame processing failed: {type(error).__name__}: {error}')
            finally:
                with self._condition:
                    self._busy = False

    def stop(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._running = False
            self._condition.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)


# --- Memory allocation -------------------------------------------------------------------------

# mallopt() parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to a 1920x1080 bgr8 frame (6.2 MB) come from the heap, and up to 32 MB of free
# heap (the few buffers of a frame or two) stay for reuse instead of going back.
FRAME_BUFFER_MMAP_THRESHOLD = 8 * 1024 * 1024
FRAME_BUFFER_TRIM_THRESHOLD = 32 * 1024 * 1024
KEEP_FRAME_BUFFERS_ENV = 'FACE_RECOGNITION_KEEP_FRAME_BUFFERS'


def keep_frame_buffers() -> bool:
    """Make glibc keep and reuse frame-sized buffers instead of returning them to the kernel.

    Receiving one 640x480 image in rclpy allocates about 0.9 MB three or four times (Fast
    DDS's reassembly, the C message, Python's bytes and array). glibc serves blocks over its
    mmap threshold with fresh pages from the kernel and unmaps them on free, so every frame
    pays a page fault per 4 KiB, again and again. Raising the mmap and trim thresholds
    keeps the freed blocks in the heap for the next frame, at the price of a few frames of
    resident memory: benchmarks/image_hop.py measured 3.3 -> 1.7 ms median per image hop
    and 3.1 -> 1.6 ms of the receiver's CPU on a 2-core VM. Set
    FACE_RECOGNITION_KEEP_FRAME_BUFFERS=0 to keep glibc's defaults. Returns whether the
    thresholds were set (False off glibc).
    """
    if os.environ.get(KEEP_FRAME_BUFFERS_ENV, '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, FRAME_BUFFER_MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, FRAME_BUFFER_TRIM_THRESHOLD))


# --- Logging and the main loop -----------------------------------------------------------------

class _RosLogHandler(logging.Handler):
    """Sends the core's ``logging`` records to the ROS logger (console, /rosout, log file)."""

    def __init__(self, logger_name: str):
        super().__init__()
        self._logger = rclpy.logging.get_logger(logger_name)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if record.levelno >= logging.ERROR:
                self._logger.error(message)
            elif record.levelno >= logging.WARNING:
                self._logger.warning(message)
            elif record.levelno >= logging.INFO:
                self._logger.info(message)
            else:
                self._logger.debug(message)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def route_core_logging(logger_name: str = 'face_recognition_ros') -> None:
    """Forward ``logging`` records of face_recognition_ros (INFO and up) to the ROS logger."""
    package_logger = logging.getLogger('face_recognition_ros')
    if not any(isinstance(h, _RosLogHandler) for h in package_logger.handlers):
        package_logger.addHandler(_RosLogHandler(logger_name))
        package_logger.setLevel(logging.INFO)
        package_logger.propagate = False


def run_node(node_factory: Callable[..., Node | Sequence[Node]], args: list[str] | None = None,
             **node_kwargs) -> int:
    """Create the node(s), spin until Ctrl-C or shutdown, clean up; return an exit code.

    ``node_factory`` returns one node or several (face_pipeline), spun by one executor.
    A FaceRecognitionError while starting (missing model, unreadable gallery, bad parameter)
    or a parameter its descriptor refuses (out of range, wrong type) is logged as one FATAL
    line with its advice and gives exit code 1, not a traceback.
    Nodes that hold threads stop them in ``destroy_node``.
    """
    keep_frame_buffers()
    rclpy.init(args=args)
    route_core_logging()
    nodes: list[Node] = []
    exit_code = 0
    try:
        created = node_factory(**node_kwargs)
        nodes = [created] if isinstance(created, Node) else list(created)
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except FaceRecognitionError as error:
        rclpy.logging.get_logger(_node_name(nodes, node_factory)).fatal(str(error))
        exit_code = 1
    except ParameterException as error:
        # A value outside the descriptor's range or of the wrong type (20 for a double) in
        # the YAML file or a -p: the user's to fix, so one line that says so, no traceback.
        rclpy.logging.get_logger(_node_name(nodes, node_factory)).fatal(
            f'{error}. Fix the value in the parameter file or the -p argument; the node '
            'describes each parameter\'s type and range (ros2 param describe).')
        exit_code = 1
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return exit_code


def _node_name(nodes: list[Node], node_factory: Callable) -> str:
    """The node's name for a start-up error, also when the node was never created."""
    if nodes:
        return nodes[0].get_name()
    module = sys.modules.get(getattr(node_factory, '__module__', ''))
    return getattr(module, 'NODE_NAME', getattr(node_factory, '__name__', 'node'))


@contextlib.contextmanager
def reserved_domain_id():
    """Yield a ROS_DOMAIN_ID in 1..100 that no other run on this machine holds meanwhile.

    Same scheme as ROS 2's domain_coordinator (a bound local port per id), so demos,
    benchmarks and test runs (ours or ament/launch_testing's) never hear each other; the
    reservation ends with the context or the process.
    """
    start = random.randrange(100)
    for offset in range(100):
        domain = (start + offset) % 100 + 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(('127.0.0.1', 32768 + domain))
        except OSError:
            sock.close()
            continue
        try:
            yield domain
        finally:
            sock.close()
        return
    raise RuntimeError('no free ROS_DOMAIN_ID in 1..100: set ROS_DOMAIN_ID yourself')
