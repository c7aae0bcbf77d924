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
Face tracking: stable ids across frames, identity votes, and when to embed again.

Recognising every face in every frame is what makes face pipelines slow: an embedding
costs about as much as a whole detection. A face that stays in view keeps its identity, so
the tracker follows each face from frame to frame and tells the pipeline which tracks need
a fresh embedding:

- a new track (nobody knows who it is yet);
- a track whose identity is still uncertain (fewer than ``min_votes`` identifications
  that are not all decisive, a voted confidence within ``uncertain_margin`` of the 0.5
  decision point, or a latest identification that disagrees with the vote), at most
  every ``uncertain_interval`` frames;
- every ``reembed_interval`` frames otherwise (``stable_interval_factor`` times that once
  the last ``stable_votes`` answers agree decisively), so a wrong early answer gets
  corrected and a person who changed place with another is caught;
- when the face grew by ``growth_ratio`` since its last embedding (it came closer: a
  better view);
- when the detection continued the track only by centre distance, with little overlap
  (a fast move, or a cut to another scene with a face at the same place).

A box-only tracker cannot see a scene cut that puts another face where the last one was.
So the embeddings themselves guard the ids: when a track's new embedding is less similar
than ``identity_switch_similarity`` to its previous one, the track is someone else; it
gets a new id and a fresh vote instead of inheriting the previous person's name.

At most ``max_reembeds_per_frame`` tracks that already have an identity are re-embedded in
one frame (the most overdue first); new tracks are never held back. This spreads the
periodic work so several faces do not all re-embed in the same frame.

Association is greedy on an affinity that combines box overlap (IoU) with the distance
between centres relative to the face size, after a constant-velocity prediction; greedy
is as good as the Hungarian method for the few, mostly well-separated faces of a frame
and needs nothing beyond numpy. Track ids are increasing integers, never reused.

Identity is a vote over the last ``vote_window`` identifications of a track, each weighted
by its confidence in its own answer (``confidence`` for a name, ``1 - confidence`` for
``unknown``), so a single bad view does not flip a name.

A name is trusted before it is published:

- **Confirmation.** The vote's winner is published once ``confirm_votes`` (2)
  identifications name that person and no other person as often, or at once when every
  identification naming it was decisive (far above the threshold, where strangers almost
  never score). Until then the track is *pending*: ``name`` is ``unknown`` with confidence
  0.5 (undecided), ``nearest_name`` the candidate, and it is embedded every frame, so a
  close call costs one frame (33 ms at 30 Hz), a clear face nothing.
- **Contests.** When two faces come closer than ``contest_distance`` face sizes (they
  cross, one walks behind the other), boxes can no longer tell which is which and a
  box tracker may swap their ids, and with the ids their names. Both tracks then drop
  their identity (published ``unknown``), are not embedded while both are detected that
  close (a half-hidden face gives a half-true embedding), and are identified afresh once
  apart or once the other is hidden.
  The first embedding after a contest must look more like the track's own earlier face
  than like any partner's; if not, the boxes swapped and the track takes a new id
  (appearance decides where boxes could not). Measured with real faces crossing
  (``test/core/test_crossing.py``): 8 of 100 seeded crossings showed a face with the
  other person's name before this rule, for up to 13 frames; 0 of 100 after it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import itertools
import logging

import numpy as np

from .types import Detection, Match, UNKNOWN

logger = logging.getLogger(__name__)


