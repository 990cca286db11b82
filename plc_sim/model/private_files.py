"""Files and folders of a data directory, readable by their owner only whatever the umask.

A data directory holds secrets (private keys, password hashes, generated passwords) and
history; every part writes there through these three functions, so that every file is 0600
and every folder 0700 from the moment it exists (a file is created with its mode, not
chmod-ed after the write). Files that a library creates (SQLite databases, asyncua's
certificates) are made first with `private_file` or fixed with it right after.

Part of the model library only because every part (server, twin, optimizer, `plant`) may
import it; it imports nothing of the project."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a folder of its owner only (0700), made with its missing parents (0700
    too); an existing folder is set to 0700. Folders above that existed are left alone."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another writer
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """`path` readable and writable by its owner only (0600), in a private folder; created
    empty when missing (for a file another library then opens, such as a SQLite database)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: str | bytes, sync: bool = False) -> Path:
    """Replace `path` with `data` atomically (a temporary file renamed over it), 0600 from
    its first byte, in a private folder; `sync` puts the data on disk before the rename."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), FILE_MODE)
        f.write(data.encode() if isinstance(data, str) else data)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    tmp.replace(path)
    return path
