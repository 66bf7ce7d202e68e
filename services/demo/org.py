"""The synthetic organisation behind `trustline demo`: business units, assets, people and cloud estate."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import get_args

from trustline.shared.events.schemas import AssetKind, CheckStatus

# Unequal sizes so that per-unit metrics differ visibly; the first six are the default units.
_UNITS = (
    ("corporate-it", 1.6), ("retail", 1.5), ("platform", 1.3), ("payments", 1.2), ("logistics", 0.9),
    ("data", 0.8), ("marketing", 0.6), ("finance", 0.5), ("research", 0.5), ("security", 0.4),
    ("hr", 0.3), ("legal", 0.2),
)  # fmt: skip
_ADMIN_HEAVY_UNITS = frozenset({"corporate-it", "platform", "security"})
_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
_CHECK_STATUSES: tuple[CheckStatus, ...] = get_args(CheckStatus)
_KIND_WEIGHTS = (0.42, 0.14, 0.34, 0.07, 0.03)
_OS_BY_KIND: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "endpoint": (("windows", "macos", "linux", "ios", "android"), (0.68, 0.24, 0.03, 0.03, 0.02)),
    "server": (("linux", "windows"), (0.7, 0.3)),
    "cloud_instance": (("linux", "windows"), (0.88, 0.12)),
    "network": (("other",), (1.0,)),
    "other": (("linux", "other"), (0.4, 0.6)),
}
_HOST_CODES = {"endpoint": "lt", "server": "srv", "cloud_instance": "vm", "network": "sw", "other": "dev"}
_MOBILE = frozenset({"ios", "android"})
_FIRST = ("alex", "sam", "maria", "li", "omar", "julia", "noah", "emma", "ivan", "aisha", "lucas", "mei",
          "david", "sara", "tom", "nina", "raj", "elena", "ben", "fatima")  # fmt: skip
_LAST = ("smith", "garcia", "chen", "muller", "okafor", "rossi", "kim", "novak", "silva", "haddad",
         "nguyen", "jansen", "kowalski", "tanaka", "dubois", "ali", "berg", "costa", "singh")  # fmt: skip
# Strong factors for admins, a realistic long tail for everybody else.
_ADMIN_FACTORS = (("webauthn", "fido2", "piv", "push", "totp"), (0.5, 0.2, 0.12, 0.1, 0.08))
_USER_FACTORS = (("push", "webauthn", "fido2", "totp", "sms", "voice", "email"),
                 (0.38, 0.22, 0.06, 0.18, 0.12, 0.02, 0.02))  # fmt: skip
# (control_id, severity, provider, resource_type, framework): Prowler-style check ids.
_CONTROLS = (
    ("s3_bucket_level_public_access_block", "high", "aws", "bucket", "cis-aws-3.0"),
    ("s3_bucket_default_encryption", "medium", "aws", "bucket", "cis-aws-3.0"),
    ("s3_bucket_server_access_logging_enabled", "low", "aws", "bucket", "cis-aws-3.0"),
    ("ec2_instance_imdsv2_enabled", "high", "aws", "instance", "cis-aws-3.0"),
    (
        "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
        "critical",
        "aws",
        "instance",
        "cis-aws-3.0",
    ),
    ("ec2_instance_detailed_monitoring_enabled", "info", "aws", "instance", "aws-foundational"),
    ("rds_instance_no_public_access", "critical", "aws", "db", "cis-aws-3.0"),
    ("rds_instance_storage_encrypted", "medium", "aws", "db", "cis-aws-3.0"),
    ("rds_instance_backup_enabled", "low", "aws", "db", "aws-foundational"),
    ("storage_blob_public_access_level_is_disabled", "high", "azure", "storage", "cis-azure-2.1"),
    ("storage_secure_transfer_required_is_enabled", "medium", "azure", "storage", "cis-azure-2.1"),
    ("vm_ensure_using_managed_disks", "low", "azure", "vm", "cis-azure-2.1"),
    ("vm_ensure_endpoint_protection", "high", "azure", "vm", "cis-azure-2.1"),
    ("sqlserver_tde_encryption_enabled", "medium", "azure", "sql", "cis-azure-2.1"),
    ("sqlserver_auditing_enabled", "low", "azure", "sql", "cis-azure-2.1"),
    ("cloudstorage_bucket_public_access", "critical", "gcp", "bucket", "cis-gcp-2.0"),
    ("cloudstorage_bucket_uniform_bucket_level_access", "medium", "gcp", "bucket", "cis-gcp-2.0"),
    ("compute_instance_public_ip", "medium", "gcp", "instance", "cis-gcp-2.0"),
    ("compute_instance_shielded_vm_enabled", "low", "gcp", "instance", "cis-gcp-2.0"),
    ("cloudsql_instance_public_ip", "high", "gcp", "sql", "cis-gcp-2.0"),
    ("apiserver_anonymous_requests", "critical", "kubernetes", "cluster", "cis-kubernetes-1.8"),
    ("rbac_minimize_wildcard_use_roles", "high", "kubernetes", "cluster", "cis-kubernetes-1.8"),
    ("core_minimize_privileged_containers", "high", "kubernetes", "workload", "cis-kubernetes-1.8"),
    ("core_minimize_root_containers_admission", "medium", "kubernetes", "workload", "cis-kubernetes-1.8"),
)
_RESOURCE_TEMPLATES = {
    ("aws", "bucket"): "arn:aws:s3:::{bu}-{word}-{hex}",
    ("aws", "instance"): "arn:aws:ec2:{region}:{account}:instance/i-0{hex}",
    ("aws", "db"): "arn:aws:rds:{region}:{account}:db:{bu}-{word}-{n}",
    ("azure", "storage"): "/subscriptions/{account}/resourceGroups/rg-{bu}/providers/"
                          "Microsoft.Storage/storageAccounts/st{word}{hex}",
    ("azure", "vm"): "/subscriptions/{account}/resourceGroups/rg-{bu}/providers/"
                     "Microsoft.Compute/virtualMachines/vm-{bu}-{n}",
    ("azure", "sql"): "/subscriptions/{account}/resourceGroups/rg-{bu}/providers/"
                      "Microsoft.Sql/servers/sql-{bu}-{n}",
    ("gcp", "bucket"): "//storage.googleapis.com/projects/{account}/buckets/{bu}-{word}-{hex}",
    ("gcp", "instance"): "//compute.googleapis.com/projects/{account}/zones/{region}-b/instances/{bu}-vm-{n}",
    ("gcp", "sql"): "//sqladmin.googleapis.com/projects/{account}/instances/{bu}-sql-{n}",
    ("kubernetes", "cluster"): "k8s://{account}",
    ("kubernetes", "workload"): "k8s://{account}/namespaces/{bu}/deployments/{word}-{n}",
}  # fmt: skip
_WORDS = ("logs", "api", "ledger", "orders", "events", "reports", "backup", "assets", "ml", "web")
_PROVIDERS = (("aws", "azure", "gcp", "kubernetes"), (0.5, 0.2, 0.12, 0.18))


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What happens to an entity over a simulated window, as fractions of it, so every stream agrees."""

    gone: float | None = None  # stops reporting: retired, lost, left, deleted
    retired: bool = False  # gone with a retirement or deactivation event rather than silently
    begins: float = 0.0  # the EDR sensor rolled out, or the person joined, this far in
    mfa_from: float = 0.0  # MFA enrolled only this far in, as in a rollout campaign
    uninstalled: tuple[float, float | None] | None = None  # EDR removed: (when, days until reinstalled)
    sick: tuple[float, float] | None = None  # EDR sensor unhealthy: (when, for how many days)


