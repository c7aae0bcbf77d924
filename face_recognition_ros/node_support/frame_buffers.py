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
``keep_frame_buffers``: halve the cost of receiving an image.

glibc then keeps frame-sized buffers for reuse instead of handing them back to the kernel
(see its docstring).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks up to a 1920x1080 bgr8 frame (6.2 MB) come from the heap, and up to 32 MB of free
# heap (the few buffers of a frame or two) stay for reuse instead of going back.
FRAME_BUFFER_MMAP_THRESHOLD = 8 * 1024 * 1024
FRAME_BUFFER_TRIM_THRESHOLD = 32 * 1024 * 1024
KEEP_FRAME_BUFFERS_ENV = 'FACE_RECOGNITION_KEEP_FRAME_BUFFERS'


def keep_frame_buffers() -> bool:
    """
    Make glibc keep and reuse frame-sized buffers instead of returning them to the kernel.

    Receiving one 640x480 image in rclpy allocates about 0.9 MB three or four times (Fast
    DDS's reassembly, the C message, Python's bytes and array). glibc serves blocks over its
    mmap threshold with fresh pages from the kernel and unmaps them on free, so every frame
    pays a page fault per 4 KiB, again and again. Raising the mmap and trim thresholds
    keeps the freed blocks in the heap for the next frame, at the price of a few frames of
    resident memory: benchmarks/image_hop.py measured 3.3 -> 1.7 ms median per image hop
    and 3.1 -> 1.6 ms of the receiver's CPU on a 2-core VM. Set
    FACE_RECOGNITION_KEEP_FRAME_BUFFERS=0 to keep glibc's defaults. Returns whether the
    thresholds were set (False off glibc).
    """
    if os.environ.get(KEEP_FRAME_BUFFERS_ENV, '1') == '0' or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, FRAME_BUFFER_MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, FRAME_BUFFER_TRIM_THRESHOLD))
