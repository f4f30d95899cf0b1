"""Mosquitto's password and ACL files, written by the platform.

Passwords are stored only as Mosquitto's own PBKDF2-SHA512 hash
(``$7$<iterations>$<salt>$<hash>``, the format `mosquitto_passwd` writes), so
the files can be regenerated from the database at any time and the plaintext
exists only in the moment it is shown to the household once.

Each device may write only ``cem/<community>/<uid>/{telemetry,ack,status}`` and
read only ``cem/<community>/<uid>/cmd``; service users (the bridge) get
``cem/#``. Mosquitto re-reads both files on SIGHUP.

File permissions (issue 9 §5). Mosquitto started as root drops to its own
user (``mosquitto`` on Debian) before it reads these files, so the platform
writes them ``0640`` owned by the platform's user and the group
``MOSQUITTO_FILE_GROUP`` (the broker's group); with no group set they are
``0600`` (broker and platform run as the same user, as in development).
"""

from __future__ import annotations

import base64
import grp
import hashlib
import hmac
import os
import secrets
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ITERATIONS = 101  # mosquitto_passwd's default
SALT_BYTES = 12


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    expected = hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return hmac.compare_digest(expected, encoded)


def new_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class MqttUser:
    username: str
    password_hash: str
    write: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    readwrite: list[str] = field(default_factory=list)


def render_passwd(users: list[MqttUser]) -> str:
    return "".join(f"{u.username}:{u.password_hash}\n" for u in sorted(users, key=lambda u: u.username))


def render_acl(users: list[MqttUser]) -> str:
    lines = ["# Written by the platform (assets.mqtt.mosquitto); edits are overwritten.", ""]
    for u in sorted(users, key=lambda u: u.username):
        lines.append(f"user {u.username}")
        for access, topics in (("readwrite", u.readwrite), ("write", u.write), ("read", u.read)):
            lines.extend(f"topic {access} {t}" for t in topics)
        lines.append("")
    return "\n".join(lines)


class FilePermissionError(RuntimeError):
    """The files cannot be given to the broker's group."""


def group_id(group: str | int | None) -> int | None:
    if group in (None, ""):
        return None
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(str(group)).gr_gid
    except KeyError:
        raise FilePermissionError(
            f"MOSQUITTO_FILE_GROUP={group!r}: no such group on this machine; set it to the group "
            "Mosquitto runs as (Debian: mosquitto) or leave it empty"
        ) from None


def _atomic_write(path: Path, text: str, *, gid: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        if gid is not None:
            try:
                os.chown(tmp, -1, gid)
            except PermissionError:
                raise FilePermissionError(
                    f"cannot give {path} to group {gid}: the platform's user must be a member of the "
                    "broker's group (usermod -aG mosquitto <platform user>)"
                ) from None
        os.chmod(tmp, 0o640 if gid is not None else 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files(users: list[MqttUser], *, password_file: Path, acl_file: Path, group: str | int | None = None) -> None:
    """Both files, atomically; readable by ``group`` (the broker's) when given."""
    gid = group_id(group)
    _atomic_write(Path(password_file), render_passwd(users), gid=gid)
    _atomic_write(Path(acl_file), render_acl(users), gid=gid)


def reload_broker(pid_file: Path | None) -> bool:
    """SIGHUP the broker so it re-reads the files; False if there is no pid to signal."""
    if not pid_file or not Path(pid_file).exists():
        return False
    try:
        pid = int(Path(pid_file).read_text().strip())
        os.kill(pid, signal.SIGHUP)
        return True
    except (ValueError, ProcessLookupError, PermissionError):
        return False
