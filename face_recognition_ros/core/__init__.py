"""ROS-free face pipeline: numpy images in, plain dataclasses out."""
