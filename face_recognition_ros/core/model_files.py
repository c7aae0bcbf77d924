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
Where the bundled model files live, and the checksum check every load goes through.

The models ship inside the package (``face_recognition_ros/models/``, licences and
checksums in its README) because nothing may download at run time. A file that does not
match its published checksum is refused: a truncated copy or a different release would
otherwise give silently wrong embeddings and poison every gallery made with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path
import subprocess
import sys
import tempfile

from face_recognition_ros.core.errors import FaceRecognitionError, ModelError

_LOG = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / 'models'
"""Folder of the model files shipped with the package."""

DEFAULT_DETECTOR_MODEL = MODELS_DIR / 'face_detection_yunet_2023mar_int8bq.onnx'
"""YuNet face detector (OpenCV Zoo, int8 block-quantized)."""

DEFAULT_EMBEDDER_MODEL = MODELS_DIR / 'face_recognition_sface_2021dec_int8bq.onnx'
"""SFace 128-D face embedding (OpenCV Zoo, int8 block-quantized)."""

BUNDLED_SHA256 = {
    DEFAULT_DETECTOR_MODEL.name:
        '49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10',
    DEFAULT_EMBEDDER_MODEL.name:
        'fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee',
}
"""Published sha256 of each bundled file, by file name (same as models/README.md)."""

