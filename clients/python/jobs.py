"""Job functions for the RQ tests. RQ workers import these by dotted name
("jobs.add"), so they live in a module of their own."""
from rq import get_current_job


def add(a, b):
    return a + b


def fail(message):
    raise RuntimeError(message)


def flaky(counter_key):
    """Fails on its first run, succeeds on the second (counted in Redis)."""
    runs = get_current_job().connection.incr(counter_key)
    if runs < 2:
        raise RuntimeError(f"flaky: run {runs} fails")
    return f"succeeded on run {runs}"
