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
Restarts under load: each node SIGKILLed and started again while the clip plays at 30 Hz.

The two-process layout (video_source on the looping Hamilton clip at 30 Hz, face_detector,
face_recognizer with a gallery file, face_overlay), a probe subscribed to every output.
Twenty rounds kill one node with SIGKILL (a crash or an OOM kill: no shutdown code runs,
nothing is flushed), start it again and check what a robot needs after a crash:
- the restarted node publishes again within 5 s (discovery, models, pairing all recover);
- the other nodes never stopped (same PID) and their outputs flow again;
- no frame is answered twice on faces/identified (no duplicate stamp in the whole run);
- the gallery file is intact afterwards: it loads, same people, same embedding count,
  owner-only permissions, the very bytes that were written before (nobody enrolled).
Rounds are kept cheap (one kill, one restart, a short wait for every output) so that the
restart itself is what the 20 rounds measure.
"""

from __future__ import annotations

import hashlib
import signal
import time

from diagnostic_msgs.msg import DiagnosticArray
import pytest
import ros_harness
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

CLIP = ros_harness.REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'
NAMESPACE = 'restarts'
ROUNDS = 20
RESUME_LIMIT_S = 5.0
"""The restarted node's first output must come within this time of starting it."""
FLOW_LIMIT_S = 5.0
"""The other nodes' outputs must grow again within this time of the restarted node's."""
NODES = ('video_source', 'face_detector', 'face_recognizer', 'face_overlay')
VICTIMS = ('face_detector', 'face_recognizer', 'face_overlay', 'video_source')
"""Killed in this order, round after round."""


def _parameters(gallery) -> dict:
    return {
        'video_source': {'source': str(CLIP), 'loop': True, 'rate': 30.0,
                         'frame_id': 'hamilton_clip'},
        'face_detector': {'num_threads': 1},
        'face_recognizer': {'gallery_path': str(gallery), 'num_threads': 1},
        'face_overlay': {},
    }


def _outputs(probe) -> dict:
    """
    Each node's own output topic, collected by the probe.

    Images are taken serialized (``raw``): the probe only counts them, and deserializing
    two 30 Hz image streams in Python would take the CPU the restarted node needs.
    """
    def raw_images(topic: str) -> ros_harness.Collector:
        collector = ros_harness.Collector(topic)
        collector.subscription = probe.node.create_subscription(
            Image, topic, collector._add, probe.best_effort_qos(depth=5), raw=True)
        return collector

    return {
        'video_source': raw_images(f'/{NAMESPACE}/image'),
        'face_detector': probe.collect(f'/{NAMESPACE}/faces/detections', Detection2DArray),
        'face_recognizer': probe.collect(f'/{NAMESPACE}/faces/identified', Detection2DArray),
        'face_overlay': raw_images(f'/{NAMESPACE}/faces/image_annotated'),
    }


def _wait_for_more(collector, count: int, timeout: float) -> float:
    """
    Return the seconds until ``collector`` holds more than ``count`` messages.

    Raises AssertionError after ``timeout``.
    """
    start = time.monotonic()
    collector.wait_for_count(count + 1, timeout=timeout)
    return time.monotonic() - start


def _graph(probe) -> str:
    """Who publishes and subscribes what, as the probe sees the graph (for failures)."""
    node = probe.node
    return 'graph: ' + ', '.join(
        f'{topic} {node.count_publishers(topic)} pub/{node.count_subscribers(topic)} sub'
        for topic in (f'/{NAMESPACE}/image', f'/{NAMESPACE}/faces/detections',
                      f'/{NAMESPACE}/faces/identified'))


def _last_status(diagnostics, node_name: str) -> str:
    for array in reversed(diagnostics.messages):
        for status in array.status:
            if node_name in status.name:
                values = {v.key: v.value for v in status.values}
                return f'{status.message} {values}'
    return 'none'


