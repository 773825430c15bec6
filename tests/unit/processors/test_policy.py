"""The config topic's records as every worker applies them: the site's level, a building's
own level, a room's limit override and its tombstone; bad records are skipped."""

from __future__ import annotations

import pytest

from ingest.errors import ConfigError
from ingest.models import LimitOverride, PolicyChange
from ingest.settings import load_settings
from ingest.site import Site
from processors.policy import (
    PolicyFollower,
    limit_key,
    limit_override,
    policy_change,
    policy_key,
)
from tests.support.samples import T0

HQ, RO = "hq-jakarta", "ro-makassar"
ROOM = "f2-meeting-a"  # capacity 20: 10 at "transition", 4 at "strict" (meeting 0.2)


def level(name: str, building: str | None = None) -> tuple[bytes, bytes]:
    change = PolicyChange(level=name, by="op", ts=T0, building=building)
    return policy_key(building), change.model_dump_json().encode()


def limit(people: int, room: str = ROOM) -> tuple[bytes, bytes]:
    override = LimitOverride(building=HQ, room=room, limit=people, by="op", ts=T0)
    return limit_key(HQ, room), override.model_dump_json().encode()


def test_levels_and_overrides_apply_in_order_and_tombstones_clear_them(
    sample_site: Site,
) -> None:
    follower = PolicyFollower(load_settings(), sample_site)
    room = sample_site.room(HQ, ROOM)
    assert room is not None
    assert follower.limit(HQ, room) == 10
    assert follower.take(*level("strict", HQ))
    assert (follower.level_of(HQ), follower.level_of(RO)) == ("strict", "transition")
    assert follower.limit(HQ, room) == 4
    assert not follower.take(*level("strict", HQ))  # no change, no re-rating
    assert follower.take(*limit(7))
    assert follower.limit(HQ, room) == 7  # the override wins over any level
    assert follower.take(*level("normal"))
    assert follower.level_of(RO) == "normal" and follower.limit(HQ, room) == 7
    assert follower.take(limit_key(HQ, ROOM), None)
    assert follower.limit(HQ, room) == 4
    assert follower.take(policy_key(HQ), None)
    assert follower.limit(HQ, room) == 20  # the site's "normal"
    assert not follower.take(limit_key(HQ, ROOM), None)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"policy", b"not json"),
        (b"policy/hq-jakarta", b'{"level": "panic", "by": "x", "ts": "2026-11-27T08:00:00Z"}'),
        (b"limit/hq-jakarta/f2-meeting-a", b'{"limit": -1}'),
        (b"something-else", b"{}"),
        (None, b"{}"),
    ],
)
def test_bad_config_records_change_nothing(
    sample_site: Site, key: bytes | None, value: bytes
) -> None:
    follower = PolicyFollower(load_settings(), sample_site)
    assert not follower.take(key, value)
    assert (follower.level, follower.building_levels, follower.limits) == ("transition", {}, {})


def test_changes_are_checked_against_the_site_file(sample_site: Site) -> None:
    settings = load_settings()
    with pytest.raises(ConfigError, match="Policy level 'panic' is not in"):
        policy_change(settings, sample_site, "panic", "op", HQ)
    with pytest.raises(ConfigError, match="Building 'nowhere' is not in"):
        policy_change(settings, sample_site, "strict", "op", "nowhere")
    with pytest.raises(ConfigError, match="Room hq-jakarta/nope is not in"):
        limit_override(settings, sample_site, HQ, "nope", 3, by="op")
    with pytest.raises(ConfigError, match="0 to 100000 people"):
        limit_override(settings, sample_site, HQ, ROOM, -2, by="op")
    assert limit_override(settings, sample_site, HQ, ROOM, None, by="op") == (
        b"limit/hq-jakarta/f2-meeting-a",
        None,
    )
