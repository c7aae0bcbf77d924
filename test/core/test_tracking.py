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

"""Tracker: ids stay with faces, votes resist single bad views, embeddings only when due."""

from face_recognition_ros.core.tracking import box_iou, FaceTracker
from face_recognition_ros.core.types import Detection, Match, UNKNOWN
import numpy as np
import pytest


def det(x, y, w=60, h=70, score=0.9):
    return Detection(np.array([x, y, w, h], np.float32), score)


def test_box_iou():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 10, 10],
                                                       [20, 20, 5, 5]]))
    np.testing.assert_allclose(iou[0], [1.0, 50 / 150, 0.0], atol=1e-6)


def test_ids_follow_moving_faces_and_are_never_reused():
    tracker = FaceTracker(max_missed=2)
    ids_a, ids_b = [], []
    for step in range(20):
        # Two faces moving towards each other; the detector lists them in varying order.
        a, b = det(50 + 6 * step, 100), det(400 - 6 * step, 120)
        detections = [a, b] if step % 2 else [b, a]
        tracks = tracker.update(detections)
        by_detection = dict(zip(map(id, detections), tracks))
        ids_a.append(by_detection[id(a)].track_id)
        ids_b.append(by_detection[id(b)].track_id)
    assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]
    for _ in range(3):  # both disappear for longer than max_missed: tracks expire
        tracker.update([])
    assert tracker.tracks == []
    new_track, = tracker.update([det(50, 100)])
    assert new_track.track_id > max(ids_a[0], ids_b[0])


def test_track_survives_a_few_missed_frames_and_fast_motion():
    tracker = FaceTracker(max_missed=3)
    first, = tracker.update([det(100, 100)])
    tracker.update([])
    tracker.update([])
    again, = tracker.update([det(130, 105)])  # moved half a face while undetected
    assert again.track_id == first.track_id and again.missed == 0
    far, = tracker.update([det(500, 300)])  # another face far away: a new track
    assert far.track_id != first.track_id


def test_embedding_policy_new_interval_growth_and_uncertainty():
    tracker = FaceTracker(reembed_interval=5, uncertain_interval=2, min_votes=1,
                          growth_ratio=1.4, max_reembeds_per_frame=None, confirm_votes=1)
    confident = Match('ada', 0.95, 0.7)
    tracks = tracker.update([det(100, 100)])
    assert tracker.select_for_embedding(tracks) == [0]  # new track
    tracker.record(tracks[0], confident)
    due = []
    for frame in range(1, 11):
        tracks = tracker.update([det(100 + frame, 100)])
        if tracker.select_for_embedding(tracks):
            due.append(frame)
            tracker.record(tracks[0], confident)
    assert due == [5, 10]  # only every reembed_interval frames
    tracks = tracker.update([det(100, 100, w=80, h=90)])  # came closer: better view
    assert tracker.embedding_reason(tracks[0]) == 'grew'
    tracker.record(tracks[0], Match('ada', 0.52, 0.37))  # now barely above threshold
    tracker.record(tracks[0], Match(UNKNOWN, 0.45, 0.35))
    for _ in range(2):
        tracks = tracker.update([det(100, 100, w=80, h=90)])
    assert tracker.embedding_reason(tracks[0]) == 'uncertain'


def test_reembeds_are_spread_over_frames_but_new_tracks_never_wait():
    tracker = FaceTracker(reembed_interval=3, max_reembeds_per_frame=2, confirm_votes=1)
    faces = [det(10 + 100 * i, 50) for i in range(6)]
    tracks = tracker.update(faces)
    assert tracker.select_for_embedding(tracks) == list(range(6))
    for track in tracks:
        tracker.record(track, Match('x', 0.9, 0.6))
    counts = []
    for _ in range(9):
        tracks = tracker.update(faces)
        chosen = tracker.select_for_embedding(tracks)
        counts.append(len(chosen))
        for index in chosen:
            tracker.record(tracks[index], Match('x', 0.9, 0.6))
    assert max(counts) <= 2 and sum(counts) >= 6
    tracks = tracker.update(faces + [det(10, 300)])
    assert 6 in tracker.select_for_embedding(tracks)


