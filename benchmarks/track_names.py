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
Names per track on real image sequences: strangers named and people named right.

``../shared/data/ros4hri_sequences`` holds 5 people, each filmed in 1-5 scenes of 5-17
frames. Leave-people-out, every split of 3 enrolled people and 2 strangers: each enrolled
person is enrolled from the frames of one scene, and every other scene (the other scenes
of the enrolled, every scene of the strangers) is played as a sequence through the
tracking pipeline at the shipped operating point. Counted per frame (each published face)
and per track (a track is wrong if it ever shows a name that is not its person's):

- strangers named: faces of never-enrolled people that carry a name;
- known named right: faces of enrolled people that carry their own name;
- wrong names: faces of enrolled people that carry someone else's name.

The shipped tracker (names confirmed, ``core/tracking.py``) and the tracker that names a
face on its first identification (``confirm_votes=1``) run side by side on the same
splits. Prints JSON.

    python benchmarks/track_names.py [--data ../shared/data/ros4hri_sequences]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
import sys

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from face_recognition_ros.core import open_set  # noqa: E402
from face_recognition_ros.core.gallery import Gallery  # noqa: E402
from face_recognition_ros.core.image_io import load_image  # noqa: E402
from face_recognition_ros.core.pipeline import FacePipeline  # noqa: E402
from face_recognition_ros.core.tracking import FaceTracker  # noqa: E402
from face_recognition_ros.core.types import UNKNOWN  # noqa: E402

TRACKERS = {'shipped': {}, 'confirm_votes_1': {'confirm_votes': 1}}


def scenes_of(data: Path) -> dict[str, list[list[Path]]]:
    return {person.name: [sorted(scene.glob('*.jpg')) for scene in sorted(person.iterdir())
                          if scene.is_dir()]
            for person in sorted(data.iterdir()) if person.is_dir()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split('\n\n')[0])
    parser.add_argument('--data', type=Path,
                        default=REPO.parent / 'shared' / 'data' / 'ros4hri_sequences')
    parser.add_argument('--enrolled', type=int, default=3)
    args = parser.parse_args()
    from face_recognition_ros.core.detection import YuNetDetector
    from face_recognition_ros.core.embedding import SFaceEmbedder

    detector, embedder = YuNetDetector(), SFaceEmbedder()
    scenes = scenes_of(args.data)
    frames = {person: [[load_image(path) for path in scene] for scene in person_scenes]
              for person, person_scenes in scenes.items()}
    still = FacePipeline(detector, embedder, Gallery(embedder.model_id), tracking=False)
    counts = {name: dict.fromkeys(
        ('stranger_faces', 'strangers_named', 'known_faces', 'known_right', 'known_wrong',
         'stranger_tracks', 'stranger_tracks_named', 'known_tracks', 'known_tracks_wrong'), 0)
        for name in TRACKERS}
    splits = list(itertools.combinations(sorted(scenes), args.enrolled))
    for enrolled in splits:
        gallery = Gallery(embedder.model_id)
        for person in enrolled:
            found = [still.embed_faces(frame) for frame in frames[person][0]]
            vectors = [faces[0][1] for faces in found if len(faces) == 1]
            gallery = gallery.with_person(person, vectors)
        gallery = open_set.matching_gallery(gallery)[0]
        for person, person_frames in frames.items():
            known = person in enrolled
            played = person_frames[1:] if known else person_frames
            for scene in played:
                for name, options in TRACKERS.items():
                    _play(FacePipeline(detector, embedder, gallery,
                                       tracker=FaceTracker(**options)),
                          scene, person, known, counts[name])
    report = {'benchmark': 'track_names', 'data': str(args.data), 'splits': len(splits),
              'enrolled_per_split': args.enrolled, 'results': {}}
    for name, c in counts.items():
        report['results'][name] = dict(c, **{
            'strangers_named_rate': _rate(c['strangers_named'], c['stranger_faces']),
            'known_named_right_rate': _rate(c['known_right'], c['known_faces']),
            'known_wrong_rate': _rate(c['known_wrong'], c['known_faces']),
            'stranger_tracks_named_rate': _rate(c['stranger_tracks_named'],
                                                c['stranger_tracks']),
            'known_tracks_wrong_rate': _rate(c['known_tracks_wrong'], c['known_tracks'])})
    print(json.dumps(report, indent=2))
    return 0


def _play(pipeline, scene, person, known, c) -> None:
    """One scene through a fresh tracking pipeline; the largest face is the person's."""
    names_per_track: dict[int, set] = {}
    for frame in scene:
        faces = pipeline.process(frame).faces
        if not faces:
            continue
        face = max(faces, key=lambda f: float(f.box[2] * f.box[3]))
        names_per_track.setdefault(face.track_id, set()).add(face.name)
        if known:
            c['known_faces'] += 1
            c['known_right'] += face.name == person
            c['known_wrong'] += face.name not in (person, UNKNOWN)
        else:
            c['stranger_faces'] += 1
            c['strangers_named'] += face.name != UNKNOWN
    for names in names_per_track.values():
        if known:
            c['known_tracks'] += 1
            c['known_tracks_wrong'] += bool(names - {person, UNKNOWN})
        else:
            c['stranger_tracks'] += 1
            c['stranger_tracks_named'] += bool(names - {UNKNOWN})


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


if __name__ == '__main__':
    sys.exit(main())
