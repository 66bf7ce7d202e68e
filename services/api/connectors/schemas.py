"""What the connector routes answer, and the request examples their OpenAPI shows (one per tool)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, Field

from trustline.shared.events import RejectReason


class ConnectorAccepted(BaseModel):
    """Every event of the document was validated and acknowledged by the broker."""

    accepted: int = Field(description="events published (the closing events of a full scan included)")
    closed: int = Field(description="of which closing events: what a full scan no longer reports")
    topics: dict[str, int] = Field(description="events per topic")
    ignored: dict[str, int] = Field(description="records read but deliberately not mapped, by why")
    scan_at: datetime | None = Field(description="the instant the events carry (a scan's or export's time)")
    full_scan: str | None = Field(description="the scope of a full scan; null for a partial import")
    note: str | None = Field(description="what reconciliation did, or why it closed nothing")


class RecordError(BaseModel):
    """Why one record of a refused document was refused: where it is, a reason, a detail."""

    record: str = Field(
        description="where in the document (e.g. `Results[0].Vulnerabilities[3]`), or an event id"
    )
    reason: RejectReason
    detail: str


class CatalogStored(BaseModel):
    """The known-exploited catalog, stored as of `as_of` (nothing before that instant changed)."""

    as_of: datetime
    version: str | None = Field(description="the catalog's `catalogVersion`")
    added: int
    updated: int
    unchanged: int


_TRIVY: Final = {
    "SchemaVersion": 2,
    "CreatedAt": "2026-11-28T09:12:44.123456789Z",
    "ArtifactName": "registry.example.com/payments/api:1.4.2",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "registry.example.com/payments/api:1.4.2 (alpine 3.19.0)",
            "Class": "os-pkgs",
            "Type": "alpine",
            "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2023-5363", "PkgName": "openssl", "InstalledVersion": "3.1.3-r0",
                 "FixedVersion": "3.1.4-r0", "Severity": "CRITICAL"},
            ],
        }
    ],
}  # fmt: skip
_GRYPE: Final = {
    "matches": [
        {
            "vulnerability": {"id": "GHSA-j8r2-6x86-q33q", "severity": "Medium"},
            "relatedVulnerabilities": [{"id": "CVE-2023-32681"}],
            "artifact": {"name": "requests", "version": "2.28.0", "type": "python"},
        }
    ],
    "source": {"type": "image", "target": {"userInput": "registry.example.com/payments/api:1.4.2"}},
    "descriptor": {"name": "grype", "version": "0.74.0", "timestamp": "2026-11-28T09:12:44.123456789Z"},
}
_OKTA: Final = [
    {
        "id": "00ub0oNGTSWTBKOLGLNR",
        "status": "ACTIVE",
        "profile": {"login": "ada@example.com", "email": "ada@example.com", "department": "payments"},
        "groups": [{"id": "00g1", "profile": {"name": "Okta Admins"}}],
        "factors": [{"id": "fwf1", "factorType": "webauthn", "provider": "FIDO", "status": "ACTIVE"}],
    }
]
_ENTRA: Final = {
    "value": [
        {
            "id": "86462606-fde0-4fc4-9e0c-a20eb73e54c6",
            "userPrincipalName": "AdeleV@contoso.com",
            "isAdmin": True,
            "methodsRegistered": ["microsoftAuthenticatorPush", "fido2"],
        }
    ]
}
_PAGERDUTY: Final = {
    "event": {
        "id": "01DEN4HPBQAAAG05V5QQYBRZMF",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-28T09:12:44.000Z",
        "data": {
            "id": "PGR0VU2",
            "type": "incident",
            "title": "Checkout latency above SLO",
            "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
            "urgency": "high",
        },
    }
}
_KEV: Final = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2026.11.28",
    "dateReleased": "2026-11-28T15:00:12.5462Z",
    "count": 1,
    "vulnerabilities": [
        {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
         "dateAdded": "2021-12-10", "dueDate": "2021-12-24"},
    ],
}  # fmt: skip
EXAMPLES: Final = {
    "trivy": ("a Trivy image report (trivy image -f json)", _TRIVY),
    "grype": ("a Grype report (grype -o json)", _GRYPE),
    "okta": ("Okta users with their factors and groups", _OKTA),
    "entra": ("Entra ID userRegistrationDetails", _ENTRA),
    "pagerduty": ("a PagerDuty v3 webhook", _PAGERDUTY),
    "kev": ("the CISA KEV catalog", _KEV),
}


def request_body(tool: str) -> dict[str, Any]:
    """The OpenAPI request body of one connector route, with its tool's example."""
    summary, value = EXAMPLES[tool]
    schema = {"type": "array" if isinstance(value, list) else "object", "description": summary}
    return {
        "requestBody": {
            "required": True,
            "description": f"{summary}, as the tool writes it",
            # JSON lines (application/x-ndjson) are accepted too; the document shows the JSON form.
            "content": {
                "application/json": {
                    "schema": schema,
                    "examples": {tool: {"summary": summary, "value": value}},
                }
            },
        }
    }