def test_vote_resists_one_bad_view_and_weights_by_confidence():
    tracker = FaceTracker(vote_window=5)
    track, = tracker.update([det(0, 0)])
    for match in [Match('ada', 0.9, 0.6), Match('ada', 0.8, 0.5), Match('bob', 0.99, 0.8)]:
        tracker.record(track, match)
    assert track.name == 'ada' and track.confidence == pytest.approx(0.85)
    for _ in range(4):  # window of 5: old ada votes fall out, bob takes over
        tracker.record(track, Match('bob', 0.9, 0.6))
    assert track.name == 'bob' and track.confidence >= 0.5
    for _ in range(5):
        tracker.record(track, Match(UNKNOWN, 0.1, 0.2))
    assert track.name == UNKNOWN and track.confidence < 0.5


def test_ids_are_kept_on_the_bundled_clip(detector, fixtures_dir):
    """
    Real detector on the clip: each person keeps one track id through a shot.

    The clip opens with Lin-Manuel Miranda on stage and Alex Lacamoire at the piano
    (frames 0-18), then cuts to other shots; frames 83-200 are a close-up of Lin-Manuel
    moving and gesturing.
    """
    import cv2

    tracker = FaceTracker()
    capture = cv2.VideoCapture(str(fixtures_dir / 'hamilton' / 'short_hamilton_clip.mp4'))
    ids_per_frame = []
    largest_id = []
    try:
        for index in range(201):
            ok, frame = capture.read()
            assert ok
            tracks = tracker.update(detector.detect(frame))
            ids_per_frame.append({track.track_id for track in tracks})
            if tracks:
                largest_id.append((index, max(tracks, key=lambda t: t.area).track_id))
    finally:
        capture.release()
    opening = ids_per_frame[:18]
    opening_ids = set().union(*opening)
    assert len(opening_ids) == 2  # the two people, no id switch, no spurious track
    assert sum(len(ids) == 2 for ids in opening) >= 16
    close_up = [track_id for index, track_id in largest_id if 85 <= index <= 200]
    assert len(close_up) >= 100
    assert len(set(close_up)) == 1  # Lin-Manuel keeps his id for the whole shot


def test_decisive_answers_need_fewer_embeddings_than_close_calls():
    def embed_frames(match, frames=60):
        tracker = FaceTracker(reembed_interval=10, stable_votes=3, stable_interval_factor=2,
                              min_votes=2, uncertain_interval=3, confirm_votes=1)
        due = []
        for frame in range(frames):
            tracks = tracker.update([det(100, 100)])
            if tracker.select_for_embedding(tracks):
                due.append(frame)
                tracker.record(tracks[0], match)
        return due

    # A clear match: no second opinion needed at once; after 3 agreeing answers the
    # routine interval doubles.
    assert embed_frames(Match('ada', 0.99, 0.7)) == [0, 10, 20, 40]
    # A clear stranger likewise.
    assert embed_frames(Match(UNKNOWN, 0.01, 0.1)) == [0, 10, 20, 40]
    # A close call is checked again every uncertain_interval frames.
    close = embed_frames(Match('ada', 0.55, 0.37), frames=12)
    assert close == [0, 3, 6, 9]


def test_track_without_votes_is_uncertain_not_an_error():
    """
    Treat a track without votes as uncertain, not as an error.

    A face whose embedding failed (no landmarks) has no votes yet; asking whether it needs
    an embedding must answer, not raise (it crashed the recognizer node once).
    """
    tracker = FaceTracker()
    detection = Detection(box=np.array([10, 10, 50, 50], np.float32), score=0.9)
    (track,) = tracker.update([detection])
    tracker.mark_embedding_failed(track)
    for _ in range(tracker.uncertain_interval):
        (track,) = tracker.update([detection])
    assert tracker.embedding_reason(track) == 'uncertain'