@dataclass
class Track:
    """One face followed across frames."""

    track_id: int
    box: np.ndarray
    """Last observed (x, y, w, h)."""
    score: float
    landmarks: np.ndarray | None
    first_frame: int
    last_frame: int
    """Frame index of the last detection assigned to this track."""
    hits: int = 1
    missed: int = 0
    """Consecutive frames without a detection."""
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.float32))
    """Smoothed centre motion in pixels per frame."""
    last_embed_frame: int | None = None
    last_embed_area: float = 0.0
    jumped: bool = False
    """Continued by centre distance only (low overlap): it may be someone else."""
    reference_embedding: np.ndarray | None = None
    """The latest embedding of this track, to notice when another person took its place."""
    votes: deque = field(default_factory=deque)
    """Recent identifications: deque of ``Match``."""
    name: str = UNKNOWN
    """The name to publish: the vote's winner once it is confirmed, else ``UNKNOWN``."""
    confidence: float = 0.0
    similarity: float = -1.0
    """Similarity of the latest identification."""
    candidate: str = UNKNOWN
    """The vote's winner, confirmed or not."""
    candidate_confidence: float = 0.0
    pending: bool = False
    """The vote names a person that too few identifications agree on yet: ``name`` is
    ``UNKNOWN`` and ``nearest_name`` the candidate until they do."""
    nearest_name: str = ''
    """The pending candidate, or who the latest identification resembled most."""
    contested: bool = False
    """Another track is so close this frame that boxes cannot tell the two faces apart."""
    crowded: bool = False
    """Contested by a face detected in this frame too: not embedded (it may be half
    hidden), and its identity is cleared every such frame."""
    partner_references: list = field(default_factory=list)
    """Embeddings of the tracks this one was contested with, from before the contest: the
    first embedding after it must resemble this track's own reference more than these."""

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])

    def predicted_box(self, frame_index: int) -> np.ndarray:
        """Where the box should be at ``frame_index`` if the face keeps moving the same way."""
        steps = frame_index - self.last_frame
        box = self.box.astype(np.float32).copy()
        box[:2] += self.velocity * steps
        return box


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every (x, y, w, h) box in A with every box in B: (A, B)."""
    a = np.asarray(boxes_a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float32).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]),
                 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]),
                 0, None)
    intersection = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-9), 0.0).astype(np.float32)


class FaceTracker:
    """
    Associates detections with tracks and decides which tracks need an embedding.

    Call ``update(detections)`` once per frame: it returns the track of each detection,
    in detection order. Then ``select_for_embedding(tracks)`` says which of them to embed,
    and ``record(track, match)`` feeds each new identification back into the vote.
    """

    def __init__(self, iou_threshold: float = 0.3, max_centre_distance: float = 0.6,
                 max_missed: int = 10, vote_window: int = 7, min_votes: int = 2,
                 reembed_interval: int = 20, uncertain_interval: int = 3,
                 uncertain_margin: float = 0.1, growth_ratio: float = 1.4,
                 max_reembeds_per_frame: int | None = 1,
                 identity_switch_similarity: float = 0.25, decisive_margin: float = 0.4,
                 stable_votes: int = 3, stable_interval_factor: int = 2,
                 confirm_votes: int = 2, contest_distance: float = 0.8):
        """
        Configure the tracker.

        Args:
        ----
        iou_threshold: a detection continues a track when their IoU reaches this...
        max_centre_distance: ...or when the centres are closer than this many face
            sizes (fast motion makes IoU collapse while the face stays near).
        max_missed: frames a track survives without a detection (brief occlusion,
            a missed detection) before it expires.
        vote_window: identifications kept per track for the identity vote.
        min_votes: below this many identifications a track counts as uncertain,
            unless every one of them was decisive.
        decisive_margin: an identification whose confidence is at least this far
            from 0.5 (>= 0.9 or <= 0.1 by default) is decisive: a clear match or a
            clear stranger.
        reembed_interval: frames between routine re-embeddings of a track.
        stable_votes: once the last ``stable_votes`` identifications agree and are all
            decisive, the routine interval is multiplied by ``stable_interval_factor``.
        stable_interval_factor: see ``stable_votes``.
        uncertain_interval: frames between re-embeddings of an uncertain track.
        uncertain_margin: a voted confidence within this of 0.5 is uncertain.
        growth_ratio: re-embed when the box area grew by this factor since the
            last embedding (the face came closer).
        max_reembeds_per_frame: cap on re-embeddings of already identified tracks per
            frame (None: no cap). New tracks are always embedded.
        identity_switch_similarity: cosine similarity between a track's consecutive
            embeddings below which it is taken for another person (a new id). 0.25
            suits SFace, whose same-person pairs mostly score above its 0.363
            threshold and different people mostly below 0.2; -1 disables the check.
        confirm_votes: identifications that must name a person (among the last
            ``vote_window``) before the track publishes that name, unless all that
            name it were decisive; until then it is ``UNKNOWN`` and pending, and
            embedded again every frame. 1 names a face on its first identification.
        contest_distance: two tracks whose centres come closer than this many face
            sizes (the larger face) are contested: a box tracker may swap them, so
            both drop their identity, are not embedded while that close, and are
            identified afresh once apart. 0 disables it.

        """
        if (max_missed < 0 or vote_window < 1 or reembed_interval < 1
                or uncertain_interval < 1 or stable_interval_factor < 1
                or not 1 <= confirm_votes <= vote_window or contest_distance < 0):
            raise ValueError('max_missed and contest_distance must be >= 0, vote_window, '
                             'reembed_interval, uncertain_interval, stable_interval_factor '
                             '>= 1 and confirm_votes between 1 and vote_window')
        self.iou_threshold = float(iou_threshold)
        self.max_centre_distance = float(max_centre_distance)
        self.max_missed = int(max_missed)
        self.vote_window = int(vote_window)
        self.min_votes = int(min_votes)
        self.reembed_interval = int(reembed_interval)
        self.uncertain_interval = int(uncertain_interval)
        self.uncertain_margin = float(uncertain_margin)
        self.growth_ratio = float(growth_ratio)
        self.max_reembeds_per_frame = max_reembeds_per_frame
        self.identity_switch_similarity = float(identity_switch_similarity)
        self.decisive_margin = float(decisive_margin)
        self.stable_votes = int(stable_votes)
        self.stable_interval_factor = int(stable_interval_factor)
        self.confirm_votes = int(confirm_votes)
        self.contest_distance = float(contest_distance)
        self.frame_index = -1
        self._tracks: list[Track] = []
        self._ids = itertools.count(1)

    @property
    def tracks(self) -> list[Track]:
        """Live tracks, including those missed in the last few frames."""
        return list(self._tracks)

    def reset(self) -> None:
        """Forget all tracks (a new video, a camera jump); ids keep increasing."""
        self._tracks = []

    def forget_identities(self) -> None:
        """
        Clear every track's votes so it is embedded again (the gallery changed).

        Ids and positions are kept; a person enrolled while in view is named on the next
        frame instead of after the next routine re-embedding.
        """
        for track in self._tracks:
            self._clear_identity(track)
            track.reference_embedding = None
            track.partner_references = []

    @staticmethod
    def _clear_identity(track: Track) -> None:
        """Forget who the track is (its votes) so that it is identified afresh."""
        track.votes.clear()
        track.last_embed_frame = None
        track.last_embed_area = 0.0
        track.name, track.confidence, track.similarity = UNKNOWN, 0.0, -1.0
        track.candidate, track.candidate_confidence = UNKNOWN, 0.0
        track.pending, track.nearest_name = False, ''

    # ------------------------------------------------------------ association
    def _affinity(self, predicted: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(T, D) affinity, or -inf where a detection cannot continue a track."""
        iou = box_iou(predicted, boxes)
        t_centre = predicted[:, :2] + predicted[:, 2:] / 2
        d_centre = boxes[:, :2] + boxes[:, 2:] / 2
        distance = np.linalg.norm(t_centre[:, None] - d_centre[None], axis=2)
        size = np.maximum(np.sqrt(predicted[:, 2] * predicted[:, 3]), 1.0)[:, None]
        relative = distance / size
        t_area = np.maximum(predicted[:, 2] * predicted[:, 3], 1e-6)[:, None]
        d_area = np.maximum(boxes[:, 2] * boxes[:, 3], 1e-6)[None]
        ratio = d_area / t_area
        similar_size = (ratio > 0.4) & (ratio < 2.5)
        allowed = (iou >= self.iou_threshold) | (
            (relative <= self.max_centre_distance) & similar_size)
        affinity = iou + 0.5 * np.clip(1.0 - relative, 0.0, 1.0)
        return np.where(allowed, affinity, -np.inf), iou

    def update(self, detections: list[Detection]) -> list[Track]:
        """
        Advance one frame: assign each detection to a track (new or continued).

        Returns the tracks in the order of ``detections``. Tracks without a detection
        this frame count a miss and expire after ``max_missed`` misses.
        """
        self.frame_index += 1
        frame = self.frame_index
        boxes = (np.stack([np.asarray(d.box, dtype=np.float32) for d in detections])
                 if detections else np.zeros((0, 4), dtype=np.float32))
        assigned: list[Track | None] = [None] * len(detections)
        unmatched_tracks = set(range(len(self._tracks)))
        if self._tracks and detections:
            predicted = np.stack([t.predicted_box(frame) for t in self._tracks])
            affinity, iou = self._affinity(predicted, boxes)
            # Greedy: take the best remaining pair until no allowed pair is left.
            order = np.argsort(-affinity, axis=None)
            used_detections = set()
            for flat in order:
                t_index, d_index = divmod(int(flat), len(detections))
                if not np.isfinite(affinity[t_index, d_index]):
                    break
                if t_index not in unmatched_tracks or d_index in used_detections:
                    continue
                unmatched_tracks.discard(t_index)
                used_detections.add(d_index)
                track = self._tracks[t_index]
                self._continue(track, detections[d_index], frame)
                track.jumped = bool(iou[t_index, d_index] < self.iou_threshold)
                assigned[d_index] = track
        for t_index in unmatched_tracks:
            self._tracks[t_index].missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        for d_index, detection in enumerate(detections):
            if assigned[d_index] is None:
                track = Track(track_id=next(self._ids),
                              box=np.asarray(detection.box, dtype=np.float32).copy(),
                              score=float(detection.score), landmarks=detection.landmarks,
                              first_frame=frame, last_frame=frame,
                              votes=deque(maxlen=self.vote_window))
                self._tracks.append(track)
                assigned[d_index] = track
        self._mark_contests(frame)
        return assigned  # type: ignore[return-value]

    def _mark_contests(self, frame: int) -> None:
        """
        Flag the tracks that are too close to another for boxes to keep them apart.

        When two faces cross, the detector may lose the one behind, or put both boxes
        where either face could continue either track: ids may swap, and with them the
        names. A name from before the overlap is therefore not trusted after it: a track
        entering a contest drops its identity (its votes and name), is not embedded while
        another detected face is that close (a half-hidden face gives a half-true
        embedding; its identity is cleared in every such frame), and is identified afresh
        once clear, where the first embedding must also look more like the track's own
        earlier face than like its partners' (``record``). Missed tracks take part with
        their predicted boxes: the face hidden behind another is the one to swap, and
        when it reappears the contest starts over. Next to a missed track only, the face
        in view is identified again at once and then in every frame, each embedding
        checked against its own previous one and its partners' (the one detection of two
        overlapping faces may show either face from one frame to the next).
        """
        tracks = self._tracks
        previously = {id(track): track.contested for track in tracks}
        for track in tracks:
            track.contested = track.crowded = False
        if self.contest_distance <= 0 or len(tracks) < 2:
            return
        boxes = np.stack([t.box if t.last_frame == frame else t.predicted_box(frame)
                          for t in tracks]).astype(np.float32)
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        sizes = np.sqrt(np.maximum(boxes[:, 2] * boxes[:, 3], 1.0))
        distance = np.linalg.norm(centres[:, None] - centres[None], axis=2)
        close = distance < self.contest_distance * np.maximum(sizes[:, None], sizes[None])
        np.fill_diagonal(close, False)
        seen = [track.last_frame == frame for track in tracks]
        for i, track in enumerate(tracks):
            partners = [tracks[j] for j in np.flatnonzero(close[i])]
            if not partners:
                continue
            track.contested = True
            # Only a face hidden behind this one (a missed track) is near: this face is
            # in full view and may be identified, against its partners' earlier faces.
            track.crowded = seen[i] and any(seen[j] for j in np.flatnonzero(close[i]))
            if track.crowded or not previously[id(track)]:
                self._clear_identity(track)
            for partner in partners:
                reference = partner.reference_embedding
                if reference is not None and not any(
                        reference is known for known in track.partner_references):
                    track.partner_references.append(reference)
            del track.partner_references[:-8]  # the latest faces of its partners suffice

    @staticmethod
    def _continue(track: Track, detection: Detection, frame: int) -> None:
        box = np.asarray(detection.box, dtype=np.float32)
        steps = max(frame - track.last_frame, 1)
        old_centre = track.box[:2] + track.box[2:] / 2
        new_centre = box[:2] + box[2:] / 2
        # Exponential smoothing: detector jitter must not read as motion.
        track.velocity = (0.5 * track.velocity + 0.5 * (new_centre - old_centre) / steps
                          ).astype(np.float32)
        track.box = box.copy()
        track.score = float(detection.score)
        track.landmarks = detection.landmarks
        track.last_frame = frame
        track.hits += 1
        track.missed = 0

    # ------------------------------------------------------------ embedding policy
    def _is_decisive(self, match: Match) -> bool:
        return abs(match.confidence - 0.5) >= self.decisive_margin

    def _is_uncertain(self, track: Track) -> bool:
        if not track.votes or track.pending:
            # Embedded before but never identified (no landmarks found, or the gallery
            # changed), or a name not yet confirmed: nothing is known yet.
            return True
        few_votes = len(track.votes) < self.min_votes and not all(
            self._is_decisive(vote) for vote in track.votes)
        return (few_votes
                or abs(track.candidate_confidence - 0.5) < self.uncertain_margin
                or track.votes[-1].name != track.candidate)

    def _is_stable(self, track: Track) -> bool:
        """Check that the last ``stable_votes`` identifications agree and none was a close call."""
        if len(track.votes) < self.stable_votes:
            return False
        recent = list(track.votes)[-self.stable_votes:]
        return all(vote.name == track.candidate and self._is_decisive(vote) for vote in recent)

    def reembed_interval_of(self, track: Track) -> int:
        """Frames until a routine re-embedding: longer once the identity is stable."""
        if self._is_stable(track):
            return self.reembed_interval * self.stable_interval_factor
        return self.reembed_interval

    def embedding_reason(self, track: Track) -> str | None:
        """Why ``track`` needs a fresh embedding this frame, or None when it does not."""
        if track.crowded:
            return None  # the face may be half hidden by the other: wait until clear
        if track.last_embed_frame is None:
            return 'new'
        if track.jumped:
            return 'jumped'
        if track.pending:
            return 'confirm'
        if track.contested:
            # Beside a hidden face only: its one detection may belong to either face from
            # one frame to the next, so appearance checks every frame which one it is.
            return 'contested'
        since = self.frame_index - track.last_embed_frame
        if since >= self.reembed_interval_of(track):
            return 'interval'
        if track.last_embed_area > 0 and track.area >= self.growth_ratio * track.last_embed_area:
            return 'grew'
        if self._is_uncertain(track) and since >= self.uncertain_interval:
            return 'uncertain'
        return None

    def select_for_embedding(self, tracks: list[Track]) -> list[int]:
        """
        Return the indices into ``tracks`` (this frame's, from ``update``) that need an embedding.

        New tracks, tracks that jumped, pending names and faces beside a hidden one
        always (a face waits for its name as briefly as possible, and a contest is
        checked every frame); the others, most overdue first, up to
        ``max_reembeds_per_frame``.
        """
        new, others = [], []
        for index, track in enumerate(tracks):
            reason = self.embedding_reason(track)
            if reason in ('new', 'jumped', 'confirm', 'contested'):
                new.append(index)
            elif reason is not None:
                others.append(index)
        others.sort(key=lambda i: tracks[i].last_embed_frame or 0)
        if self.max_reembeds_per_frame is not None:
            others = others[:self.max_reembeds_per_frame]
        return sorted(new + others)

    def mark_embedding_failed(self, track: Track) -> None:
        """
        Record that the face in ``track`` could not be embedded (no landmarks found).

        Try again later. Counted as an attempt so a face seen from the side is not retried
        every frame.
        """
        track.last_embed_frame = self.frame_index
        track.last_embed_area = track.area
        track.jumped = False

    # ------------------------------------------------------------ identity vote
    def record(self, track: Track, match: Match, embedding: np.ndarray | None = None) -> None:
        """
        Add one identification to the track's vote and update its identity.

        With ``embedding`` given, a track whose new embedding does not resemble its last
        one (or, first after a contest, resembles a partner's face more than its own) is
        someone else now: it takes a new id and its vote starts over.
        """
        if embedding is not None:
            embedding = np.asarray(embedding, dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(embedding)):
                embedding = None  # a broken embedding says nothing about who this is
        if embedding is not None:
            if self._shows_someone_else(track, embedding):
                old_id = track.track_id
                track.track_id = next(self._ids)
                track.votes.clear()
                track.first_frame = self.frame_index
                track.hits = 1
                logger.debug('track %d shows another person now: new track %d', old_id,
                             track.track_id)
            track.reference_embedding = embedding
            track.partner_references = []
        track.jumped = False
        track.votes.append(match)
        track.last_embed_frame = self.frame_index
        track.last_embed_area = track.area
        track.similarity = float(match.similarity)
        weights: dict[str, float] = {}
        for vote in track.votes:
            # Each vote counts with its confidence in its own answer.
            weight = vote.confidence if vote.name != UNKNOWN else 1.0 - vote.confidence
            weights[vote.name] = weights.get(vote.name, 0.0) + weight
        # Ties go to the most recent answer: iterate votes newest first.
        newest_first = [vote.name for vote in reversed(track.votes)]
        winner = max(weights, key=lambda name: (weights[name], -newest_first.index(name)))
        confidences = [vote.confidence for vote in track.votes if vote.name == winner]
        track.candidate = winner
        track.candidate_confidence = float(np.mean(confidences))
        named = [vote.name for vote in track.votes if vote.name != UNKNOWN]
        agreeing = [vote for vote in track.votes if vote.name == winner]
        # Confirmed: enough identifications name the winner (or those that do were all
        # decisive: far above the threshold, where strangers almost never score), and no
        # other person was named as often.
        confirmed = winner == UNKNOWN or (
            (len(agreeing) >= self.confirm_votes
             or all(self._is_decisive(vote) for vote in agreeing))
            and all(named.count(other) < len(agreeing) for other in set(named) - {winner}))
        track.pending = not confirmed
        if confirmed:
            track.name, track.confidence = winner, track.candidate_confidence
            track.nearest_name = match.nearest_name if winner == UNKNOWN else winner
        else:
            # Undecided: the confidence that it is nobody enrolled is as good as not.
            track.name, track.confidence, track.nearest_name = UNKNOWN, 0.5, winner

    def _shows_someone_else(self, track: Track, embedding: np.ndarray) -> bool:
        """Check whether ``embedding`` shows another face than the track's previous one."""
        reference = track.reference_embedding
        if reference is None or reference.shape != embedding.shape:
            return False
        own = float(reference @ embedding)
        if own < self.identity_switch_similarity:
            return True
        # After a contest: appearance decides which face this is when boxes could not.
        return any(partner.shape == embedding.shape and float(partner @ embedding) > own
                   for partner in track.partner_references)


__all__ = ['FaceTracker', 'Track', 'box_iou']
