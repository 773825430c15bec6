"""The board's accounts: a users file of names, roles and argon2 hashes (`occupancy users`),
and the login checks that slow and lock out guessing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ingest.clock import Clock
from ingest.errors import ConfigError

BoardRole = Literal["viewer", "security", "operator", "admin"]
ROLES: tuple[BoardRole, ...] = get_args(BoardRole)
"""Each role may do what the ones before it may."""

NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 12

_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a miss costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password of anyone")


def may(role: str, needed: BoardRole) -> bool:
    """Whether `role` may do what `needed` may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Account:
    name: str
    role: BoardRole
    hash: str


class LockedError(Exception):
    """Too many failed logins in a row: refused until `until`, whatever the password."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(
            f"{name!r} is not an account name: 1 to 64 characters of A-Z a-z 0-9 _ . @ -."
        )
    return name


def check_role(role: str) -> BoardRole:
    if role not in ROLES:
        raise ConfigError(f"{role!r} is not a board role (roles: {', '.join(ROLES)}).")
    return role


def read_users(path: Path) -> dict[str, Account]:
    """The accounts of a users file (none when it does not exist yet)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot be read as a users file ({exc}).") from None
    users = raw.get("users") if isinstance(raw, dict) else None
    if not isinstance(users, dict):
        raise ConfigError(f'{path}: a users file is a JSON object {{"users": {{name: ...}}}}.')
    accounts = {}
    for name, entry in users.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            raise ConfigError(f"{path}: user {name!r} has no password hash.")
        try:
            role = check_role(str(entry.get("role")))
            check_name(name)
        except ConfigError as exc:
            raise ConfigError(f"{path}: user {name!r}: {exc}") from None
        accounts[name] = Account(name, role, entry["hash"])
    return accounts


def write_users(path: Path, accounts: dict[str, Account]) -> None:
    """Replace the users file at once (readable by its owner only)."""
    body = {
        "users": {
            a.name: {"role": a.role, "hash": a.hash}
            for a in sorted(accounts.values(), key=lambda a: a.name)
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2)
        out.write("\n")
    temporary.replace(path)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"A board password has at least {MIN_PASSWORD} characters.")
    return _HASHER.hash(password)


class Accounts:
    """The users file as the board reads it (again whenever it changes), and the failed
    logins per account (kept by this process: each worker counts its own)."""

    def __init__(
        self,
        path: Path | None,
        clock: Clock,
        *,
        max_failures: int = 10,
        lockout: timedelta = timedelta(minutes=15),
    ) -> None:
        self._path = path
        self._clock = clock
        self._max_failures = max_failures
        self._lockout = lockout
        self._stamp: tuple[int, int] | None = None
        self._accounts: dict[str, Account] = {}
        # (name, hash): a new password starts the count afresh and lifts a lock.
        self._failures: dict[tuple[str, str], int] = {}
        self._locked: dict[tuple[str, str], datetime] = {}

    def get(self, name: str) -> Account | None:
        if self._path is None:
            return None
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp != self._stamp:
            self._accounts = read_users(self._path)
            self._stamp = stamp
        return self._accounts.get(name)

    async def verify(self, name: str, password: str) -> Account | None:
        """The account when `password` is its own; raises Locked while it is locked out."""
        account = self.get(name)
        if account is None:
            await asyncio.to_thread(_matches, _DUMMY, password)
            return None
        key = (account.name, account.hash)
        until = self._locked.get(key)
        if until is not None:
            if self._clock.now() < until:
                raise LockedError(until)
            del self._locked[key]
            self._failures.pop(key, None)
        # argon2 takes tens of milliseconds of CPU: not on the event loop.
        if await asyncio.to_thread(_matches, account.hash, password):
            self._failures.pop(key, None)
            return account
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        if failures >= self._max_failures:
            self._locked[key] = until = self._clock.now() + self._lockout
            raise LockedError(until)
        return None


def _matches(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
