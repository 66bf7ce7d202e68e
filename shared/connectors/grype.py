"""Grype's JSON report (`grype <target> -o json`, the document of Grype 0.6x-0.8x).

Each `matches[]` entry becomes a finding on the scanned target: the asset is `source.target.userInput`
for an image (else its first tag), or `source.target` for a directory or file. The vulnerability is
`vulnerability.id`, or the CVE among `relatedVulnerabilities` when the id is a GitHub or distribution
advisory (so the known-exploited catalog, keyed by CVE, matches). The scan's instant is
`descriptor.timestamp` unless `--at` says otherwise. Fix states, CVSS and package details are not mapped.
"""

from __future__ import annotations

from typing import Any

from .common import ConnectorError, Mapped, Options, get, records, scan_instant, text, whole_document
from .scanners import Findings


def map_grype(doc: Any, opts: Options) -> Mapped:
    """The report's matches as `vulnerability.detected` events at the scan's instant."""
    return whole_document("vulnerability", lambda mapped: _map(doc, opts, mapped))


def _map(doc: Any, opts: Options, mapped: Mapped) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("matches"), list | None) or "matches" not in doc:
        raise ConnectorError("not a Grype JSON report: no `matches` array (grype ... -o json)")
    at = scan_instant(mapped, opts, get(doc, "descriptor", "timestamp"), field_name="descriptor.timestamp")
    asset = _target(doc.get("source"))
    findings = Findings("grype", mapped, opts)
    for i, match in enumerate(records(doc["matches"])):
        vuln = get(match, "vulnerability")
        findings.add(f"matches[{i}]", asset, _cve(match, text(get(vuln, "id"))), get(vuln, "severity"))
    findings.events(opts, at)


def _target(source: Any) -> str | None:
    target = get(source, "target")
    if isinstance(target, str):
        return text(target)
    return text(get(target, "userInput")) or text(get(target, "tags", 0))


def _cve(match: Any, vid: str | None) -> str | None:
    if vid is None or vid.upper().startswith("CVE-"):
        return vid
    related = [text(get(r, "id")) for r in records(get(match, "relatedVulnerabilities"))]
    cves = sorted(r for r in related if r is not None and r.upper().startswith("CVE-"))
    return cves[0] if cves else vid
