"""RQ (Redis Queue) end to end: enqueue, a burst-mode worker (forking a work
horse per job, as in production), results, the failed-job registry, retries,
dependencies, and Queue.empty() (a Lua script)."""
import pytest
from redis import Redis
from rq import Queue, Retry, Worker
from rq.job import Job, JobStatus

import jobs
from conftest import HOST, PORT, uniq


@pytest.fixture
def conn():
    # RQ stores pickled data: no decode_responses.
    c = Redis(host=HOST, port=PORT, socket_timeout=10)
    yield c
    c.close()


@pytest.fixture
def queue(conn):
    q = Queue(uniq("rq"), connection=conn)
    yield q
    q.delete(delete_jobs=True)


def run_burst(queue):
    """Runs a worker on `queue` until the queue is empty, then returns.

    (Its teardown can take up to 1 s more now and then: RQ joins its pub/sub
    thread with a 1 s timeout, and redis-py's thread may be waiting then.)"""
    worker = Worker([queue], connection=queue.connection, name=uniq("worker"))
    return worker.work(burst=True, logging_level="WARNING")


def test_enqueue_and_burst_worker(queue):
    job = queue.enqueue(jobs.add, 2, 3)
    job_kw = queue.enqueue(jobs.add, a=40, b=2)
    assert queue.count == 2
    assert job.get_status() == JobStatus.QUEUED

    assert run_burst(queue) is True  # it did some work
    assert queue.count == 0
    for j, expected in ((job, 5), (job_kw, 42)):
        j.refresh()
        assert j.get_status() == JobStatus.FINISHED
        assert j.return_value() == expected
        assert j.latest_result().type.name == "SUCCESSFUL"
        assert j.id in queue.finished_job_registry
    # A fresh fetch from Redis agrees.
    assert Job.fetch(job.id, connection=queue.connection).return_value() == 5


def test_failed_job_lands_in_failed_registry(queue):
    ok = queue.enqueue(jobs.add, 1, 1)
    bad = queue.enqueue(jobs.fail, "boom from rq test")
    run_burst(queue)

    bad.refresh()
    assert bad.get_status() == JobStatus.FAILED
    registry = queue.failed_job_registry
    assert bad.id in registry
    assert registry.get_job_ids() == [bad.id]
    assert ok.id not in registry
    assert "boom from rq test" in bad.latest_result().exc_string

    # Requeue from the failed registry: back on the queue, out of the registry.
    registry.requeue(bad.id)
    assert bad.id not in registry
    assert queue.job_ids == [bad.id]


def test_retry_then_success(queue, conn):
    counter = uniq("rq-runs")
    job = queue.enqueue(jobs.flaky, counter, retry=Retry(max=2))
    run_burst(queue)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "succeeded on run 2"
    assert int(conn.get(counter)) == 2
    assert job.retries_left == 1
    assert job.id not in queue.failed_job_registry
    conn.delete(counter)


def test_dependent_job_waits_for_its_dependency(queue):
    first = queue.enqueue(jobs.add, 1, 2)
    second = queue.enqueue(jobs.add, 3, 4, depends_on=first)
    assert second.get_status() == JobStatus.DEFERRED
    assert queue.count == 1  # only `first` is on the queue
    run_burst(queue)
    first.refresh()
    second.refresh()
    assert (first.return_value(), second.return_value()) == (3, 7)
    assert second.started_at >= first.ended_at


def test_queue_empty_removes_jobs(queue):
    queued = [queue.enqueue(jobs.add, i, i) for i in range(5)]
    assert queue.count == 5
    assert queue.empty() == 5  # the Lua script returns how many it removed
    assert queue.count == 0
    assert queue.is_empty()
    for job in queued:
        assert not Job.exists(job.id, connection=queue.connection)
    # Emptying an empty queue is fine.
    assert queue.empty() == 0
