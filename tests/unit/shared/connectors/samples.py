"""Hand-written tool outputs, shaped as each tool's documentation and real reports show them.

Field names, nesting, casing and value formats follow: Trivy's JSON report (schema version 2, 0.50) and
its Kubernetes report; Grype's JSON document (0.74); Okta's Users, Factors, Groups and Roles APIs; Microsoft
Graph's userRegistrationDetails (v1.0); PagerDuty's v3 webhook payloads; CISA's KEV catalog (schema 1.0).
Only the fields a connector reads are filled in beyond what makes the shape recognisable.
"""

from __future__ import annotations

from typing import Any


def trivy_vuln(cve: str, severity: str, pkg: str = "openssl") -> dict[str, Any]:
    return {
        "VulnerabilityID": cve,
        "PkgID": f"{pkg}@3.1.4-r0",
        "PkgName": pkg,
        "InstalledVersion": "3.1.4-r0",
        "FixedVersion": "3.1.4-r1",
        "Status": "fixed",
        "Layer": {"DiffID": "sha256:d4fc045c9e3a848011de66f34b81f052d4f2c15a17bb196d637e526349601820"},
        "SeveritySource": "nvd",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
        "Title": "openssl: denial of service",
        "Severity": severity,
        "CweIDs": ["CWE-400"],
        "PublishedDate": "2024-01-09T17:15:12.147Z",
        "LastModifiedDate": "2024-01-19T16:15:10.87Z",
    }


def trivy_image(
    image: str = "registry.example.com/payments/api:1.4.2",
    vulns: list[dict[str, Any]] | None = None,
    created_at: str | None = "2026-03-02T10:15:30.123456789Z",
) -> dict[str, Any]:
    """`trivy image -f json registry.example.com/payments/api:1.4.2`."""
    report: dict[str, Any] = {
        "SchemaVersion": 2,
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": {"Family": "alpine", "Name": "3.19.0"},
            "ImageID": "sha256:f7b8f1a2b6a4b0c5",
            "RepoTags": [image],
        },
        "Results": [
            {
                "Target": f"{image} (alpine 3.19.0)",
                "Class": "os-pkgs",
                "Type": "alpine",
                "Vulnerabilities": vulns
                if vulns is not None
                else [
                    trivy_vuln("CVE-2024-0727", "MEDIUM"),
                    trivy_vuln("CVE-2024-0727", "HIGH", pkg="libcrypto3"),  # same CVE, second package
                    trivy_vuln("CVE-2023-5363", "CRITICAL"),
                    trivy_vuln("CVE-2023-6129", "UNKNOWN"),
                ],
            },
            {
                "Target": "app/package-lock.json",
                "Class": "lang-pkgs",
                "Type": "npm",
                "Vulnerabilities": [trivy_vuln("CVE-2024-21538", "LOW", pkg="cross-spawn")],
            },
            # A result with nothing found has no Vulnerabilities key at all.
            {"Target": "app/requirements.txt", "Class": "lang-pkgs", "Type": "pip"},
            {
                "Target": "Dockerfile",
                "Class": "config",
                "Type": "dockerfile",
                "Misconfigurations": [{"ID": "DS002", "Severity": "HIGH", "Status": "FAIL"}],
            },
        ],
    }
    if created_at is not None:
        report["CreatedAt"] = created_at
    return report


def trivy_k8s() -> dict[str, Any]:
    """`trivy k8s --report all -f json` (0.49 and later: `Resources`)."""
    return {
        "ClusterName": "prod-eu",
        "Resources": [
            {
                "Namespace": "payments",
                "Kind": "Deployment",
                "Name": "api",
                "Results": [
                    {"Target": "api:1.4.2 (alpine 3.19.0)", "Class": "os-pkgs", "Type": "alpine",
                     "Vulnerabilities": [trivy_vuln("CVE-2024-0727", "HIGH")]},
                ],
            },
            {"Namespace": "kube-system", "Kind": "DaemonSet", "Name": "kube-proxy", "Results": []},
        ],
    }  # fmt: skip


