"""State of every domain (EDR, identities and MFA, cloud checks, incidents) and the risk registry.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cloud_check_versions",
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("control_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("framework", sa.Text(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_id", "control_id", "valid_from", name=op.f("pk_cloud_check_versions")
        ),
    )
    op.create_table(
        "edr_versions",
        sa.Column("asset_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_healthy_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("asset_id", "valid_from", name=op.f("pk_edr_versions")),
    )
    op.create_table(
        "identity_versions",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("business_unit", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "valid_from", name=op.f("pk_identity_versions")),
    )
    op.create_table(
        "incident_versions",
        sa.Column("incident_id", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "valid_from", name=op.f("pk_incident_versions")),
    )
    op.create_table(
        "mfa_factor_versions",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("factor_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("factor_type", sa.Text(), nullable=False),
        sa.Column("enrolled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "factor_key", "valid_from", name=op.f("pk_mfa_factor_versions")),
    )
    op.create_table(
        "risk_acceptances",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("compensating_controls", sa.Text(), server_default="", nullable=False),
        sa.Column("vulnerability_id", sa.Text(), nullable=True),
        sa.Column("asset_id", sa.Text(), nullable=True),
        sa.Column("control_id", sa.Text(), nullable=True),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("business_unit", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("business_owner", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("rejected_by", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'expired', 'revoked')",
            name=op.f("ck_risk_acceptances_status"),
        ),
        sa.CheckConstraint(
            "(vulnerability_id IS NOT NULL AND control_id IS NULL AND resource_id IS NULL)"
            " OR (control_id IS NOT NULL AND vulnerability_id IS NULL AND asset_id IS NULL)",
            name=op.f("ck_risk_acceptances_scope"),
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by", name=op.f("ck_risk_acceptances_four_eyes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_acceptances")),
    )
    op.create_table(
        "risk_acceptance_audit",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("acceptance_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["acceptance_id"],
            ["risk_acceptances.id"],
            name=op.f("fk_risk_acceptance_audit_acceptance_id_risk_acceptances"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_risk_acceptance_audit")),
    )
    op.create_index(
        op.f("ix_risk_acceptance_audit_acceptance_id_seq"),
        "risk_acceptance_audit",
        ["acceptance_id", "seq"],
        unique=False,
    )
    op.add_column("asset_versions", sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_raw_events_source_time"), "raw_events", ["source", "time"], unique=False)
    op.create_index(
        op.f("ix_vuln_cycle_versions_vulnerability_id"),
        "vuln_cycle_versions",
        ["vulnerability_id"],
        unique=False,
    )

    op.execute(
        "CREATE FUNCTION trustline_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    op.execute(
        "CREATE TRIGGER risk_acceptance_audit_append_only BEFORE UPDATE OR DELETE ON risk_acceptance_audit "
        "FOR EACH ROW EXECUTE FUNCTION trustline_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER risk_acceptance_audit_append_only ON risk_acceptance_audit")
    op.execute("DROP FUNCTION trustline_append_only()")
    op.drop_index(op.f("ix_vuln_cycle_versions_vulnerability_id"), table_name="vuln_cycle_versions")
    op.drop_index(op.f("ix_raw_events_source_time"), table_name="raw_events")
    op.drop_column("asset_versions", "last_seen")
    op.drop_index(op.f("ix_risk_acceptance_audit_acceptance_id_seq"), table_name="risk_acceptance_audit")
    op.drop_table("risk_acceptance_audit")
    op.drop_table("risk_acceptances")
    op.drop_table("mfa_factor_versions")
    op.drop_table("incident_versions")
    op.drop_table("identity_versions")
    op.drop_table("edr_versions")
    op.drop_table("cloud_check_versions")
