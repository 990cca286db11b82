"""The demo users' generated passwords, kept in `<data dir>/demo-passwords` (0600) so that
they are not lost once `plant up` has printed them. A line is dropped when that user's
password is set again (`plant users add`) or the user is removed: what the file says stays true."""

from __future__ import annotations

from pathlib import Path

from plc_sim.model.private_files import write_private

FILE_NAME = "demo-passwords"
HEADER = "# demo users made by `plant up` (name, role, password); change them with `plant users add NAME --role ROLE`\n"


def path_in(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read(data_dir: Path) -> dict[str, tuple[str, str]]:
    """name -> (role, password) of the demo users whose generated password still holds."""
    path = path_in(data_dir)
    if not path.exists():
        return {}
    kept = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and not line.startswith("#"):
            kept[fields[0]] = (fields[1], fields[2])
    return kept


def _write(data_dir: Path, users: dict[str, tuple[str, str]]) -> None:
    if not users:
        path_in(data_dir).unlink(missing_ok=True)
        return
    lines = "".join(f"{name}\t{role}\t{password}\n" for name, (role, password) in users.items())
    write_private(path_in(data_dir), HEADER + lines)


def remember(data_dir: Path, made: list[tuple[str, str, str]]) -> Path:
    """Add the (name, role, password) of users just made; returns the file."""
    users = read(data_dir)
    users.update({name: (role, password) for name, role, password in made})
    _write(data_dir, users)
    return path_in(data_dir)


def forget(data_dir: Path, name: str) -> None:
    """Drop `name`'s generated password (it was changed, or the user removed)."""
    users = read(data_dir)
    if users.pop(name, None) is not None:
        _write(data_dir, users)