def grype_match(vid: str, severity: str, related: list[str] | None = None) -> dict[str, Any]:
    return {
        "vulnerability": {
            "id": vid,
            "dataSource": f"https://github.com/advisories/{vid}",
            "namespace": "github:language:python",
            "severity": severity,
            "urls": [],
            "cvss": [],
            "fix": {"versions": ["2.31.0"], "state": "fixed"},
            "advisories": [],
        },
        "relatedVulnerabilities": [
            {"id": r, "dataSource": f"https://nvd.nist.gov/vuln/detail/{r}", "namespace": "nvd:cpe"}
            for r in (related or [])
        ],
        "matchDetails": [{"type": "exact-direct-match", "matcher": "python-matcher"}],
        "artifact": {"id": "a1b2", "name": "requests", "version": "2.28.0", "type": "python",
                     "locations": [{"path": "/usr/lib/python3/site-packages"}], "language": "python",
                     "purl": "pkg:pypi/requests@2.28.0"},
    }  # fmt: skip


def grype_image() -> dict[str, Any]:
    """`grype registry.example.com/payments/api:1.4.2 -o json`."""
    return {
        "matches": [
            grype_match("GHSA-j8r2-6x86-q33q", "Medium", related=["CVE-2023-32681"]),
            grype_match("CVE-2023-5363", "Critical"),
            grype_match("CVE-2023-5363", "High"),  # second package, same CVE
            grype_match("CVE-2019-1010022", "Negligible"),
        ],
        "source": {
            "type": "image",
            "target": {
                "userInput": "registry.example.com/payments/api:1.4.2",
                "imageID": "sha256:f7b8f1a2b6a4b0c5",
                "manifestDigest": "sha256:0c5a",
                "tags": ["registry.example.com/payments/api:1.4.2"],
                "imageSize": 7792560,
                "layers": [],
            },
        },
        "distro": {"name": "alpine", "version": "3.19.0", "idLike": []},
        "descriptor": {
            "name": "grype",
            "version": "0.74.0",
            "timestamp": "2026-03-02T10:15:31.987654321+01:00",
            "db": {"built": "2024-01-19T01:29:41Z", "schemaVersion": 5},
        },
    }


def grype_directory() -> dict[str, Any]:
    """`grype dir:/srv/app -o json`: the target is the path itself."""
    doc = grype_image()
    doc["source"] = {"type": "directory", "target": "/srv/app"}
    return doc


def okta_factor(fid: str, factor_type: str, status: str = "ACTIVE", provider: str = "OKTA") -> dict[str, Any]:
    return {
        "id": fid,
        "factorType": factor_type,
        "provider": provider,
        "vendorName": provider,
        "status": status,
        "created": "2025-11-02T12:00:00.000Z",
        "lastUpdated": "2025-11-02T12:00:00.000Z",
        "profile": {},
        "_links": {"self": {"href": f"https://acme.okta.com/api/v1/users/00u1/factors/{fid}"}},
    }


