"""The price catalog: a dated data file shipped with the package (catalog.json), with the state's
`prices:` laid over it. Prices are Decimal, read from strings so no float ever touches them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from reconciler.errors import ReconcileError
from reconciler.model.spec import Prices

Market = Literal["spot", "on-demand"]
MARKETS: tuple[Market, ...] = ("on-demand", "spot")
STORAGE_CLASSES = ("standard", "standard_ia", "onezone_ia", "intelligent_tiering", "glacier_ir", "glacier", "deep_archive")
CATALOG_FILE = "catalog.json"


@dataclass(frozen=True)
class Catalog:
    date: str
    source: str
    ec2: dict[str, dict[str, dict[str, Decimal]]] = field(default_factory=dict)  # region → type → market → USD/h
    s3: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # region → storage class → USD per GB-month
    overridden: bool = False

    def hourly(self, region: str, instance_type: str, market: str) -> Decimal | None:
        return self.ec2.get(region, {}).get(instance_type, {}).get(market)

    def gb_month(self, region: str, storage_class: str) -> Decimal | None:
        return self.s3.get(region, {}).get(storage_class)

    def provenance(self) -> str:
        """The date and source, as a cost doc states them."""
        overrides = "; with the overrides under `prices:` in the desired state" if self.overridden else ""
        return f"prices as of {self.date}: {self.source.rstrip('.')}{overrides}."

    def with_overrides(self, prices: Prices) -> Catalog:
        """The state's `prices:` over the catalog, price by price."""
        ec2 = {region: {kind: dict(markets) for kind, markets in types.items()} for region, types in self.ec2.items()}
        s3 = {region: dict(classes) for region, classes in self.s3.items()}
        overridden = False
        for region, types in prices.ec2.items():
            for instance_type, price in types.items():
                for market, value in (("on-demand", price.on_demand), ("spot", price.spot)):
                    if value is not None:
                        ec2.setdefault(region, {}).setdefault(instance_type, {})[market] = value
                        overridden = True
        for region, s3_price in prices.s3.items():
            for storage_class in STORAGE_CLASSES:
                value = getattr(s3_price, f"{storage_class}_gb_month")
                if value is not None:
                    s3.setdefault(region, {})[storage_class] = value
                    overridden = True
        return Catalog(self.date, self.source, ec2, s3, self.overridden or overridden)

    def to_json(self) -> str:
        document = {
            "date": self.date,
            "source": self.source,
            "ec2": {r: {t: {m: str(p) for m, p in ms.items()} for t, ms in ts.items()} for r, ts in self.ec2.items()},
            "s3": {r: {c: str(p) for c, p in cs.items()} for r, cs in self.s3.items()},
        }
        return json.dumps(document, indent=1, sort_keys=True) + "\n"


def parse_catalog(text: str, where: str) -> Catalog:
    try:
        document: dict[str, Any] = json.loads(text)
        return Catalog(
            date=str(document["date"]),
            source=str(document["source"]),
            ec2={
                region: {kind: _prices(markets) for kind, markets in types.items()} for region, types in document["ec2"].items()
            },
            s3={region: _prices(classes) for region, classes in document["s3"].items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as error:
        raise ReconcileError(f"{where}: not a price catalog ({type(error).__name__}: {error})") from None


def _prices(by_name: dict[str, Any]) -> dict[str, Decimal]:
    return {name: Decimal(str(price)) for name, price in by_name.items()}


def shipped_catalog_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(CATALOG_FILE)))


def shipped_catalog() -> Catalog:
    """The catalog that ships with the package."""
    return parse_catalog(resources.files(__package__).joinpath(CATALOG_FILE).read_text(encoding="utf-8"), CATALOG_FILE)


def catalog_for(prices: Prices) -> Catalog:
    return shipped_catalog().with_overrides(prices)
