"""redis-py over TLS (client certificate) as a restricted ACL user.

clients/run.sh starts the server with a TLS port and a CA it made; skipped
against an external server (CINNABAR_TLS_PORT unset).
"""
import os

import pytest
import redis

from conftest import HOST, PORT, uniq

TLS_PORT = os.environ.get("CINNABAR_TLS_PORT")
TLS_DIR = os.environ.get("CINNABAR_TLS_DIR")
pytestmark = pytest.mark.skipif(not TLS_PORT, reason="no TLS port (external server)")


def tls_client(**kw):
    return redis.Redis(
        host=HOST,
        port=int(TLS_PORT),
        ssl=True,
        ssl_ca_certs=f"{TLS_DIR}/ca.crt",
        ssl_certfile=f"{TLS_DIR}/client.crt",
        ssl_keyfile=f"{TLS_DIR}/client.key",
        ssl_check_hostname=False,
        socket_timeout=10,
        **kw,
    )


def test_a_queue_user_over_tls_reaches_its_keys_and_nothing_else():
    admin = redis.Redis(host=HOST, port=PORT, socket_timeout=10)
    user = uniq("tlsuser").replace(":", "-")
    prefix = uniq("q")
    admin.acl_setuser(
        user,
        enabled=True,
        passwords=["+s3cret"],
        keys=[f"{prefix}:*"],
        channels=[f"{prefix}.*"],
        commands=["-@all", "+@list", "+@stream", "+ping", "+publish", "+hello", "+auth"],
    )
    try:
        c = tls_client(username=user, password="s3cret")
        assert c.ping()
        assert c.lpush(f"{prefix}:jobs", "a", "b") == 2
        assert c.brpop(f"{prefix}:jobs", timeout=1) == (f"{prefix}:jobs".encode(), b"a")
        entry = c.xadd(f"{prefix}:events", {"kind": "created"})
        c.xgroup_create(f"{prefix}:events", "g", id="0")
        got = c.xreadgroup("g", "c1", {f"{prefix}:events": ">"})
        assert got[0][1][0][0] == entry
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.lpush("elsewhere", "x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            c.get(f"{prefix}:jobs")
        assert c.publish(f"{prefix}.news", "hi") == 0
        log = admin.acl_log(count=5)
        assert any(e["username"] == user and e["object"] == "elsewhere" for e in log), log
        c.close()
    finally:
        admin.acl_deluser(user)
        admin.close()


def test_a_client_without_a_certificate_is_refused():
    c = redis.Redis(
        host=HOST,
        port=int(TLS_PORT),
        ssl=True,
        ssl_ca_certs=f"{TLS_DIR}/ca.crt",
        ssl_check_hostname=False,
        socket_timeout=5,
    )
    with pytest.raises(redis.exceptions.ConnectionError):
        c.ping()
