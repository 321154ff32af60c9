"""Automatic enrolment: rules over the directory, applied set-based (see docs/architecture.md).

- `saved`: `create_rule`, `load` (rules with their criteria), `get_rule`, `pause`, `resume`,
  `delete`; `Terms` (what a rule says beyond who).
- `criteria`: `Criteria` and the SQL of who matches (`matching`, `where_clause`).
- `schedule`: periods, due dates and visibility (`first_period`).
- `apply`: `enrol_matching`, `withdraw_leavers`, the --new-only baseline.
- `follow`: the follower of `directory_change` and of pending rules, with its cursor.
- `reconcile`: every rule against everyone, idempotent.
- `preview`: counts and the first names, before saving.
"""