@dataclass(frozen=True, slots=True)
class Asset:
    """A device or instance in the inventory; `edr_vendor` is None when no sensor was ever deployed."""

    asset_id: str
    hostname: str
    kind: str
    os_family: str
    business_unit: str
    environment: str
    edr_required: bool
    edr_vendor: str | None
    sensor_id: str | None
    lifecycle: Lifecycle = Lifecycle()


@dataclass(frozen=True, slots=True)
class Identity:
    """A person in the directory and the MFA factor types they hold (empty: no MFA)."""

    user_id: str
    business_unit: str
    privileged: bool
    factors: tuple[str, ...]
    lifecycle: Lifecycle = Lifecycle()


@dataclass(frozen=True, slots=True)
class CloudResource:
    """A cloud or Kubernetes resource and its checks' baseline status as (control_id, status)."""

    resource_id: str
    provider: str
    resource_type: str
    account: str
    region: str
    business_unit: str
    checks: tuple[tuple[str, str], ...]
    lifecycle: Lifecycle = Lifecycle()


@dataclass(frozen=True, slots=True)
class Control:
    """A posture check and the resource type it applies to."""

    control_id: str
    severity: str
    provider: str
    resource_type: str
    framework: str


@dataclass(frozen=True, slots=True)
class Org:
    """The whole synthetic organisation; `unmanaged` are EDR-only devices the inventory never sees."""

    business_units: tuple[str, ...]
    assets: tuple[Asset, ...]
    identities: tuple[Identity, ...]
    cloud_resources: tuple[CloudResource, ...]
    controls: tuple[Control, ...]
    unmanaged: tuple[str, ...]


