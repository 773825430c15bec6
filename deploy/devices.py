"""`occupancy devices`: Mosquitto logins and ACL entries for sensors, kiosks, consoles, pipeline.

User names: a door sensor or kiosk logs in with its own topic below the prefix
(`hq-jakarta/kiosk/kiosk-main`, `hq-jakarta/f1-lobby/door/door-f1-lobby-main`), so one
ACL pattern, `pattern write {prefix}/%u`, lets each publish to that topic and nowhere
else, and devices need no ACL lines of their own. Consoles, the bridge and each worker are
roles with a plain identifier as user name (no `/`: `%u` then names a one-level topic that
no part of the contract uses) and an explicit `user` block each. Mosquitto runs with
`use_username_as_clientid`, so a login's client id is its user name: no login can take
another's session (the bridge's above all), and every process needs a login of its own.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from ingest.errors import ConfigError
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from ingest.topics import KIOSK_SEGMENT, AckTopic, AlertsTopic, DoorTopic, KioskTopic, Wildcards

KINDS = ("sensor", "kiosk", "console", "bridge", "worker")
PIPELINE_KINDS = ("bridge", "worker")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# Mosquitto 2.0's own `mosquitto_passwd` format: PBKDF2-HMAC-SHA512, 12-byte salt, 101
# rounds. More rounds would cost the broker (one thread) that much per CONNECT, in a
# reconnect storm for every device at once; generated passwords carry 256 random bits, and
# given ones must be long, so the rounds are not what keeps them safe.
_PBKDF2_ROUNDS = 101
_SALT_BYTES = 12
MIN_PASSWORD_LENGTH = 16

_ACL_HEADER = """\
# Mosquitto ACL of the occupancy pipeline, written by `occupancy devices add|remove`.
# Whatever is not granted here is denied. Re-adding an account replaces its block; other
# lines added by hand are kept, except comments above the first `user` line.

# Door sensors and kiosks log in with their topic below the prefix as user name
# (hq-jakarta/kiosk/kiosk-main, hq-jakarta/f1-lobby/door/door-f1-lobby-main): each may
# publish to its own topic and nothing else. No other account has a `/` in its name.
"""


@dataclass(frozen=True)
class Account:
    """One Mosquitto login: its user name and the ACL lines of its `user` block (none for
    a device, which the `%u` pattern covers)."""

    kind: str
    username: str
    rules: tuple[str, ...]
    description: str


def usernames_of(kind: str, device_id: str, building: str | None) -> re.Pattern[str]:
    """Every user name the device may have had: a sensor's names its room, which can change."""
    if kind == "kiosk":
        return re.compile(re.escape(f"{building}/{KIOSK_SEGMENT}/{device_id}"))
    if kind == "sensor":
        return re.compile(re.escape(f"{building}/") + r"[^/]+" + re.escape(f"/door/{device_id}"))
    return re.compile(re.escape(device_id))


def device_pattern(prefix: str) -> str:
    return f"pattern write {prefix}/%u"


def account_for(
    kind: str,
    device_id: str,
    building: str | None,
    room: str | None,
    *,
    site: Site | None,
    prefix: str,
) -> Account:
    """The account of one device, checked against the site file; ConfigError if it is not there."""
    if not _IDENTIFIER.fullmatch(device_id):
        raise ConfigError(
            f"Device id {device_id!r} is not an identifier ([A-Za-z0-9_.-], 1 to 64)."
        )
    if kind in PIPELINE_KINDS:
        if building is not None or room is not None:
            raise ConfigError(f"A {kind} account serves every building: drop --building/--room.")
        return _pipeline_account(kind, device_id, prefix)
    if room is not None and kind != "sensor":
        raise ConfigError(f"--room is for sensors only, not for a {kind}.")
    if kind == "console":
        if building is not None:
            _building(site, building)
        scope = building or "+"
        return Account(
            kind,
            device_id,
            _console_rules(prefix, scope),
            f"building {building}" if building else "every building",
        )
    if building is None:
        raise ConfigError(f"A {kind} belongs to one building: give --building.")
    _building(site, building)
    assert site is not None
    if kind == "kiosk":
        if not site.has_kiosk(building, device_id):
            raise ConfigError(
                f"Kiosk {device_id!r} is not in building {building!r} of the site file."
            )
        topic = KioskTopic(building, device_id).format(prefix)
    else:
        sensor = site.sensor(building, device_id)
        if sensor is None:
            raise ConfigError(
                f"Sensor {device_id!r} is not in building {building!r} of the site file."
            )
        if room is not None and room != sensor.room:
            raise ConfigError(
                f"Sensor {device_id!r} counts room {sensor.room!r} in the site file, not {room!r}."
            )
        topic = DoorTopic(building, sensor.room, device_id).format(prefix)
    return Account(kind, topic.removeprefix(f"{prefix}/"), (), f"publishes to {topic}")


