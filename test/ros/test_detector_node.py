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
face_detector as its own process over real DDS: real photos in, Detection2DArray out.

The test process publishes the photos (as a camera driver would) and checks what comes
back on faces/detections: the image's stamp and frame_id, one detection per face, an empty
array for a frame without faces, and that a broken image is logged while the node carries
on. Also: namespaces and remapping, parameters from the file, /diagnostics, Ctrl-C.
"""

from __future__ import annotations

import os

from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
import pytest
import ros_harness
from ros_harness import stamp_of
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

BASE_STAMP_NS = 1_700_000_000_000_000_000


@pytest.fixture(scope='module')
def detector_node(ros_session):
    process = ros_session.start_node('face_detector')
    process.wait_for_output('ready:', timeout=60)
    yield process
    returncode = process.stop()
    print(f'--- face_detector output (exit code {returncode}) ---\n{process.output()}')


@pytest.fixture
def image_pub(probe, detector_node):
    publisher = probe.publisher('image', Image)
    probe.wait_for_subscribers(publisher)
    return publisher


@pytest.fixture
def detections(probe, detector_node):
    collector = probe.collect('faces/detections', Detection2DArray)
    probe.wait_for_publishers('faces/detections')
    return collector


def send_and_wait(publisher, collector, image_msg, attempts: int = 5, timeout: float = 4.0):
    """Publish until the answer with this image's stamp arrives (images are best effort)."""
    stamp = stamp_of(image_msg)
    for _ in range(attempts):
        publisher.publish(image_msg)
        try:
            return collector.wait_for(lambda msg: stamp_of(msg) == stamp, timeout=timeout)
        except AssertionError:
            continue
    raise AssertionError(f'no detections stamped {stamp} after {attempts} tries')


@pytest.mark.parametrize('photo,faces', [('obama_biden/obama.jpg', 1),
                                         ('obama_biden/two_people.jpg', 2)])
def test_faces_of_a_real_photo_arrive_with_the_image_header(
        probe, image_pub, detections, fixture_image, photo, faces):
    image = fixture_image(photo)
    stamp = BASE_STAMP_NS + faces * 1_000_000_007
    msg = probe.image_msg(image, stamp, frame_id='front_camera')

    result = send_and_wait(image_pub, detections, msg)

    assert result.header.stamp == msg.header.stamp
    assert result.header.frame_id == 'front_camera'
    assert len(result.detections) == faces
    height, width = image.shape[:2]
    for item in result.detections:
        assert item.header.stamp == msg.header.stamp
        assert item.results[0].hypothesis.class_id == 'face'
        assert 0.6 <= item.results[0].hypothesis.score <= 1.0
        assert 0 < item.bbox.center.position.x < width and 0 < item.bbox.center.position.y < height
        assert 20 <= item.bbox.size_x < width and 20 <= item.bbox.size_y < height


def test_frame_without_faces_gives_an_empty_array(probe, image_pub, detections):
    blank = np.full((480, 640, 3), 127, dtype=np.uint8)
    msg = probe.image_msg(blank, BASE_STAMP_NS + 5_000_000_000)

    result = send_and_wait(image_pub, detections, msg)

    assert list(result.detections) == []
    assert result.header.frame_id == 'camera'


def test_broken_images_are_logged_and_the_node_keeps_running(
        probe, image_pub, detections, detector_node, fixture_image):
    image = fixture_image('obama_biden/obama.jpg')
    bad_encoding = probe.image_msg(image, BASE_STAMP_NS + 6_000_000_000)
    bad_encoding.encoding = '32FC1'  # same bytes read as floats: consistent, unsupported
    bad_encoding.width = image.shape[1] * 3 // 4
    bad_encoding.step = bad_encoding.width * 4
    truncated = probe.image_msg(image, BASE_STAMP_NS + 7_000_000_000)
    truncated.data = truncated.data[:1000]

    image_pub.publish(bad_encoding)
    detector_node.wait_for_output("unsupported image encoding '32FC1'")
    image_pub.publish(truncated)
    detector_node.wait_for_output('truncated')

    good = probe.image_msg(image, BASE_STAMP_NS + 8_000_000_000)
    result = send_and_wait(image_pub, detections, good)
    assert len(result.detections) == 1
    assert detector_node.is_running()
    assert not [m for m in detections.messages
                if stamp_of(m) in (stamp_of(bad_encoding), stamp_of(truncated))]