def _units(count: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if count < 1:
        raise ValueError("business_units must be at least 1")
    chosen = list(_UNITS[:count]) + [(f"unit-{i + 1:02d}", 0.5) for i in range(len(_UNITS), count)]
    return tuple(name for name, _ in chosen), tuple(weight for _, weight in chosen)


def _asset_lifecycle(rng: random.Random, edr: bool) -> Lifecycle:
    roll = rng.random()
    # Silently lost assets go quiet early enough to drop out of a 30-day inventory window.
    gone = rng.uniform(0.1, 0.95) if roll < 0.015 else rng.uniform(0.05, 0.6) if roll < 0.035 else None
    begins = rng.uniform(0.05, 0.9) if edr and rng.random() < 0.06 else 0.0
    back = rng.uniform(2, 10) if rng.random() < 0.5 else None
    uninstalled = (rng.uniform(0.1, 0.9), back) if edr and rng.random() < 0.012 else None
    sick = (rng.uniform(0.0, 0.95), rng.uniform(1, 5)) if edr and rng.random() < 0.03 else None
    return Lifecycle(gone, roll < 0.015, begins, 0.0, uninstalled, sick)


def _asset(rng: random.Random, number: int, unit: str) -> Asset:
    kind = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
    os_family = rng.choices(*_OS_BY_KIND[kind])[0]
    # Phones are MDM-managed, not EDR-managed: the one explicit exception to the contract's default.
    required = kind in ("endpoint", "server") and os_family not in _MOBILE
    deployed = rng.random() < 0.95 if required else (kind == "cloud_instance" and rng.random() < 0.1)
    vendor = rng.choices(("crowdstrike", "sentinelone"), (0.85, 0.15))[0] if deployed else None
    environment = {"endpoint": "prod", "network": "prod", "other": "other"}.get(kind)
    environment = environment or rng.choices(("prod", "staging", "dev"), (0.55, 0.2, 0.25))[0]
    if kind == "cloud_instance":
        asset_id, hostname = f"i-0{rng.getrandbits(64):016x}", f"{unit}-{environment}-{number:05d}.internal"
    else:
        asset_id, hostname = f"host-{number:05d}", f"{unit}-{_HOST_CODES[kind]}-{number:05d}.corp.example.com"
    sensor = f"{rng.getrandbits(128):032x}" if vendor else None
    lifecycle = _asset_lifecycle(rng, vendor is not None)
    return Asset(asset_id, hostname, kind, os_family, unit, environment, required, vendor, sensor, lifecycle)


def _identity(rng: random.Random, unit: str, taken: set[str]) -> Identity:
    base = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}"
    user_id, n = f"{base}@example.com", 1
    while user_id in taken:
        n += 1
        user_id = f"{base}{n}@example.com"
    taken.add(user_id)
    privileged, roll = rng.random() < (0.15 if unit in _ADMIN_HEAVY_UNITS else 0.03), rng.random()
    lifecycle = Lifecycle(
        gone=rng.uniform(0.2, 0.95) if roll < 0.02 else None, retired=True,
        begins=rng.uniform(0.05, 0.9) if 0.02 <= roll < 0.06 else 0.0,
        mfa_from=rng.uniform(0.05, 0.9) if rng.random() < 0.08 else 0.0,
    )  # fmt: skip
    # A few admins without any MFA are the finding the privileged-MFA KPI exists for.
    if rng.random() < (0.06 if privileged else 0.1):
        return Identity(user_id, unit, privileged, (), lifecycle)
    factors = [rng.choices(*(_ADMIN_FACTORS if privileged else _USER_FACTORS))[0]]
    if rng.random() < 0.25:
        factors.append(rng.choice(("totp", "webauthn", "push")))
    return Identity(user_id, unit, privileged, tuple(dict.fromkeys(factors)), lifecycle)