def _building(site: Site | None, building: str) -> None:
    if site is None or site.building(building) is None:
        raise ConfigError(f"Building {building!r} is not in the site file (OCC_SITE_FILE).")


def _console_rules(prefix: str, building: str) -> tuple[str, ...]:
    return (
        f"topic read {AlertsTopic(building).format(prefix)}",
        f"topic write {AckTopic(building, '+').format(prefix)}",
        f"topic read {prefix}/{building}/+/state",
        f"topic read {prefix}/{building}/summary",
        f"topic read {prefix}/{building}/presence",
    )


def _pipeline_account(kind: str, username: str, prefix: str) -> Account:
    if kind == "bridge":
        return Account(kind, username, _bridge_rules(prefix), "reads devices and acks")
    return Account(kind, username, _worker_rules(prefix), "one worker process")


def _bridge_rules(prefix: str) -> tuple[str, ...]:
    wildcards = Wildcards(prefix)
    return (
        f"topic read {wildcards.doors}",
        f"topic read {wildcards.kiosks}",
        f"topic read {wildcards.acks}",
    )


def _worker_rules(prefix: str) -> tuple[str, ...]:
    return (
        # The web board's Acknowledge publishes as a console would; the bridge carries it on.
        f"topic write {AckTopic('+', '+').format(prefix)}",
        f"topic write {prefix}/+/+/state",
        f"topic write {AlertsTopic('+').format(prefix)}",
        f"topic write {prefix}/+/summary",
        f"topic write {prefix}/+/presence",
    )


# --- the password file -------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Mosquitto's `$7$` entry: `$7$rounds$base64(salt)$base64(PBKDF2-HMAC-SHA512)`."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ROUNDS)
    encode = base64.b64encode
    return f"$7${_PBKDF2_ROUNDS}${encode(salt).decode()}${encode(digest).decode()}"


def with_password(text: str, drop: re.Pattern[str], entry: tuple[str, str] | None) -> str:
    """The password file without the users `drop` matches, plus `entry` (name, hash)."""
    lines = [line for line in text.splitlines() if not drop.fullmatch(line.split(":", 1)[0])]
    if entry is not None:
        lines.append(":".join(entry))
    return "".join(f"{line}\n" for line in lines)


# --- the ACL file ------------------------------------------------------------------------


@dataclass
class AclFile:
    """The ACL file as Mosquitto reads it: global lines, then `user` blocks that run to the
    next `user` line (a blank line does not end one)."""

    globals_: list[str]
    blocks: dict[str, list[str]]

    @classmethod
    def parse(cls, text: str) -> AclFile:
        acl = cls([], {})
        current = acl.globals_
        comments: list[str] = []  # right above the next line: they belong with it
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                comments.append(line)
            elif stripped.split(" ", 1)[0] == "user":
                # Mosquitto merges repeated blocks of one user: so do we.
                current = acl.blocks.setdefault(stripped[4:].strip(), [])
                current.extend([*comments, line] if not current else [line])
                comments = []
            elif stripped:
                current.extend([*comments, line])
                comments = []
        return acl

    def render(self, prefix: str) -> str:
        pattern = device_pattern(prefix)
        # Comments above the first block are this file's header, rewritten each time; global
        # rules added by hand stay.
        kept = [g for g in self.globals_ if not g.lstrip().startswith("#") and g != pattern]
        sections = [[*_ACL_HEADER.splitlines(), pattern], *([kept] if kept else [])]
        sections += self.blocks.values()
        return "\n".join("\n".join(section) + "\n" for section in sections)

    def remove(self, drop: re.Pattern[str]) -> None:
        for username in [u for u in self.blocks if drop.fullmatch(u)]:
            del self.blocks[username]

    def add(self, account: Account) -> None:
        if account.rules:
            comment = f"# {account.kind} {account.username}: {account.description}"
            self.blocks[account.username] = [comment, f"user {account.username}", *account.rules]


# --- writing both files --------------------------------------------------------------------


