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
What one image hop costs in rclpy: a 640x480 bgr8 frame from one process to another.

    scripts/build_ros.sh && source scripts/ros_env.sh
    python benchmarks/image_hop.py [--frames 200] [--size 640x480]

A publisher process sends ``--frames`` images at 30 Hz (stamped just before publish) to a
subscriber process (rclpy's SingleThreadedExecutor, as the nodes use), over the package's
shared-memory Fast DDS profile on localhost, in a ROS domain of its own. Measured twice in
one run, side by side: with glibc's allocator defaults and with the nodes' frame-buffer
setting (``node_support.keep_frame_buffers``), and once more with a 1-pixel-high image for
the fixed cost of a message. Printed as JSON: median and p90 latency (stamp to callback),
CPU time per frame of the subscriber process (all its threads, DDS's included) and of the
publisher (building the message and publishing it). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from face_recognition_ros.node_support import (  # noqa: E402
    image_qos, keep_frame_buffers, KEEP_FRAME_BUFFERS_ENV, reserved_domain_id
)
from face_recognition_ros.tools.demo import dds_environment, package_paths  # noqa: E402
from ros_pipeline import latency_stats  # noqa: E402 - the benchmark beside this one

TOPIC = 'image_hop'
SKIP_FIRST = 5
"""Messages left out of the statistics: discovery and first allocations."""


def run_subscriber(frames: int) -> dict:
    import rclpy
    from sensor_msgs.msg import Image

    keep_frame_buffers()  # a no-op when the environment says 0
    rclpy.init()
    node = rclpy.create_node('image_hop_subscriber')
    latencies, cpu_start = [], []

    def on_image(msg) -> None:
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        latencies.append((now - stamp) / 1e6)
        if len(latencies) == SKIP_FIRST:
            cpu_start.append(time.process_time())

    node.create_subscription(Image, TOPIC, on_image, image_qos(depth=5))
    deadline = time.monotonic() + 60.0
    while len(latencies) < frames and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.5)
    cpu_s = time.process_time() - cpu_start[0] if cpu_start else 0.0
    node.destroy_node()
    rclpy.try_shutdown()
    measured = latencies[SKIP_FIRST:]
    return {'received': len(latencies), 'latency_ms': latency_stats(measured),
            'subscriber_cpu_ms_per_frame': round(1000 * cpu_s / max(1, len(measured)), 2)}


def run_publisher(frames: int, width: int, height: int) -> dict:
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    keep_frame_buffers()
    rclpy.init()
    node = rclpy.create_node('image_hop_publisher')
    publisher = node.create_publisher(Image, TOPIC, image_qos(depth=5))
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), np.uint8)
    deadline = time.monotonic() + 30.0
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # let the match settle both ways
    cpu_start = time.process_time()
    for _ in range(frames + 10):  # a few extra: the subscriber may miss the first ones
        msg = Image(height=height, width=width, encoding='bgr8', step=3 * width)
        data = array.array('B')
        data.frombytes(pixels.data)
        msg.data = data
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, 1_000_000_000)
        publisher.publish(msg)
        time.sleep(1 / 30)
    cpu_s = time.process_time() - cpu_start
    node.destroy_node()
    rclpy.try_shutdown()
    return {'publisher_cpu_ms_per_frame': round(1000 * cpu_s / (frames + 10), 2)}


def measure(frames: int, width: int, height: int, keep_buffers: bool, env: dict) -> dict:
    """One publisher and one subscriber process; their results merged."""
    env = dict(env, **{KEEP_FRAME_BUFFERS_ENV: '1' if keep_buffers else '0'})
    me = [sys.executable, str(Path(__file__).resolve()), '--frames', str(frames),
          '--size', f'{width}x{height}']
    subscriber = subprocess.Popen(me + ['--role', 'subscriber'], env=env,
                                  stdout=subprocess.PIPE, text=True)
    publisher = subprocess.run(me + ['--role', 'publisher'], env=env, check=True,
                               stdout=subprocess.PIPE, text=True, timeout=120)
    received, _ = subscriber.communicate(timeout=120)
    result = {'size': f'{width}x{height}', 'frame_buffers_kept': keep_buffers}
    result.update(json.loads(received.strip().splitlines()[-1]))
    result.update(json.loads(publisher.stdout.strip().splitlines()[-1]))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n')[0])
    parser.add_argument('--frames', type=int, default=200)
    parser.add_argument('--size', default='640x480', help='WIDTHxHEIGHT of the image')
    parser.add_argument('--role', choices=['subscriber', 'publisher'], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split('x'))
    if args.role == 'subscriber':
        print(json.dumps(run_subscriber(args.frames)))
        return 0
    if args.role == 'publisher':
        print(json.dumps(run_publisher(args.frames, width, height)))
        return 0

    _, share = package_paths()
    with contextlib.ExitStack() as stack:
        domain = stack.enter_context(reserved_domain_id())
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix='image_hop_')))
        env = dds_environment(domain, share, logs)
        load_before = os.getloadavg()[0]
        runs = [measure(args.frames, width, height, False, env),
                measure(args.frames, width, height, True, env),
                measure(args.frames, width, 1, True, env)]
    print(json.dumps({'cpu_count': os.cpu_count(), 'load_average_at_start': round(load_before, 2),
                      'fastdds_profile': env.get('FASTRTPS_DEFAULT_PROFILES_FILE'),
                      'runs': runs}, indent=1))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
