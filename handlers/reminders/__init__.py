"""Learners' reminders of due dates and managers' weekly summaries (issue 17): the scan
(`scan.py`), quiet hours (`quiet_hours.py`), mutes (`mutes.py`), the managers' side
(`team.py`) and every sentence (`words.py`)."""
