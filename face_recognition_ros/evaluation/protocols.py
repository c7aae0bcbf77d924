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
The three measurements of ``evaluate``: verification, identification, group photos.

Each takes a ``datasets.FaceSource`` and returns a JSON-ready dict of ``metrics``.
"""

from __future__ import annotations

from pathlib import Path

from face_recognition_ros.evaluation.datasets import (
    FaceSource, list_people, read_pairs, save_crops, split_identification
)
from face_recognition_ros.evaluation.metrics import (
    fpir_at_threshold, identification_metrics, kfold_accuracy, person_scores, roc_auc, roc_curve,
    tar_at_far, tpir_at_threshold, tpir_fpir_curve
)
import numpy as np


def evaluate_verification(source: FaceSource, pairs_csv: Path, image_root, far: float
                          ) -> dict:
    pairs = read_pairs(pairs_csv, image_root)
    missing = sorted({str(p) for a, b, _ in pairs for p in (a, b) if not p.is_file()})
    if missing:
        raise SystemExit(f'{len(missing)} files named in {pairs_csv} are missing, e.g. '
                         f'{missing[0]}: give their folder with --pairs-root')
    photos = sorted({p for a, b, _ in pairs for p in (a, b)})
    index = {p: i for i, p in enumerate(photos)}
    found, embeddings = source.embeddings(photos)
    scores, same = [], []
    for a, b, is_same in pairs:
        ia, ib = index[a], index[b]
        # a pair with an undetected face gets the lowest possible similarity: a miss
        score = float(embeddings[ia] @ embeddings[ib]) if found[ia] and found[ib] else -1.0
        scores.append(score)
        same.append(is_same)
    scores, same = np.array(scores), np.array(same)
    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    far_curve, tar_curve, _ = roc_curve(scores, same)
    result = {
        'pairs_file': str(pairs_csv), 'pairs': int(len(pairs)),
        'same_pairs': int(same.sum()), 'different_pairs': int((~same).sum()),
        'photos': len(photos), 'photos_without_face': int((~found).sum()),
        'photos_without_face_list': [p.name for p, f in zip(photos, found) if not f],
        'pairs_with_missing_face': int(sum(1 for a, b, _ in pairs
                                           if not (found[index[a]] and found[index[b]]))),
        'kfold_accuracy': kfold_accuracy(scores, same, 10),
        'roc_auc': roc_auc(scores, same),
        'tar_at_far': tar_at_far(scores, same, far),
        'at_default_threshold': {
            'threshold': DEFAULT_THRESHOLD,
            'tar': float(np.mean(scores[same] >= DEFAULT_THRESHOLD)),
            'far': float(np.mean(scores[~same] >= DEFAULT_THRESHOLD)),
            'accuracy': float(np.mean((scores >= DEFAULT_THRESHOLD) == same))},
        'roc': {'far': far_curve.tolist(), 'tar': tar_curve.tolist()},
    }
    return result


def evaluate_identification(source: FaceSource, dataset: Path, args) -> dict:
    people = list_people(dataset)
    if len(people) < 3:
        raise SystemExit(f'{dataset}: needs at least 3 person folders, found {len(people)}')
    split = split_identification(people, args.enroll_per_person, args.unknown_fraction,
                                 args.seed)
    enroll_paths = [p for n in split.known for p in split.enroll[n]]
    enroll_labels = np.array([i for i, n in enumerate(split.known) for _ in split.enroll[n]])
    probe_paths = [p for n in split.known for p in split.probes[n]]
    probe_labels = np.array([i for i, n in enumerate(split.known) for _ in split.probes[n]])
    stranger_paths = split.stranger_photos
    all_paths = enroll_paths + probe_paths + stranger_paths
    found_all = np.array([source.record(p).landmarks is not None for p in all_paths])
    n_e, n_p = len(enroll_paths), len(probe_paths)
    result = {
        'dataset': str(dataset), 'people': len(people), 'known_people': len(split.known),
        'unknown_people': split.unknown, 'enroll_per_person': args.enroll_per_person,
        'enroll_photos': n_e, 'known_probes': n_p, 'stranger_probes': len(stranger_paths),
        'unreadable_photos': sorted(str(p) for p in source.unreadable if p in set(all_paths)),
        'photos_without_face': {
            'enroll': int((~found_all[:n_e]).sum()),
            'known_probes': int((~found_all[n_e:n_e + n_p]).sum()),
            'strangers': int((~found_all[n_e + n_p:]).sum())},
        'methods': {},
    }
    if args.save_enroll_crops:
        save_crops(source, split, Path(args.save_enroll_crops))
        result['enroll_crops_dir'] = str(args.save_enroll_crops)

    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    found_e, emb_e = source.embeddings(enroll_paths)
    found_p, emb_p = source.embeddings(probe_paths)
    found_s, emb_s = source.embeddings(stranger_paths)
    known_scores = _scores_or_miss(found_p, emb_p, emb_e[found_e], enroll_labels[found_e],
                                   len(split.known))
    unknown_scores = _scores_or_miss(found_s, emb_s, emb_e[found_e], enroll_labels[found_e],
                                     len(split.known))
    # The threshold the gallery users build from these photos would use (issue 12): derived
    # from the target rate of strangers named and the gallery as it is.
    from face_recognition_ros.core import open_set
    point = open_set.operating_point(
        source.embedder.model_id, emb_e[found_e], enroll_labels[found_e],
        getattr(args, 'max_false_name_rate', None) or open_set.DEFAULT_MAX_FALSE_NAME_RATE,
        fixed_threshold=DEFAULT_THRESHOLD)
    method = identification_metrics(known_scores, probe_labels, unknown_scores,
                                    point.threshold)
    method['operating_point'] = point.to_dict()
    method['at_fixed_0363'] = {
        'tpir': tpir_at_threshold(known_scores, probe_labels, DEFAULT_THRESHOLD),
        'fpir': fpir_at_threshold(unknown_scores, DEFAULT_THRESHOLD)}
    method['name'] = f'gallery ({source.embedder.model_id}, cosine)'
    method['curve'] = [c.tolist() for c in tpir_fpir_curve(known_scores, probe_labels,
                                                           unknown_scores)]
    result['methods']['gallery'] = method

    if source.classifier is not None:
        classifier = source.classifier
        missing = [n for n in split.known if n not in classifier.class_names]
        extra = [n for n in classifier.class_names if n in split.unknown]
        if missing or extra:
            raise SystemExit(
                f'--classifier {args.classifier} was not trained on this split (known people '
                f'missing from it: {missing[:5]}; held-out people in it: {extra[:5]}). Train '
                'it on the crops that --save-enroll-crops writes for the same --seed, '
                '--enroll-per-person and --unknown-fraction.')
        order = [classifier.class_names.index(n) for n in split.known]
        found_p, prob_p = source.probabilities(probe_paths)
        found_s, prob_s = source.probabilities(stranger_paths)
        known_c = np.where(found_p[:, None], prob_p[:, order], -np.inf)
        unknown_c = np.where(found_s[:, None], prob_s[:, order], -np.inf)
        method = identification_metrics(known_c, probe_labels, unknown_c,
                                        classifier.threshold)
        method['name'] = f'classifier ({Path(args.classifier).name}, top softmax)'
        method['curve'] = [c.tolist() for c in tpir_fpir_curve(known_c, probe_labels,
                                                               unknown_c)]
        result['methods']['classifier'] = method
        if classifier.provides_embedding:
            found_e2, emb_e2 = source.embeddings(enroll_paths, classifier)
            found_p2, emb_p2 = source.embeddings(probe_paths, classifier)
            found_s2, emb_s2 = source.embeddings(stranger_paths, classifier)
            ks = _scores_or_miss(found_p2, emb_p2, emb_e2[found_e2], enroll_labels[found_e2],
                                 len(split.known))
            us = _scores_or_miss(found_s2, emb_s2, emb_e2[found_e2], enroll_labels[found_e2],
                                 len(split.known))
            method = identification_metrics(ks, probe_labels, us,
                                            classifier.embedding_threshold)
            method['name'] = "gallery on the classifier's embedding (cosine)"
            method['curve'] = [c.tolist() for c in tpir_fpir_curve(ks, probe_labels, us)]
            result['methods']['classifier_embedding'] = method
    return result


def _scores_or_miss(found, probes, gallery, labels, num_people) -> np.ndarray:
    scores = np.full((len(found), num_people), -np.inf, dtype=np.float32)
    if found.any() and len(gallery):
        scores[found] = person_scores(probes[found], gallery, labels, num_people)
    return scores


def evaluate_group_photos(source: FaceSource, photos: list[Path], gallery_dir: Path) -> dict:
    """
    Enroll per-person crops, identify every face in each group photo, list the names.

    Faces are found, aligned and embedded by the pipeline's own ``embed_faces``; the
    threshold is the gallery's derived operating point (``core/open_set.py``).
    """
    from face_recognition_ros.core import open_set
    from face_recognition_ros.core.gallery import DEFAULT_THRESHOLD
    people = list_people(gallery_dir)
    names = list(people)
    paths = [p for n in names for p in people[n]]
    labels = np.array([i for i, n in enumerate(names) for _ in people[n]])
    found, embeddings = source.embeddings(paths)
    if not found.any():
        raise SystemExit(f'--group-gallery {gallery_dir}: no face found to enroll in '
                         f'{len(paths)} photos of {len(names)} people; give a folder with '
                         'one sub-folder of face photos per person')
    point = open_set.operating_point(source.embedder.model_id, embeddings[found],
                                     labels[found], fixed_threshold=DEFAULT_THRESHOLD)
    threshold = point.threshold
    report = {'gallery_dir': str(gallery_dir), 'people': names,
              'enrolled_photos': int(found.sum()), 'enroll_without_face': int((~found).sum()),
              'threshold': round(threshold, 4), 'operating_point': point.to_dict(),
              'photos': []}
    for photo in photos:
        image, _, _ = source.prepare(photo)
        embedded = source.pipeline.embed_faces(image)
        faces = []
        if embedded:
            emb = np.stack([vector for _, vector in embedded])
            scores = person_scores(emb, embeddings[found], labels[found], len(names))
            for (det, _), row in zip(embedded, scores):
                best = int(np.argmax(row))
                faces.append({'box': [round(float(v), 1) for v in det.box],
                              'name': names[best] if row[best] >= threshold else 'unknown',
                              'best_person': names[best],
                              'similarity': round(float(row[best]), 3)})
        named = [f['name'] for f in faces if f['name'] != 'unknown']
        duplicates = sorted({n for n in named if named.count(n) > 1})
        report['photos'].append({'photo': photo.name, 'faces': len(faces),
                                 'named': len(named), 'unknown': len(faces) - len(named),
                                 'names': sorted(named), 'duplicate_names': duplicates,
                                 'details': faces})
    return report
