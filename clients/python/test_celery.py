"""Celery with Redis as both broker (kombu's Redis transport) and result
backend (Redis result backend: pub/sub for results, native chord counting).

A real worker (solo pool) runs in a thread of this process for the module,
via celery.contrib.testing; tasks go through the server like in production.
Each run uses its own queue name, so runs never see each other's messages.
"""
import logging

import pytest
import redis
from celery import Celery, chain, chord, group
from celery.contrib.testing.worker import TestWorkController, start_worker

from conftest import HOST, PORT, URL, uniq

QUEUE = uniq("celery")
RUNS_KEY = f"{QUEUE}:runs"  # counts runs of the retrying task

app = Celery("cinnabar_client_test", broker=URL, backend=URL)
app.conf.update(
    task_default_queue=QUEUE,
    result_expires=600,
    # Fail instead of retrying forever when the server is unreachable.
    broker_connection_retry_on_startup=False,
    broker_connection_max_retries=2,
    redis_socket_timeout=10,
    redis_socket_connect_timeout=5,
    worker_hijack_root_logger=False,
)
# celery.ping, used by start_worker to check the worker consumes.
app.loader.import_module("celery.contrib.testing.tasks")


@app.task
def add(x, y):
    return x + y


@app.task
def total(numbers):
    return sum(numbers)


@app.task(bind=True, max_retries=3)
def retry_once(self, value):
    """Retries once (re-sent through the broker), then returns."""
    client = redis.Redis(host=HOST, port=PORT)
    try:
        client.incr(RUNS_KEY)
    finally:
        client.close()
    if self.request.retries == 0:
        raise self.retry(countdown=0.1)
    return {"value": value, "retries": self.request.retries}


@app.task
def fails():
    raise ValueError("task failed on purpose")


STARTUP_TIMEOUT = 20  # seconds for the worker to connect and start consuming


class _ErrorLog(logging.Handler):
    """Keeps the ERROR/CRITICAL messages Celery logs (e.g. why the worker died)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(message)


class BoundedWorkController(TestWorkController):
    """TestWorkController whose ensure_started gives up: the stock one waits
    forever when the worker dies while starting (e.g. a failing command)."""

    __test__ = False
    errors = None  # an _ErrorLog, set by the fixture
    ready = False

    def on_consumer_ready(self, consumer):
        self.ready = True
        super().on_consumer_ready(consumer)

    def start(self):
        try:
            return super().start()
        finally:
            self._on_started.set()  # the worker thread is ending: wake ensure_started

    def ensure_started(self):
        if not self._on_started.wait(STARTUP_TIMEOUT) or not self.ready:
            logged = "; ".join(self.errors.messages) if self.errors else ""
            raise RuntimeError(f"the Celery worker did not start: {logged or 'timed out'}")


@pytest.fixture(scope="module", autouse=True)
def worker():
    errors = _ErrorLog()
    logging.getLogger("celery").addHandler(errors)
    BoundedWorkController.errors = errors
    try:
        # Bounded: STARTUP_TIMEOUT to start, pytest-timeout per test, shutdown_timeout to stop.
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=True,
            shutdown_timeout=20,
            WorkController=BoundedWorkController,
        ) as w:
            yield w
    finally:
        logging.getLogger("celery").removeHandler(errors)
    client = redis.Redis(host=HOST, port=PORT)
    client.delete(RUNS_KEY, QUEUE)
    client.close()


TIMEOUT = 20  # seconds for each result


def test_single_task_result():
    result = add.delay(2, 40)
    assert result.get(timeout=TIMEOUT) == 42
    assert result.state == "SUCCESS"
    assert result.successful()
    # The stored result can be read again by id.
    assert app.AsyncResult(result.id).get(timeout=TIMEOUT) == 42


def test_group():
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=TIMEOUT) == [i * 2 for i in range(10)]
    assert result.successful()
    assert result.completed_count() == 10


def test_chord_callback_gets_all_results():
    result = chord(add.s(i, i) for i in range(5))(total.s())
    assert result.get(timeout=TIMEOUT) == 20  # 0+2+4+6+8
    # The header results are stored too.
    assert result.parent.get(timeout=TIMEOUT) == [0, 2, 4, 6, 8]


def test_chain():
    result = chain(add.s(1, 2), add.s(10), add.s(100)).apply_async()
    assert result.get(timeout=TIMEOUT) == 113
    assert result.parent.get(timeout=TIMEOUT) == 13


def test_retry_then_success():
    result = retry_once.delay("payload")
    assert result.get(timeout=TIMEOUT) == {"value": "payload", "retries": 1}
    client = redis.Redis(host=HOST, port=PORT)
    try:
        assert int(client.get(RUNS_KEY)) == 2  # ran twice: the retry was delivered
    finally:
        client.close()


def test_failure_is_reported():
    result = fails.delay()
    with pytest.raises(ValueError, match="task failed on purpose"):
        result.get(timeout=TIMEOUT)
    assert result.state == "FAILURE"
    assert isinstance(result.result, ValueError)