def _accounts(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    return {
        "aws": [(f"{rng.randrange(10**11, 10**12)}", r) for r in ("eu-west-1", "eu-west-1", "us-east-1")],
        "azure": [(f"{rng.getrandbits(128):032x}", r) for r in ("westeurope", "northeurope")],
        "gcp": [(f"trustline-{w}-{rng.randrange(1000, 9999)}", "europe-west1") for w in ("prod", "data")],
        "kubernetes": [("prod-eu-1", "eu-west-1"), ("prod-us-1", "us-east-1"), ("staging-eu-1", "eu-west-1")],
    }


def _cloud(rng: random.Random, count: int, units: tuple[str, ...]) -> tuple[CloudResource, ...]:
    accounts, out = _accounts(rng), []
    for n in range(count):
        provider = rng.choices(*_PROVIDERS)[0]
        rtype = rng.choice([t for p, t in _RESOURCE_TEMPLATES if p == provider])
        account, region = rng.choice(accounts[provider])
        unit = rng.choice(units)
        word, hex_ = rng.choice(_WORDS), f"{rng.getrandbits(32):08x}"
        rid = _RESOURCE_TEMPLATES[provider, rtype].format(bu=unit, word=word, hex=hex_, n=n, account=account,
                                                          region=region)  # fmt: skip
        checks = tuple((c[0], rng.choices(_CHECK_STATUSES, (0.72, 0.2, 0.08))[0])
                       for c in _CONTROLS if (c[2], c[3]) == (provider, rtype))  # fmt: skip
        gone = rng.uniform(0.2, 0.8) if rng.random() < 0.05 else None  # deleted: its checks go stale
        out.append(CloudResource(rid, provider, rtype, account, region, unit, checks, Lifecycle(gone)))
    return tuple(out)


def build_org(*, seed: int, assets: int = 3000, identities: int = 2000, business_units: int = 6) -> Org:
    """A deterministic organisation for a seed."""
    rng = random.Random(seed)
    units, weights = _units(business_units)
    inventory = tuple(_asset(rng, n + 1, rng.choices(units, weights)[0]) for n in range(assets))
    taken: set[str] = set()
    people = tuple(_identity(rng, rng.choices(units, weights)[0], taken) for _ in range(identities))
    cloud = _cloud(rng, max(8, assets // 50), units)
    # Default Windows hostnames are what unmanaged machines typically report to the EDR console.
    alphabet = "abcdefghjklmnpqrstuvwxyz0123456789"
    unmanaged = tuple("desktop-" + "".join(rng.choices(alphabet, k=7)) for _ in range(max(2, assets // 100)))
    return Org(units, inventory, people, cloud, tuple(Control(*row) for row in _CONTROLS), unmanaged)
