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
``reserved_domain_id``: a ROS_DOMAIN_ID no other run on this machine holds.

It is for demos, benchmarks and test runs.
"""

from __future__ import annotations

import contextlib
import random
import socket


@contextlib.contextmanager
def reserved_domain_id():
    """
    Yield a ROS_DOMAIN_ID in 1..100 that no other run on this machine holds meanwhile.

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
