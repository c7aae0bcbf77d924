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
Run the package's node executables over real DDS and talk to them from the test.

What a test gets (see conftest.py for the fixtures):
- ``ros_session``: one ``RosSession`` per pytest run. It found the colcon install space
  (``scripts/build_ros.sh`` output), put it on this process's paths, reserved a ROS domain
  id no other run on this machine uses, and set the DDS environment: discovery on localhost
  only, the shared-memory Fast DDS profile from config/, ROS_HOME and TMPDIR in a scratch
  folder.
- ``start_node(...)``: starts an installed executable (``lib/face_recognition/<node>``) as a
  separate process with parameters, remappings and namespace; returns a ``NodeProcess``
  (``.output()``, ``.wait_for_output(text)``, ``.is_running()``, ``.stop()`` by SIGINT).
- ``probe``: a ``RosProbe``, an rclpy node inside the test process, spinning in a thread:
  ``.publisher(...)``, ``.collect(...) -> Collector``, ``.wait_for_subscribers(...)``,
  ``.call_service(...)``, ``.image_msg(bgr, stamp_ns)``.

Everything is started by the harness and stopped by it, each process by its own PID.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Iterable

from face_recognition_ros.tools.processes import NodeProcess

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = Path(os.environ.get('FR_WS', REPO)).resolve()
INSTALL = WORKSPACE / 'install'
PACKAGE = 'face_recognition'
EXECUTABLE_DIR = INSTALL / PACKAGE / 'lib' / PACKAGE
CONFIG_DIR = REPO / 'config'
PARAMS_FILE = CONFIG_DIR / 'face_recognition.yaml'
FASTDDS_PROFILE = CONFIG_DIR / 'fastdds_shm.xml'
BUILD_HINT = ('run scripts/build_ros.sh first (it builds the ROS 2 package into '
              f'{INSTALL}; CI runs it before the tests)')

DEFAULT_TIMEOUT_S = 20.0
"""Long enough for a node to import the models and DDS discovery on a busy 2-core box."""


class RosBuildMissingError(RuntimeError):
    """The colcon install space is missing or older than the sources."""


# --- Environment ------------------------------------------------------------------------------

def check_build() -> None:
    """
    Raise RosBuildMissingError unless install/ holds an up-to-date face_recognition.

    Up to date means: every node executable and every Python file of the source package is
    installed (a symlink install picks up edits by itself, but a new file needs a rebuild).
    """
    if not (INSTALL / PACKAGE).is_dir() or not (INSTALL / 'setup.bash').is_file():
        raise RosBuildMissingError(f'the ROS 2 package is not built: {BUILD_HINT}.')
    site = _installed_python_dirs()
    if not any((path / 'face_recognition_ros').is_dir() for path in site):
        raise RosBuildMissingError(f'{INSTALL} has no face_recognition_ros: {BUILD_HINT}.')
    installed = next(path for path in site if (path / 'face_recognition_ros').is_dir())
    missing = [
        str(source.relative_to(REPO))
        for source in (REPO / 'face_recognition_ros').rglob('*.py')
        if '__pycache__' not in source.parts
        and not (installed / source.relative_to(REPO)).exists()
    ]
    missing += [
        f'lib/{PACKAGE}/{launcher.name}' for launcher in (REPO / 'scripts' / 'nodes').iterdir()
        if launcher.is_file() and not (EXECUTABLE_DIR / launcher.name).exists()
    ]
    if missing:
        raise RosBuildMissingError(
            f'{INSTALL} is older than the sources (not installed: {", ".join(missing[:5])}): '
            f'{BUILD_HINT}.')


def _installed_python_dirs() -> list[Path]:
    base = INSTALL / PACKAGE
    return sorted(base.glob('lib/python3*/site-packages')) + sorted(
        base.glob('local/lib/python3*/dist-packages'))


