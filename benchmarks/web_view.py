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
What the operator page's live view costs: face_web's CPU at camera rate, with and without a viewer.

    source scripts/prepare.sh   # or: scripts/build_ros.sh && source scripts/ros_env.sh
    python benchmarks/web_view.py [--rate 30] [--seconds 15] [--frames 90]

This process plays the bundled clip (640x360) on ``image`` at ``--rate`` frames/s and, with
the same stamps, the identities of each frame on ``faces/identified`` (computed once
beforehand by the real FacePipeline, so the boxes and labels are the ones a viewer would
see). face_web (the installed executable, default parameters but port 0) runs in its own
process in a DDS domain of its own. Two phases of ``--seconds`` each, after a warm-up:

1. nobody watches: face_web receives only the small identity messages, no image (it
   subscribes to images only while a browser shows the live view), draws nothing;
2. one viewer: an HTTP client reads /stream.mjpg (as a browser's <img> does): face_web
   receives every image, pairs it with its identities, draws boxes and labels and encodes
   a JPEG, at most max_view_fps (default 30) per second.

Printed as one JSON object: face_web's CPU (% of one core, from /proc utime+stime) per
phase, frames drawn and delivered to the viewer per second, mean JPEG size, and the rate
this process really published. Nothing asserts a number: a shared machine's load moves
them; compare within one run.
"""

from __future__ import annotations

import argparse
from http.client import HTTPConnection
import json
import os
from pathlib import Path
import re
import sys
import threading
import time

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'test' / 'ros'))
import ros_harness  # noqa: E402

CLIP = REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def clip_frames_with_faces(count: int):
    """(frame, faces) of the clip's first ``count`` frames, identified by FacePipeline."""
    import cv2
    from face_recognition_ros.core.pipeline import build_pipeline

    pipeline = build_pipeline(create_gallery=True, gallery_path=None)
    capture = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append((frame, pipeline.process(frame).faces))
    capture.release()
    return frames


class MjpegViewer:
    """Reads /stream.mjpg like a browser's <img>; counts the frames and bytes received."""

    def __init__(self, url: str):
        match = re.match(r'http://([^:/]+):(\d+)/', url)
        self._connection = HTTPConnection(match.group(1), int(match.group(2)), timeout=10)
        self.frames = 0
        self.bytes = 0
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        self._connection.request('GET', '/stream.mjpg')
        response = self._connection.getresponse()
        while self._running:
            line = response.fp.readline()
            if not line:
                return
            if line.lower().startswith(b'content-length:'):
                length = int(line.split(b':')[1])
                response.fp.readline()  # blank line before the JPEG
                response.fp.read(length)
                self.frames += 1
                self.bytes += length

    def close(self) -> None:
        self._running = False
        self._connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--rate', type=float, default=30.0, help='frames/s published')
    parser.add_argument('--seconds', type=float, default=15.0, help='length of each phase')
    parser.add_argument('--warmup', type=float, default=3.0)
    parser.add_argument('--frames', type=int, default=90, help='clip frames to loop')
    args = parser.parse_args()

    frames = clip_frames_with_faces(args.frames)
    with ros_harness.ros_session() as session:
        from face_recognition_ros.node_support import image_qos, results_qos
        from face_recognition_ros.ros_conversions import (
            bgr_to_image_msg, faces_to_identified_msg, ns_to_stamp
        )
        from sensor_msgs.msg import Image
        from std_msgs.msg import Header
        from vision_msgs.msg import Detection2DArray

        web = session.start_node('face_web', parameters={'port': 0})
        output = web.wait_for_output('ready: serving', timeout=60)
        url = re.search(r'ready: serving (http://[^ ]+/)', output).group(1)
        probe = ros_harness.RosProbe('web_view_benchmark')
        image_pub = probe.publisher('image', Image, image_qos())
        identified_pub = probe.publisher('faces/identified', Detection2DArray, results_qos())
        probe.wait_for_subscribers(identified_pub)
        published = [0]
        running = [True]

        def publish() -> None:
            period, next_time, index = 1.0 / args.rate, time.monotonic(), 0
            while running[0]:
                frame, faces = frames[index % len(frames)]
                header = Header(stamp=ns_to_stamp(time.time_ns()), frame_id='camera')
                image_pub.publish(bgr_to_image_msg(frame, header))
                identified_pub.publish(faces_to_identified_msg(faces, header))
                published[0] += 1
                index += 1
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))

        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        pid = web.popen.pid

        def phase(viewer: MjpegViewer | None) -> dict:
            time.sleep(args.warmup)
            cpu0, sent0, wall0 = process_cpu_s(pid), published[0], time.monotonic()
            got0, bytes0 = (viewer.frames, viewer.bytes) if viewer else (0, 0)
            time.sleep(args.seconds)
            wall = time.monotonic() - wall0
            result = {
                'face_web_cpu_percent_of_one_core': round(
                    100.0 * (process_cpu_s(pid) - cpu0) / wall, 1),
                'published_fps': round((published[0] - sent0) / wall, 1),
            }
            if viewer:
                got = viewer.frames - got0
                result['viewer_received_fps'] = round(got / wall, 1)
                result['mean_jpeg_kb'] = round((viewer.bytes - bytes0) / max(got, 1) / 1024, 1)
            return result

        report = {'rate_hz': args.rate, 'seconds_per_phase': args.seconds,
                  'image': f'{frames[0][0].shape[1]}x{frames[0][0].shape[0]}',
                  'no_viewer': phase(None)}
        viewer = MjpegViewer(url)
        report['one_viewer'] = phase(viewer)
        viewer.close()
        running[0] = False
        publisher.join()
        probe.close()
        web.stop()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
