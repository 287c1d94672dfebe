"""The region catalogue: codes, children, and which chains are real."""

from __future__ import annotations

import pytest

from dashboard import regions


def test_catalogue_has_every_province_level_region_with_six_digit_codes():
    provinces = regions.provinces()
    assert len(provinces) == 34
    assert all(len(p.code) == 6 and p.code.endswith("0000") for p in provinces)
    assert regions.name("440000") == "广东省"
    assert regions.name("710000") == "台湾省"


def test_children_follow_the_parent():
    assert [c.name for c in regions.cities("440000")][:3] == ["广州市", "韶关市", "深圳市"]
    assert all(d.parent == "440300" for d in regions.districts("440000", "440300"))
    assert regions.cities("110000") == []  # municipalities have no city level
    assert regions.districts("110000")[0].name == "东城区"


@pytest.mark.parametrize(
    ("chain", "ok"),
    [
        (("440000", "440300", "440305"), True),
        (("110000", None, "110105"), True),
        (("500000", None, "500101"), True),
        (("440000", "441900", None), True),  # 东莞市: no districts
        (("410000", "419001", None), True),  # 济源市: province-level county
        (("810000", None, None), True),  # 香港
        (("440000", None, None), False),
        (("440000", "440300", None), False),
        (("440000", "440300", "440106"), False),  # a 广州 district under 深圳
        (("440000", "330100", "330102"), False),
        (("110000", "110100", "110105"), False),
        (("110000", None, None), False),
        ((None, None, None), False),
        (("000000", None, None), False),
    ],
)
def test_chain_rules(chain, ok):
    assert (regions.chain_error(*chain) is None) is ok


def test_every_leaf_chain_is_valid():
    chains = regions.leaf_chains()
    assert len(chains) > 2800
    assert all(regions.chain_error(*c) is None for c in chains)


def test_full_name_joins_the_levels_that_exist():
    assert regions.full_name("440000", "440300", "440305") == "广东省 深圳市 南山区"
    assert regions.full_name("110000", None, "110101") == "北京市 东城区"
