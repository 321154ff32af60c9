"""Slack user groups and channels as groups: a group of 10,000 members synced from a Slack
stand-in that pages as Slack does (users.list and conversations.members: 999 a page, cursors,
`next_cursor` empty at the end; usergroups.users.list: the whole list at once).

`enrolbot directory sync --source slack`, the real command, on a fresh SQLite file whose
organisation provisions people from Slack:

1. baseline: people only (users.list of BENCH_SLACK_MEMBERS people, default 10,000; no group
   linked), which makes them all;
2. a linked channel of all of them: its first sync (every member joins);
3. a linked user group of all of them as well;
4. both again, nothing to change.

Each figure is the whole command's wall time (start-up, fetch, write), beside the target
(<= 10 s) and its ratio to the baseline of the same run.

    python -m bench.slack_groups
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from bench import common as c
from tests.support.processes import Process, env, free_port

MEMBERS = int(c.knob("BENCH_SLACK_MEMBERS", 10_000))
CHANNEL, USERGROUP = "C0BIG", "S0BIG"
TARGET = 10.0


def uid(n: int) -> str:
    return f"UG{n:07d}"


def serve(port: int, members: int) -> None:
    """The stand-in, in a process of its own: `members` people, all in one channel and one
    user group."""
    import uvicorn

    from tests.support.slack_directory_standin import usergroup
    from tests.support.slack_standin import SlackStandIn, member

    standin = SlackStandIn()
    everyone = [uid(n) for n in range(members)]
    for n, user in enumerate(everyone):
        standin.add_user(member(user, f"member{n}@acme.test", "Member", str(n)))
    standin.add_channel(CHANNEL, name="everyone")
    standin.members_of[CHANNEL] = everyone
    standin.add_usergroup(usergroup(USERGROUP, "everyone", "Everyone", everyone))
    uvicorn.run(standin.app, host="127.0.0.1", port=port, log_level="warning")


def standin_process(workdir: Path) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "bench.slack_groups", "--serve", str(port)]
    return Process(
        "slack-groups-standin",
        argv,
        cwd=workdir,
        env=env(BENCH_SLACK_MEMBERS=str(MEMBERS)),
        port=port,
        ready_path="/api/auth.test",
        log_dir=workdir,
    )


async def link(db_url: str, source: str, source_id: str, name: str) -> None:
    from handlers import directory
    from handlers.organisations import default_organisation
    from store.db import make_engine, make_sessionmaker
    from store.models import GroupSource

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            org = await default_organisation(session)
            await directory.source_group(session, org.id, GroupSource(source), source_id, name)
    finally:
        await engine.dispose()


def timed_sync(workdir: Path, settings: dict[str, str]) -> tuple[float, str]:
    began = time.monotonic()
    said = c.run_enrolbot(workdir, settings, "directory", "sync", "--source", "slack")
    return time.monotonic() - began, " ".join(said.split())


def main() -> None:
    c.header(f"Slack groups: a channel and a user group of {MEMBERS:,} members (SQLite)")
    with c.workdir("slack-groups") as workdir:
        standin = standin_process(workdir)
        with c.running(standin):
            standin.start()
            db_url = f"sqlite:///{workdir / 'groups.db'}"
            settings = c.enrolbot_settings(db_url, standin.url)
            c.run_enrolbot(workdir, settings, "db", "upgrade")
            c.run_enrolbot(workdir, settings, "org", "set", "--sso-auto-provision")
            base, said = timed_sync(workdir, settings)
            c.line(f"baseline: {MEMBERS:,} people, no group", f"{base:.1f} s")
            print(f"      ({said})")
            steps = (
                ("slack_channel", CHANNEL, f"a channel of {MEMBERS:,}, first sync"),
                ("slack_usergroup", USERGROUP, f"+ a user group of {MEMBERS:,}, first sync"),
                (None, None, "both again, nothing to change"),
            )
            for source, source_id, label in steps:
                if source:
                    asyncio.run(link(db_url, source, source_id, source_id))
                seconds, said = timed_sync(workdir, settings)
                c.line(label, f"{seconds:.1f} s", f"<= {TARGET:g} s", seconds <= TARGET)
                print(f"      (ratio to the baseline {seconds / base:.2f}; {said})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, MEMBERS)
    else:
        main()
