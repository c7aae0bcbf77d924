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

"""The repaired-model cache: made once in a child process, then loaded by path."""

from face_recognition_ros.core import model_files
from face_recognition_ros.core.embedding import SFaceEmbedder
import numpy as np
import pytest


def test_repaired_model_is_cached_and_gives_the_same_embeddings(tmp_path, monkeypatch):
    monkeypatch.setenv('FACE_RECOGNITION_MODEL_CACHE', str(tmp_path / 'cache'))
    first = model_files.prepared_model_for_onnxruntime(model_files.DEFAULT_EMBEDDER_MODEL,
                                                       {0: 'N'})
    assert isinstance(first, str) and first.startswith(str(tmp_path / 'cache'))
    cached = list((tmp_path / 'cache').glob('*.onnx'))
    assert len(cached) == 1 and not list((tmp_path / 'cache').glob('.tmp-*'))
    mtime = cached[0].stat().st_mtime_ns
    assert model_files.prepared_model_for_onnxruntime(
        model_files.DEFAULT_EMBEDDER_MODEL, {0: 'N'}) == first
    assert cached[0].stat().st_mtime_ns == mtime  # reused, not rebuilt

    crops = [np.random.default_rng(seed).integers(0, 255, (112, 112, 3), dtype=np.uint8)
             for seed in range(3)]
    from_cache = SFaceEmbedder(runtime='onnxruntime').embed(crops)
    in_memory = model_files.create_onnxruntime_session(
        model_files.onnx_model_for_onnxruntime(model_files.DEFAULT_EMBEDDER_MODEL, {0: 'N'}))
    blob = np.ascontiguousarray(np.stack(crops)[:, :, :, ::-1].transpose(0, 3, 1, 2),
                                dtype=np.float32)
    reference = in_memory.run(None, {in_memory.get_inputs()[0].name: blob})[0]
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    np.testing.assert_allclose(from_cache, reference, atol=1e-5)


def test_unwritable_cache_falls_back_to_repairing_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / 'not_a_folder'
    blocker.write_text('a file where the cache folder should be')
    monkeypatch.setenv('FACE_RECOGNITION_MODEL_CACHE', str(blocker / 'cache'))
    model = model_files.prepared_model_for_onnxruntime(model_files.DEFAULT_DETECTOR_MODEL,
                                                       {2: 'H', 3: 'W'})
    assert isinstance(model, bytes) and len(model) > 1000
    model_files.create_onnxruntime_session(model)


def test_file_that_is_not_onnx_is_one_clear_error_without_the_childs_traceback(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setenv('FACE_RECOGNITION_MODEL_CACHE', str(tmp_path / 'cache'))
    garbage = tmp_path / 'my_model.onnx'
    garbage.write_bytes(model_files.DEFAULT_DETECTOR_MODEL.read_bytes()[:5000])
    with pytest.raises(model_files.ModelError, match='is not a valid ONNX file') as raised:
        model_files.prepared_model_for_onnxruntime(garbage, {2: 'H', 3: 'W'})
    assert 'Traceback' not in str(raised.value)
    assert 'Traceback' not in caplog.text and 'could not cache' not in caplog.text
    assert not list((tmp_path / 'cache').glob('*.onnx'))


def test_damaged_cache_entry_is_repaired_again(tmp_path, monkeypatch):
    # A cached file that no longer loads (damaged disk, another onnx version) used to stop
    # every start with "onnxruntime cannot load the model", naming a file the user never gave.
    monkeypatch.setenv('FACE_RECOGNITION_MODEL_CACHE', str(tmp_path / 'cache'))
    SFaceEmbedder(runtime='onnxruntime')
    cached, = (tmp_path / 'cache').glob('*.onnx')
    cached.write_bytes(cached.read_bytes()[:100000])
    embedder = SFaceEmbedder(runtime='onnxruntime')
    assert cached.stat().st_size > 100000
    crop = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    assert embedder.embed([crop]).shape == (1, 128)
