"""What an admin reads about `invite import` in chat (a form or the personal chat for the file,
the preview with its Send invitations button, and the outcome), worded once for Slack and
Teams. The preview's lines are handlers.invitations_import's, which the CLI prints too."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.enrol_import_text import ImportForm
from handlers.invitations import IMPORT_MAX
from handlers.invitations_import import Plan, preview_lines
from handlers.replies import Notice, Tone, echo, plural

COLUMNS = "columns email, group and optionally type (staff or client)"
SEND = "Send invitations"
FORM = ImportForm(
    title="Invite from spreadsheet",
    label="The spreadsheet of invitations (.xlsx or .csv)",
    hint=f"One row per person, {COLUMNS}; up to {IMPORT_MAX} rows. Nobody is invited before "
    "you have seen a preview.",
    submit="Preview",
    no_file="Add the spreadsheet of invitations (.xlsx or .csv), then choose Preview.",
)
SEND_FILE_HERE = (
    "Send me the spreadsheet here in our personal chat: attach it to a message that says "
    f"`invite import` ({COLUMNS}, up to {IMPORT_MAX} rows). A file whose first row is email, "
    "group is taken as invitations even without those words; any other file as an enrolment "
    "template. You'll see a preview before anyone is invited."
)
NO_EMAIL = (
    "Invitations go by email, and no mail server is set: set SMTP_URL (see the README's "
    "settings) and restart enrolbot, then invite again."
)
NOT_ALLOWED = Notice("Only enrolment admins can invite people; nobody was invited.", Tone.ERROR)
TOO_BIG = Notice(
    f"That file is over 10 MB: an invitations sheet of {IMPORT_MAX} rows is far smaller, so "
    "send it as .csv or .xlsx with only the email, group and type columns.",
    Tone.ERROR,
)
EXPIRED = Notice(
    "This preview has expired (it works for an hour): send the file again for a new one; "
    "nobody was invited.",
    Tone.ERROR,
)
SENT_ALREADY = Notice(
    "These invitations were sent already: `invite list` shows them.",
    Tone.ERROR,
)
NOT_YOURS = Notice(
    "Only the admin who sent this file can send its invitations: send the file yourself for a "
    "preview of your own.",
    Tone.ERROR,
)


@dataclass(frozen=True)
class InvitePreview:
    """The preview, with a Send invitations button carrying the signed id of the staged rows
    (None: there is a row to fix, or no one to invite)."""

    summary: Notice
    send: str | None


def unreadable(filename: str, problem: object) -> Notice:
    return Notice(
        f"{echo(filename, 80)}: {problem}. Nobody was invited: fix the file and send it again.",
        Tone.ERROR,
    )


def preview_notice(found: Plan, filename: str, *, changed: bool = False) -> Notice:
    """The preview as the CLI prints it, with what to do next."""
    if found.ready:
        text = f"Nobody is invited until you choose {SEND}; this preview works for an hour."
    elif found.wrong:
        text = "Fix the rows below and send the file again; nobody was invited."
    else:
        text = "There is no one to invite in it, so nothing will be sent."
    if changed:
        text = f"Things changed since the preview. {text}"
    tone = Tone.INFO if found.ready else Tone.ERROR
    heading = f"Preview of {echo(filename, 80) or 'your file'}"
    return Notice(text, tone, tuple(preview_lines(found)), heading)


def sent_notice(invited: int) -> Notice:
    return Notice(
        f"Sent {plural(invited, 'invitation')}: the emails go out now, and `invite list` "
        "shows them.",
        Tone.SUCCESS,
    )
