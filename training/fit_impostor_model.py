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
Fit the impostor model shipped for the bundled SFace (``models/impostor_models.json``).

    python -m training.fit_impostor_model --data-root ../shared/data

Every labelled folder of ``../shared/data`` (``benchmarks/open_set_data.py`` lists them)
goes through the pipeline users run (YuNet, alignment, SFace: ``FacePipeline.embed_faces``,
largest face per photo). For each dataset, ``core.open_set.fit_impostor_model`` estimates
the mean impostor similarity and its three spreads (stranger photo, stranger x person,
photo within person) from every photo against every other person of the same dataset
(impostors from another dataset would be easier than any real stranger in front of one
camera). ``pool_models`` then pools the spreads (weighted by photos) and keeps the spread
of the datasets' means as ``mean_sd``: how far a new camera's mean may lie, which each
gallery narrows with its own between-person pairs.

Nothing is tuned to a target here: the fit sees no threshold, no rate and no split.
``--leave-out NAME`` fits without one dataset (the benchmark uses it to check that the
rule holds on a dataset the model never saw). The output is JSON with provenance.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
import platform
import sys

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'benchmarks'))
sys.path.insert(0, str(REPO))

from face_recognition_ros.core.open_set import (  # noqa: E402
    fit_impostor_model, IMPOSTOR_MODELS_FILE, pool_models
)
from open_set_data import DEFAULT_CACHE, DEFAULT_DATA_ROOT, load_embeddings  # noqa: E402


def fit_models(data: dict, leave_out: tuple[str, ...] = ()) -> tuple[object, dict]:
    """(pooled model, per-dataset models) from load_embeddings' output."""
    per_dataset = {}
    for name, (embeddings, labels, names) in data.items():
        if name in leave_out:
            continue
        per_dataset[name] = fit_impostor_model(
            embeddings, labels, source=name,
            extra={'people': len(names), 'photos': int(len(labels))})
    return pool_models(list(per_dataset.values())), per_dataset


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--data-root', type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument('--cache', type=Path, default=DEFAULT_CACHE,
                        help='embeddings cache (npz, outside the repository)')
    parser.add_argument('--output', type=Path, default=IMPOSTOR_MODELS_FILE)
    parser.add_argument('--leave-out', nargs='*', default=[])
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args(argv)
    from face_recognition_ros.core.pipeline import build_pipeline

    model_id = build_pipeline(tracking=False, num_threads=args.threads).embedder.model_id
    data = load_embeddings(args.data_root, args.cache, args.threads)
    pooled, per_dataset = fit_models(data, tuple(args.leave_out))
    for name, model in per_dataset.items():
        print(f'{name:11s} mean {model.mean:.4f}  sd_probe {model.sd_probe:.4f}  sd_person '
              f'{model.sd_person:.4f}  sd_photo {model.sd_photo:.4f}  ({model.probes} photos)')
    print(f'{"pooled":11s} mean {pooled.mean:.4f}  sd_probe {pooled.sd_probe:.4f}  sd_person '
          f'{pooled.sd_person:.4f}  sd_photo {pooled.sd_photo:.4f}  mean_sd {pooled.mean_sd:.4f}')
    record = pooled.to_dict()
    record['source'] = 'training/fit_impostor_model.py'
    record['extra'] = {
        'fitted': datetime.date.today().isoformat(),
        'how': 'per dataset: nested analysis of variance of every photo against every other '
               'person of the same dataset (core.open_set.fit_impostor_model); pooled: '
               'photo-weighted variances, mean_sd = spread of the dataset means',
        'pipeline': 'YuNet int8 -> 5-point alignment 112x112 -> SFace int8, largest face',
        'data': 'labelled folders of ../shared/data (README there: sources, licences)',
        'left_out': list(args.leave_out),
        'python': platform.python_version(),
        'datasets': {name: {key: round(value, 5) if isinstance(value, float) else value
                            for key, value in model.to_dict().items() if key != 'source'}
                     for name, model in per_dataset.items()},
    }
    for key in ('mean', 'sd_probe', 'sd_person', 'sd_photo', 'mean_sd'):
        record[key] = round(record[key], 5)
    document = {
        'about': 'Impostor-similarity models of the bundled embedders, keyed by model id; '
                 'read by face_recognition_ros.core.open_set (see its docstring). Written by '
                 'python -m training.fit_impostor_model.',
        'models': {model_id: record},
    }
    args.output.write_text(json.dumps(document, indent=2) + '\n', encoding='utf-8')
    print(f'wrote {args.output} for {model_id}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
