"""Celery tasks, the folder watcher, the document store and the publisher: the side effects."""
