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
``run_node``: create the node(s), spin, and survive a failing callback.

It also shuts down cleanly on Ctrl-C or from outside (launch), and turns a start-up error
of the core (a missing model, a corrupt gallery, a bad parameter) into one FATAL line and
exit code 1.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import traceback
from typing import Callable, Sequence

from face_recognition_ros.core.errors import FaceRecognitionError
from face_recognition_ros.node_support.frame_buffers import keep_frame_buffers
from face_recognition_ros.node_support.logs import RepeatLimitedLog, route_core_logging
import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def run_node(node_factory: Callable[..., Node | Sequence[Node]], args: list[str] | None = None,
             **node_kwargs) -> int:
    """
    Create the node(s), spin until Ctrl-C or shutdown, clean up; return an exit code.

    ``node_factory`` returns one node or several (face_pipeline), spun by one executor.
    A FaceRecognitionError while starting (missing model, unreadable gallery, bad parameter)
    or a parameter its descriptor refuses (out of range, wrong type) is logged as one FATAL
    line with its advice and gives exit code 1, not a traceback.
    Nodes that hold threads stop them in ``destroy_node``.
    """
    keep_frame_buffers()
    rclpy.init(args=args)
    route_core_logging()
    nodes: list[Node] = []
    exit_code = 0
    try:
        created = node_factory(**node_kwargs)
        nodes = [created] if isinstance(created, Node) else list(created)
        executor = SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        spin_through_callback_errors(executor, rclpy.logging.get_logger(
            _node_name(nodes, node_factory)))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except FaceRecognitionError as error:
        rclpy.logging.get_logger(_node_name(nodes, node_factory)).fatal(str(error))
        exit_code = 1
    except ParameterException as error:
        # A value outside the descriptor's range or of the wrong type (20 for a double) in
        # the YAML file or a -p: the user's to fix, so one line that says so, no traceback.
        rclpy.logging.get_logger(_node_name(nodes, node_factory)).fatal(
            f'{error}. Fix the value in the parameter file or the -p argument; the node '
            "describes each parameter's type and range (ros2 param describe).")
        exit_code = 1
    finally:
        # launch asks a process to stop with SIGINT, then SIGTERM after 5 s (which rclpy's
        # handler takes without ending anything) and SIGKILL after 15 s, and a SIGKILL leaves
        # Fast DDS shared-memory files locked for the next run. So a node whose cleanup
        # hangs (a middleware call that never returns, here or while Python tears down
        # its objects) ends by itself instead: each thread's stack on stderr, to say where,
        # then exit status 1. faulthandler's watchdog is a C thread: it fires even while
        # the hung call holds the GIL.
        deadline_s = shutdown_deadline_s()
        if deadline_s > 0:
            faulthandler.dump_traceback_later(deadline_s, exit=True)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return exit_code


SHUTDOWN_DEADLINE_S = 10.0
"""Seconds a node gets to stop its threads, destroy its entities and exit after spinning."""
SHUTDOWN_DEADLINE_ENV = 'FACE_RECOGNITION_SHUTDOWN_DEADLINE_S'


def shutdown_deadline_s() -> float:
    """
    Return the shutdown deadline: SHUTDOWN_DEADLINE_S, or the environment's value.

    Under launch's SIGKILL escalation (15 s) by default; 0 or less: no deadline.
    """
    text = os.environ.get(SHUTDOWN_DEADLINE_ENV, '').strip()
    try:
        return float(text) if text else SHUTDOWN_DEADLINE_S
    except ValueError:
        rclpy.logging.get_logger('face_recognition').warning(
            f'{SHUTDOWN_DEADLINE_ENV}={text!r} is not a number of seconds: using '
            f'{SHUTDOWN_DEADLINE_S:g}')
        return SHUTDOWN_DEADLINE_S


CALLBACK_ERROR_LOG_PERIOD_S = 10.0
"""The same failure of a callback is logged with its traceback at most this often."""


def spin_through_callback_errors(executor, logger) -> int:
    """
    Spin until shutdown; a callback that raises is logged and the node goes on.

    rclpy lets an exception of any callback (a subscription, a timer, a service) out of
    ``spin`` and the node would end with it: one message that reaches a bug would stop a
    robot's recognition for good. Here it is logged as an ERROR with its traceback (the
    same failure at most once per ``CALLBACK_ERROR_LOG_PERIOD_S``, counted meanwhile) and
    spinning resumes. Returns how many callbacks failed.
    """
    failures = 0
    log = RepeatLimitedLog(logger, period_s=CALLBACK_ERROR_LOG_PERIOD_S)
    while True:
        try:
            executor.spin()
            return failures
        except (KeyboardInterrupt, ExternalShutdownException):
            raise
        except Exception as error:  # noqa: BLE001 - any bug in a callback, see above
            if not rclpy.ok(context=executor.context):
                return failures
            failures += 1
            where = traceback.extract_tb(error.__traceback__)[-1]
            log.error(f'a callback failed and was skipped; the node goes on. Please report '
                      f'this bug: {type(error).__name__}: {error} (at {where.filename}:'
                      f'{where.lineno})\n{"".join(traceback.format_exception(error))}')


def _node_name(nodes: list[Node], node_factory: Callable) -> str:
    """Return the node's name for a start-up error, also when the node was never created."""
    if nodes:
        return nodes[0].get_name()
    module = sys.modules.get(getattr(node_factory, '__module__', ''))
    return getattr(module, 'NODE_NAME', getattr(node_factory, '__name__', 'node'))
