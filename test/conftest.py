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
Shared pytest fixtures: where the test photos are, and models loaded once per session.

Loading YuNet and SFace takes a fraction of a second each, but every test file needing
them would otherwise pay it again; session scope keeps the whole suite short on a 2-core
machine. The instances are shared, so tests must not change their settings: build a
private detector when a test needs other thresholds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).resolve().parent / 'fixtures'
"""Real photos and video copied into the repository (licences beside them)."""


@pytest.fixture(scope='session')
def fixtures_dir() -> Path:
    """Root of test/fixtures."""
    return FIXTURES_DIR


@pytest.fixture(scope='session')
def obama_biden_dir() -> Path:
    """obama.jpg, obama2.jpg (same person), biden.jpg, two_people.jpg, 32bit.png, ..."""
    return FIXTURES_DIR / 'obama_biden'


@pytest.fixture(scope='session')
def faceapi_dir() -> Path:
    """bbt1.jpg (group photo, 4 faces) and 8 people x 2 face crops in sub-folders."""
    return FIXTURES_DIR / 'faceapi'


@pytest.fixture(scope='session')
def detector():
    """Return the YuNet detector with default runtime and thresholds, shared by all tests."""
    from face_recognition_ros.core.detection import YuNetDetector

    return YuNetDetector()


@pytest.fixture(scope='session')
def embedder():
    """Return the SFace embedder with the default runtime, shared by all tests."""
    from face_recognition_ros.core.embedding import SFaceEmbedder

    return SFaceEmbedder()


# --- PostgreSQL (the gallery's fleet backend) --------------------------------------------
@pytest.fixture(scope='session')
def postgres_server():
    """Provide a real PostgreSQL server for this test session (test/postgres_server.py)."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    pytest.importorskip('psycopg', reason='psycopg 3 is needed for the PostgreSQL gallery')
    import postgres_server as module

    bindir, problem = module.ensure_installed()
    if bindir is None:
        pytest.skip(problem)
    server = module.PostgresServer(bindir)
    yield server
    server.close()
