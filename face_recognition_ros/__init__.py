"""face_recognition_ros: face detection, alignment and recognition, with or without ROS 2.

``face_recognition_ros.core`` is the ROS-free pipeline; ``face_recognition_ros.nodes`` holds
the ROS 2 nodes, thin adapters over it.
"""

__version__ = '0.1.0'
