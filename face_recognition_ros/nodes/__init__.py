"""ROS 2 nodes: one file each, thin adapters over face_recognition_ros.core."""
