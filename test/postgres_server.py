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
A real PostgreSQL server for the tests: Debian's ``postgresql``, in a temporary folder.

``initdb`` + ``pg_ctl`` make a private cluster listening only on a unix socket in that
folder (no TCP port, nothing shared with other test runs), stopped and deleted at the end.
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
system user (``runuser``). When the binaries are missing and the tests run as root, the
package is installed with apt-get; otherwise the tests that need a server skip, saying why.

Local connections of the superuser ``postgres`` are trusted (the tests are the only
clients); the role ``robot`` logs in with a password (scram-sha-256), so a wrong one is
refused as a real deployment would refuse it.
"""

from __future__ import annotations

import glob
import itertools
import os
from pathlib import Path
import shutil
import subprocess
import tempfile

ROBOT_PASSWORD = 'robot-Secret-42'
_NAMES = itertools.count(1)


def _binaries() -> Path | None:
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    return Path(found[-1]).parent if found else None


def ensure_installed() -> tuple[Path | None, str]:
    """(bin folder, '') or (None, why the tests cannot have a server)."""
    bindir = _binaries()
    if bindir is None and os.geteuid() == 0 and shutil.which('apt-get'):
        subprocess.run(['apt-get', 'install', '-y', '-q', 'postgresql'],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       env={**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'})
        bindir = _binaries()
    if bindir is None:
        return None, ('PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb) and '
                      'cannot be installed here: apt-get install postgresql as root')
    return bindir, ''


class PostgresServer:

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix='fr-pg-'))
        self.data = self.root / 'data'
        self.log = self.root / 'server.log'
        self._as_root = os.geteuid() == 0
        if self._as_root:
            # The postgres user must reach the socket folder; nothing secret lives here.
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, 'postgres', 'postgres')
        self._run('initdb', '-D', str(self.data), '-U', 'postgres', '-A', 'trust',
                  '--no-sync', '-E', 'UTF8')
        hba = self.data / 'pg_hba.conf'
        hba.write_text('local all robot scram-sha-256\n' + hba.read_text())
        self.start()
        self.sql('postgres', f"CREATE ROLE robot LOGIN PASSWORD '{ROBOT_PASSWORD}'")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self._as_root:
            command = ['runuser', '-u', 'postgres', '--', *command]
        return subprocess.run(command, check=True, capture_output=True, text=True,
                              cwd=str(self.root))

    def start(self) -> None:
        self._run('pg_ctl', '-D', str(self.data), '-l', str(self.log), '-w', '-o',
                  f"-k {self.root} -c listen_addresses='' -c fsync=off", 'start')

    def stop(self) -> None:
        self._run('pg_ctl', '-D', str(self.data), '-m', 'fast', '-w', 'stop')

    def uri(self, database: str, user: str = 'postgres', password: str | None = None) -> str:
        auth = user if password is None else f'{user}:{password}'
        return f'postgresql://{auth}@/{database}?host={self.root}'

    def sql(self, database: str, statement: str, params=()):
        import psycopg
        with psycopg.connect(self.uri(database), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def new_database(self, owner: str = 'postgres') -> str:
        """Create a fresh, empty database; return its name."""
        name = f'gallery_{next(_NAMES)}'
        self.sql('postgres', f'CREATE DATABASE {name} OWNER {owner}')
        return name

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
