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
The operator page: a small web app to watch the camera with names on the faces.

On it an operator also enrolls people by clicking their face or uploading photos, forgets
them, and sees the pipeline's health. ROS-free: the ``face_web`` node feeds it frames,
identities and diagnostics and answers its gallery requests through a ``Backend`` (see
``app.py``).
"""

from .app import Backend, BackendReply, LiveView, OperatorApp, WebServer, WebSettings

__all__ = ['Backend', 'BackendReply', 'LiveView', 'OperatorApp', 'WebServer', 'WebSettings']
