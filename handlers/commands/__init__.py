"""The admin command grammar, parsed once for every platform (docs/architecture.md, "Contracts").

Slack's `/enrol ...` and a message `enrol ...` to the Teams bot both arrive here as text, with
who asked and where; the answer is plain data from handlers.replies for the adapter to render.
Commands are declared in the module of their noun (registry.py says how); dispatch.py is the
one way in.
"""

# Each noun module registers its commands as it is imported, and help lists them in that order.
# isort: off
from handlers.commands import help, items, links, post, notify, tokens, reports, admins  # noqa: F401
from handlers.commands import groups, team_link, group_links, people  # noqa: F401
from handlers.commands import rules, explain  # noqa: F401
from handlers.commands import enrolments, my_team, enrol_sheets, my_learning  # noqa: F401
from handlers.commands import invites  # noqa: F401

# isort: on
from handlers.commands.context import CommandContext, CommandError, FieldProblem
from handlers.commands.dispatch import name_of, run
from handlers.commands.links import confirm_link_delete, submit_link_form
from handlers.commands.parsing import split
from handlers.commands.post import record_posted
from handlers.commands.tokens import confirm_token_delete
from handlers.links import deep_link

__all__ = [
    "CommandContext",
    "CommandError",
    "FieldProblem",
    "confirm_link_delete",
    "confirm_token_delete",
    "deep_link",
    "name_of",
    "record_posted",
    "run",
    "split",
    "submit_link_form",
]
