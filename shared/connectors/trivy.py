"""Trivy's JSON report (`trivy image|fs|repo|rootfs -f json`, schema version 2, and `trivy k8s -f json`).

Each `Results[].Vulnerabilities[]` entry becomes a finding on the scanned artifact: the asset is the
report's `ArtifactName` (an image reference, a path, a repository URL); in a Kubernetes report it is
`<ClusterName>/<Namespace>/<Kind>/<Name>` of each resource. The scan's instant is `CreatedAt` (written
since Trivy 0.48) unless `--at` says otherwise. Misconfigurations, secrets and licenses are not mapped.
"""

from __future__ import annotations

from typing import Any

from .common import ConnectorError, Mapped, Options, get, records, scan_instant, text, whole_document
from .scanners import Findings


def map_trivy(doc: Any, opts: Options) -> Mapped:
    """The report's vulnerabilities as `vulnerability.detected` events at the scan's instant."""
    return whole_document("vulnerability", lambda mapped: _map(doc, opts, mapped))


def _map(doc: Any, opts: Options, mapped: Mapped) -> None:
    if not isinstance(doc, dict):
        raise ConnectorError("a Trivy JSON report is an object (trivy ... -f json)")
    at = scan_instant(mapped, opts, doc.get("CreatedAt"), field_name="CreatedAt")
    findings = Findings("trivy", mapped, opts)
    if "Results" in doc:
        if not isinstance(doc["Results"], list | None):
            raise ConnectorError("`Results` is not an array")
        _results(findings, "Results", text(doc.get("ArtifactName")), doc.get("Results"))
    elif "Resources" in doc or "Vulnerabilities" in doc:
        _cluster(findings, doc)
    else:
        raise ConnectorError("not a Trivy JSON report: no `Results` (image, fs) or `Resources` (k8s)")
    findings.events(opts, at)


def _cluster(findings: Findings, doc: dict[str, Any]) -> None:
    """A `trivy k8s` report: `Resources` (0.49 on) or `Vulnerabilities` (earlier) list each resource."""
    field = "Resources" if "Resources" in doc else "Vulnerabilities"
    if not isinstance(doc[field], list | None):
        raise ConnectorError(f"`{field}` is not an array")
    cluster = text(doc.get("ClusterName")) or "cluster"
    for i, resource in enumerate(records(doc[field])):
        parts = [text(get(resource, k)) for k in ("Namespace", "Kind", "Name")]
        asset = "/".join([cluster, *(p or "-" for p in parts)]) if parts[2] else None
        _results(findings, f"{field}[{i}].Results", asset, get(resource, "Results"))


def _results(findings: Findings, where: str, asset: str | None, results: Any) -> None:
    for r, result in enumerate(records(results)):
        for v, vuln in enumerate(records(get(result, "Vulnerabilities"))):
            record = f"{where}[{r}].Vulnerabilities[{v}]"
            findings.add(record, asset, text(get(vuln, "VulnerabilityID")), get(vuln, "Severity"))
