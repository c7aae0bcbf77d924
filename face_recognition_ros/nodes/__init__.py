"""ROS 2 nodes: one file each, thin adapters over face_recognition_ros.core.

- ``video_source``: camera, video file, image folder or jetson_utils URI -> ``image``;
- ``face_detector``: ``image`` -> ``faces/detections`` (vision_msgs/Detection2DArray);
- ``face_recognizer``: ``image`` + ``faces/detections`` -> ``faces/identified`` and
  ``faces/faces``, plus the enroll / forget / list_people services;
- ``face_overlay``: ``image`` + ``faces/identified`` -> ``faces/image_annotated``.

- ``face_web``: the operator page in a browser; ``face_pipeline``: face_detector and
  face_recognizer in one process.

What they share is in ``face_recognition_ros.node_support`` (QoS, diagnostics, the
newest-frame worker, message pairing, ``run_node``), one module per concern. Conversions
between core types and messages live in ``face_recognition_ros.ros_conversions``. Each node
module has a ``main()``; CMakeLists.txt installs a launcher per node into
lib/face_recognition.
"""