def sourced_environment() -> dict[str, str]:
    """
    Return the environment a shell has after `source scripts/ros_env.sh`.

    This works with a pip or a system ROS 2.
    """
    script = f'source {str(REPO / "scripts" / "ros_env.sh")!r} >/dev/null && env -0'
    env = dict(os.environ, FR_WS=str(WORKSPACE))
    result = subprocess.run(['bash', '-c', script], env=env, capture_output=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        raise RosBuildMissingError(
            f'sourcing scripts/ros_env.sh failed: {result.stderr.decode(errors="replace")}'
            f'{BUILD_HINT}.')
    pairs = (item.split('=', 1) for item in result.stdout.decode().split('\0') if '=' in item)
    return dict(pairs)


_ENV_KEYS = ('AMENT_PREFIX_PATH', 'COLCON_PREFIX_PATH', 'CMAKE_PREFIX_PATH', 'PYTHONPATH',
             'LD_LIBRARY_PATH', 'PATH', 'VIRTUAL_ENV', 'ROS_DISTRO', 'ROS_VERSION',
             'ROS_PYTHON_VERSION')


def activate_install_space() -> dict[str, str]:
    """
    Put install/ on this process's paths so rclpy and the built messages import here.

    LD_LIBRARY_PATH cannot change for a running process, so the built interface libraries
    (which have no RPATH) are loaded once, globally, before their Python modules need them.
    Returns the environment for child processes.
    """
    check_build()
    env = sourced_environment()
    for key in _ENV_KEYS:
        if key in env:
            os.environ[key] = env[key]
    for entry in reversed([p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    _preload_libraries(lib for prefix in INSTALL.iterdir() if (prefix / 'lib').is_dir()
                       for lib in (prefix / 'lib').glob('lib*.so'))
    return env


def _preload_libraries(libraries: Iterable[Path]) -> None:
    pending = sorted(libraries)
    while pending:  # dependency order unknown: retry until no library loads any more
        failed = []
        for library in pending:
            try:
                ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                failed.append(library)
        if len(failed) == len(pending):
            raise RosBuildMissingError(
                f'cannot load {failed[0]}: {BUILD_HINT} (with the same ROS 2 as this Python).')
        pending = failed


class RosSession:
    """The DDS world of one test run: domain id, scratch folder, child environment."""

    def __init__(self, domain_id: int, scratch: Path, child_env: dict[str, str]):
        self.domain_id = domain_id
        self.scratch = scratch
        self.env = dict(child_env)
        ros_home = scratch / 'ros_home'
        tmp = scratch / 'tmp'
        ros_home.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        settings = {
            'ROS_DOMAIN_ID': str(domain_id),
            'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
            'ROS_HOME': str(ros_home),
            'ROS_LOG_DIR': str(ros_home / 'log'),
            'TMPDIR': str(tmp),
            'PYTHONUNBUFFERED': '1',
            'RCUTILS_COLORIZED_OUTPUT': '0',
            'RCUTILS_CONSOLE_OUTPUT_FORMAT': '[{severity}] [{name}]: {message}',
        }
        if FASTDDS_PROFILE.is_file():
            settings['FASTRTPS_DEFAULT_PROFILES_FILE'] = str(FASTDDS_PROFILE)
        self.env.update(settings)
        self.env.pop('ROS_STATIC_PEERS', None)
        self.env.pop('ROS_LOCALHOST_ONLY', None)  # deprecated since Iron: the range replaces it
        os.environ.pop('ROS_LOCALHOST_ONLY', None)
        if self.env.get('ROS_DISTRO') == 'humble':  # Humble knows only the older switch
            settings['ROS_LOCALHOST_ONLY'] = '1'
            self.env['ROS_LOCALHOST_ONLY'] = '1'
        for key, value in settings.items():  # the in-test rclpy node uses the same
            os.environ[key] = value
        self._processes: list[NodeProcess] = []

    def start_node(self, executable: str, *, name: str | None = None,
                   namespace: str | None = None, parameters: dict[str, Any] | None = None,
                   remappings: dict[str, str] | None = None,
                   params_file: Path | str | None = PARAMS_FILE, log_level: str | None = None,
                   env: dict[str, str] | None = None) -> 'NodeProcess':
        """
        Start ``lib/face_recognition/<executable>`` as its own process.

        ``params_file`` defaults to config/face_recognition.yaml (what the launch file loads);
        ``parameters`` override it. ``remappings`` maps topic names, e.g. {'image': '/cam'}.
        """
        path = EXECUTABLE_DIR / executable
        if not path.is_file():
            raise RosBuildMissingError(f'{path} does not exist: {BUILD_HINT}.')
        args = [str(path), '--ros-args']
        if params_file is not None and Path(params_file).is_file():
            args += ['--params-file', str(params_file)]
        if parameters:
            override = self.scratch / f'{executable}_{len(self._processes)}_params.yaml'
            override.write_text(_parameters_yaml(parameters))
            args += ['--params-file', str(override)]
        for source, target in (remappings or {}).items():
            args += ['-r', f'{source}:={target}']
        if name:
            args += ['-r', f'__node:={name}']
        if namespace:
            args += ['-r', f'__ns:=/{namespace.lstrip("/")}']  # rcl wants it absolute
        if log_level:
            args += ['--log-level', log_level]
        process = NodeProcess(executable, args, dict(self.env, **(env or {})),
                              self.scratch / f'{executable}_{len(self._processes)}.log')
        self._processes.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process this session started (each by its own PID)."""
        for process in reversed(self._processes):
            process.stop()


def _parameters_yaml(parameters: dict[str, Any]) -> str:
    import json

    # JSON is valid YAML and keeps types exact (floats stay floats, lists stay lists).
    return json.dumps({'/**': {'ros__parameters': parameters}}, indent=1)


# --- The in-test node ---------------------------------------------------------------------

class Collector:
    """Messages received on one topic, in arrival order (thread-safe)."""

    def __init__(self, topic: str):
        self.topic = topic
        self._messages: list[Any] = []
        self._condition = threading.Condition()

    def _add(self, msg: Any) -> None:
        with self._condition:
            self._messages.append(msg)
            self._condition.notify_all()

    @property
    def messages(self) -> list[Any]:
        with self._condition:
            return list(self._messages)

    def clear(self) -> None:
        with self._condition:
            self._messages.clear()

    def wait_for(self, predicate: Callable[[Any], bool] = lambda msg: True,
                 timeout: float = DEFAULT_TIMEOUT_S) -> Any:
        """Return the first received message (old or new) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for msg in self._messages:
                    if predicate(msg):
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f'no matching message on {self.topic} within {timeout} s '
                        f'({len(self._messages)} received)')
                self._condition.wait(remaining)

    def wait_for_count(self, count: int, timeout: float = DEFAULT_TIMEOUT_S) -> list[Any]:
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f'{len(self._messages)} of {count} messages on '
                                         f'{self.topic} within {timeout} s')
                self._condition.wait(remaining)
            return list(self._messages)


class RosProbe:
    """
    An rclpy node in the test process, spinning in a background thread.

    Publishes test input, collects node output, calls services. Uses its own rclpy context,
    so it never disturbs other rclpy users in the same process.
    """

    def __init__(self, name: str = 'face_recognition_test_probe'):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self._rclpy = rclpy
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name='ros_probe', daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        with contextlib.suppress(ExternalShutdownException):
            while self.context.ok():
                self._executor.spin_once(timeout_sec=0.05)

    @staticmethod
    def reliable_qos(depth: int = 10):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)

    @staticmethod
    def best_effort_qos(depth: int = 10):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        return QoSProfile(depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT)

    def publisher(self, topic: str, msg_type: type, qos=None):
        """
        Create a publisher; reliable depth 10 by default.

        Reliable is the default because it also reaches best-effort readers.
        """
        return self.node.create_publisher(msg_type, topic, qos or self.reliable_qos())

    def collect(self, topic: str, msg_type: type, qos=None) -> Collector:
        """Subscribe and keep every message. Use best_effort_qos() for image outputs."""
        collector = Collector(topic)
        subscription = self.node.create_subscription(msg_type, topic, collector._add,
                                                     qos or self.reliable_qos())
        collector.subscription = subscription
        return collector

    def stop_collecting(self, collector: Collector) -> None:
        self.node.destroy_subscription(collector.subscription)

    def wait_for_subscribers(self, publisher, count: int = 1,
                             timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Wait until ``count`` subscriptions matched ``publisher`` (so nothing is lost)."""
        _wait_until(lambda: publisher.get_subscription_count() >= count, timeout,
                    f'{count} subscriber(s) on {publisher.topic_name}')

    def wait_for_publishers(self, topic: str, count: int = 1,
                            timeout: float = DEFAULT_TIMEOUT_S) -> None:
        _wait_until(lambda: self.node.count_publishers(topic) >= count, timeout,
                    f'{count} publisher(s) on {topic}')

    def call_service(self, srv_type: type, name: str, request, timeout: float = DEFAULT_TIMEOUT_S):
        """Call a service and return its response (fails if the service never appears)."""
        client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise AssertionError(f'service {name} not available within {timeout} s')
            future = client.call_async(request)
            _wait_until(future.done, timeout, f'a response from {name}')
            return future.result()
        finally:
            self.node.destroy_client(client)

    @staticmethod
    def image_msg(bgr, stamp_ns: int, frame_id: str = 'camera'):
        """sensor_msgs/Image (bgr8) of a BGR array, stamped ``stamp_ns`` nanoseconds."""
        from face_recognition_ros.ros_conversions import bgr_to_image_msg, ns_to_stamp
        from std_msgs.msg import Header

        return bgr_to_image_msg(bgr, Header(stamp=ns_to_stamp(stamp_ns), frame_id=frame_id))

    def close(self) -> None:
        self.context.try_shutdown()
        self._thread.join(timeout=5.0)
        self._executor.shutdown()
        self.node.destroy_node()


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(0.02)


@contextlib.contextmanager
def ros_session(child_env: dict[str, str] | None = None):
    """Provide a RosSession for the duration of the block (domain id reserved, scratch folder)."""
    env = child_env if child_env is not None else activate_install_space()
    from face_recognition_ros.node_support import reserved_domain_id

    with reserved_domain_id() as domain, tempfile.TemporaryDirectory(
            prefix='face_recognition_ros_test_') as scratch:
        session = RosSession(domain, Path(scratch), env)
        try:
            yield session
        finally:
            session.stop_all()


def stamp_of(msg) -> int:
    """Return a message's header stamp in nanoseconds."""
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
