"""The section's k-of-n opening key: any k shares rebuild it; fewer, wrong, duplicated or
foreign shares fail loudly against the registered public key."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.bids.conftest import SUMMARY, make_envelope
from tradesys.bids.envelope import ROLE_BIDDER, parse_header
from tradesys.bids.errors import EnvelopeError, ShareError
from tradesys.bids.keys import CURVE_ORDER, generate_private_key, public_key_bytes
from tradesys.bids.open import combine, open_summary, unwrap_share
from tradesys.bids.shamir import (
    HolderShare,
    interpolate_at_zero,
    open_opening_shares,
    recover_opening_key,
    split_opening_key,
    split_secret,
    unwrap_holder_share,
)

SECTION = "E3501000001001001"


@pytest.fixture(scope="module")
def holders():
    return [generate_private_key() for _ in range(3)]


@pytest.fixture(scope="module")
def split(holders):
    return split_opening_key(SECTION, [public_key_bytes(k) for k in holders])


def released(split, holders) -> list[HolderShare]:
    _, wrapped = split
    return [unwrap_holder_share(w, k) for w, k in zip(wrapped, holders, strict=True)]


def test_any_two_of_three_rebuild_the_opening_key(split, holders) -> None:
    opening_pub, _ = split
    shares = released(split, holders)
    for pair in itertools.combinations(shares, 2):
        assert public_key_bytes(recover_opening_key(pair, opening_pub)) == opening_pub
    assert public_key_bytes(recover_opening_key(shares, opening_pub)) == opening_pub


def test_fewer_than_k_shares_fail_loudly(split, holders) -> None:
    opening_pub, _ = split
    shares = released(split, holders)
    for given_ in ([], shares[:1]):
        with pytest.raises(ShareError) as caught:
            recover_opening_key(given_, opening_pub)
        assert caught.value.code == "too_few_shares"


def test_a_share_with_a_forged_threshold_of_one_is_caught(split, holders) -> None:
    """Lying about k to get a one-share 'combination' gives a wrong key, which is checked."""
    opening_pub, _ = split
    forged = dataclasses.replace(released(split, holders)[0], threshold=1)
    with pytest.raises(ShareError):
        recover_opening_key([forged], opening_pub)


def test_a_wrong_share_fails_and_is_named_when_it_can_be(split, holders) -> None:
    opening_pub, _ = split
    shares = released(split, holders)
    bad = dataclasses.replace(shares[1], value=(shares[1].value + 1) % CURVE_ORDER)
    with pytest.raises(ShareError) as caught:
        recover_opening_key([shares[0], bad], opening_pub)
    assert caught.value.code == "wrong_share"
    with pytest.raises(ShareError) as caught:
        recover_opening_key([shares[0], bad, shares[2]], opening_pub)
    assert caught.value.code == "wrong_share"
    assert caught.value.details == {"suspect_indices": [2]}


def test_duplicate_and_foreign_shares(split, holders) -> None:
    opening_pub, _ = split
    shares = released(split, holders)
    with pytest.raises(ShareError) as caught:
        recover_opening_key([shares[0], shares[0]], opening_pub)
    assert caught.value.code == "duplicate_share"
    _, other_wrapped = split_opening_key("OTHER-SECTION", [public_key_bytes(k)
                                                          for k in holders])
    foreign = unwrap_holder_share(other_wrapped[1], holders[1])
    with pytest.raises(ShareError) as caught:
        recover_opening_key([shares[0], foreign], opening_pub)
    assert caught.value.code == "inconsistent_shares"
    with pytest.raises(ShareError) as caught:
        recover_opening_key(shares, opening_pub, section_code="OTHER-SECTION")
    assert caught.value.code == "inconsistent_shares"


def test_a_wrapped_share_opens_only_for_its_holder(split, holders) -> None:
    _, wrapped = split
    with pytest.raises(ShareError) as caught:
        unwrap_holder_share(wrapped[0], holders[1])
    assert caught.value.code == "wrong_key"
    moved = {**wrapped[0], "index": 2}  # claim another index: the wrap context differs
    with pytest.raises(EnvelopeError) as caught:
        unwrap_holder_share(moved, holders[0])
    assert caught.value.code == "unwrap_failed"


def test_released_share_json_round_trip(split, holders) -> None:
    share = released(split, holders)[0]
    assert HolderShare.from_json(share.to_json()) == share
    assert str(share.value) not in repr(share)


def test_opening_with_threshold_shares_end_to_end(split, holders) -> None:
    """Two key holders + the bidder open a bid sealed to the section's opening key."""
    from tests.bids.conftest import Parties

    opening_pub, _ = split
    bidder = generate_private_key()
    parties = Parties(bidder=bidder, opening=generate_private_key())  # another opening key
    from io import BytesIO

    from tradesys.bids.seal import seal

    out = BytesIO()
    seal(BytesIO(b"bid"), 3, out, section_code=SECTION, bidder_code="B",
         bidder_public_key=public_key_bytes(bidder), opening_public_key=opening_pub,
         summary=SUMMARY, chunk_size=4096)
    header = parse_header(out.getvalue())
    [opening_share] = open_opening_shares([header], released(split, holders)[1:], opening_pub)
    key = combine(header, unwrap_share(header, ROLE_BIDDER, parties.bidder), opening_share)
    assert open_summary(header, key) == SUMMARY
    other = parse_header(make_envelope(parties, b"x"))  # sealed to another opening key
    with pytest.raises(ShareError) as caught:
        open_opening_shares([other], released(split, holders)[:2], opening_pub)
    assert caught.value.code == "wrong_key"


@settings(max_examples=40, deadline=None)
@given(secret=st.integers(1, CURVE_ORDER - 1), k=st.integers(2, 6), extra=st.integers(0, 4),
       data=st.data())
def test_shamir_any_k_points_interpolate_the_secret(secret: int, k: int, extra: int,
                                                    data: st.DataObject) -> None:
    points = split_secret(secret, k, k + extra)
    chosen = data.draw(st.permutations(points)).__getitem__(slice(0, k))
    assert interpolate_at_zero(chosen) == secret
    if k > 2:
        assert interpolate_at_zero(chosen[: k - 1]) != secret or secret == 0


@pytest.mark.parametrize(("k", "n"), [(1, 3), (4, 3), (2, 256)])
def test_bad_threshold_parameters(k: int, n: int) -> None:
    with pytest.raises(ShareError) as caught:
        split_secret(5, k, n)
    assert caught.value.code == "bad_threshold"