@contextlib.contextmanager
def _locked(password_file: Path) -> Iterator[None]:
    """One `devices` command at a time per password file: each rewrites both files whole."""
    if not password_file.parent.is_dir():
        raise ConfigError(
            f"Setting OCC_MQTT_PASSWORD_FILE names {password_file}, whose folder does not exist."
        )
    lock = password_file.with_name(f".{password_file.name}.lock")
    try:
        handle = lock.open("a")
    except OSError as exc:
        raise ConfigError(
            f"Setting OCC_MQTT_PASSWORD_FILE names {password_file}, next to which {lock.name}"
            f" cannot be created ({exc.strerror})."
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write(path: Path, text: str) -> None:
    """Replace `path` at once (Mosquitto may reread it any moment, on SIGHUP), keeping its
    mode and owner; a new file is readable by its owner only."""
    try:
        before = path.stat()
    except FileNotFoundError:
        before = None
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        Path(temp).chmod(before.st_mode & 0o7777 if before else 0o600)
        if before is not None:
            with contextlib.suppress(PermissionError):
                os.chown(temp, before.st_uid, before.st_gid)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise ConfigError(
                f"Setting {setting} names {path}, whose folder does not exist."
            ) from None
        return ""
    except OSError as exc:
        raise ConfigError(
            f"Setting {setting} names {path}, which cannot be read ({exc.strerror})."
        ) from None


def _files(settings: Settings) -> tuple[Path, Path]:
    if settings.mqtt_password_file is None:
        raise ConfigError(
            "Setting OCC_MQTT_PASSWORD_FILE is not set: point it at Mosquitto's password_file."
        )
    if settings.mqtt_acl_file is None:
        raise ConfigError("Setting OCC_MQTT_ACL_FILE is not set: point it at Mosquitto's acl_file.")
    return settings.mqtt_password_file, settings.mqtt_acl_file


def save(
    settings: Settings, drop: re.Pattern[str], account: Account | None, password_hash: str = ""
) -> tuple[Path, Path]:
    """Remove the users `drop` matches from the password and ACL files, then add `account`."""
    password_file, acl_file = _files(settings)
    with _locked(password_file):
        passwords = _read(password_file, "OCC_MQTT_PASSWORD_FILE")
        acl = AclFile.parse(_read(acl_file, "OCC_MQTT_ACL_FILE"))
        acl.remove(drop)
        entry = None
        if account is not None:
            acl.add(account)
            entry = (account.username, password_hash)
        # On add, the ACL goes first: a login that exists before its rules is allowed
        # nothing, never more. On remove, the login goes first.
        writes = [
            ("OCC_MQTT_ACL_FILE", acl_file, acl.render(settings.mqtt_prefix)),
            ("OCC_MQTT_PASSWORD_FILE", password_file, with_password(passwords, drop, entry)),
        ]
        for setting, path, text in writes if account is not None else reversed(writes):
            try:
                _write(path, text)
            except OSError as exc:
                raise ConfigError(
                    f"Setting {setting} names {path}, which cannot be written ({exc.strerror})."
                ) from None
    return password_file, acl_file


def read_password(file: Path) -> str:
    """The password in `file` (its first line), or ConfigError saying what is wrong with it."""
    try:
        lines = file.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"Password file {file} cannot be read ({exc.strerror}).") from None
    password = lines[0] if lines else ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"The password in {file} is shorter than {MIN_PASSWORD_LENGTH} characters:"
            " give a longer one, or none to have one generated."
        )
    return password


# --- the commands ------------------------------------------------------------------------


def _site_for(settings: Settings, kind: str, building: str | None) -> Site | None:
    if kind in PIPELINE_KINDS or (kind == "console" and building is None):
        return None
    if settings.site_file is None:
        raise ConfigError("Setting OCC_SITE_FILE is not set: point it at a site file (YAML).")
    return load_site(settings.site_file)


_kind = click.argument("kind", type=click.Choice(KINDS))
_id = click.argument("device_id", metavar="ID")
_building_option = click.option(
    "--building", help="The building (sensors, kiosks; consoles: else all)."
)
_room_option = click.option("--room", help="A sensor's room (checked against the site file).")


@click.group()
def devices() -> None:
    """Mosquitto logins and ACL entries (OCC_MQTT_PASSWORD_FILE, OCC_MQTT_ACL_FILE)."""


@devices.command("add")
@_kind
@_id
@_building_option
@_room_option
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the password from this file's first line; else one is generated and shown once.",
)
def add(
    kind: str, device_id: str, building: str | None, room: str | None, password_file: Path | None
) -> None:
    """Give device ID of KIND a login and its ACL entries; re-adding replaces both."""
    settings = load_settings()
    site = _site_for(settings, kind, building)
    account = account_for(kind, device_id, building, room, site=site, prefix=settings.mqtt_prefix)
    password = read_password(password_file) if password_file else secrets.token_urlsafe(32)
    drop = usernames_of(kind, device_id, building)
    passwords, acl = save(settings, drop, account, hash_password(password))
    click.echo(f"{kind} {device_id}: user name {account.username} ({account.description})")
    click.echo(f"written to {passwords} and {acl}")
    if password_file is None:
        click.echo(f"password (shown only now): {password}")
    click.echo("Mosquitto rereads both files on SIGHUP (docker compose kill -s HUP mosquitto).")


@devices.command("remove")
@_kind
@_id
@_building_option
def remove(kind: str, device_id: str, building: str | None) -> None:
    """Take device ID's login and ACL entries away, whether or not the site file still
    lists it; Mosquitto refuses it from its next reload."""
    if kind in ("sensor", "kiosk") and building is None:
        raise ConfigError(f"A {kind} belongs to one building: give --building.")
    passwords, acl = save(load_settings(), usernames_of(kind, device_id, building), None)
    click.echo(f"{kind} {device_id}: removed from {passwords} and {acl}")
    click.echo("Mosquitto rereads both files on SIGHUP (docker compose kill -s HUP mosquitto).")
