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
What ``evaluate`` writes: ``report.md``, PNG plots and the one-line JSON summary.

Reports name people: files are owner-only and written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
import tempfile

import numpy as np


def plot_results(results: dict, out_dir: Path) -> list[str]:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    written = []
    if results.get('verification'):
        fig, ax = plt.subplots(figsize=(5, 4))
        for v in results['verification']:
            ax.plot(v['roc']['far'], v['roc']['tar'], '-', drawstyle='steps-post',
                    label=f'{Path(v["pairs_file"]).name}: {v["same_pairs"]} same + '
                          f'{v["different_pairs"]} different (AUC {v["roc_auc"]:.3f})')
        ax.set_xscale('symlog', linthresh=1e-2)
        ax.set_xlabel('false accept rate')
        ax.set_ylabel('true accept rate')
        ax.set_title('Verification ROC, SFace cosine similarity', fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right', fontsize=7)
        fig.tight_layout()
        path = out_dir / 'roc_verification.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    if 'identification' in results:
        ident = results['identification']
        fig, ax = plt.subplots(figsize=(5, 4))
        for key, method in ident['methods'].items():
            fpir, tpir = method['curve']
            ax.plot(fpir, tpir, '-', drawstyle='steps-post', label=method['name'])
        ax.set_xlabel('FPIR (strangers given a name)')
        ax.set_ylabel('TPIR (known people named correctly)')
        ax.set_title(f'Open-set identification, {Path(ident["dataset"]).name}, '
                     f'k={ident["enroll_per_person"]}', fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right', fontsize=7)
        fig.tight_layout()
        path = out_dir / 'roc_identification.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path.name)
    return written


def _pct(value) -> str:
    return 'n/a' if value is None or not np.isfinite(value) else f'{100 * value:.1f} %'


def markdown_report(results: dict, plots: list[str]) -> str:
    lines = ['# Accuracy report', '', f'Command: `{results["command"]}`  ',
             f'Machine: {results["machine"]}  ', f'Date: {results["date"]}', '']
    for v in results.get('verification', []):
        t = v['tar_at_far']
        k = v['kfold_accuracy']
        lines += [f'## Verification: {Path(v["pairs_file"]).name}', '',
                  f'`{v["pairs_file"]}`: {v["pairs"]} pairs ({v["same_pairs"]} same, '
                  f'{v["different_pairs"]} different) over {v["photos"]} photos; '
                  f'{v["photos_without_face"]} photos without a detected face '
                  f'({v["pairs_with_missing_face"]} pairs scored as misses).', '',
                  '| metric | value |', '|---|---|',
                  f'| 10-fold accuracy | {_pct(k["mean"])} ± {100 * k["std"]:.1f} |',
                  f'| ROC AUC | {v["roc_auc"]:.4f} |',
                  f'| TAR @ FAR {t["target_far"]:g} | {_pct(t["tar"])} (measured FAR '
                  f'{t["far"]:.4f}, resolution {t["far_resolution"]:.4f}) |',
                  f'| at the gallery default threshold {v["at_default_threshold"]["threshold"]}'
                  f' | TAR {_pct(v["at_default_threshold"]["tar"])}, FAR '
                  f'{_pct(v["at_default_threshold"]["far"])}, accuracy '
                  f'{_pct(v["at_default_threshold"]["accuracy"])} |', '']
        if t['far_resolution'] > t['target_far']:
            lines += [f'With {v["different_pairs"]} different pairs the smallest FAR that can '
                      f'be measured is {t["far_resolution"]:.4f}, so "TAR @ FAR '
                      f'{t["target_far"]:g}" here is TAR with zero false accepts.', '']
    if 'identification' in results:
        ident = results['identification']
        nf = ident['photos_without_face']
        lines += ['## Identification', '',
                  f'`{ident["dataset"]}`: {ident["people"]} people, '
                  f'{ident["known_people"]} known, {len(ident["unknown_people"])} held out as '
                  f'strangers ({", ".join(ident["unknown_people"])}); '
                  f'{ident["enroll_per_person"]} photos enrolled per known person '
                  f'({ident["enroll_photos"]}), {ident["known_probes"]} known probes, '
                  f'{ident["stranger_probes"]} stranger probes. Photos without a detected '
                  f'face: {nf["enroll"]} enroll, {nf["known_probes"]} known probes, '
                  f'{nf["strangers"]} strangers'
                  + (f' (of them unreadable, skipped: '
                     f'{", ".join(ident["unreadable_photos"])})'
                     if ident.get('unreadable_photos') else '') + '.', '',
                  '| method | closed-set top-1 | TPIR @ FPIR 1 % | TPIR @ FPIR 10 % | '
                  'deployed threshold: TPIR / FPIR |', '|---|---|---|---|---|']
        for method in ident['methods'].values():
            d = method['at_deployed_threshold']
            lines.append(f'| {method["name"]} | {_pct(method["closed_set_top1"])} | '
                         f'{_pct(method["tpir_at_fpir_0.01"]["tpir"])} | '
                         f'{_pct(method["tpir_at_fpir_0.1"]["tpir"])} | '
                         f'{_pct(d["tpir"])} / {_pct(d["fpir"])} (t = {d["threshold"]:.3f}) |')
        fixed = ident['methods'].get('gallery', {}).get('at_fixed_0363')
        if fixed:
            point = ident['methods']['gallery']['operating_point']
            lines += ['', f'The gallery\'s threshold is derived ({point["source"]}) for a '
                      f'target of {100 * point["target_false_name_rate"]:g} % of strangers '
                      f'named with this gallery (core/open_set.py); at the old fixed 0.363 '
                      f'it would be TPIR {_pct(fixed["tpir"])} / FPIR {_pct(fixed["fpir"])}.']
        resolution = 1.0 / max(ident['stranger_probes'], 1)
        lines += ['', f'FPIR resolution: 1/{ident["stranger_probes"]} = {resolution:.3f}; '
                  '"TPIR @ FPIR x" uses the threshold set on the strangers themselves (the '
                  'best possible at that FPIR), the last column the threshold the method '
                  'ships with.', '']
    if 'group_photos' in results:
        g = results['group_photos']
        lines += ['## Group photos', '',
                  f'Enrolled {g["enrolled_photos"]} crops of {len(g["people"])} people from '
                  f'`{g["gallery_dir"]}` (threshold {g["threshold"]}). No per-face labels '
                  'exist for these photos, so this lists what was found; a name given twice '
                  'in one photo is an error for sure.', '',
                  '| photo | faces | named | unknown | names | names given twice |',
                  '|---|---|---|---|---|---|']
        for p in g['photos']:
            lines.append(f'| {p["photo"]} | {p["faces"]} | {p["named"]} | {p["unknown"]} | '
                         f'{", ".join(p["names"])} | {", ".join(p["duplicate_names"]) or "-"} |')
        lines.append('')
    for plot in plots:
        lines += [f'![{plot}]({plot})', '']
    return '\n'.join(lines)


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` owner-only and never half-written: reports name people."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _summary(results: dict) -> dict:
    out = {'report': 'report.md', 'seconds': results.get('seconds')}
    if results.get('verification'):
        out['verification'] = {
            Path(v['pairs_file']).name: {'kfold_accuracy': v['kfold_accuracy']['mean'],
                                         'roc_auc': v['roc_auc'],
                                         'tar_at_far': v['tar_at_far']['tar']}
            for v in results['verification']}
    if 'identification' in results:
        out['identification'] = {
            key: {'top1': m['closed_set_top1'],
                  'tpir_at_fpir_0.01': m['tpir_at_fpir_0.01']['tpir'],
                  'tpir_at_fpir_0.1': m['tpir_at_fpir_0.1']['tpir']}
            for key, m in results['identification']['methods'].items()}
    if 'group_photos' in results:
        out['group_photos'] = {p['photo']: p['names'] for p in
                               results['group_photos']['photos']}
    return out
