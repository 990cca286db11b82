#!/usr/bin/env bash
# Install plant-twin as a service on Debian (run as root from a checkout):
#   sudo deploy/install.sh
# It creates the service user, a virtual environment under /opt/plant-twin, the config
# /etc/plant-twin/plant.toml (kept if it exists), the data directory /var/lib/plant-twin
# (owned by the service user, mode 0750) and the systemd unit(s); it then prints how to
# add the first users and start the service. Every path can be changed through the
# environment (PREFIX, CONF_DIR, DATA_DIR, SERVICE_USER, SYSTEMD_DIR, PYTHON); SYSTEMD_DIR=""
# installs no unit. Run again to upgrade: the config, the users and the data are kept.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="${PREFIX:-/opt/plant-twin}"
CONF_DIR="${CONF_DIR:-/etc/plant-twin}"
DATA_DIR="${DATA_DIR:-/var/lib/plant-twin}"
SERVICE_USER="${SERVICE_USER:-plant}"
SYSTEMD_DIR="${SYSTEMD_DIR-/etc/systemd/system}"
PYTHON="${PYTHON:-python3}"
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1

say() { printf '==> %s\n' "$*"; }

if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
    if [ "$ROOT" -eq 1 ] && command -v apt-get >/dev/null; then
        say "installing python3-venv"
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else
        echo "error: $PYTHON cannot create virtual environments; install Debian's python3-venv" >&2
        exit 1
    fi
fi

if [ "$ROOT" -eq 1 ] && ! getent passwd "$SERVICE_USER" >/dev/null; then
    say "creating system user $SERVICE_USER"
    useradd --system --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi

say "installing into $PREFIX/.venv"
install -d -m 0755 "$PREFIX"
"$PYTHON" -m venv "$PREFIX/.venv"
"$PREFIX/.venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/.venv/bin/pip" install --quiet "$SRC"

install -d -m 0755 "$CONF_DIR"
if [ ! -e "$CONF_DIR/plant.toml" ]; then
    say "writing $CONF_DIR/plant.toml"
    sed "s|^data_dir = .*|data_dir = \"$DATA_DIR\"   # certificates, trust list, users.json, history.sqlite|" \
        "$SRC/deploy/plant.example.toml" > "$CONF_DIR/plant.toml"
    chmod 0644 "$CONF_DIR/plant.toml"
fi

if [ "$ROOT" -eq 1 ]; then
    install -d -o "$SERVICE_USER" -g "$(id -gn "$SERVICE_USER")" -m 0750 "$DATA_DIR"
else
    install -d -m 0750 "$DATA_DIR"
fi

if [ -n "$SYSTEMD_DIR" ]; then
    install -d -m 0755 "$SYSTEMD_DIR"
    for unit in "$SRC"/deploy/systemd/*.service; do
        sed -e "s|/opt/plant-twin|$PREFIX|g" -e "s|/etc/plant-twin|$CONF_DIR|g" \
            -e "s|/var/lib/plant-twin|$DATA_DIR|g" -e "s|^User=.*|User=$SERVICE_USER|" \
            "$unit" > "$SYSTEMD_DIR/$(basename "$unit")"
        say "unit $SYSTEMD_DIR/$(basename "$unit")"
    done
    if [ "$ROOT" -eq 1 ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
    fi
fi

cat <<DONE
Installed. Next steps:
  1. add users (the password is prompted for):
       sudo -u $SERVICE_USER $PREFIX/.venv/bin/plant users --data-dir $DATA_DIR add alice --role engineer
  2. edit $CONF_DIR/plant.toml (host = "0.0.0.0" for HMIs on other machines)
  3. sudo systemctl enable --now plant-plc
  4. trust client certificates: move them from $DATA_DIR/pki/rejected to $DATA_DIR/pki/trusted
DONE