_CHUNK_BYTES = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """
    Return the lowercase hex sha256 of a file, read in chunks so large files are fine.

    Raises ModelError when the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as stream:
            for chunk in iter(lambda: stream.read(_CHUNK_BYTES), b''):
                digest.update(chunk)
    except OSError as error:
        raise ModelError(
            f'cannot read model file {os.fspath(path)!r}: {error.strerror or error}. '
            'Check the path, or reinstall the package to restore the bundled models.'
        ) from error
    return digest.hexdigest()


def _require_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f'model file {str(path)!r} does not exist. Pass the path of an existing ONNX '
            'file, or reinstall the package to restore the bundled models '
            f'(expected in {str(MODELS_DIR)!r}).'
        )
    return path


def verify_model(path: str | os.PathLike, expected_sha256: str | None) -> None:
    """
    Raise ModelError unless ``path`` is a readable file whose sha256 is the expected one.

    ``expected_sha256=None`` only checks that the file exists and is readable: a model the
    user names themselves has no published checksum to compare with.
    """
    path = _require_file(path)
    actual = file_sha256(path)
    if expected_sha256 is None:
        return
    if actual != expected_sha256.lower():
        raise ModelError(
            f'model file {str(path)!r} is corrupt or not the expected release: its sha256 is '
            f'{actual}, expected {expected_sha256.lower()}. Reinstall the package (or copy '
            'the file again from face_recognition_ros/models/) to restore it.'
        )


def resolve_model(path: str | os.PathLike | None, default: Path) -> tuple[Path, str]:
    """
    Check a model file and return ``(path, sha256)``.

    ``path=None`` means the bundled ``default``. A bundled file (by its name, wherever it
    lies) must match its published checksum; any other file is accepted as the user's own
    model, and its digest is returned so that ``model_id`` still tells models apart.
    """
    model_path = Path(default if path is None else path)
    expected = BUNDLED_SHA256.get(model_path.name)
    if expected is not None:
        verify_model(model_path, expected)
        return model_path, expected
    digest = file_sha256(_require_file(model_path))
    _LOG.info('using user model %s (sha256 %s, no published checksum)', model_path, digest)
    return model_path, digest


def onnx_model_for_onnxruntime(path: str | os.PathLike,
                               dynamic_input_axes: dict[int, str] | None = None) -> bytes:
    """
    Return the serialized model at ``path``, repaired in memory for onnxruntime.

    The bundled OpenCV Zoo files load in OpenCV 4.x but trip onnxruntime (and OpenCV 5):
    SFace lists unused graph inputs that then count as required, and YuNet declares a
    ``block_size`` on per-tensor DequantizeLinear nodes, which onnxruntime rejects. The
    fix is done here, in memory, so the shipped file and its checksum stay untouched:
    graph inputs no node reads are dropped, initializers are removed from the inputs (so
    they fold as constants), and every DequantizeLinear of constant weights is replaced by
    its float32 result (computed with numpy, exactly the operator's formula).
    ``dynamic_input_axes`` maps axes of the first real input to symbolic names (for example
    ``{0: 'N'}`` for any batch size, ``{2: 'H', 3: 'W'}`` for any image size); output
    shapes are then left for onnxruntime to infer.
    Raises ModelError when the ``onnx`` package is missing or the file is not ONNX.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as error:
        raise ModelError(
            'the onnxruntime backend needs the `onnx` package to prepare the model: '
            "pip install onnx, or choose backend='opencv'."
        ) from error
    try:
        model = onnx.load(os.fspath(path))
    except Exception as error:  # onnx raises DecodeError, ValueError, OSError...
        raise ModelError(
            f'model file {os.fspath(path)!r} is not a valid ONNX file ({error}). '
            'Pass an ONNX model, or reinstall the package for the bundled ones.'
        ) from error
    graph = model.graph
    constants = {init.name: init for init in graph.initializer}
    _fold_constant_dequantize(graph, constants, numpy_helper)
    used = {name for node in graph.node for name in node.input}
    used.update(output.name for output in graph.output)
    inputs = [inp for inp in graph.input if inp.name in used and inp.name not in constants]
    del graph.input[:]
    graph.input.extend(inputs)
    if dynamic_input_axes and inputs:
        # extend() copied the messages: edit the graph's own copy.
        dims = graph.input[0].type.tensor_type.shape.dim
        for axis, name in dynamic_input_axes.items():
            dims[axis].dim_param = name
        for output in graph.output:
            output.type.tensor_type.ClearField('shape')
    return model.SerializeToString()


PREPARED_FORMAT = 1
"""Bump when ``onnx_model_for_onnxruntime`` changes, so cached repaired models are remade."""

_EXIT_NOT_A_MODEL = 3
"""Exit status of the repair child when the source file is not a model (its message on
stderr), as opposed to a cache that cannot be written."""


def model_cache_dir() -> Path:
    """
    Return the folder where repaired models are kept.

    ``$FACE_RECOGNITION_MODEL_CACHE``, else ``$XDG_CACHE_HOME/face_recognition_ros``
    (``~/.cache/face_recognition_ros``).
    """
    explicit = os.environ.get('FACE_RECOGNITION_MODEL_CACHE')
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(base).expanduser() / 'face_recognition_ros'


def prepared_model_for_onnxruntime(path: str | os.PathLike,
                                   dynamic_input_axes: dict[int, str] | None = None
                                   ) -> str | bytes:
    """
    Return the repaired model of ``onnx_model_for_onnxruntime`` as a file path, or bytes.

    Why a file: repairing SFace in Python (onnx protobuf, float32 weights, serialisation)
    peaks at about 200 MB above the finished session, which on a 2 GB Jetson is the
    difference between a node of 180 MB and one of 290 MB. So the repair runs once, in a
    child process whose memory is returned when it exits, and its result is cached next to
    nothing personal (``model_cache_dir()``, named by the source checksum); later loads
    give onnxruntime the path. Where the cache cannot be written, the repair runs here and
    its bytes are returned.
    """
    source = Path(path)
    axes = dict(sorted((dynamic_input_axes or {}).items()))
    key = hashlib.sha256(
        f'{file_sha256(source)}|{sorted(axes.items())}|{PREPARED_FORMAT}'.encode()
    ).hexdigest()[:16]
    cached = model_cache_dir() / f'{source.stem}.ort-{key}.onnx'
    if not cached.is_file():
        command = [sys.executable, '-m', __name__, os.fspath(source), os.fspath(cached),
                   json.dumps({str(axis): name for axis, name in axes.items()})]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as error:
            stderr = getattr(error, 'stderr', b'') or b''
            if getattr(error, 'returncode', None) == _EXIT_NOT_A_MODEL:
                # The file itself is bad (not ONNX): repairing here would fail the same way,
                # so say so once, without the child's traceback.
                raise ModelError(stderr.decode(errors='replace').strip()) from None
            _LOG.warning('could not cache the repaired model in %s (%s); repairing in memory',
                         cached.parent, stderr.decode(errors='replace').strip() or error)
            return onnx_model_for_onnxruntime(source, axes)
    return os.fspath(cached)


def _write_prepared_model(source: str, target: str, axes_json: str) -> None:
    """Child-process side of ``prepared_model_for_onnxruntime``: repair, write atomically."""
    axes = {int(axis): name for axis, name in json.loads(axes_json).items()}
    data = onnx_model_for_onnxruntime(source, axes)
    folder = Path(target).parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix='.onnx')
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _fold_constant_dequantize(graph, constants: dict, numpy_helper) -> None:
    import numpy as np

    kept_nodes = []
    for node in graph.node:
        if node.op_type != 'DequantizeLinear' or not all(
                name in constants for name in node.input if name):
            kept_nodes.append(node)
            continue
        attributes = {attr.name: attr for attr in node.attribute}
        axis = attributes['axis'].i if 'axis' in attributes else 1
        block = attributes['block_size'].i if 'block_size' in attributes else 0
        values = numpy_helper.to_array(constants[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(constants[node.input[1]]).astype(np.float32)
        zero = (numpy_helper.to_array(constants[node.input[2]]).astype(np.float32)
                if len(node.input) > 2 and node.input[2] else np.zeros_like(scale))
        if scale.size > 1 or (block and values.ndim > 0):
            axis = axis % values.ndim
            if block and scale.ndim == values.ndim:
                # Blocked: each scale covers `block` consecutive values along `axis`.
                scale = np.repeat(scale, block, axis=axis)
                zero = np.repeat(zero, block, axis=axis)
                index = [slice(None)] * values.ndim
                index[axis] = slice(0, values.shape[axis])
                scale, zero = scale[tuple(index)], zero[tuple(index)]
            else:
                shape = [1] * values.ndim
                shape[axis] = -1
                scale = scale.reshape(shape) if scale.size > 1 else scale.reshape(())
                zero = zero.reshape(shape) if zero.size > 1 else zero.reshape(())
        result = (values - zero) * scale
        folded = numpy_helper.from_array(result.astype(np.float32), node.output[0])
        graph.initializer.append(folded)
        constants[node.output[0]] = folded
    del graph.node[:]
    graph.node.extend(kept_nodes)


def create_onnxruntime_session(model: str | bytes, num_threads: int | None = None):
    """
    Return an onnxruntime CPU session for a model file path or serialized model.

    Raises ModelError when onnxruntime is missing or cannot load the model.
    ``num_threads=None`` lets onnxruntime use one thread per physical core. Spinning is
    off: the detector and the embedder each own a thread pool, and on a small CPU a pool
    that spins between calls steals the cores the other one is about to need.
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ModelError(
            "onnxruntime is not installed: pip install onnxruntime, or choose runtime='opencv'."
        ) from error
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # The bundled files trigger harmless warnings.
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = int(num_threads) if num_threads else 0
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    # Input shapes vary here (YuNet on every camera size and on each face box's crop, SFace
    # on batches of 1..N faces), and onnxruntime plans and keeps a memory pattern for each
    # shape it meets. Off: peak RSS of face_recognizer 346 -> 327 MiB, face_pipeline
    # 371 -> 343 MiB in benchmarks/ros_pipeline.py, same speed (docs/benchmarks.md, "Memory").
    options.enable_mem_pattern = False
    try:
        return onnxruntime.InferenceSession(model, options, providers=['CPUExecutionProvider'])
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types.
        raise ModelError(
            f'onnxruntime cannot load the model ({error}). Check that the file is the '
            "intended ONNX model, or choose runtime='opencv'."
        ) from error


def prepared_onnxruntime_session(path: str | os.PathLike,
                                 dynamic_input_axes: dict[int, str] | None = None,
                                 num_threads: int | None = None):
    """
    ``create_onnxruntime_session`` on ``prepared_model_for_onnxruntime(path, axes)``.

    A cached repaired file that onnxruntime cannot load (damaged on disk, or written by
    another onnx version) would otherwise fail every later start with an error about a
    file the user never named: it is removed and the repair done again, once.
    """
    model = prepared_model_for_onnxruntime(path, dynamic_input_axes)
    try:
        return create_onnxruntime_session(model, num_threads)
    except ModelError:
        if not isinstance(model, str):
            raise
        _LOG.warning('the cached repaired model %s does not load; repairing %s again',
                     model, path)
        Path(model).unlink(missing_ok=True)
        model = prepared_model_for_onnxruntime(path, dynamic_input_axes)
        return create_onnxruntime_session(model, num_threads)


RUNTIMES = ('onnxruntime', 'opencv')
"""The runtimes that can run the bundled models (``docs/backends.md``)."""


def choose_runtime(runtime: str | None) -> str:
    """
    Return the runtime to use.

    ``None`` picks onnxruntime where it is installed (faster here), else OpenCV; a name is
    checked against ``RUNTIMES``.
    """
    if runtime is None:
        return 'onnxruntime' if onnxruntime_available() else 'opencv'
    name = str(runtime).strip().lower()
    if name not in RUNTIMES:
        raise FaceRecognitionError(
            f'unknown runtime {runtime!r}: choose one of {", ".join(RUNTIMES)} (or None).')
    return name


def onnxruntime_available() -> bool:
    """
    Return True when onnxruntime and onnx are installed, i.e. the faster runtime can be used.

    Found, not imported: ``onnx`` is needed only to repair a model that is not cached yet
    (in a child process), and importing it took 0.85 s of a node's 1.2 s start here, and
    memory for the node's whole life. A restarted node answers that much sooner.
    """
    return all(map(_installed, ('onnx', 'onnxruntime')))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules[name] = None
        return False


def model_id_for(path: Path, sha256: str) -> str:
    """
    Return ``'<model name>:<first 16 hex of sha256>'``, the id galleries record.

    Bundled files get their short published names; any other file is named by its stem.
    The checksum part tells two files of the same name apart.
    """
    name = _BUNDLED_NAMES.get(Path(path).name, Path(path).stem)
    return f'{name}:{sha256[:16]}'


_BUNDLED_NAMES = {
    DEFAULT_DETECTOR_MODEL.name: 'yunet-2023mar-int8bq',
    DEFAULT_EMBEDDER_MODEL.name: 'sface-2021dec-int8bq',
}


if __name__ == '__main__':
    # python -m face_recognition_ros.core.model_files SOURCE TARGET AXES_JSON (internal).
    try:
        _write_prepared_model(*sys.argv[1:4])
    except ModelError as model_error:
        print(model_error, file=sys.stderr)
        sys.exit(_EXIT_NOT_A_MODEL)
