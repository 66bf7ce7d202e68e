"""The CISA Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`, schema 1.0).

Each `vulnerabilities[]` entry gives `cveID`, `dateAdded` and `dueDate` (dates, `YYYY-MM-DD`); the
catalog is not events but state, versioned by the instant it is imported at (see
`kev_catalog`). Vendor, product, required action, ransomware use and notes are not mapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from .common import Refusal, get, records, text

_CVE: Final = re.compile(r"CVE-\d{4}-\d{4,}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalog entry: the CVE, when CISA added it and the date it must be remediated by."""

    cve_id: str
    date_added: date
    due_date: date


@dataclass
class Catalog:
    """The usable entries of a catalog document and the refused ones, each with a reason."""

    entries: list[Entry] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    version: str | None = None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def map_kev(doc: Any) -> Catalog:
    """The catalog's entries (one per CVE: a repeated CVE keeps its last entry); never raises."""
    catalog = Catalog(version=text(get(doc, "catalogVersion")))
    if not isinstance(get(doc, "vulnerabilities"), list):
        detail = "not a KEV catalog: no `vulnerabilities` array (known_exploited_vulnerabilities.json)"
        catalog.refused.append(Refusal("document", "invalid_envelope", detail))
        return catalog
    found: dict[str, Entry] = {}
    for i, raw in enumerate(records(get(doc, "vulnerabilities"))):
        cve, added, due = text(get(raw, "cveID")), _date(get(raw, "dateAdded")), _date(get(raw, "dueDate"))
        record = f"vulnerabilities[{i}]"
        if cve is None or not _CVE.fullmatch(cve):
            catalog.refused.append(
                Refusal(record, "invalid_data", f"cveID {str(cve)[:60]!r} is not a CVE id")
            )
        elif added is None or due is None:
            what = "dateAdded" if added is None else "dueDate"
            catalog.refused.append(
                Refusal(record, "invalid_data", f"{cve}: `{what}` is not a YYYY-MM-DD date")
            )
        else:
            found[cve] = Entry(cve, added, due)
    catalog.entries = sorted(found.values(), key=lambda e: e.cve_id)
    return catalog
