"""Create (or reset) the demo superuser for `make run` and print its login."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Create or reset a superuser with a fresh random password (DEBUG only)."""

    help = "Create or reset the demo superuser and print its login (refused when DEBUG=0)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username: str, **options):
        if not settings.DEBUG:
            raise CommandError("ensure_demo_user is for development only (DEBUG is off).")
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: username {username!r}, password {password!r}")
        )
