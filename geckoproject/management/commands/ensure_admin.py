"""Create the admin login named in the environment, once; later runs leave it alone."""

from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a superuser from ADMIN_USER / ADMIN_PASSWORD if it does not exist yet."

    def handle(self, *args, **options):
        username = os.environ.get("ADMIN_USER")
        password = os.environ.get("ADMIN_PASSWORD")
        if not username or not password:
            raise CommandError("Set ADMIN_USER and ADMIN_PASSWORD (make writes them to .env).")
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"Admin user {username!r} exists; left unchanged.")
            return
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Done! Created admin user {username!r}.")