def okta_user(
    login: str,
    *,
    status: str = "ACTIVE",
    department: str | None = "payments",
    factors: list[dict[str, Any]] | None = None,
    groups: list[str] = (),  # type: ignore[assignment]
    roles: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    profile: dict[str, Any] = {"firstName": "Ada", "lastName": "Lovelace", "email": login, "login": login}
    if department is not None:
        profile["department"] = department
    return {
        "id": "00u" + login.split("@")[0],
        "status": status,
        "created": "2025-01-10T09:00:00.000Z",
        "activated": "2025-01-10T09:05:00.000Z",
        "statusChanged": "2025-01-10T09:05:00.000Z",
        "lastLogin": "2026-03-01T08:00:00.000Z",
        "lastUpdated": "2026-02-01T10:00:00.000Z",
        "passwordChanged": "2025-01-10T09:05:00.000Z",
        "type": {"id": "oty1"},
        "profile": profile,
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "factors": factors or [],
        "groups": [{"id": f"00g{g}", "type": "OKTA_GROUP", "profile": {"name": g, "description": ""}}
                   for g in groups],
        "roles": [{"id": f"ra{r}", "label": r.replace("_", " ").title(), "type": r, "status": "ACTIVE",
                   "assignmentType": "USER"} for r in roles],
        "_links": {},
    }  # fmt: skip


def okta_export() -> list[dict[str, Any]]:
    return [
        okta_user(
            "ada@acme.example",
            factors=[
                okta_factor("fwf1", "webauthn", provider="FIDO"),
                okta_factor("mbl2", "sms"),
                okta_factor("uft3", "token:software:totp", provider="GOOGLE"),
                okta_factor("opf4", "push", status="PENDING_ACTIVATION"),
            ],
            groups=["Everyone", "Okta Admins"],
        ),
        okta_user("bob@acme.example", department=None, factors=[okta_factor("u2f5", "u2f")],
                  roles=["SUPER_ADMIN"]),
        okta_user("carol@acme.example", factors=[okta_factor("clf6", "call"), okta_factor("emf7", "email"),
                                                 okta_factor("qst8", "question")]),
        okta_user("dave@acme.example", status="DEPROVISIONED", factors=[okta_factor("sms9", "sms")]),
    ]  # fmt: skip


def entra_user(upn: str, methods: list[str], *, is_admin: bool = False) -> dict[str, Any]:
    return {
        "id": "86462606-fde0-4fc4-9e0c-" + format(abs(hash(upn)) % 10**12, "012d"),
        "userPrincipalName": upn,
        "userDisplayName": upn.split("@")[0].title(),
        "userType": "member",
        "isAdmin": is_admin,
        "isSsprRegistered": False,
        "isSsprEnabled": False,
        "isSsprCapable": False,
        "isMfaRegistered": bool(methods),
        "isMfaCapable": bool(methods),
        "isPasswordlessCapable": "fido2" in methods,
        "methodsRegistered": methods,
        "isSystemPreferredAuthenticationMethodEnabled": True,
        "systemPreferredAuthenticationMethods": methods[:1],
        "userPreferredMethodForSecondaryAuthentication": "push",
        "lastUpdatedDateTime": "2026-03-01T10:00:00Z",
    }


def entra_export() -> dict[str, Any]:
    """One page of `GET /reports/authenticationMethods/userRegistrationDetails`."""
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/"
        "userRegistrationDetails",
        "value": [
            entra_user("AdeleV@contoso.com", ["microsoftAuthenticatorPush", "fido2"], is_admin=True),
            entra_user("AlexW@contoso.com", ["mobilePhone", "softwareOneTimePasscode", "email"]),
            entra_user("DiegoS@contoso.com", []),
            entra_user("GradyA@contoso.com", ["windowsHelloForBusiness", "someMethodGraphAddsLater"]),
        ],
    }


def pagerduty_webhook(
    event_type: str,
    occurred_at: str,
    *,
    event_id: str,
    incident: str = "Q2K4X5Z6Y7W8V9",
    priority: str | None = "P1",
    urgency: str = "high",
) -> dict[str, Any]:
    """A v3 webhook body as PagerDuty POSTs it."""
    data: dict[str, Any] = {
        "id": incident,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident}",
        "number": 2,
        "status": {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}.get(
            event_type, "triggered"
        ),
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "created_at": "2026-03-02T10:00:00Z",
        "title": "Checkout latency above SLO",
        "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                    "self": "https://api.pagerduty.com/services/PF9KMXH", "summary": "checkout",
                    "type": "service_reference"},
        "assignees": [{"html_url": "https://acme.pagerduty.com/users/PTUXL6G", "id": "PTUXL6G",
                       "self": "https://api.pagerduty.com/users/PTUXL6G", "summary": "Ada Lovelace",
                       "type": "user_reference"}],
        "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
        "teams": [],
        "priority": None,
        "urgency": urgency,
        "conference_bridge": None,
        "resolve_reason": None,
    }  # fmt: skip
    if priority is not None:
        data["priority"] = {
            "html_url": "https://acme.pagerduty.com/account/incident_priorities",
            "id": "PSO75BM",
            "self": "https://api.pagerduty.com/priorities/PSO75BM",
            "summary": priority,
            "type": "priority_reference",
        }
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                      "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Ada Lovelace",
                      "type": "user_reference"},
            "client": None,
            "data": data,
        }
    }  # fmt: skip


def kev_catalog(entries: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    """known_exploited_vulnerabilities.json."""
    rows = entries or [
        ("CVE-2021-44228", "2021-12-10", "2021-12-24"),
        ("CVE-2023-5363", "2026-02-20", "2026-03-12"),
    ]
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2026.03.01",
        "dateReleased": "2026-03-01T15:00:12.5462Z",
        "count": len(rows),
        "vulnerabilities": [
            {
                "cveID": cve,
                "vendorProject": "Apache",
                "product": "Log4j2",
                "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
                "dateAdded": added,
                "shortDescription": "...",
                "requiredAction": "Apply updates per vendor instructions.",
                "dueDate": due,
                "knownRansomwareCampaignUse": "Known",
                "notes": "https://nvd.nist.gov/vuln/detail/" + cve,
                "cwes": ["CWE-917"],
            }
            for cve, added, due in rows
        ],
    }
