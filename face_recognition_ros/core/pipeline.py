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
The per-frame face pipeline: detect -> track -> landmarks -> align -> embed -> match -> vote.

``FacePipeline.process(frame)`` turns a BGR frame into a ``FrameResult``: one ``Face`` per
detection (box, score, landmarks, track id, name, confidence) and the milliseconds spent
in each stage. ``recognize(frame, detections)`` does the same for boxes found elsewhere
(the ROS recognizer gets them from the detector node; FaceDetect gives no landmarks).

With tracking on (the default) only the faces whose track needs it are embedded in a
frame (see ``tracking.FaceTracker``): a new face, every N frames, a better view, an
uncertain identity. That keeps the per-frame cost close to the detector's with several
faces in view. ``tracking=False`` is the naive way, every face embedded in every frame;
use it for unrelated still images, where tracks mean nothing.

Tracks follow boxes, and a cut in an edited video (or a camera that jumps) can put another
face where a tracked one was. So the pipeline compares a 32x24 gray thumbnail of each frame
with the previous one (brightness-normalised mean absolute difference, about 0.1 ms); above
``scene_cut_threshold`` the tracks are reset and every face is identified afresh. On the
bundled clip its three cuts score 26-30 and ordinary frames at most 13 (median 2.5).

Every ``FrameResult.timings_ms`` has the keys of ``STAGES``; a stage that did not run
reports 0.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Sequence

import cv2
import numpy as np

from .alignment import align_face
from .errors import FaceRecognitionError, GalleryError
from .gallery import DEFAULT_THRESHOLD, Gallery
from .image_io import to_bgr8
from .tracking import FaceTracker
from .types import Detection, Face, FaceDetector, FaceEmbedder, FrameResult, Match, UNKNOWN

logger = logging.getLogger(__name__)

STAGES = ('detect', 'landmarks', 'align', 'embed', 'match', 'track', 'total')
"""The keys of ``FrameResult.timings_ms``."""

_NO_MATCH = Match(UNKNOWN, 0.0, -1.0)


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def sanitize_detections(detections: Sequence[Detection], image_shape) -> list[Detection]:
    """
    Drop boxes that are malformed, NaN, empty or outside the image; clip the rest.

    Detections from another process (the ROS detector node, FaceDetect) may be anything;
    a bad box must cost a warning, not the frame. Landmarks that are not a finite (5, 2)
    array are dropped (they will be located again); landmarks are kept as given otherwise.
    """
    height, width = image_shape[:2]
    clean = []
    for detection in detections:
        try:
            box = np.asarray(detection.box, dtype=np.float32).reshape(4)
        except (TypeError, ValueError):
            logger.warning('dropping a detection with a malformed box %r', detection.box)
            continue
        if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            logger.warning('dropping a detection with an invalid box %s', box.tolist())
            continue
        x1, y1 = max(float(box[0]), 0.0), max(float(box[1]), 0.0)
        x2 = min(float(box[0] + box[2]), float(width))
        y2 = min(float(box[1] + box[3]), float(height))
        if x2 - x1 < 2 or y2 - y1 < 2:
            logger.warning('dropping a detection outside the %dx%d image: %s', width, height,
                           box.tolist())
            continue
        landmarks = detection.landmarks
        if landmarks is not None:
            landmarks = np.asarray(landmarks, dtype=np.float32)
            if landmarks.shape != (5, 2) or not np.all(np.isfinite(landmarks)):
                logger.warning('ignoring malformed landmarks of a detection; locating them')
                landmarks = None
        try:
            score = float(detection.score)
        except (TypeError, ValueError):
            score = 0.0
        score = min(max(score, 0.0), 1.0) if math.isfinite(score) else 0.0
        clean.append(Detection(np.array([x1, y1, x2 - x1, y2 - y1], np.float32), score,
                               landmarks))
    return clean


