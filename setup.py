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
pip install of the ROS-free library, command line and training extras.

The ROS 2 package (messages, services, nodes) is built by colcon from CMakeLists.txt;
this file is for users who want the face pipeline without ROS:

    pip install .            # library and `python -m face_recognition_ros`
    pip install .[train]     # plus ResNet-18 fine-tuning, export and evaluation plots
"""

from setuptools import find_packages, setup

setup(
    name='face_recognition_ros',
    version='0.1.0',
    description='Face detection, alignment and recognition: ROS-free core of the '
                'face_recognition ROS 2 package',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['face_recognition_ros', 'face_recognition_ros.*']),
    package_data={'face_recognition_ros': ['models/*.onnx', 'models/*.md', 'models/*.json',
                                           'web/static/*']},
    install_requires=[
        'numpy>=1.24',
        'opencv-python-headless>=4.8,<5',
        'onnxruntime>=1.16',
        # Repairs the bundled OpenCV Zoo files for onnxruntime (once, then cached).
        'onnx>=1.15',
        'tqdm>=4.60',
    ],
    extras_require={
        'train': ['torch>=2.0', 'torchvision>=0.15', 'onnx>=1.15', 'matplotlib>=3.6'],
        'test': ['pytest>=7,<9'],
        # The operator page (node face_web, face_recognition_ros.web).
        'web': ['aiohttp>=3.9'],
        'postgresql': ['psycopg[binary]>=3.2'],
    },
    entry_points={'console_scripts': ['face-recognition=face_recognition_ros.cli:main']},
)
