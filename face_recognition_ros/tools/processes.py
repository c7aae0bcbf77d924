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
A ROS program as a child process.

It is started, watched, measured and stopped the same way by the demo, the benchmarks and
the test harness.

Each process writes stdout and stderr into one log file (read back with ``output``), gets
Ctrl-C back even when started from a script that ignores it, and is stopped by its own PID
only (SIGINT, then SIGTERM, then SIGKILL if it hangs), as a terminal user would.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import signal
import subprocess
import time

DEFAULT_OUTPUT_TIMEOUT_S = 30.0
"""How long ``wait_for_output`` waits by default (model loading and DDS discovery)."""


def node_command(executable: Path | str, params_files: list[Path] = ()) -> list[str]:
    """Return the argv of a node executable with its parameter files."""
    args = [str(executable), '--ros-args']
    for params in params_files:
        args += ['--params-file', str(params)]
    return args


class NodeProcess:
    """One program (a node executable, ``ros2 launch``...) running as a child process."""

    def __init__(self, executable: str, args: list[str], env: dict[str, str],
                 log_path: Path, cwd: Path | None = None, own_process_group: bool = False):
        """
        Start ``args`` (the full argv); ``executable`` is the name used in messages.

        ``own_process_group``: start it as a terminal starts a command, in a process group of
        its own, and send ``stop``'s SIGINT to the whole group as Ctrl-C does. A launch
        service run from a script needs this: on Ctrl-C it leaves SIGINT to the terminal,
        which has already sent it to every process of the group.
        """
        self.executable = self.name = str(executable)
        self._own_process_group = own_process_group
        self.args = args
        self.log_path = Path(log_path)
        self.returncode: int | None = None
        self._log = open(self.log_path, 'wb')  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=str(cwd or self.log_path.parent),
            preexec_fn=_default_sigint, start_new_session=own_process_group)
        self.pid = self.popen.pid

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def wait_for_output(self, text: str, timeout: float = DEFAULT_OUTPUT_TIMEOUT_S) -> str:
        """Wait until ``text`` appears in the output; return the output. Fails if it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output()
            if text in output:
                return output
            if not self.is_running():
                raise AssertionError(
                    f'{self.executable} exited with {self.popen.returncode} before printing '
                    f'{text!r}. Its output:\n{output}')
            time.sleep(0.05)
        raise AssertionError(f'{self.executable} did not print {text!r} within {timeout} s. '
                             f'Its output:\n{self.output()}')

    def peak_rss_kib(self) -> int | None:
        """Return VmHWM (peak resident memory) of the running process, in KiB."""
        try:
            for line in Path(f'/proc/{self.pid}/status').read_text().splitlines():
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used so far (all its threads)."""
        try:
            stat = Path(f'/proc/{self.pid}/stat').read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(')') + 2:].split()  # after "pid (name) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT (Ctrl-C) and wait; SIGTERM, then SIGKILL if it hangs. Returns the exit code."""
        if self.returncode is not None:
            return self.returncode
        for sig, wait_s in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0),
                            (signal.SIGKILL, 5.0)):
            if self.popen.poll() is not None:
                break
            if sig == signal.SIGINT and self._own_process_group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(wait_s)
        self.returncode = self.popen.wait()
        self._log.close()
        return self.returncode


def _default_sigint() -> None:
    # Started from a non-interactive script, children may inherit an ignored SIGINT: Ctrl-C
    # must reach the node as it would in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


__all__ = ['DEFAULT_OUTPUT_TIMEOUT_S', 'NodeProcess', 'node_command']
