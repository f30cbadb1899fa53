"""The peer corpus (tests/unit/contract/peers.py): each expectation's clean trace passes the
checker and its forbidden trace is flagged, by the invariant named for it."""

from __future__ import annotations

import re

import pytest

from tests.unit.contract.peers import PEERS, Peer

BY_NAME = {p.name: p for p in PEERS}


@pytest.mark.parametrize("name", list(BY_NAME))
def test_the_behaviour_the_peer_suites_show_is_clean(name: str) -> None:
    assert BY_NAME[name].clean().check() == []


@pytest.mark.parametrize("name", list(BY_NAME))
def test_its_forbidden_counterpart_is_flagged(name: str) -> None:
    peer = BY_NAME[name]
    found = {v.invariant for v in peer.forbidden().check()}
    assert found == {peer.flagged_by}


@pytest.mark.parametrize("peer", PEERS, ids=lambda p: p.name)
def test_every_expectation_cites_where_it_comes_from(peer: Peer) -> None:
    pinned = re.compile(r"^\S+ \S+@[0-9a-f]{12}:\d+(-\d+)?$")
    for source in peer.sources:
        assert pinned.match(source) or source.startswith("learn.microsoft.com/"), source
    assert peer.expectation and peer.carries_over
