"""The 2025 administrative units a request names (vietnam-provinces) and the fee for delivering there."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vietnam_provinces import Province, Ward

from models.delivery import (
    ProvinceOut,
    WardOut,
    WardRefOut,
)
from postal.config import Settings
from postal.errors import N_, NotFound, Phrase

EXEMPTION_NAMES = {  # the default exempt groups (postal.config.DEFAULT_FEE_EXEMPT), in words
    "nguoi_co_cong": N_("Người có công với cách mạng"),
    "ho_ngheo": N_("Hộ nghèo"),
    "ho_can_ngheo": N_("Hộ cận nghèo"),
    "nguoi_khuyet_tat": N_("Người khuyết tật"),
    "nguoi_cao_tuoi": N_("Người cao tuổi"),
}


@dataclass(frozen=True)
class WardInfo:
    """A commune, ward or special zone of 2025 and its province."""

    code: str  # 5 digits
    name: str
    province_code: str  # 2 digits
    province_name: str

    def out(self) -> WardOut:
        return WardOut(code=self.code, name=self.name, province=self.province_name)


def ward_of(code: str) -> WardInfo | None:
    """The 2025 unit with this code (leading zeros optional), or None."""
    code = code.strip()
    if not code.isdigit() or len(code) > 5:
        return None
    try:
        ward = Ward.from_code(int(code))
        province = Province.from_code(ward.province_code)
    except ValueError:
        return None
    return WardInfo(f"{int(ward.code):05d}", ward.name, f"{int(province.code):02d}", province.name)


@lru_cache(maxsize=1)
def provinces() -> list[ProvinceOut]:
    """The 34 provinces and centrally-run cities, by name."""
    return sorted((ProvinceOut(code=f"{int(p.code):02d}", name=p.name) for p in Province.iter_all()),
                  key=lambda p: p.name)


@lru_cache(maxsize=64)
def wards_of(province_code: str) -> list[WardRefOut]:
    """The communes, wards and special zones of one province, by name; 404 for an unknown province."""
    try:
        province = Province.from_code(int(province_code)) if province_code.isdigit() else None
    except ValueError:
        province = None
    if province is None:
        raise NotFound(what=Phrase(N_("tỉnh, thành phố")), code=province_code[:10])
    wards = Ward.iter_by_province(province.code)
    return sorted((WardRefOut(code=f"{int(w.code):05d}", name=w.name) for w in wards), key=lambda w: w.name)


# -- the fee -----------------------------------------------------------------------------------------------


def fee_for(ward: WardInfo, settings: Settings) -> int:
    """One way, đồng: within the installation's province, or from another one."""
    if ward.province_code == settings.province_code:
        return settings.delivery_fee_in_province_vnd
    return settings.delivery_fee_other_province_vnd


def exemption_name(reason: str) -> Phrase:
    return Phrase(EXEMPTION_NAMES.get(reason, reason))
