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
The launch file, parameter file and RViz config, checked against the installed package.

ROS 2 from pip wheels has no ``launch`` package, so the launch file is evaluated here with
small stand-ins for the launch classes it uses: that yields exactly the nodes, parameters,
remappings and namespace it would start. The tests then check those executables are
installed, that each node declares exactly the parameters of config/face_recognition.yaml
with the same defaults, and start the same executables with the same parameters to see the
pipeline answer. Where ``launch`` is importable (a system ROS 2), the real launch file is
also run with the real launch service (that test is only defined there).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import sys
import types

import pytest
from rcl_interfaces.srv import GetParameters, ListParameters
from rclpy.parameter import parameter_value_to_python
import ros_harness
from vision_msgs.msg import Detection2DArray
import yaml

LAUNCH_FILE = ros_harness.REPO / 'launch' / 'face_recognition.launch.py'
RVIZ_FILE = ros_harness.REPO / 'config' / 'face_recognition.rviz'
INSTALLED_SHARE = ros_harness.INSTALL / 'face_recognition' / 'share' / 'face_recognition'
CLIP = ros_harness.REPO / 'test' / 'fixtures' / 'hamilton' / 'short_hamilton_clip.mp4'
EXPECTED_ARGUMENTS = ['image', 'video_source', 'gallery', 'detector_backend', 'namespace',
                      'use_composition', 'web']
ALL_NODES = {'video_source', 'face_detector', 'face_recognizer', 'face_overlay'}
WEB_NODE = 'face_web'
"""The operator page, started with web:=true; test_web_page.py checks its parameters."""
NODES_OF = {'face_pipeline': ('face_detector', 'face_recognizer')}
"""The nodes of an executable that holds several (the rest hold the one of their name)."""
# Declared by rclpy itself (or by QoS overriding), not by our nodes.
FRAMEWORK_PARAMETERS = {'use_sim_time', 'start_type_description_service'}


def _have_launch() -> bool:
    """
    Check whether the real launch package is installed (an apt ROS 2, or the underlay).

    Looked up, not imported: importing launch makes its LaunchLogger the logger class, so
    every logger created afterwards in this test process stops propagating and caplog in
    later tests sees nothing. The repository's launch/ folder is a namespace package of
    the same name (no origin file): that is not the real thing.
    """
    spec = importlib.util.find_spec('launch')
    return spec is not None and spec.origin is not None and \
        Path(spec.origin).name == '__init__.py'


HAVE_LAUNCH = _have_launch()


# --- The launch file, evaluated with stand-ins --------------------------------------------------

class _Recorded:

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration:

    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return context.launch_configurations[self.name]


class _FindPackageShare:

    def __init__(self, package):
        self.package = package

    def perform(self, context):
        return str(ros_harness.INSTALL / self.package / 'share' / self.package)


def _stub_modules() -> dict[str, types.ModuleType]:
    def module(name, **attributes):
        stub = types.ModuleType(name)
        stub.__dict__.update(attributes)
        return stub

    description = type('LaunchDescription', (_Recorded,), {})
    return {
        'launch': module('launch', LaunchDescription=description),
        'launch.actions': module(
            'launch.actions',
            DeclareLaunchArgument=type('DeclareLaunchArgument', (_Recorded,), {}),
            OpaqueFunction=type('OpaqueFunction', (_Recorded,), {})),
        'launch.substitutions': module('launch.substitutions',
                                       LaunchConfiguration=_LaunchConfiguration),
        'launch_ros': module('launch_ros'),
        'launch_ros.actions': module('launch_ros.actions',
                                     Node=type('Node', (_Recorded,), {})),
        'launch_ros.substitutions': module('launch_ros.substitutions',
                                           FindPackageShare=_FindPackageShare),
    }


