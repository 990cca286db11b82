"""`plant certs`: the server's trust list of client certificates. A refused client's
certificate lands in <data dir>/pki/rejected; `plant certs trust NAME` moves it into
pki/trusted, which the running server re-reads at the next connection (no restart). In the
demo profile (`plant up`, any certificate accepted) each client's certificate is kept in
pki/accepted, so that the list shows who connected and one can be trusted for the secure profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plantctl.cmd_plc import DataDirOpt
from plantctl.errors import fail
from plc_sim.model.private_files import private_dir, private_file

certs_app = typer.Typer(help="Client certificates the OPC UA server trusts or has refused.", no_args_is_help=True)


def _pki(data_dir: Path | None) -> Path:
    from opcua_server.settings import ServerSettings
    from plantctl.errors import load_settings

    settings = load_settings(ServerSettings, None, {"data_dir": data_dir})
    if not settings.data_dir.is_dir():
        fail(f"data directory {settings.data_dir} does not exist (PLANT_DATA_DIR or --data-dir)")
    return settings.data_dir / "pki"


def _describe(path: Path) -> str:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(path.read_bytes())
    except ValueError:
        return "(not a DER certificate)"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(cn[0].value) if cn else "?"
    return f"CN={name}, valid until {cert.not_valid_after_utc:%Y-%m-%d}"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []


def _matches(folder: Path, name: str) -> list[Path]:
    return [p for p in _files(folder) if p.name.startswith(name)]


def _find(folder: Path, name: str) -> Path:
    hits = _matches(folder, name)
    if len(hits) != 1:
        where = f"{len(hits)} certificates" if hits else "no certificate"
        fail(f"{where} in {folder} named {name}* (see `plant certs list`)")
    return hits[0]


def _move(data_dir: Path | None, name: str, source: str, target: str) -> Path:
    """Move certificate `name*` from pki/<source> to pki/<target>."""
    pki = _pki(data_dir)
    src = _find(pki / source, name)
    dest = private_dir(pki / target) / src.name
    src.replace(dest)
    return private_file(dest)


STATES = {
    "trusted": "no trusted certificates (a client's DER certificate copied into {folder}, or `plant certs "
               "trust NAME`, is trusted at its next connection)",
    "rejected": "no refused certificates (a client the secure profile refuses lands in {folder})",
    "accepted": "no client has connected in the demo profile (`plant up` keeps each client's certificate in {folder})",
}
"""The folders of pki/ that `plant certs list` shows, with what it says when one is empty."""


@certs_app.command("list")
def certs_list(data_dir: DataDirOpt = None) -> None:
    """Trusted and rejected client certificates, and those accepted by the demo profile."""
    pki = _pki(data_dir)
    for state, empty in STATES.items():
        files = _files(pki / state)
        if not files:
            typer.echo(f"{state}\t-\t{empty.format(folder=pki / state)}")
        for path in files:
            typer.echo(f"{state}\t{path.name}\t{_describe(path)}")


@certs_app.command("trust")
def certs_trust(name: Annotated[str, typer.Argument(help="file name (or its start) in pki/rejected or pki/accepted")],
                data_dir: DataDirOpt = None) -> None:
    """Trust a refused client certificate, or one the demo profile accepted (moves it from
    pki/rejected, else pki/accepted, to pki/trusted)."""
    pki = _pki(data_dir)
    source = "accepted" if not _matches(pki / "rejected", name) and _matches(pki / "accepted", name) else "rejected"
    dest = _move(data_dir, name, source, "trusted")
    typer.echo(f"trusted {dest.name}")


@certs_app.command("reject")
def certs_reject(name: Annotated[str, typer.Argument(help="file name (or its start) in pki/trusted")],
                 data_dir: DataDirOpt = None) -> None:
    """Stop trusting a client certificate (moves it from pki/trusted to pki/rejected)."""
    dest = _move(data_dir, name, "trusted", "rejected")
    typer.echo(f"no longer trusted: {dest.name}")


def register(app: typer.Typer) -> None:
    app.add_typer(certs_app, name="certs")
