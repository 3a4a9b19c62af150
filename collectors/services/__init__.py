"""Collection services: plain functions over a GeckoClient that Celery tasks and tests call."""
