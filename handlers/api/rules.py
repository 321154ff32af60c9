"""Automatic enrolment rules over the API, read only (admins make them in chat)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.problems import not_found
from store.models import CatalogItem
from store.models.rules import EnrolmentRule, RuleCondition, RuleGroup


def _live(listing: Listing) -> Any:
    return (
        select(EnrolmentRule, CatalogItem.slug)
        .join(CatalogItem, CatalogItem.id == EnrolmentRule.item_id)
        .where(
            EnrolmentRule.organisation_id == listing.organisation_id,
            EnrolmentRule.deleted_at.is_(None),
        )
    )


async def _out(listing: Listing, rows: list[Any]) -> list[schemas.Rule]:
    ids = [rule.id for rule, _ in rows]
    groups: dict[int, list[int]] = defaultdict(list)
    where: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if ids:
        found = await listing.session.execute(
            select(RuleGroup.rule_id, RuleGroup.group_id)
            .where(RuleGroup.rule_id.in_(ids))
            .order_by(RuleGroup.group_id)
        )
        for rule_id, group_id in found:
            groups[rule_id].append(group_id)
        found = await listing.session.execute(
            select(RuleCondition.rule_id, RuleCondition.field, RuleCondition.value)
            .where(RuleCondition.rule_id.in_(ids))
            .order_by(RuleCondition.field, RuleCondition.value)
        )
        for rule_id, field, value in found:
            where[rule_id][field].append(value)
    return [_rule(rule, slug, groups[rule.id], dict(where[rule.id])) for rule, slug in rows]


def _rule(
    rule: EnrolmentRule, slug: str, group_ids: list[int], where: dict[str, list[str]]
) -> schemas.Rule:
    return schemas.Rule(
        id=rule.id,
        item=slug,
        paused=rule.paused_at is not None,
        everyone=rule.everyone,
        group_ids=group_ids,
        where=where,
        manager_id=rule.manager_id,
        all_reports=rule.all_reports,
        hired_after=rule.hired_after,
        added_after=rule.added_after,
        include_prospects=rule.include_prospects,
        required=rule.required,
        reason=rule.reason,
        due=rule.due.value,
        due_days=rule.due_days,
        due_on=rule.due_on,
        due_month=rule.due_month,
        due_day=rule.due_day,
        recur=rule.recur.value,
        recur_every=rule.recur_every,
        enrol_days_before=rule.enrol_days_before,
        withdraw_on_leave=rule.withdraw_on_leave,
        new_only=rule.new_only,
        created_at=rule.created_at,
    )


async def list_rules(listing: Listing, query: schemas.PageQuery) -> schemas.RulePage:
    rows, cursor = await page(
        listing,
        "rules",
        _live(listing),
        id_column=EnrolmentRule.id,
        limit=query.limit,
        cursor=query.cursor,
        filters={},
    )
    return schemas.RulePage(data=await _out(listing, rows), next_cursor=cursor)


async def get_rule(listing: Listing, rule_id: int) -> schemas.Rule:
    row = (await listing.session.execute(_live(listing).where(EnrolmentRule.id == rule_id))).first()
    if row is None:
        raise not_found("rule", rule_id)
    return (await _out(listing, [row]))[0]
