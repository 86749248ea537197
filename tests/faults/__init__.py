"""Faults: the database going away, double submissions, migrations over real data.

Two faults of the hardening list are covered where the reminders live, not here:
- SMTP down (reminders kept and retried with backoff, none lost or doubled):
  tests/reminder/test_delivery.py::test_an_smtp_outage_loses_nothing_and_doubles_nothing,
  ::test_a_server_that_refuses_some_messages_gets_them_again_later and
  tests/reminder/test_mail.py::test_a_server_that_fails_after_accepting_the_message_does_not_get_it_twice.
- The scheduler killed (a sweep killed mid-send is resent once after its lease; a stopped scheduler
  catches up once; SIGTERM stops it cleanly):
  tests/reminder/test_delivery.py::test_a_killed_sweep_is_resent_once_after_its_lease_and_not_before,
  tests/reminder/test_schedule.py::test_a_missed_sweep_catches_up_once_without_dropping_or_doubling and
  tests/reminder/test_cli.py::test_scheduler_sends_what_is_due_and_stops_cleanly_on_sigterm.
"""