def test_every_node_killed_and_restarted_twenty_times_under_load(ros_session, start_node,
                                                                 probe):
    from face_recognition_ros.core.gallery import Gallery
    from face_recognition_ros.tools.demo import build_demo_gallery

    gallery_path = ros_session.scratch / 'restarts' / 'gallery.npz'
    gallery_path.parent.mkdir(parents=True, exist_ok=True)
    build_demo_gallery(gallery_path)
    enrolled = Gallery.load(gallery_path)
    people, embeddings = enrolled.counts(), enrolled.num_embeddings
    written = hashlib.sha256(gallery_path.read_bytes()).hexdigest()
    parameters = _parameters(gallery_path)

    def start(executable: str):
        return start_node(executable, namespace=NAMESPACE, parameters=parameters[executable])

    outputs = _outputs(probe)
    diagnostics = probe.collect('/diagnostics', DiagnosticArray)
    processes = {name: start(name) for name in NODES}
    for name, process in processes.items():
        process.wait_for_output('publishing' if name == 'video_source' else 'ready:',
                                timeout=90)
    for name, collector in outputs.items():
        collector.wait_for_count(1, timeout=60)

    resume_s, flow_s = {name: [] for name in NODES}, []
    started = time.monotonic()
    for round_index in range(ROUNDS):
        victim = VICTIMS[round_index % len(VICTIMS)]
        killed = processes[victim]
        killed.popen.send_signal(signal.SIGKILL)
        assert killed.popen.wait(5) == -signal.SIGKILL
        killed.stop()  # closes its log; the process is already gone
        count = len(outputs[victim].messages)
        processes[victim] = start(victim)
        try:
            resume_s[victim].append(_wait_for_more(outputs[victim], count, RESUME_LIMIT_S))
        except AssertionError as error:
            pytest.fail(f'round {round_index + 1}: {victim} did not publish within '
                        f'{RESUME_LIMIT_S} s of its restart ({error}; earlier rounds: '
                        f'{resume_s}). {_graph(probe)}; its last diagnostics: '
                        f'{_last_status(diagnostics, victim)}. Its output:\n'
                        f'{processes[victim].output()}')
        flow_start = time.monotonic()
        for name, process in processes.items():
            assert process.is_running(), (
                f'round {round_index + 1}: {name} died while {victim} restarted:\n'
                f'{process.output()}')
            if name == victim:
                continue
            try:
                _wait_for_more(outputs[name], len(outputs[name].messages), FLOW_LIMIT_S)
            except AssertionError as error:
                pytest.fail(f'round {round_index + 1}: the output of {name} stopped after '
                            f'{victim} restarted ({error}). {_graph(probe)}; its last '
                            f'diagnostics: {_last_status(diagnostics, name)}')
        flow_s.append(time.monotonic() - flow_start)
        print(f'round {round_index + 1}: {victim} publishing after '
              f'{resume_s[victim][-1]:.2f} s, the others after {flow_s[-1]:.2f} s more '
              f'({len(outputs["face_recognizer"].messages)} frames identified so far)')
    rounds_s = time.monotonic() - started

    stamps = [ros_harness.stamp_of(msg) for msg in outputs['face_recognizer'].messages]
    repeated = len(stamps) - len(set(stamps))
    assert repeated == 0, f'{repeated} of {len(stamps)} frames were answered twice'
    for name, process in processes.items():
        assert process.is_running(), f'{name} ended:\n{process.output()}'
        assert 'Traceback' not in process.output(), process.output()

    after = Gallery.load(gallery_path)
    assert after.counts() == people and after.num_embeddings == embeddings
    assert gallery_path.stat().st_mode & 0o077 == 0
    # nobody enrolled: a recognizer killed at any moment must not have rewritten it
    assert hashlib.sha256(gallery_path.read_bytes()).hexdigest() == written
    print(f'{ROUNDS} rounds in {rounds_s:.1f} s; resume s (max): '
          + ', '.join(f'{n} {max(v):.2f}' for n, v in resume_s.items() if v)
          + f'; others flowing again within {max(flow_s):.2f} s; '
          + f'{len(stamps)} frames identified, none twice; messages per output: '
          + ', '.join(f'{n} {len(c.messages)}' for n, c in outputs.items()))