def test_diagnostics_report_rate_latency_and_drops(probe, image_pub, detections,
                                                   fixture_image):
    diagnostics = probe.collect('/diagnostics', DiagnosticArray)
    send_and_wait(image_pub, detections,
                  probe.image_msg(fixture_image('obama_biden/obama.jpg'), BASE_STAMP_NS + 9))

    def detector_status(msg):
        return any('face_detector' in status.name for status in msg.status)

    msg = diagnostics.wait_for(detector_status, timeout=5.0)
    status = next(s for s in msg.status if 'face_detector' in s.name)
    values = {item.key: item.value for item in status.values}
    assert {'rate_hz', 'processing_ms_median', 'latency_ms_median', 'dropped_frames',
            'frames', 'errors'} <= set(values)
    assert int(values['frames']) >= 1 and values['backend'] == 'yunet'
    assert float(values['processing_ms_median']) > 0


def test_namespace_remapping_and_parameters_reach_the_node(start_node, probe, fixture_image):
    # A minimum face size larger than the photo: the parameter must reach the detector.
    node = start_node('face_detector', namespace='robot1',
                      remappings={'image': '/front/image_raw'},
                      parameters={'min_face_size': 5000.0})
    node.wait_for_output('ready:', timeout=60)
    assert '/front/image_raw -> /robot1/faces/detections' in node.output()
    publisher = probe.publisher('/front/image_raw', Image)
    collector = probe.collect('/robot1/faces/detections', Detection2DArray)
    probe.wait_for_subscribers(publisher)
    probe.wait_for_publishers('/robot1/faces/detections')

    msg = probe.image_msg(fixture_image('obama_biden/obama.jpg'), BASE_STAMP_NS + 11)
    result = send_and_wait(publisher, collector, msg)

    assert list(result.detections) == []


def test_ctrl_c_shuts_the_node_down_cleanly(start_node):
    node = start_node('face_detector', name='face_detector_to_stop')
    node.wait_for_output('ready:', timeout=60)
    assert node.stop() == 0
    assert 'Traceback' not in node.output()


@pytest.mark.parametrize('executable', ['video_source', 'face_detector', 'face_recognizer',
                                        'face_overlay', 'face_pipeline'])
def test_ctrl_c_while_the_node_still_imports_exits_0_without_traceback(
        start_node, ros_session, executable):
    """
    Ctrl-C right after `ros2 launch` lands while OpenCV, onnxruntime and rclpy load.

    A stand-in node module on PYTHONPATH sends the SIGINT from inside its import, where the
    real module spends its first second, so the launcher meets it at that point every time.
    """
    stand_in = ros_session.scratch / f'ctrl_c_on_import_{executable}'
    nodes = stand_in / 'face_recognition_ros' / 'nodes'
    nodes.mkdir(parents=True, exist_ok=True)
    (stand_in / 'face_recognition_ros' / '__init__.py').write_text('')
    (nodes / '__init__.py').write_text('')
    (nodes / f'{executable}.py').write_text(
        'import os, signal, time\n'
        'os.kill(os.getpid(), signal.SIGINT)\n'
        'time.sleep(10)\n')
    python_path = os.pathsep.join([str(stand_in), ros_session.env.get('PYTHONPATH', '')])
    node = start_node(executable, env={'PYTHONPATH': python_path})

    assert node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S) == 0
    assert 'Traceback' not in node.output()


def test_missing_model_fails_with_advice_and_exit_code_1(start_node, ros_session):
    node = start_node('face_detector', name='face_detector_no_model',
                      parameters={'model_path': str(ros_session.scratch / 'missing.onnx')})
    node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S)
    assert node.popen.returncode == 1
    output = node.output()
    assert 'missing.onnx' in output and 'Traceback' not in output


@pytest.mark.parametrize('parameters,named', [({'top_k': 0}, 'top_k'),
                                              ({'min_face_size': 20}, 'min_face_size')])
