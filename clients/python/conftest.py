"""Shared fixtures for the Python client tests.

The server under test is 127.0.0.1:$CINNABAR_PORT (clients/run.sh sets it,
starting a server first when it is not given). Nothing here talks to any other
address. Every test uses keys/queues under its own unique prefix.
"""
import os
import uuid

import pytest
import redis

HOST = "127.0.0.1"


def _port():
    port = os.environ.get("CINNABAR_PORT")
    if not port:
        pytest.exit("CINNABAR_PORT is not set (run the tests through clients/run.sh)", returncode=2)
    return int(port)


PORT = _port()
URL = f"redis://{HOST}:{PORT}/0"


def uniq(label):
    """A name unique to this test run, e.g. 'cinnabar-test:lock:1234:9f8e...'."""
    return f"cinnabar-test:{label}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def r():
    """A redis-py client (library defaults: RESP3 in redis-py 8), closed afterwards."""
    client = redis.Redis(host=HOST, port=PORT, socket_timeout=10)
    yield client
    client.close()