def test_a_name_is_published_only_once_identifications_agree():
    """
    Publish a name only once identifications agree.

    A close call is a candidate (pending, shown as nearest_name), two agreeing a name;
    one decisive identification (far above the threshold) names at once.
    """
    tracker = FaceTracker(confirm_votes=2)
    clear, = tracker.update([det(300, 100)])
    tracker.record(clear, Match('bob', 0.95, 0.7, 'bob'))
    assert clear.name == 'bob' and not clear.pending
    track, = tracker.update([det(100, 100)])
    tracker.record(track, Match('ada', 0.8, 0.45, 'ada'))
    assert track.name == UNKNOWN and track.pending and track.nearest_name == 'ada'
    assert track.confidence == 0.5  # undecided, not a confident stranger
    track, = tracker.update([det(101, 100)])
    assert tracker.select_for_embedding([track]) == [0]  # pending: embedded every frame
    tracker.record(track, Match('bob', 0.8, 0.45, 'bob'))  # disagreement: still pending
    assert track.name == UNKNOWN and track.pending
    tracker.record(track, Match('ada', 0.8, 0.45, 'ada'))
    assert track.name == 'ada' and not track.pending and track.confidence > 0.5


def _cross(tracker, steps=40, speed=6.0):
    """
    Face A walks right across face B (which stands): yield (tracks by person) per frame.

    Around the middle only one box is seen (B hides A), placed where either could be.
    """
    for step in range(steps):
        xa, xb = 20 + speed * step, 140.0
        hidden = abs(xa - xb) < 25
        boxes = {'b': det(xb, 100)} if hidden else {'a': det(xa, 102), 'b': det(xb, 100)}
        tracks = tracker.update(list(boxes.values()))
        yield dict(zip(boxes, tracks))


def test_a_crossing_clears_names_until_each_face_is_identified_again():
    """No name from before an overlap is published after it without a fresh embedding."""
    ada, bob = _unit(0), _unit(1)
    tracker = FaceTracker(confirm_votes=1)
    named_during = []
    for frame, tracks in enumerate(_cross(tracker)):
        for person, track in tracks.items():
            if tracker.embedding_reason(track) is not None:
                # The box tracker swapped them? Then this embedding shows the other face.
                truth = person
                tracker.record(track, Match(truth, 0.95, 0.7, truth),
                               ada if truth == 'a' else bob)
            if track.crowded:
                named_during.append(track.name)
            assert track.name in (UNKNOWN, person), (frame, person, track.name)
    assert named_during and set(named_during) == {UNKNOWN}
    assert {t.name for t in tracks.values()} == {'a', 'b'}  # named again once apart


def test_after_a_contest_the_face_that_looks_like_the_partner_gets_a_new_id():
    """Appearance decides when boxes could not: a swapped track does not keep its id."""
    ada, bob = _unit(0), _unit(1)
    tracker = FaceTracker(confirm_votes=1)
    first, second = tracker.update([det(100, 100), det(200, 100)])
    tracker.record(first, Match('ada', 0.95, 0.7), ada)
    tracker.record(second, Match('bob', 0.95, 0.7), bob)
    first_id = first.track_id
    for step in range(1, 5):  # they come close: both contested
        tracker.update([det(100 + 8 * step, 100), det(200 - 8 * step, 100)])
    assert first.crowded and second.crowded and first.name == UNKNOWN
    for step in range(3, -1, -1):  # and part again
        tracks = tracker.update([det(100 + 8 * step, 100), det(200 - 8 * step, 100)])
    assert not any(t.contested for t in tracks)
    # Suppose the boxes swapped: the first track now shows Bob's face. A little noise
    # keeps it above the plain identity-switch similarity, so only the partner check
    # can tell.
    looks_like_bob = _unit_mix(bob, ada, 0.3)
    assert float(looks_like_bob @ ada) > tracker.identity_switch_similarity
    tracker.record(first, Match('bob', 0.9, 0.6), looks_like_bob)
    assert first.track_id != first_id and first.name == 'bob'


def _unit(index, dimension=16):
    vector = np.zeros(dimension, np.float32)
    vector[index] = 1.0
    return vector


def _unit_mix(main, other, weight):
    vector = (1 - weight) * main + weight * other
    return (vector / np.linalg.norm(vector)).astype(np.float32)
