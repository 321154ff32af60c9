"""An organisation for the tests of automatic enrolment's engine: five people, an item, and a
world that makes rules, groups and memberships and reads who is enrolled."""

from __future__ import annotations

from sqlalchemy import select

from handlers import directory
from handlers.directory import Origin
from handlers.rules import saved
from handlers.rules.criteria import Criteria
from store.models import Enrolment, EnrolmentStatus, GroupKind, GroupSource, utcnow
from tests.support import factories

BY_HAND = Origin("manual", "slack:T1:U1")


class World:
    def __init__(self, sessions, org, item, people):
        self.sessions, self.org, self.item, self.people = sessions, org, item, people

    def ids(self, *names):
        return {self.people[n] for n in names}

    async def rule(self, follower=None, *, terms=None, **criteria):
        async with self.sessions() as s, s.begin():
            item = await s.get(type(self.item), self.item.id)
            rule = await saved.create_rule(
                s,
                item,
                Criteria(self.org.id, **criteria),
                terms or saved.Terms(),
                created_by="test",
                created_by_user_id=None,
            )
        if follower is not None:
            await follower.step()
        return rule.id

    async def enrolled(self, status=EnrolmentStatus.ENROLLED):
        async with self.sessions() as s:
            rows = await s.execute(
                select(Enrolment.user_id).where(
                    Enrolment.item_id == self.item.id, Enrolment.status == status
                )
            )
            return sorted(rows.scalars())

    async def group(self, name, kind=GroupKind.GROUP):
        async with self.sessions() as s, s.begin():
            ids = await directory.named_groups(
                s, self.org.id, kind, [name], create=GroupSource.MANUAL
            )
            return ids[name.lower()]

    async def join(self, group_id, *names, leave=False):
        async with self.sessions() as s, s.begin():
            from store.models import Group

            group = await s.get(Group, group_id)
            change = directory.remove_members if leave else directory.add_members
            await change(s, group, sorted(self.ids(*names)), BY_HAND)

    async def set(self, name, **values):
        async with self.sessions() as s, s.begin():
            await directory.apply_attributes(
                s, self.org.id, {self.people[name]: values}, BY_HAND, utcnow()
            )


async def rules_world(sessions, names=("ann", "bob", "cat", "dan", "eve")):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance-2027")
        people = {}
        for n in names:
            people[n] = (await factories.user(s, org, f"{n}@example.com", first_name=n)).id
    return World(sessions, org, item, people)


async def factories_item(w, slug):
    async with w.sessions() as s, s.begin():
        org = await s.get(type(w.org), w.org.id)
        return (await factories.item(s, org, slug)).id
