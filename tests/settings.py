"""Test settings: the real services, with a Redis database of their own (never live keys).

Under pytest-xdist each runner gwN has its own: the test database gets pytest-django's ``_gwN``
suffix (TEST_DATABASE_NAME, read in geckoproject/settings.py) and REDIS_URL's database is
lowered by N (tests/parallel.py), here before the project's settings read it, so the processes
a test starts (workers, beat, commands) inherit the runner's REDIS_URL.
"""

from __future__ import annotations

import os

from tests import parallel

os.environ["GECKO_DOTENV"] = ""  # tests never read a developer's .env
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
parallel.use_runners_redis(os.environ)
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from geckoproject.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
