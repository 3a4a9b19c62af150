"""Create an API user (if missing) and print its token: the one step from nothing to a token.

``drf_create_token`` needs an existing user; this makes one (no password, no admin access) and
prints only the token on stdout, so ``TOKEN=$(manage.py create_api_user analyst)`` works. Run
again it prints the same token.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create an API user if missing, ensure it has a token, and print the token."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the API user's name (created if it does not exist)")

    def handle(self, *args, **options):
        username = options["username"]
        model = get_user_model()
        if not username:
            raise CommandError("give a user name, e.g. `manage.py create_api_user analyst`")
        try:
            model.username_validator(username)
        except ValidationError:
            raise CommandError(
                f"{username!r} is not a valid user name: letters, digits and @ . + - _ only"
            ) from None
        users = model.objects
        user = users.filter(username=username).first()
        if user is None:
            user = users.create_user(username=username)
            self.stderr.write(f"Created API user {username!r} (token login only, no admin).")
        else:
            self.stderr.write(f"User {username!r} exists; its token:")
            if not user.is_active:
                self.stderr.write(f"User {username!r} is inactive: the API refuses its token.")
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
