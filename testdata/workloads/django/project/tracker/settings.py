"""Settings of the django workload's project: its database is the one
libpq's PG* variables name (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE), so the same files serve the tests and the README's run."""
import os

SECRET_KEY = "the django workload's project: not a secret"
DEBUG = False
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "core",
    "projects",
    "activity",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGDATABASE", "tracker"),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
