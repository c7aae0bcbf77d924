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
Command line: ``python -m face_recognition_ros <command>`` (also ``face-recognition``).

Commands: enroll, remove, list, calibrate, identify, embed, video, bench, evaluate.
``--help`` on each says what it does. The JSON written by identify, embed, video (--jsonl)
and bench is a contract other tools read (``docs/cli.md``): fields are only ever added,
never renamed.

User errors (a missing file, a corrupt gallery, a bad name...) print one line
``error: <what to do>`` on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import logging
import os
from pathlib import Path
import statistics
import sys
import time
from typing import Iterator

from face_recognition_ros import __version__
from face_recognition_ros.core.errors import FaceRecognitionError, GalleryError, ImageError
import numpy as np

logger = logging.getLogger('face_recognition_ros.cli')

EXIT_USAGE_ERROR = 2
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.pgm', '.ppm', '.tif', '.tiff', '.webp')


# ------------------------------------------------------------------------ frame sources
class FrameSource:
    """
    Frames from a video file, a camera (index or /dev/video*), an image folder or file.

    Iterating yields BGR uint8 frames; ``fps`` is the source's rate (30 when it has none),
    ``total`` the number of frames when known (None for cameras).
    """

    def __init__(self, source: str, loop: bool = False):
        self.source = str(source)
        self.loop = loop
        self._capture = None
        self._images: list[Path] | None = None
        self.fps = 30.0
        self.total: int | None = None
        self.kind = ''
        path = Path(self.source)
        if self.source.isdigit() or self.source.startswith('/dev/video'):
            self.kind = 'camera'
            self._open_capture(int(self.source) if self.source.isdigit() else self.source)
        elif path.is_dir():
            self.kind = 'folder'
            self._images = sorted(p for p in path.iterdir()
                                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._images:
                raise ImageError(f'no images in the folder {path}: give a folder of .jpg or '
                                 f'.png frames, a video file or a camera index')
            self.total = len(self._images)
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            self.kind = 'image'
            self._images = [path]
            self.total = 1
        elif path.is_file():
            self.kind = 'video'
            self._open_capture(str(path))
            count = int(self._capture.get(7))  # cv2.CAP_PROP_FRAME_COUNT
            self.total = count if count > 0 else None
        else:
            raise ImageError(f'no video, image folder or camera at {self.source!r}: give a '
                             f'video file, a folder of images, a camera index or /dev/videoN')

    def _open_capture(self, target) -> None:
        import cv2

        capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            raise ImageError(f'cannot open {self.source!r} as a video or camera: check the '
                             f'path or device, and that OpenCV can decode it')
        fps = capture.get(cv2.CAP_PROP_FPS)
        if fps and np.isfinite(fps) and 1 <= fps <= 240:
            self.fps = float(fps)
        self._capture = capture

    def __iter__(self) -> Iterator[np.ndarray]:
        from face_recognition_ros.core.image_io import load_image

        while True:
            if self._images is not None:
                for path in self._images:
                    try:
                        yield load_image(path)
                    except ImageError as error:
                        logger.warning('skipping frame: %s', error)
            else:
                while True:
                    ok, frame = self._capture.read()
                    if not ok:
                        break
                    yield frame
                if self.loop and self.kind == 'video':
                    self._capture.set(1, 0)  # cv2.CAP_PROP_POS_FRAMES
            if not self.loop or self.kind == 'camera':
                return

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def letterbox(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Fit ``frame`` into ``size`` = (width, height), keeping its aspect, padding with black."""
    import cv2

    width, height = size
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(frame, (new_w, new_h),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    return canvas


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split('x'))
        if width < 16 or height < 16:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a size like 640x480') from None
    return width, height


def count_at_least(minimum: int):
    """Return an argparse type: a whole number >= ``minimum`` (frames, threads...)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not a whole number of at least {minimum}')
        return value
    return parse


# ------------------------------------------------------------------------ JSON records
def _floats(values, digits: int) -> list:
    return [round(float(v), digits) for v in np.asarray(values).reshape(-1)]


def face_record(face, with_track: bool = False) -> dict:
    """Return the JSON object of one identified face (identify, video --jsonl)."""
    record = {
        'box': _floats(face.box, 2),
        'score': round(float(face.score), 4),
        'landmarks': (None if face.landmarks is None
                      else [_floats(point, 2) for point in np.asarray(face.landmarks)]),
        'name': face.name,
        'confidence': round(float(face.confidence), 4),
    }
    if with_track:
        record['track_id'] = face.track_id
    return record


def _print_json(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _expand_images(paths: list[str]) -> list[Path]:
    """Image paths, with folders expanded to the images they hold (sorted)."""
    expanded = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            expanded.extend(sorted(p for p in path.iterdir()
                                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            expanded.append(path)
    return expanded


# ------------------------------------------------------------------------ pipeline options
def _add_model_options(parser: argparse.ArgumentParser, gallery: str | None) -> None:
    """Options shared by the commands that run models. gallery: 'required', 'optional'."""
    if gallery:
        parser.add_argument('--gallery', '-g', required=gallery == 'required',
                            metavar='G', help='gallery file (.npz) of enrolled people, or a '
                            'postgresql:// URI (see README: sharing a gallery)')
    group = parser.add_argument_group('models')
    group.add_argument('--detector', default='yunet', choices=('yunet', 'facedetect'),
                       help='face detector backend (default: yunet; facedetect needs '
                            'jetson-inference)')
    group.add_argument('--detector-model', metavar='PATH',
                       help='detector model file (default: the bundled YuNet)')
    group.add_argument('--embedder', default='sface', choices=('sface', 'classifier'),
                       help='embedding backend (default: sface; classifier = a model '
                            'exported by training/)')
    group.add_argument('--embedder-model', metavar='PATH',
                       help='embedding model file (default: the bundled SFace)')
    group.add_argument('--score-threshold', type=float, default=None,
                       help="detector confidence threshold (default: the backend's, 0.6)")
    group.add_argument('--min-face-size', type=float, default=None,
                       help='ignore faces smaller than this many pixels (default: 20)')
    group.add_argument('--no-hard-light', dest='hard_light', action='store_false',
                       help='yunet: do not look again on a contrast-normalised copy of a '
                            'dark or flat frame without a face (docs/accuracy.md)')
    group.add_argument('--threshold', type=float, default=None,
                       help='fixed cosine similarity threshold for a name (default: derived '
                            'from --max-false-name-rate and the gallery, see calibrate)')
    _add_rate_option(group)
    group.add_argument('--threads', type=count_at_least(1), default=None,
                       help='threads per model (default: all cores)')


def _add_rate_option(parser) -> None:
    parser.add_argument('--max-false-name-rate', type=float, default=None, metavar='RATE',
                        help="share of strangers' faces that may be given a name (default: "
                             "the gallery's calibration, else 0.01); the threshold follows "
                             'from it and from how many people and photos are enrolled')


# ------------------------------------------------------------------------ operating point
def _for_matching(gallery, args):
    """
    ``(gallery at its operating point, OperatingPoint)`` for this run's options.

    The threshold is derived from the gallery as it is (people, photos, their
    between-person similarities) and the calibration stored in it, every time it is loaded
    (``open_set.matching_gallery``): nothing is written, and the nodes derive the same.
    """
    from face_recognition_ros.core import open_set

    return open_set.matching_gallery(gallery, getattr(args, 'max_false_name_rate', None),
                                     getattr(args, 'threshold', None))


def _build_pipeline(args, tracking: bool, create_gallery: bool = False):
    from face_recognition_ros.core.pipeline import build_pipeline

    detector_options = {}
    if args.score_threshold is not None:
        detector_options['score_threshold' if args.detector == 'yunet' else 'threshold'] = \
            args.score_threshold
    if args.min_face_size is not None:  # both backends take it
        detector_options['min_face_size'] = args.min_face_size
    if args.detector == 'yunet' and not getattr(args, 'hard_light', True):
        detector_options['hard_light'] = False
    pipeline = build_pipeline(
        gallery_path=getattr(args, 'gallery', None), detector_backend=args.detector,
        embedder_backend=args.embedder, detector_model=args.detector_model,
        embedder_model=args.embedder_model, detector_options=detector_options,
        threshold=args.threshold, tracking=tracking, num_threads=args.threads,
        create_gallery=create_gallery)
    pipeline.gallery, pipeline.operating_point = _for_matching(pipeline.gallery, args)
    return pipeline


# ------------------------------------------------------------------------ commands
def cmd_enroll(args) -> int:
    from face_recognition_ros.core.enrollment import embed_folder
    import numpy as np

    pipeline = _build_pipeline(args, tracking=False, create_gallery=True)
    store = pipeline.gallery_store
    # Embedding the photos takes seconds to minutes: it happens before the store is
    # locked, and the edit itself re-reads the gallery, so nodes and other enrollments
    # running meanwhile lose nothing.
    report = embed_folder(args.folder, pipeline, people=args.people or None)
    if args.json:
        _print_json(report.to_dict())
    else:
        for person in report.people:
            if person.error:
                print(f'{person.name!r}: skipped ({person.error})')
                continue
            print(f'{person.name}: {len(person.used)} photo(s) enrolled, '
                  f'{len(person.skipped)} skipped')
            for photo, reason in person.skipped:
                print(f'    skipped {photo}: {reason}')
    if report.photos_used == 0:
        raise GalleryError(
            f'nothing could be enrolled from {args.folder}: it needs one sub-folder per '
            f'person holding photos with exactly one face each; the gallery was left '
            f'unchanged')
    gallery = store.enroll({person.name: np.stack(person.embeddings)
                            for person in report.people if person.embeddings})
    if args.threshold is not None:
        # A fixed threshold replaces any calibration, for every user of this gallery.
        gallery = store.set_calibration({'fixed_threshold': args.threshold},
                                        threshold=args.threshold)
    summary = (f'enrolled {report.photos_used} photo(s) of {len(report.people_enrolled)} '
               f'people, skipped {report.photos_skipped}; {store.location} now holds '
               f'{len(gallery)} people ({gallery.num_embeddings} embeddings)')
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return 0


def _open_store(args):
    from face_recognition_ros.core.gallery_store import open_gallery_store

    # No model check: listing and removing people needs no embedder.
    return open_gallery_store(args.gallery, None, create=False)


def cmd_remove(args) -> int:
    from face_recognition_ros.core.gallery import validate_name

    store = _open_store(args)
    names = [validate_name(name) for name in args.names]
    missing = [name for name in names if name not in store.load()]
    if missing:
        raise GalleryError(
            f'not enrolled: {", ".join(missing)}; enrolled: '
            f'{", ".join(store.load().names()) or "nobody"}. Nothing was removed')
    # Stored first: a failed save must not be reported as a removal.
    _, counts = store.forget(names)
    for name, count in counts.items():
        print(f'removed {name} ({count} embeddings)')
    store.close()
    return 0


def cmd_list(args) -> int:
    from face_recognition_ros.core import open_set

    store = _open_store(args)
    stored = store.load()
    store.close()
    gallery, point = _for_matching(stored, args)
    if args.json:
        _print_json({'gallery': store.location, 'model_id': gallery.model_id,
                     'threshold': gallery.threshold, 'operating_point': point.to_dict(),
                     'stored_threshold': stored.threshold, 'calibration': gallery.calibration,
                     'people': gallery.counts(), 'created': gallery.created,
                     'updated': gallery.updated})
        return 0
    print(f'{store.location}: {len(gallery)} people, {gallery.num_embeddings} embeddings, '
          f'model {gallery.model_id}, {open_set.describe_operating_point(point)}')
    for name, count in gallery.counts().items():
        print(f'  {name}\t{count}')
    return 0


def _run_on_images(args, write) -> int:
    """Shared loop of identify and embed: one JSON line per image, errors go on."""
    failures = 0
    for text in args.images:
        # A folder stands for its images; one without any would otherwise pass unnoticed.
        if Path(text).is_dir() and not _expand_images([text]):
            failures += 1
            print(f'error: no images in the folder {text}: give image files '
                  f'({", ".join(IMAGE_SUFFIXES)}) or folders holding them', file=sys.stderr)
    for path in _expand_images(args.images):
        from face_recognition_ros.core.image_io import load_image
        try:
            image = load_image(path)
        except ImageError as error:
            failures += 1
            print(f'error: {error}', file=sys.stderr)
            _print_json({'image': str(path), 'faces': [], 'error': str(error)})
            continue
        write(path, image)
    return EXIT_USAGE_ERROR if failures else 0


def _stranger_embeddings(pipeline, folder: Path) -> tuple[np.ndarray, list[str], int]:
    """
    Embeddings of every face under ``folder``, the group (person) of each, photos read.

    A sub-folder is one person (their photos are not independent evidence); a photo lying
    directly in the folder is its own group. Every face of a photo counts: all of them are
    people who are not enrolled.
    """
    from face_recognition_ros.core.image_io import load_image

    if not folder.is_dir():
        raise ImageError(f'{folder} is not a folder: give a folder of photos of people who are '
                         f'not enrolled (one sub-folder per person, or loose photos)')
    photos = sorted(p for p in folder.rglob('*')
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                    and not any(part.startswith('.') for part in p.relative_to(folder).parts))
    vectors, groups = [], []
    for photo in photos:
        try:
            image = load_image(photo)
        except ImageError as error:
            logger.warning('skipping %s: %s', photo, error)
            continue
        relative = photo.relative_to(folder)
        group = relative.parts[0] if len(relative.parts) > 1 else str(relative)
        for _, embedding in pipeline.embed_faces(image):
            vectors.append(embedding)
            groups.append(group)
    if not vectors:
        raise ImageError(f'no face found in the {len(photos)} photo(s) under {folder}: give '
                         f'photos of people who are not enrolled, with visible faces')
    return np.asarray(vectors, np.float32), groups, len(photos)


def cmd_calibrate(args) -> int:
    from face_recognition_ros.core import open_set

    rate = open_set.check_rate(args.max_false_name_rate)
    args.threshold = None
    pipeline = _build_pipeline(args, tracking=False)
    gallery, before = pipeline.gallery, pipeline.operating_point
    if len(gallery) < 2:
        raise GalleryError(f'{args.gallery} holds {len(gallery)} people: calibrate needs at '
                           f'least 2 enrolled people; enroll them first')
    strangers, groups, photos = _stranger_embeddings(pipeline, Path(args.strangers))
    embeddings, labels = open_set.gallery_rows(gallery)
    # A face identical to an enrolled one is an enrolled photo in the wrong folder, not a
    # stranger; no threshold <= 1 can leave it unnamed.
    enrolled = open_set.stranger_best_similarities(embeddings, strangers) >= 0.9999
    if enrolled.any():
        print(f'warning: {int(enrolled.sum())} face(s) under {args.strangers} are enrolled '
              f'photos (identical embeddings) and were left out', file=sys.stderr)
        strangers = strangers[~enrolled]
        groups = [g for g, left_out in zip(groups, enrolled) if not left_out]
    calibration = open_set.calibrate(gallery.model_id, embeddings, labels, strangers, rate,
                                     stranger_groups=np.array(groups),
                                     threshold_before=before.threshold)
    calibration['strangers_folder'] = str(Path(args.strangers).resolve())
    # Stored inside the gallery (file or database), in one locked step, so every node and
    # robot derives its threshold from it from now on.
    stored = pipeline.gallery_store.set_calibration(calibration)
    pipeline.gallery_store.close()
    _, point = _for_matching(stored, args)
    report = {
        'gallery': str(args.gallery), 'strangers': calibration['strangers'],
        'stranger_people': calibration['stranger_people'], 'photos': photos,
        'enrolled_photos_left_out': int(enrolled.sum()),
        'target_false_name_rate': rate,
        'before': {'threshold': round(before.threshold, 4), 'source': before.source,
                   'strangers_named': calibration['rate_before']},
        'after': {'threshold': round(point.threshold, 4), 'source': point.source,
                  'strangers_named': calibration['rate_after'],
                  'margin': round(calibration['margin'], 4)},
    }
    if args.json:
        _print_json(report)
        return 0
    named_before = round(calibration['rate_before'] * calibration['strangers'])
    named_after = round(calibration['rate_after'] * calibration['strangers'])
    print(f'{calibration["strangers"]} faces of {calibration["stranger_people"]} stranger(s) '
          f'from {photos} photo(s); target: at most {100 * rate:g} % named')
    print(f'before: threshold {before.threshold:.4f} ({before.source}): {named_before} named '
          f'({100 * calibration["rate_before"]:.2f} %)')
    print(f'after:  threshold {point.threshold:.4f} (calibrated): {named_after} named '
          f'({100 * calibration["rate_after"]:.2f} %)')
    if calibration['strangers'] < 100:
        print(f'note: {calibration["strangers"]} faces measure a rate of {100 * rate:g} % only '
              f'roughly; 100 or more faces of 10 or more people give a better calibration')
    print(f'saved in {pipeline.gallery_store.location}; the threshold is re-derived from '
          f'this calibration whenever people are enrolled or removed')
    return 0


def cmd_identify(args) -> int:
    pipeline = _build_pipeline(args, tracking=False)

    def write(path, image):
        result = pipeline.process(image)
        _print_json({'image': str(path), 'faces': [face_record(f) for f in result.faces]})

    return _run_on_images(args, write)


def cmd_embed(args) -> int:
    pipeline = _build_pipeline(args, tracking=False)

    def write(path, image):
        faces = pipeline.embed_faces(image)
        _print_json({'image': str(path), 'faces': [
            {'box': _floats(detection.box, 2), 'score': round(float(detection.score), 4),
             'embedding': [float(v) for v in embedding]} for detection, embedding in faces]})

    return _run_on_images(args, write)


def _open_video_writer(path: str, fps: float, size: tuple[int, int]):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise ImageError(f'cannot write the video {path}: check the folder exists and is '
                         f'writable, and use an .mp4 name')
    return writer


def cmd_video(args) -> int:
    from face_recognition_ros.core.drawing import draw_faces
    from tqdm import tqdm

    pipeline = _build_pipeline(args, tracking=not args.no_tracking)
    source = FrameSource(args.source)
    writer = None
    jsonl = None  # opened at the first frame: a run that reads none keeps an old file
    names = Counter()
    frames = 0
    size = None
    total = source.total if args.max_frames is None else min(
        source.total or args.max_frames, args.max_frames)
    start = time.perf_counter()
    try:
        with tqdm(total=total, unit='frame', file=sys.stderr, disable=args.quiet) as bar:
            for frame in source:
                if args.max_frames is not None and frames >= args.max_frames:
                    break
                if args.resize:
                    frame = letterbox(frame, args.resize)
                elif size is not None and (frame.shape[1], frame.shape[0]) != size:
                    frame = letterbox(frame, size)  # an image folder of mixed sizes
                size = (frame.shape[1], frame.shape[0])
                result = pipeline.process(frame)
                for face in result.faces:
                    names[face.name] += 1
                if args.output:
                    if writer is None:
                        writer = _open_video_writer(args.output, source.fps, size)
                    writer.write(draw_faces(frame, result.faces))
                if args.jsonl:
                    if jsonl is None:
                        jsonl = open(args.jsonl, 'w', encoding='utf-8')
                    jsonl.write(json.dumps({
                        'frame': frames,
                        'faces': [face_record(f, with_track=True) for f in result.faces],
                        'timings_ms': {k: round(v, 2) for k, v in result.timings_ms.items()},
                    }, ensure_ascii=False) + '\n')
                frames += 1
                bar.update(1)
    finally:
        source.close()
        if writer is not None:
            writer.release()
        if jsonl:
            jsonl.close()
    seconds = time.perf_counter() - start
    if frames == 0:
        raise ImageError(f'no frames could be read from {args.source!r}: check that it is '
                         f'a video, image or camera OpenCV can decode (the log above says '
                         f'what failed)')
    summary = {'source': args.source, 'frames': frames, 'faces_per_name': dict(names),
               'seconds': round(seconds, 3),
               'fps': round(frames / seconds, 2) if seconds > 0 else None,
               'output': args.output, 'jsonl': args.jsonl}
    _print_json(summary)
    return 0


def thread_settings(pipeline) -> dict:
    """Return what decides the CPU threads of this run, for benchmark reports."""
    import cv2

    return {
        'cpu_count': os.cpu_count(),
        'detector_runtime': getattr(pipeline.detector, 'runtime', None),
        'detector_threads': getattr(pipeline.detector, 'num_threads', None),
        'embedder_runtime': getattr(pipeline.embedder, 'runtime', None),
        'embedder_threads': getattr(pipeline.embedder, 'num_threads', None),
        'opencv_threads': cv2.getNumThreads(),
        'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS'),
    }


def measure_pipeline(pipeline, frames: list[np.ndarray], warmup: int = 5) -> dict:
    """
    Run ``pipeline.process`` over ``frames``; median milliseconds per stage and FPS.

    ``warmup`` extra frames (the first ones again) run first and are not counted: the
    first inferences allocate memory. FPS is frames over wall time, so it includes every
    cost of ``process``.
    """
    from face_recognition_ros.core.pipeline import STAGES

    pipeline.reset_tracks()
    for frame in frames[:warmup]:
        pipeline.process(frame)
    pipeline.reset_tracks()
    stages = {stage: [] for stage in STAGES}
    faces = embedded = 0
    start = time.perf_counter()
    for frame in frames:
        result = pipeline.process(frame)
        for stage in STAGES:
            stages[stage].append(result.timings_ms.get(stage, 0.0))
        faces += len(result.faces)
        embedded += sum(face.embedding is not None for face in result.faces)
    seconds = time.perf_counter() - start
    totals = sorted(stages['total'])
    return {
        'frames': len(frames),
        'fps': round(len(frames) / seconds, 2),
        'stage_median_ms': {k: round(statistics.median(v), 3) for k, v in stages.items()},
        'total_p90_ms': round(totals[int(0.9 * (len(totals) - 1))], 3),
        'faces_per_frame': round(faces / len(frames), 3),
        'embeddings_per_frame': round(embedded / len(frames), 3),
    }


def cmd_bench(args) -> int:
    source = FrameSource(args.source)
    frames = []
    try:
        for frame in source:
            frames.append(letterbox(frame, args.resize) if args.resize else frame)
            if len(frames) >= args.frames:
                break
    finally:
        source.close()
    if not frames:
        raise ImageError(f'no frames could be read from {args.source!r}')
    while len(frames) < args.frames:  # a still image: repeat it as a video
        frames.extend(frames[:args.frames - len(frames)])
    report = {'source': args.source, 'resolution': [frames[0].shape[1], frames[0].shape[0]]}
    modes = ['tracking', 'naive'] if args.compare else (
        ['naive'] if args.no_tracking else ['tracking'])
    for mode in modes:
        pipeline = _build_pipeline(args, tracking=mode == 'tracking')
        report[mode] = measure_pipeline(pipeline, frames, warmup=args.warmup)
        report['threads'] = thread_settings(pipeline)
    if args.compare:
        report['speedup'] = round(report['tracking']['fps'] / report['naive']['fps'], 2)
    _print_json(report)
    return 0


# ------------------------------------------------------------------------ evaluate
def _command_name(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith('-'):
            return arg
    return None


def _add_evaluate(subparsers, wanted: bool) -> None:
    """
    Wire ``evaluate`` from face_recognition_ros.evaluation, imported only when used.

    The evaluation needs extra packages (torch for the classifier side, matplotlib for
    plots); importing it lazily keeps every other command working without them.
    """
    help_text = 'accuracy report: verification pairs and open-set identification'
    if not wanted:
        subparsers.add_parser('evaluate', help=help_text, add_help=False)
        return
    try:
        from face_recognition_ros import evaluation
    except ImportError as error:
        parser = subparsers.add_parser('evaluate', help=help_text)
        message = (f'evaluate is unavailable: {error}; install the training extras '
                   f'(pip install .[train], or requirements/train.txt)')
        parser.set_defaults(handler=lambda args: _fail(message))
        parser.add_argument('rest', nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        return
    parser = subparsers.add_parser('evaluate', help=help_text,
                                   description=evaluation.__doc__.strip(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluation.add_arguments(parser)
    parser.set_defaults(handler=evaluation.run)


def _fail(message: str) -> int:
    raise FaceRecognitionError(message)


# ------------------------------------------------------------------------ parser
def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog='python -m face_recognition_ros',
        description='Face detection, alignment and recognition without ROS: enroll people '
                    'from photos, identify faces in photos and videos, benchmark.')
    parser.add_argument('--version', action='version', version=__version__)
    parser.add_argument('-v', '--verbose', action='count', default=0,
                        help='more log messages on stderr (-vv for debug)')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    p = sub.add_parser('enroll', help='add people from DIR/<person>/*.jpg to a gallery',
                       description='Enroll people from a folder holding one sub-folder of '
                                   'photos per person (the sub-folder name is the name). '
                                   'Photos with no face or several faces are skipped and '
                                   'reported. Creates the gallery or extends it; the file is '
                                   'only replaced when something was enrolled. --threshold is '
                                   "saved as the gallery's threshold. Safe while nodes use "
                                   'the gallery: they pick the change up within a second.')
    _add_model_options(p, 'required')
    p.add_argument('folder', metavar='DIR', help='folder of per-person sub-folders')
    p.add_argument('--people', nargs='+', metavar='NAME',
                   help='enroll only these sub-folders')
    p.add_argument('--json', action='store_true', help='print the report as one JSON object')
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser('remove', help='forget people', description='Remove people from a '
                       'gallery. If any name is not enrolled, nothing is removed.')
    p.add_argument('--gallery', '-g', required=True, metavar='G',
                   help='gallery file or postgresql:// URI')
    p.add_argument('names', nargs='+', metavar='NAME')
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser('list', help='list enrolled people',
                       description='List the people of a gallery and their embedding counts.')
    p.add_argument('--gallery', '-g', required=True, metavar='G',
                   help='gallery file or postgresql:// URI')
    p.add_argument('--json', action='store_true', help='print one JSON object')
    _add_rate_option(p)
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser('calibrate', help='set the threshold from photos of strangers',
                       description='Measure how similar people who are NOT enrolled look to '
                                   'the enrolled ones, on photos from your own camera, and '
                                   'store in the gallery the impostor model and threshold '
                                   'that name at most --max-false-name-rate of them. The '
                                   'calibration is kept beside the gallery (G.calibration.json) '
                                   'and the threshold is re-derived from it when people are '
                                   'enrolled or removed. Prints the rate before and after.')
    _add_model_options(p, 'required')
    p.add_argument('--strangers', required=True, metavar='FOLDER',
                   help='photos of people who are not enrolled: one sub-folder per person, '
                        'or loose photos (each then counts as its own person)')
    p.add_argument('--json', action='store_true', help='print the report as one JSON object')
    p.set_defaults(handler=cmd_calibrate, max_false_name_rate=0.01)

    p = sub.add_parser('identify', help='name the faces in photos (JSON lines)',
                       description='Print one JSON line per image: {"image": path, "faces": '
                                   '[{"box": [x, y, w, h], "score": s, "landmarks": [[x, y] '
                                   'x5], "name": n, "confidence": c}]}. A folder stands for '
                                   'the images in it. An unreadable image gets a line with '
                                   '"error" and the exit status is 2.')
    _add_model_options(p, 'required')
    p.add_argument('images', nargs='+', metavar='IMAGE')
    p.set_defaults(handler=cmd_identify)

    p = sub.add_parser('embed', help='face embeddings of photos (JSON lines)',
                       description='Print one JSON line per image: {"image": path, "faces": '
                                   '[{"box": [x, y, w, h], "score": s, "embedding": [128 '
                                   'floats]}]}.')
    _add_model_options(p, None)
    p.add_argument('images', nargs='+', metavar='IMAGE')
    p.set_defaults(handler=cmd_embed)

    p = sub.add_parser('video', help='recognise faces in a video, camera or image folder',
                       description='Run the tracking pipeline on SOURCE (video file, camera '
                                   'index, /dev/videoN or folder of images); write an '
                                   'annotated video (--output, mp4v) and one JSON line per '
                                   'frame (--jsonl); print a JSON summary (frames, faces per '
                                   'name, FPS). Progress goes to stderr.')
    _add_model_options(p, 'optional')
    p.add_argument('source', metavar='SOURCE')
    p.add_argument('--output', '-o', metavar='VIDEO', help='annotated video file (.mp4)')
    p.add_argument('--jsonl', metavar='FILE', help='per-frame results, one JSON line each')
    p.add_argument('--max-frames', type=count_at_least(1), default=None,
                   help='stop after this many frames')
    p.add_argument('--resize', type=parse_size, default=None, metavar='WxH',
                   help='letterbox frames to this size first (e.g. 640x480)')
    p.add_argument('--no-tracking', action='store_true',
                   help='embed every face in every frame (slower; for comparison)')
    p.add_argument('--quiet', '-q', action='store_true', help='no progress bar')
    p.set_defaults(handler=cmd_video)

    p = sub.add_parser('bench', help='per-stage latency and FPS of the pipeline (JSON)',
                       description='Measure the pipeline on frames of SOURCE (a still image is '
                                   'repeated); print per-stage median milliseconds, frames per '
                                   'second and thread settings as JSON.')
    _add_model_options(p, 'optional')
    p.add_argument('source', metavar='SOURCE')
    p.add_argument('--frames', type=count_at_least(1), default=100,
                   help='frames to measure (default 100)')
    p.add_argument('--warmup', type=count_at_least(0), default=5, help='uncounted warm-up frames')
    p.add_argument('--resize', type=parse_size, default=(640, 480), metavar='WxH',
                   help='letterbox frames to this size (default 640x480)')
    p.add_argument('--no-tracking', action='store_true', help='measure the naive way only')
    p.add_argument('--compare', action='store_true',
                   help='measure with tracking and the naive way, and their ratio')
    p.set_defaults(handler=cmd_bench)

    _add_evaluate(sub, wanted=_command_name(argv) == 'evaluate')
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[
        min(args.verbose, 2)], format='%(levelname)s %(name)s: %(message)s')
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # The reader (head, grep -m) went away: not an error of ours. Caught before OSError,
        # its base class; stdout goes to /dev/null so the exit-time flush fails silently.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FaceRecognitionError, OSError) as error:
        # OSError: an output path that cannot be written, a full disk... user errors too.
        message = str(error).replace('\n', ' ').strip()
        print(f'error: {message}', file=sys.stderr)
        return EXIT_USAGE_ERROR
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
