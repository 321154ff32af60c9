"""`enrolbot completions import FILE` (.csv and .xlsx), the real command run in process against
the test's database: the whole file checked first with line numbers, then each current period
completed through handlers.completions, someone never enrolled enrolled first, a recurring
rule's next period opened, and the same file again changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from sqlalchemy import select

from bot.cli import main
from handlers.organisations import default_organisation
from handlers.rules import saved
from handlers.rules.apply import enrol_matching
from handlers.rules.criteria import Criteria
from handlers.rules.schedule import key_of
from store.models import Due, Enrolment, EnrolmentSource, EnrolmentStatus, Recur, User
from tests.support import factories
from tests.support.syncdb import SyncDB

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def cli(db_url: str, *args: str):
    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "completions-import-test-key-0123456"}
    return CliRunner().invoke(main, list(args), env=env)


def setup(db_url: str) -> int:
    """Ann in Sales, whom a rule (every 30 days, due within 7) enrolled 5 days ago; Bob, never
    enrolled; Cat, who completed already. The rule's first period key."""

    async def work(session):
        org = await default_organisation(session)
        item = await factories.item(session, org, "safety-101")
        await factories.item(session, org, "gdpr")
        ann = await factories.user(session, org, "ann@example.com")
        ann.department = "Sales"
        await session.flush()
        await factories.user(session, org, "bob@example.com")
        cat = await factories.user(session, org, "cat@example.com")
        session.add(
            Enrolment(
                user_id=cat.id,
                item_id=item.id,
                status=EnrolmentStatus.COMPLETED,
                source=EnrolmentSource.LINK,
                completed_at=TODAY - timedelta(days=40),
            )
        )
        terms = saved.Terms(due=Due.WITHIN, due_days=7, recur=Recur.DAYS, recur_every=30)
        rule = await saved.create_rule(
            session,
            item,
            Criteria(org.id, where=(("department", "Sales"),)),
            terms,
            created_by="t",
            created_by_user_id=None,
        )
        (loaded,) = await saved.load(session, rule_ids=[rule.id])
        await enrol_matching(session, loaded, now=TODAY - timedelta(days=5))
        rule.pending_since = None

    SyncDB(db_url).run(work)
    return key_of((TODAY - timedelta(days=5)).date())


def rows(db_url: str) -> list[tuple]:
    async def work(session):
        found = await session.execute(
            select(
                User.email, Enrolment.period, Enrolment.status, Enrolment.source, Enrolment.score
            )
            .join(User, User.id == Enrolment.user_id)
            .order_by(User.email, Enrolment.item_id, Enrolment.period)
        )
        return [tuple(r) for r in found]

    return SyncDB(db_url).run(work)


def write(path, lines: list[list[str]]) -> None:
    if path.suffix == ".xlsx":
        book = Workbook()
        for line in lines:
            book.active.append(line)
        book.save(path)
    else:
        path.write_text("\n".join(",".join(line) for line in lines) + "\n")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_completions_import_completes_enrols_first_and_opens_next_periods(tmp_path, db_url, suffix):
    first = setup(db_url)
    done = (TODAY - timedelta(days=1)).date().isoformat()
    path = tmp_path / f"completions{suffix}"
    write(
        path,
        [
            ["email", "item", "completed_at", "score"],
            ["Ann@Example.com", "safety-101", f"{done}T14:30", "92.5"],
            ["bob@example.com", "safety-101", done, ""],
            ["cat@example.com", "safety-101", done, "70"],
        ],
    )
    result = cli(db_url, "completions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Imported completions: 2 completed (1 enrolled first: they had no enrolment), "
        "1 already completed, left as they were, 1 next periods opened by recurring rules."
    )
    after = key_of((TODAY - timedelta(days=5) + timedelta(days=30)).date())
    assert rows(db_url) == [
        ("ann@example.com", first, EnrolmentStatus.COMPLETED, EnrolmentSource.RULE, 92.5),
        ("ann@example.com", after, EnrolmentStatus.ENROLLED, EnrolmentSource.RULE, None),
        ("bob@example.com", 0, EnrolmentStatus.COMPLETED, EnrolmentSource.IMPORT, None),
        ("cat@example.com", 0, EnrolmentStatus.COMPLETED, EnrolmentSource.LINK, None),
    ]
    # The same file again: every completion is recorded already, and next period stays open.
    again = cli(db_url, "completions", "import", str(path))
    assert again.output.strip().splitlines()[-1] == (
        "Nothing changed: 3 completions were recorded already."
    )
    assert rows(db_url)[1][2] is EnrolmentStatus.ENROLLED


def test_a_wrong_completions_file_is_refused_by_line_with_nothing_written(tmp_path, db_url):
    setup(db_url)
    before = rows(db_url)
    tomorrow = (TODAY + timedelta(days=2)).date().isoformat()
    path = tmp_path / "bad.csv"
    write(
        path,
        [
            ["email", "item", "completed_at", "score"],
            ["ann@example.com", "safety-101", "2026-01-05", ""],
            ["nobody@example.com", "safety-101", "2026-01-05", ""],
            ["bob@example.com", "nothing-here", "2026-01-05", ""],
            ["bob@example.com", "gdpr", "5 January", ""],
            ["cat@example.com", "gdpr", tomorrow, ""],
            ["cat@example.com", "safety-101", "2026-01-05", "lots"],
            ["ann@example.com", "safety-101", "2026-01-06", ""],
        ],
    )
    result = cli(db_url, "completions", "import", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  line 3: there's no one with the email nobody@example.com: `enrolbot users import` first",
        "  line 4: there's no item nothing-here: check the slug, or `enrolbot catalog import`",
        "  line 5: '5 January' isn't a date for completed_at: write 2027-09-20 or 2027-09-20T14:30",
        f"  line 6: completed_at {tomorrow} is in the future",
        "  line 7: 'lots' isn't a score: write a number, e.g. 87.5, or leave it empty",
        "  line 8: ann@example.com's completion of safety-101 is already on line 2",
    ]
    assert rows(db_url) == before
