"""Security debt is stored in seconds: the family `trustline_security_debt_days` becomes
`trustline_security_debt_seconds` (Prometheus base units; promtool refused the old name), and every
stored sample of the metric history is renamed and converted (x 86400), so trends stay continuous.

The samples are found by name in every daily partition: one pass over the history, once. The
downgrade converts them back.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAYS = "trustline_security_debt_days"
SECONDS = "trustline_security_debt_seconds"


def _convert(old: str, new: str, factor: str) -> None:
    op.execute(f"UPDATE metric_samples SET name = '{new}', value = value {factor} WHERE name = '{old}'")


def upgrade() -> None:
    _convert(DAYS, SECONDS, "* 86400")


def downgrade() -> None:
    _convert(SECONDS, DAYS, "/ 86400")
