"""The Moodle connector without HTTP: the site the settings name and the fan-out of new
enrolments to it (`site`), people's Moodle accounts looked up once (`accounts`), Moodle's errors
as sentences told to the admins once (`problems`), and which completions to read next and the
connector's status (`checks`). bot/moodle makes the calls."""
