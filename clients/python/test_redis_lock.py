"""redis-py's Lock (redis.lock.Lock) and Script helpers.

Lock keeps its state in one key and does release/extend/reacquire with Lua
scripts run through Script objects (EVALSHA, then EVAL on NOSCRIPT), so each
step below checks the key itself (value = token, TTL) as well as the API.
"""
import threading

import pytest
from redis.exceptions import LockError, LockNotOwnedError, ResponseError

from conftest import uniq


def test_acquire_extend_reacquire_release(r):
    name = uniq("lock")
    lock = r.lock(name, timeout=10)
    assert lock.acquire(blocking=False) is True
    token = lock.local.token
    assert r.get(name) == token
    assert lock.owned() and lock.locked()
    assert 9_000 < r.pttl(name) <= 10_000

    # extend adds to the remaining TTL ...
    assert lock.extend(20) is True
    assert 29_000 < r.pttl(name) <= 30_000
    # ... or replaces it.
    assert lock.extend(5, replace_ttl=True) is True
    assert 4_000 < r.pttl(name) <= 5_000
    # reacquire resets it to the lock's timeout.
    assert lock.reacquire() is True
    assert 9_000 < r.pttl(name) <= 10_000
    assert r.get(name) == token

    lock.release()
    assert r.exists(name) == 0
    assert not lock.locked()
    # Releasing twice is a local error: the lock no longer has a token.
    with pytest.raises(LockError):
        lock.release()


def test_contention_between_two_locks(r):
    name = uniq("lock")
    first = r.lock(name, timeout=10)
    second = r.lock(name, timeout=10)
    assert first.acquire(blocking=False)
    # Held: a non-blocking or briefly blocking acquire fails.
    assert second.acquire(blocking=False) is False
    assert second.acquire(blocking_timeout=0.2) is False
    assert r.get(name) == first.local.token

    first.release()
    assert second.acquire(blocking=False) is True
    assert r.get(name) == second.local.token
    assert not first.owned() and second.owned()
    second.release()


def test_not_owned_errors_after_the_lock_changes_hands(r):
    name = uniq("lock")
    a = r.lock(name, timeout=10)
    b = r.lock(name, timeout=10)
    assert a.acquire(blocking=False, token="token-a")
    # a's key disappears (as when it expires) and b takes the lock.
    r.delete(name)
    assert b.acquire(blocking=False, token="token-b")

    # Each of a's scripts finds another token: LockNotOwnedError, key untouched.
    with pytest.raises(LockNotOwnedError):
        a.release()
    a.local.token = b"token-a"  # release() cleared it; set it back for the next two
    with pytest.raises(LockNotOwnedError):
        a.extend(10)
    with pytest.raises(LockNotOwnedError):
        a.reacquire()
    assert r.get(name) == b"token-b"
    assert 9_000 < r.pttl(name) <= 10_000

    b.release()
    assert r.exists(name) == 0
    # The lock can be taken again once free.
    assert a.acquire(blocking=False)
    a.release()


def test_blocking_acquire_waits_for_release(r):
    """A blocking acquire succeeds once another thread releases the lock."""
    name = uniq("lock")
    holder = r.lock(name, timeout=10, thread_local=False)
    assert holder.acquire(blocking=False)
    waiting = threading.Event()
    got = []

    def waiter():
        lock = r.lock(name, timeout=10, sleep=0.02)
        waiting.set()
        got.append(lock.acquire(blocking_timeout=10))
        got.append(r.get(name) == lock.local.token)
        lock.release()

    t = threading.Thread(target=waiter)
    t.start()
    assert waiting.wait(5)
    assert t.is_alive()  # it cannot get the lock yet
    holder.release()
    t.join(15)
    assert not t.is_alive()
    assert got == [True, True]
    assert r.exists(name) == 0


def test_lock_as_context_manager(r):
    name = uniq("lock")
    with r.lock(name, timeout=5, blocking_timeout=1) as lock:
        assert r.get(name) == lock.local.token
    assert r.exists(name) == 0


def test_register_script_survives_script_flush(r):
    """Script objects: EVALSHA, falling back to EVAL after NOSCRIPT."""
    script = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    key = uniq("script")
    assert script(keys=[key], args=[5]) == 5
    assert r.script_exists(script.sha) == [True]
    r.script_flush()
    assert r.script_exists(script.sha) == [False]
    assert script(keys=[key], args=[2]) == 7
    assert r.script_exists(script.sha) == [True]
    # In a pipeline the script is loaded first (SCRIPT LOAD), then EVALSHA.
    r.script_flush()
    pipe = r.pipeline()
    script(keys=[key], args=[1], client=pipe)
    pipe.get(key)
    assert pipe.execute() == [8, b"8"]
    with pytest.raises(ResponseError, match="not an integer"):
        r.register_script("return redis.call('INCRBY', KEYS[1], 'x')")(keys=[key])
    r.delete(key)
