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
Face recognition pipeline: face_detector -> face_recognizer -> face_overlay.

    ros2 launch face_recognition face_recognition.launch.py image:=/camera/image_raw
    ros2 launch face_recognition face_recognition.launch.py video_source:=/path/clip.mp4

Arguments (only the ones people change; every other setting is in
config/face_recognition.yaml, loaded for every node):
- image: the camera topic the nodes read (default: image);
- video_source: also start video_source on this camera index, device, video file, image
  folder or csi://0, publishing on the image topic (default: empty, use your camera driver);
- gallery: the gallery file (.npz) of enrolled people (default: empty,
  $ROS_HOME/face_recognition/gallery.npz);
- detector_backend: yunet (any CPU) or facedetect (Jetson);
- namespace: push all nodes and their relative topics into this namespace;
- use_composition: true (default) runs face_detector and face_recognizer in one process
  (the face_pipeline executable: each frame goes from detector to recognizer in memory,
  which saves a process, ~90 MB and several ms per frame); false: one process per node.
  Node names, topics, services and parameters are the same either way.
- web: true starts face_web, the operator page (default false): http://127.0.0.1:8080/ with
  the live view, who is in view, enroll by clicking a face, forget, status; host, port and
  token in config/face_recognition.yaml (another host than 127.0.0.1 needs a token).

Watch /faces/identified (vision_msgs/Detection2DArray), and /faces/image_annotated in RViz
(config/face_recognition.rviz).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = 'face_recognition'
PIPELINE_NODES = ('face_detector', 'face_recognizer', 'face_overlay')
COMPOSED = {'face_pipeline': ('face_detector', 'face_recognizer')}
"""Executables that hold several of the nodes: they keep their node names (a __node remap
would rename every node of the process), and get the parameters of all of them."""

ARGUMENTS = (
    ('image', 'image', 'Image topic the nodes read (remap to your camera).'),
    ('video_source', '', 'Also start video_source on this camera index, device, video file, '
                         'image folder or csi://0 URI; empty: no video_source.'),
    ('gallery', '', 'Gallery file (.npz) of enrolled people; empty: '
                    '$ROS_HOME/face_recognition/gallery.npz.'),
    ('detector_backend', 'yunet', 'Face detector: yunet (any CPU) or facedetect (Jetson).'),
    ('namespace', '', 'Namespace of all nodes and their relative topics.'),
    ('use_composition', 'true', 'true: face_detector and face_recognizer share one process '
                                '(face_pipeline), frames passed in memory; false: a process '
                                'per node.'),
    ('web', 'false', 'true: also start face_web, the operator page in a browser '
                     '(http://127.0.0.1:8080/ by default).'),
)


def _nodes(context):
    def value(name):
        return LaunchConfiguration(name).perform(context).strip()

    params_file = FindPackageShare(PACKAGE).perform(context) + '/config/face_recognition.yaml'
    image, namespace = value('image'), value('namespace')
    overrides = {
        'face_detector': {'backend': value('detector_backend')},
        'face_recognizer': {'gallery_path': value('gallery')} if value('gallery') else {},
        'face_overlay': {},
        'video_source': {'source': value('video_source')},
        'face_web': {},
    }
    composition = value('use_composition').lower()
    if composition not in ('true', 'false'):
        raise ValueError(f"use_composition must be true or false, not '{composition}'")
    executables = list(PIPELINE_NODES)
    if composition == 'true':
        executables = ['face_pipeline', 'face_overlay']
        overrides['face_pipeline'] = dict(overrides['face_detector'],
                                          **overrides['face_recognizer'])
    if value('video_source'):
        executables.insert(0, 'video_source')
    web = value('web').lower()
    if web not in ('true', 'false'):
        raise ValueError(f"web must be true or false, not '{web}'")
    if web == 'true':
        executables.append('face_web')
    return [
        Node(package=PACKAGE, executable=executable,
             name=None if executable in COMPOSED else executable, namespace=namespace,
             parameters=[params_file, overrides[executable]],
             remappings=[('image', image)], output='screen', emulate_tty=True)
        for executable in executables
    ]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in ARGUMENTS]
        + [OpaqueFunction(function=_nodes)])
