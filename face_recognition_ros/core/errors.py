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
The exceptions of the face pipeline.

Every error the library raises on purpose is a ``FaceRecognitionError``, so callers (the
command line, the ROS nodes) can catch one type and show its message, which always says
what to do next. Subclasses name the thing that went wrong.
"""


class FaceRecognitionError(Exception):
    """Base class of every error this package raises on purpose."""


class ModelError(FaceRecognitionError):
    """A model file is missing, corrupt, of the wrong kind, or its backend is unavailable."""


class ImageError(FaceRecognitionError):
    """An image file or array cannot be read or converted to BGR uint8."""


class GalleryError(FaceRecognitionError):
    """A gallery file is corrupt, made by another model, or cannot be saved."""


class InvalidNameError(FaceRecognitionError, ValueError):
    """
    A person's name is empty, too long, or holds path separators or control characters.

    Also a ``ValueError`` so generic argument validation code catches it.
    """