def test_a_parameter_out_of_range_or_of_the_wrong_type_is_one_fatal_line(
        start_node, parameters, named):
    node = start_node('face_detector', name='face_detector_bad_parameter',
                      parameters=parameters)
    node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S)
    output = node.output()

    assert node.popen.returncode == 1
    assert 'FATAL' in output and named in output
    assert 'Traceback' not in output


# --- video_source, the detector's usual input ---------------------------------------------------

def test_video_source_publishes_a_folder_once_with_stamps_and_frame_id(
        start_node, probe, ros_session, fixture_image):
    folder = ros_session.scratch / 'frames'
    folder.mkdir(exist_ok=True)
    for name in ('obama.jpg', 'two_people.jpg'):
        (folder / name).write_bytes(
            (ros_harness.REPO / 'test' / 'fixtures' / 'obama_biden' / name).read_bytes())
    (folder / 'notes.txt').write_text('not an image')
    images = probe.collect('/folder_test/image', Image, qos=probe.best_effort_qos())

    # Reliable images and a low rate: this test counts frames, so none may be lost.
    node = start_node('video_source', namespace='folder_test', parameters={
        'source': str(folder), 'loop': False, 'rate': 2.0, 'frame_id': 'test_camera',
        'shutdown_at_end': True, 'wait_for_subscriber': True,
        'qos_overrides./folder_test/image.publisher.reliability': 'reliable',
        'qos_overrides./folder_test/image.publisher.depth': 5})
    node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S)

    assert node.popen.returncode == 0, node.output()
    assert 'end of' in node.output() and '2 frames published' in node.output()
    received = images.wait_for_count(2, timeout=5.0)
    assert [m.header.frame_id for m in received] == ['test_camera', 'test_camera']
    assert stamp_of(received[0]) < stamp_of(received[1])
    first = fixture_image('obama_biden/obama.jpg')
    assert (received[0].height, received[0].width, received[0].encoding) == (
        first.shape[0], first.shape[1], 'bgr8')


def test_video_source_at_the_end_of_a_folder_says_so_on_diagnostics(start_node, probe,
                                                                    ros_session):
    """A source that ended (loop false, node kept up) is done on purpose: OK, not a WARN."""
    from diagnostic_msgs.msg import DiagnosticStatus

    folder = ros_session.scratch / 'one_frame'
    folder.mkdir(exist_ok=True)
    (folder / 'obama.jpg').write_bytes(
        (ros_harness.REPO / 'test' / 'fixtures' / 'obama_biden' / 'obama.jpg').read_bytes())
    diagnostics = probe.collect('/diagnostics', DiagnosticArray)
    node = start_node('video_source', name='video_source_ended',
                      parameters={'source': str(folder), 'loop': False, 'rate': 5.0})

    def ended(msg):
        return any('video_source_ended' in status.name and 'end of' in status.message
                   for status in msg.status)

    msg = diagnostics.wait_for(ended, timeout=15.0)
    status = next(s for s in msg.status if 'video_source_ended' in s.name)
    assert status.level == DiagnosticStatus.OK and '1 frames published' in status.message
    assert node.is_running()


def test_video_source_refuses_a_missing_file_with_advice(start_node, ros_session):
    node = start_node('video_source', name='video_source_missing',
                      parameters={'source': str(ros_session.scratch / 'missing.mp4')})
    node.popen.wait(timeout=ros_harness.DEFAULT_TIMEOUT_S)
    assert node.popen.returncode == 1
    assert 'does not exist' in node.output() and 'Traceback' not in node.output()


def test_video_source_looping_a_folder_without_readable_images_says_so_once(
        start_node, ros_session):
    """
    Check that looping a folder without readable images says so once.

    loop: true over nothing readable must not rewind forever (a spinning core and a
    warning per pass, thousands a second), but say once what is wrong.
    """
    folder = ros_session.scratch / 'damaged_frames'
    folder.mkdir(exist_ok=True)
    (folder / 'frame_000.jpg').write_bytes(b'not a jpeg')
    node = start_node('video_source', name='video_source_damaged',
                      parameters={'source': str(folder), 'loop': True})

    output = node.wait_for_output('has no readable frame')
    assert output.count('skipped:') == 1  # one pass over the folder, not one per rewind
    assert node.is_running() and 'Traceback' not in output
