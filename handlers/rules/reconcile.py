"""The nightly reconcile (and `enrolbot rules reconcile`): every active rule against everyone,
to repair whatever the follower missed. Idempotent: a second run changes nothing. Each rule is
its own short transaction, so the service's writes go on in between."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.rules.follow import apply_rule
from handlers.rules.saved import load
from store.models import CatalogItem, EnrolmentRule


@dataclass(frozen=True)
class RuleRun:
    rule_id: int
    item: str  # the item's slug
    enrolled: int
    withdrawn: int

    def describe(self) -> str:
        return (
            f"rule {self.rule_id} ({self.item}): {self.enrolled} enrolled, "
            f"{self.withdrawn} withdrawn"
        )


async def reconcile(
    sessions: async_sessionmaker[AsyncSession], organisation_id: int | None = None
) -> list[RuleRun]:
    """Apply every active rule (of the organisation, or all) to everyone; what each changed."""
    async with sessions() as session:
        rows = await session.execute(
            select(EnrolmentRule.id, CatalogItem.slug)
            .join(CatalogItem, CatalogItem.id == EnrolmentRule.item_id)
            .where(EnrolmentRule.deleted_at.is_(None), EnrolmentRule.paused_at.is_(None))
            .where(
                EnrolmentRule.organisation_id == organisation_id
                if organisation_id is not None
                else EnrolmentRule.id.is_not(None)
            )
            .order_by(EnrolmentRule.id)
        )
        rules = list(rows)
    runs = []
    for rule_id, slug in rules:
        async with sessions() as session, session.begin():
            found = await load(session, rule_ids=[rule_id])
            if not found:
                continue  # paused or deleted meanwhile
            did = await apply_rule(session, found[0], None)
        enrolled, withdrawn = did.counts
        runs.append(RuleRun(rule_id, slug, enrolled, withdrawn))
    return runs
