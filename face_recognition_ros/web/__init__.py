"""The operator page: a small web app to watch the camera with names on the faces, enroll
people by clicking their face or uploading photos, forget them, and see the pipeline's
health. ROS-free: the ``face_web`` node feeds it frames, identities and diagnostics and
answers its gallery requests through a ``Backend`` (see ``app.py``).
"""

from .app import Backend, BackendReply, LiveView, OperatorApp, WebServer, WebSettings

__all__ = ['Backend', 'BackendReply', 'LiveView', 'OperatorApp', 'WebServer', 'WebSettings']