def evaluate_launch_file(monkeypatch, **arguments) -> tuple[list[str], list[dict]]:
    """Return (declared argument names, keyword arguments of every Node it starts)."""
    with monkeypatch.context() as patch:
        for name, stub in _stub_modules().items():
            patch.setitem(sys.modules, name, stub)
        spec = importlib.util.spec_from_file_location('face_recognition_launch', LAUNCH_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        description = module.generate_launch_description()
    entities = description.args[0]
    declared = [e for e in entities if type(e).__name__ == 'DeclareLaunchArgument']
    names = [e.args[0] if e.args else e.kwargs['name'] for e in declared]
    configurations = {(e.args[0] if e.args else e.kwargs['name']): e.kwargs['default_value']
                      for e in declared}
    unknown = set(arguments) - set(configurations)
    assert not unknown, f'the launch file has no argument(s) {unknown}'
    configurations.update(arguments)
    context = types.SimpleNamespace(launch_configurations=configurations)
    nodes = []
    for entity in entities:
        if type(entity).__name__ == 'OpaqueFunction':
            nodes += [node.kwargs for node in entity.kwargs['function'](context)]
    return names, nodes


def _parameter_file() -> dict:
    return yaml.safe_load((ros_harness.REPO / 'config' / 'face_recognition.yaml').read_text())


def _file_parameters(node: str) -> dict:
    return _parameter_file()[f'/**/{node}']['ros__parameters']


# --- Static checks ----------------------------------------------------------------------

def test_launch_exposes_only_the_documented_arguments(monkeypatch):
    names, _ = evaluate_launch_file(monkeypatch)
    assert names == EXPECTED_ARGUMENTS


def test_launch_starts_installed_executables_with_the_installed_parameter_file(monkeypatch):
    _, default_nodes = evaluate_launch_file(monkeypatch)
    _, with_video = evaluate_launch_file(monkeypatch, video_source=str(CLIP))
    _, separate = evaluate_launch_file(monkeypatch, video_source=str(CLIP),
                                       use_composition='false')

    assert {n['executable'] for n in default_nodes} == {'face_pipeline', 'face_overlay'}
    assert {n['executable'] for n in with_video} == {'video_source', 'face_pipeline',
                                                     'face_overlay'}
    assert {n['executable'] for n in separate} == ALL_NODES
    for node in with_video + separate:
        assert node['package'] == 'face_recognition'
        executable = ros_harness.EXECUTABLE_DIR / node['executable']
        assert executable.is_file() and os.access(executable, os.X_OK), executable
        params_file = Path(node['parameters'][0])
        assert params_file.is_file(), f'{params_file} is not installed'
        assert yaml.safe_load(params_file.read_text()) == _parameter_file()
        assert ('image', 'image') in node['remappings']


def test_launch_arguments_become_parameters_remappings_and_namespace(monkeypatch):
    arguments = {'image': '/camera/image_raw', 'video_source': '0',
                 'gallery': '/data/people.npz', 'detector_backend': 'facedetect',
                 'namespace': 'robot1'}
    _, nodes = evaluate_launch_file(monkeypatch, use_composition='false', **arguments)
    _, composed = evaluate_launch_file(monkeypatch, **arguments)
    by_name = {node['executable']: node for node in nodes + composed}

    assert all(node['namespace'] == 'robot1' for node in nodes + composed)
    assert all(('image', '/camera/image_raw') in node['remappings'] for node in nodes + composed)
    assert by_name['face_detector']['parameters'][1] == {'backend': 'facedetect'}
    assert by_name['face_recognizer']['parameters'][1] == {'gallery_path': '/data/people.npz'}
    assert by_name['video_source']['parameters'][1] == {'source': '0'}
    # One process, two nodes: the parameters of both, and no __node remap, which would give
    # both nodes the same name.
    assert by_name['face_pipeline']['parameters'][1] == {
        'backend': 'facedetect', 'gallery_path': '/data/people.npz'}
    assert by_name['face_pipeline']['name'] is None
    assert all(by_name[n]['name'] == n for n in ALL_NODES)


def test_use_composition_refuses_anything_but_true_or_false(monkeypatch):
    with pytest.raises(ValueError, match='use_composition'):
        evaluate_launch_file(monkeypatch, use_composition='maybe')


def test_web_true_adds_the_operator_page_and_nothing_else_changes(monkeypatch):
    _, default_nodes = evaluate_launch_file(monkeypatch)
    _, with_web = evaluate_launch_file(monkeypatch, web='true')
    assert [n['executable'] for n in with_web] == [n['executable'] for n in default_nodes] \
        + [WEB_NODE]
    web_node = with_web[-1]
    assert web_node['name'] == WEB_NODE and web_node['parameters'][1] == {}
    assert (ros_harness.EXECUTABLE_DIR / WEB_NODE).is_file()
    with pytest.raises(ValueError, match='web'):
        evaluate_launch_file(monkeypatch, web='yes')


def test_parameter_file_has_one_section_per_node_in_any_namespace():
    sections = _parameter_file()
    assert set(sections) == {f'/**/{node}' for node in ALL_NODES | {WEB_NODE}}
    for section in sections.values():
        assert set(section) == {'ros__parameters'} and section['ros__parameters']


def test_rviz_config_shows_the_annotated_image():
    config = yaml.safe_load(RVIZ_FILE.read_text())
    displays = config['Visualization Manager']['Displays']
    images = [d for d in displays if d['Class'] == 'rviz_default_plugins/Image']
    assert [d['Topic']['Value'] for d in images] == ['/faces/image_annotated']
    assert (INSTALLED_SHARE / 'config' / 'face_recognition.rviz').is_file()


# --- The same executables with the same parameters, running -----------------------------

def _declared_parameters(probe, node_name: str) -> dict:
    listed = probe.call_service(ListParameters, f'{node_name}/list_parameters',
                                ListParameters.Request(depth=0), timeout=60.0)
    names = [n for n in listed.result.names
             if n not in FRAMEWORK_PARAMETERS and not n.startswith('qos_overrides.')]
    values = probe.call_service(GetParameters, f'{node_name}/get_parameters',
                                GetParameters.Request(names=names))
    return {name: parameter_value_to_python(value)
            for name, value in zip(names, values.values)}


@pytest.mark.parametrize('use_composition', ['true', 'false'])
def test_nodes_started_as_the_launch_file_does_declare_the_file_parameters(
        monkeypatch, start_node, probe, use_composition):
    namespace = f'launch_check_{use_composition}'
    _, nodes = evaluate_launch_file(monkeypatch, video_source=str(CLIP), namespace=namespace,
                                    use_composition=use_composition)
    processes = {}
    for node in nodes:
        params_file, overrides = node['parameters']
        processes[node['executable']] = start_node(
            node['executable'], name=node['name'], namespace=node['namespace'],
            params_file=params_file, parameters=overrides or None,
            remappings=dict(node['remappings']))
    identified = probe.collect(f'/{namespace}/faces/identified', Detection2DArray)

    for executable, process in processes.items():
        process.wait_for_output('ready:' if executable != 'video_source' else 'publishing',
                                timeout=90)
        overrides = next(n for n in nodes if n['executable'] == executable)['parameters'][1]
        for node_name in NODES_OF.get(executable, (executable,)):
            declared = _declared_parameters(probe, f'/{namespace}/{node_name}')
            expected = dict(_file_parameters(node_name))
            expected.update({k: v for k, v in overrides.items() if k in expected})
            assert declared == expected, f'{node_name}: declared parameters differ from the file'

    # The pipeline the launch file starts answers: faces of the clip on faces/identified.
    with_faces = identified.wait_for(lambda msg: len(msg.detections) > 0, timeout=60)
    assert with_faces.header.frame_id == _file_parameters('video_source')['frame_id']
    assert all(p.is_running() for p in processes.values())


if HAVE_LAUNCH:
    def test_real_launch_file_runs_the_pipeline(ros_session, probe):
        """With a system ROS 2: the real launch service runs the launch file."""
        launch_file = str(INSTALLED_SHARE / 'launch' / LAUNCH_FILE.name)
        script = (
            'import sys\n'
            'from launch import LaunchDescription, LaunchService\n'
            'from launch.actions import IncludeLaunchDescription\n'
            'from launch.launch_description_sources import PythonLaunchDescriptionSource\n'
            'service = LaunchService()\n'
            'service.include_launch_description(IncludeLaunchDescription(\n'
            f'    PythonLaunchDescriptionSource({launch_file!r}),\n'
            f'    launch_arguments={{"video_source": {str(CLIP)!r},\n'
            '                      "namespace": "real_launch"}.items()))\n'
            'sys.exit(service.run())\n')
        process = ros_harness.NodeProcess(
            'launch', [sys.executable, '-c', script], ros_session.env,
            ros_session.scratch / 'real_launch.log', own_process_group=True)
        try:
            identified = probe.collect('/real_launch/faces/identified', Detection2DArray)
            identified.wait_for(lambda msg: len(msg.detections) > 0, timeout=90)
        finally:
            returncode = process.stop(timeout=20)  # Ctrl-C to the group, as a terminal
            output = process.output()
            print(output)
        assert returncode == 0, output
        # Every node ended by itself after Ctrl-C: none was escalated to SIGTERM or SIGKILL.
        assert 'failed to terminate' not in output, output
