"""Delete old reader feedback and unanswered questions (run it from cron, e.g. daily)."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chat.feedback_services import feedback_purge

_AGE = re.compile(r"^(\d+)([dwh])$")
_UNITS = {"d": "days", "w": "weeks", "h": "hours"}


def parse_age(text: str) -> timedelta:
    """'90d', '12w' or '48h' as a timedelta."""
    match = _AGE.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise CommandError(f"--older-than takes a positive age such as 90d, 12w or 48h, not {text!r}.")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Delete feedback, coverage gaps and daily answer counts older than an age (groups left empty go too)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", required=True, help="An age: 90d (days), 12w (weeks) or 48h (hours).")

    def handle(self, *args, older_than: str, **options) -> None:
        before = timezone.now() - parse_age(older_than)
        result = feedback_purge(before=before)
        self.stdout.write(
            f"Deleted {result.feedback} feedback row(s), {result.gaps} unanswered question(s), "
            f"{result.groups} empty group(s) and {result.counts} daily count(s) from before {before:%Y-%m-%d %H:%M}."
        )
