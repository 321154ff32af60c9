"""The Moodle connector's outbound side: the web-service client, the outbox channel that pushes
enrolments, and the job that reads completions (see handlers/moodle for what they decide)."""