class FacePipeline:
    """
    One object from frames to named, tracked faces.

    Args:
    ----
    detector: a ``FaceDetector`` (YuNet, FaceDetect...).
    embedder: a ``FaceEmbedder`` (SFace, the trained classifier...).
    gallery: who to recognise; its model id must be the embedder's. None or empty:
        everyone is ``unknown``. A trained classifier (an embedder with its own
        ``identify``) names its trained people with or without a gallery; people
        enrolled beside it are named by the gallery (``_identify_with_classifier``).
    landmark_locator: finds landmarks in boxes that come without them; built on
        demand (YuNet on the enlarged box) when needed and not given.
    tracker: a ``FaceTracker``; a default one when None and ``tracking`` is True.
    tracking: False embeds every face in every frame (still photos, the naive way).
    scene_cut_threshold: thumbnail difference (0-255 grey levels) above which the
        tracks are reset; None never resets.
    hard_light: re-locate the landmarks of a dark face on a contrast-normalised copy
        of its surroundings before aligning it (``_landmarks_in_dark_box``); None
        follows the detector's own ``hard_light`` setting (True if it has none).

    """

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder,
                 gallery: Gallery | None = None, landmark_locator=None,
                 tracker: FaceTracker | None = None, tracking: bool = True,
                 scene_cut_threshold: float | None = 20.0, hard_light: bool | None = None):
        self.detector = detector
        self.hard_light = bool(getattr(detector, 'hard_light', True)
                               if hard_light is None else hard_light)
        self.embedder = embedder
        self._gallery = None
        self.gallery = gallery
        self.landmark_locator = landmark_locator
        self.tracker = (tracker or FaceTracker()) if tracking else None
        self.scene_cut_threshold = scene_cut_threshold
        self._thumbnail: np.ndarray | None = None
        self.gallery_store = None
        """The ``GalleryStore`` the gallery came from (set by ``build_pipeline``)."""
        self.operating_point = None
        """Why the gallery has its threshold (``open_set.OperatingPoint``), set by callers
        that derive it (``open_set.matching_gallery``)."""

    # ---------------------------------------------------------------- gallery
    @property
    def gallery(self) -> Gallery | None:
        return self._gallery

    @gallery.setter
    def gallery(self, gallery: Gallery | None) -> None:
        if gallery is not None and gallery.model_id != self.embedder.model_id:
            raise GalleryError(
                f'the gallery was made with {gallery.model_id!r} but the embedder is '
                f'{self.embedder.model_id!r}: enroll the people again with this model, or '
                f'use the model that made the gallery')
        self._gallery = gallery
        self.gallery_changed()

    def gallery_changed(self) -> None:
        """Call after enrolling or removing people: every track is identified afresh."""
        if getattr(self, 'tracker', None) is not None:
            self.tracker.forget_identities()

    def reset_tracks(self) -> None:
        """Forget all tracks (a new video, a jump in the stream)."""
        if self.tracker is not None:
            self.tracker.reset()
        self._thumbnail = None

    def _check_scene_cut(self, image: np.ndarray) -> bool:
        """Reset the tracks when this frame does not continue the previous one."""
        if self.tracker is None or self.scene_cut_threshold is None:
            return False
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        thumbnail = cv2.resize(gray, (32, 24), interpolation=cv2.INTER_AREA).astype(np.float32)
        # Subtracting the mean ignores global brightness changes (lights, auto exposure).
        thumbnail -= thumbnail.mean()
        previous, self._thumbnail = self._thumbnail, thumbnail
        if previous is None or float(np.mean(np.abs(thumbnail - previous))) <= \
                self.scene_cut_threshold:
            return False
        logger.debug('scene cut: resetting %d tracks', len(self.tracker.tracks))
        self.tracker.reset()
        return True

    # ---------------------------------------------------------------- frames
    def process(self, frame: np.ndarray) -> FrameResult:
        """Detect, track and recognise the faces of one BGR frame."""
        start = time.perf_counter()
        image = to_bgr8(frame)
        detections = self.detector.detect(image)
        detect_ms = _ms_since(start)
        return self._recognize(image, list(detections), start, detect_ms)

    def recognize(self, frame: np.ndarray, detections: Sequence[Detection]) -> FrameResult:
        """
        Like ``process`` for detections found elsewhere (boxes may lack landmarks).

        Invalid boxes (NaN, empty, outside the image) are dropped with a warning; boxes
        reaching over the edge are clipped to the image.
        """
        start = time.perf_counter()
        image = to_bgr8(frame)
        clean = sanitize_detections(detections, image.shape)
        return self._recognize(image, clean, start, 0.0)

    def embed_faces(self, frame: np.ndarray, detections: Sequence[Detection] | None = None
                    ) -> list[tuple[Detection, np.ndarray]]:
        """
        Embeddings of the faces of a still image, for enrollment: [(detection, vector)].

        Detects faces unless ``detections`` are given; no tracking. A face whose landmarks
        cannot be found is left out (and logged).
        """
        image = to_bgr8(frame)
        if detections is None:
            detections = self.detector.detect(image)
        else:
            detections = sanitize_detections(detections, image.shape)
        timings = dict.fromkeys(STAGES, 0.0)
        detections, crops = self._align_all(image, list(detections), timings)
        if not crops:
            return []
        embeddings = self._embed(crops)
        return list(zip(detections, embeddings))

    # ---------------------------------------------------------------- stages
    def _locator(self):
        if self.landmark_locator is None:
            from .landmarks import YuNetLandmarkLocator  # only for landmark-less detectors
            self.landmark_locator = YuNetLandmarkLocator()
        return self.landmark_locator

    def _landmarks_for(self, image: np.ndarray, detection: Detection) -> np.ndarray | None:
        if self.hard_light and _is_dark_box(image, detection.box):
            refined = self._landmarks_in_dark_box(image, detection)
            if refined is not None:
                return refined
        if detection.landmarks is not None:
            return detection.landmarks
        landmarks = self._locator().locate(image, detection.box)
        if landmarks is None:
            logger.debug('no landmarks found in box %s', np.asarray(detection.box).tolist())
        return landmarks

    def _landmarks_in_dark_box(self, image: np.ndarray, detection: Detection
                               ) -> np.ndarray | None:
        """
        Landmarks of a dark face, found again on a contrast-normalised copy of its box.

        In deep shadow the detector still finds a face but puts its eyes and mouth where
        the little light is, and a face aligned on those points is named right far less
        often. The box with half its size around it is normalised with its own
        statistics (``detection.contrast_normalised``) and YuNet (the landmark locator's)
        is run on it. Its landmarks replace the detector's when they are plausible
        (``plausible_landmarks``) and either it is more confident of the face than the
        detector was or the detector's landmarks are not plausible: on a moderately dark
        face that the detector saw well (a stage close-up) the original landmarks stay.
        None: keep the detector's.
        Only dark boxes pay (a few milliseconds each).
        """
        from .detection import contrast_normalised
        from .landmarks import _iou

        x, y, w, h = (float(v) for v in np.asarray(detection.box, dtype=np.float64))
        height, width = image.shape[:2]
        left, top = int(max(0.0, x - 0.5 * w)), int(max(0.0, y - 0.5 * h))
        right = int(min(float(width), x + 1.5 * w))
        bottom = int(min(float(height), y + 1.5 * h))
        if right - left < 2 or bottom - top < 2:
            return None
        region = contrast_normalised(np.ascontiguousarray(image[top:bottom, left:right]))
        local = np.array([x - left, y - top, w, h], dtype=np.float64)
        best = None
        for found in self._locator().detector.detect(region):
            if found.landmarks is None or _iou(local, found.box) < 0.25:
                continue
            if best is None or found.score > best.score:
                best = found
        if best is None:
            return None
        points = (best.landmarks + np.array([left, top], dtype=np.float32)).astype(np.float32)
        if not plausible_landmarks(points, detection.box):
            return None
        if (detection.landmarks is not None and best.score <= float(detection.score)
                and plausible_landmarks(detection.landmarks, detection.box)):
            return None
        return points

    def _align(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
        try:
            return align_face(image, landmarks, size=int(self.embedder.input_size))
        except FaceRecognitionError as error:
            logger.debug('cannot align a face: %s', error)
            return None

    def _align_all(self, image, detections, timings):
        """Landmarks then aligned crops for every detection that yields one."""
        kept, crops = [], []
        for detection in detections:
            start = time.perf_counter()
            landmarks = self._landmarks_for(image, detection)
            timings['landmarks'] += _ms_since(start)
            if landmarks is None:
                continue
            start = time.perf_counter()
            crop = self._align(image, landmarks)
            timings['align'] += _ms_since(start)
            if crop is not None:
                kept.append(Detection(detection.box, detection.score, landmarks))
                crops.append(crop)
        return kept, crops

    def _embed(self, crops: list[np.ndarray]) -> np.ndarray:
        embeddings = np.asarray(self.embedder.embed(crops), dtype=np.float32)
        if embeddings.shape[0] != len(crops):
            raise FaceRecognitionError(
                f'the embedder returned {embeddings.shape[0]} embeddings for {len(crops)} '
                f'faces: check the embedding backend')
        return embeddings

    def _uses_classifier(self) -> bool:
        """
        Return True for a trained classifier (an embedder with ``identify``).

        A trained classifier names its own people.
        """
        return hasattr(self.embedder, 'identify')

    def _identify(self, crops: list[np.ndarray], timings) -> tuple[list[Match], np.ndarray]:
        if self._uses_classifier():
            return self._identify_with_classifier(crops, timings)
        start = time.perf_counter()
        embeddings = self._embed(crops)
        timings['embed'] += _ms_since(start)
        start = time.perf_counter()
        gallery = self._gallery
        if gallery is not None and len(gallery):
            matches = gallery.match(embeddings)
        else:
            matches = [_NO_MATCH] * len(crops)
        timings['match'] += _ms_since(start)
        return matches, embeddings

    def _identify_with_classifier(self, crops: list[np.ndarray], timings
                                  ) -> tuple[list[Match], np.ndarray]:
        """
        Ask the gallery first, then the classifier: enrolling never hides a trained person.

        People enrolled beside a trained classifier (service, CLI, web page) are in the
        gallery only, the trained ones in the network only. A face the gallery names is
        that enrolled person; a face it leaves ``unknown`` gets the classifier's own
        answer (a trained person, or ``unknown`` below its threshold). Both come from one
        forward pass (``identify_and_embed``). A trained person who is also enrolled is
        named by the gallery; forgetting them from the gallery does not untrain them.
        """
        start = time.perf_counter()
        if hasattr(self.embedder, 'identify_and_embed'):
            classified, embeddings = self.embedder.identify_and_embed(crops)
        else:
            classified = list(self.embedder.identify(crops))
            embeddings = np.zeros((len(crops), 0), np.float32)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        timings['embed'] += _ms_since(start)
        gallery = self._gallery
        if gallery is None or len(gallery) == 0 or embeddings.shape[1] == 0:
            return list(classified), embeddings
        start = time.perf_counter()
        matched = gallery.match(embeddings)
        matches = [by_gallery if by_gallery.name != UNKNOWN else by_classifier
                   for by_gallery, by_classifier in zip(matched, classified)]
        timings['match'] += _ms_since(start)
        return matches, embeddings

    def _recognize(self, image, detections, start, detect_ms) -> FrameResult:
        timings = dict.fromkeys(STAGES, 0.0)
        timings['detect'] = detect_ms
        tracker = self.tracker
        tracks = None
        if tracker is not None:
            t0 = time.perf_counter()
            self._check_scene_cut(image)
            tracks = tracker.update(detections)
            wanted = tracker.select_for_embedding(tracks)
            timings['track'] += _ms_since(t0)
        else:
            wanted = list(range(len(detections)))

        landmarks = [d.landmarks for d in detections]
        embedded, crops = [], []
        for index in wanted:
            t0 = time.perf_counter()
            landmarks[index] = self._landmarks_for(image, detections[index])
            timings['landmarks'] += _ms_since(t0)
            crop = None
            if landmarks[index] is not None:
                t0 = time.perf_counter()
                crop = self._align(image, landmarks[index])
                timings['align'] += _ms_since(t0)
            if crop is None:
                if tracker is not None:
                    tracker.mark_embedding_failed(tracks[index])
                continue
            embedded.append(index)
            crops.append(crop)

        matches: dict[int, Match] = {}
        embeddings: dict[int, np.ndarray] = {}
        if crops:
            found, vectors = self._identify(crops, timings)
            for row, index in enumerate(embedded):
                matches[index] = found[row]
                if vectors.shape[1]:
                    embeddings[index] = vectors[row]

        faces = []
        t0 = time.perf_counter()
        for index, detection in enumerate(detections):
            face = Face(box=np.asarray(detection.box, np.float32), score=float(detection.score),
                        landmarks=landmarks[index], embedding=embeddings.get(index))
            if tracks is not None:
                track = tracks[index]
                if index in matches:
                    tracker.record(track, matches[index], embeddings.get(index))
                face.track_id = track.track_id
                face.name, face.confidence = track.name, track.confidence
                face.similarity = track.similarity
            else:
                match = matches.get(index, _NO_MATCH)
                face.name, face.confidence = match.name, match.confidence
                face.similarity = match.similarity
                face.nearest_name = match.nearest_name
            faces.append(face)
        if tracker is not None:
            timings['track'] += _ms_since(t0)
        timings['total'] = _ms_since(start)
        return FrameResult(faces=faces, timings_ms=timings)


def plausible_landmarks(points, box) -> bool:
    """
    Whether 5 landmarks (YuNet order) can be a face in ``box``, checked before aligning.

    A face aligned on misplaced points is a crop of cheek or hair, and its embedding names
    nobody right. Whatever the pose, the eyes are above the mouth corners, each pair in
    image order (right eye left of left eye as seen), and the eyes are apart by a sizeable
    share of the box: 15-80 % of its width (about 40 % for a frontal face, less turned
    away; outside that range a point sits on something else).
    """
    points = np.asarray(points, dtype=np.float64).reshape(5, 2)
    width = float(np.asarray(box).reshape(4)[2])
    if not np.all(np.isfinite(points)) or width <= 0:
        return False
    eye_distance = float(np.hypot(*(points[1] - points[0])))
    return bool(points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
                and points[:2, 1].max() < points[3:, 1].min()
                and 0.15 * width <= eye_distance <= 0.8 * width)


def _is_dark_box(image: np.ndarray, box) -> bool:
    """Whether the face in ``box`` is dark: median grey below ``detection.DARK_MEDIAN``."""
    from .detection import DARK_MEDIAN

    x, y, w, h = (int(round(float(v))) for v in np.asarray(box).reshape(4))
    patch = image[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)]
    if patch.size == 0:
        return False
    step = max(1, min(patch.shape[:2]) // 32)  # a 32-pixel sample is plenty for a median
    gray = cv2.cvtColor(np.ascontiguousarray(patch[::step, ::step]), cv2.COLOR_BGR2GRAY)
    return float(np.median(gray)) < DARK_MEDIAN


def default_threshold_for(embedder) -> float:
    """
    Return the gallery threshold for ``embedder``: its own calibrated one, else SFace's.

    A trained classifier exports a cosine threshold calibrated on its validation data
    (``embedding_threshold``); SFace uses OpenCV Zoo's published 0.363.
    """
    threshold = getattr(embedder, 'embedding_threshold', None)
    if threshold is not None and math.isfinite(float(threshold)):
        return float(threshold)
    return DEFAULT_THRESHOLD


def build_pipeline(gallery_path=None, detector_backend: str = 'yunet',
                   embedder_backend: str = 'sface', detector_model=None, embedder_model=None,
                   detector_options: dict | None = None, embedder_options: dict | None = None,
                   threshold: float | None = None, tracking: bool = True,
                   tracker_options: dict | None = None, num_threads: int | None = None,
                   create_gallery: bool = False, scene_cut_threshold: float | None = 20.0
                   ) -> FacePipeline:
    """
    Build detector, embedder, gallery and pipeline from names and paths.

    ``gallery_path`` (a file or a ``postgresql://`` URI, see ``gallery_store``) None gives
    an empty gallery (everyone ``unknown``); a missing file is an error unless
    ``create_gallery`` (enrollment starts a new one). The store is kept as
    ``pipeline.gallery_store`` (None without a ``gallery_path``). ``threshold``
    overrides the gallery's stored threshold for this run. ``num_threads`` applies to
    both models (None: the backends' defaults).
    """
    from .detection import create_detector
    from .embedding import create_embedder

    detector_options = dict(detector_options or {})
    embedder_options = dict(embedder_options or {})
    if detector_model is not None:
        detector_options['model_path'] = detector_model
    if num_threads is not None:
        detector_options.setdefault('num_threads', num_threads)
        embedder_options.setdefault('num_threads', num_threads)
    detector = create_detector(detector_backend, **detector_options)
    embedder = create_embedder(embedder_backend, model_path=embedder_model, **embedder_options)
    store = None
    if gallery_path is not None:
        from .gallery_store import open_gallery_store

        # A new gallery gets the embedder's threshold; a stored one keeps its own.
        store = open_gallery_store(gallery_path, embedder.model_id, create=create_gallery,
                                   threshold=default_threshold_for(embedder))
        gallery = store.load()
    else:
        gallery = Gallery(embedder.model_id, default_threshold_for(embedder))
    if threshold is not None:
        gallery = gallery.with_threshold(float(threshold))
    tracker = FaceTracker(**(tracker_options or {})) if tracking else None
    pipeline = FacePipeline(detector, embedder, gallery, tracker=tracker, tracking=tracking,
                            scene_cut_threshold=scene_cut_threshold)
    pipeline.gallery_store = store  # where the gallery lives, for edits and updates
    return pipeline


__all__ = ['STAGES', 'FacePipeline', 'build_pipeline', 'default_threshold_for',
           'plausible_landmarks', 'sanitize_detections']
