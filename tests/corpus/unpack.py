"""Unpacks the chart corpora kept in this directory into target/corpus/NAME/, once.

    python3 tests/corpus/unpack.py corpus corpus-wide   # prints each unpacked directory

An archive is unpacked only when target/corpus/NAME/ is missing or was unpacked from other
archive bytes (its SHA-256 is kept in target/corpus/NAME.sha256). Unpacking goes into a
temporary directory that is renamed into place, so a run never sees half a corpus. Files come
out byte for byte: they are what Helm hands a post-renderer, bugs included.
Standard library only (bench.py and tests/fuzz/run call it outside the test venv).
"""

import hashlib
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TARGET = ROOT / "target" / "corpus"
NAMES = ("corpus", "corpus-wide")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ensure(name):
    """target/corpus/NAME, unpacked from tests/corpus/NAME.tar.xz unless already up to date."""
    archive = HERE / f"{name}.tar.xz"
    dest, stamp = TARGET / name, TARGET / f"{name}.sha256"
    digest = _sha256(archive)
    if dest.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return dest
    TARGET.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}-", dir=TARGET))
    try:
        with tarfile.open(archive, "r:xz") as tar:
            members = tar.getmembers()
            for m in members:  # the archive holds NAME/ and regular files under it, nothing else
                parts = pathlib.PurePosixPath(m.name).parts
                if not parts or parts[0] != name or ".." in parts or not (m.isfile() or m.isdir()):
                    raise RuntimeError(f"{archive}: unexpected member {m.name!r}")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, members=members, filter="data")
            else:
                tar.extractall(tmp, members=members)
        stamp.unlink(missing_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tmp / name, dest)
        stamp.write_text(digest + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


if __name__ == "__main__":
    for n in sys.argv[1:] or NAMES:
        if n not in NAMES:
            sys.exit(f"unknown corpus {n!r} (one of {', '.join(NAMES)})")
        print(ensure(n))
