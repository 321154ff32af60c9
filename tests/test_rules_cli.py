"""`enrolbot rules reconcile` as an admin runs it: what it changed, and nothing the second time."""

from __future__ import annotations

import asyncio

from handlers.rules import saved
from handlers.rules.criteria import Criteria
from store.db import make_engine, make_sessionmaker
from tests.support import factories
from tests.support.processes import enrolbot


def _seed(url: str) -> int:
    async def run() -> int:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                org = await factories.organisation(s)
                item = await factories.item(s, org, "safety-101")
                for n in range(3):
                    await factories.user(s, org, f"p{n}@example.com")
                rule = await saved.create_rule(
                    s,
                    item,
                    Criteria(org.id, everyone=True),
                    saved.Terms(),
                    created_by="test",
                    created_by_user_id=None,
                )
                return rule.id
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_rules_reconcile_prints_what_it_changed_and_then_nothing(tmp_path, db_url):
    rule_id = _seed(db_url)
    first = enrolbot("rules", "reconcile", cwd=tmp_path, DATABASE_URL=db_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"rule {rule_id} (safety-101): 3 enrolled, 0 withdrawn",
        "Reconciled 1 rule: 3 enrolled, 0 withdrawn.",
    ]
    second = enrolbot("rules", "reconcile", cwd=tmp_path, DATABASE_URL=db_url)
    assert second.stdout.splitlines()[-1] == "Reconciled 1 rule: 0 enrolled, 0 withdrawn."
