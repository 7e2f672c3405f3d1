"""The local dask cluster (``--workers N``) speaks TLS with a certificate of its own.

An unauthenticated scheduler on 127.0.0.1 runs whatever any local user submits, as the
user who started it (issue 23). Here a second client stands in for another local user:
without a certificate, with plain TCP, or with a certificate of another temporary CA, it
must not get a connection, while the executor's own client runs tasks as before.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from distributed import Client
from distributed.security import Security

from gvcdyn.errors import ExecutorError
from gvcdyn.execute import DaskExecutor

pytestmark = pytest.mark.slow  # starts a real cluster: ~10-30 s on a busy 2-core machine


def _connects(address: str, security: Security | None) -> bool:
    try:
        client = Client(address, timeout=5, set_as_default=False, security=security)
    except Exception:  # refused: the TLS handshake, a TypeError without a context, a reset
        pass
    else:
        client.close()
        return True
    # The refused Client is garbage in a cycle; collected later, inside the next Client's
    # start, its __del__ waits for distributed's LoopRunner lock that start holds: the
    # suite hung here once (see gvcdyn.execute.executors._connect). Collect it now.
    gc.collect()
    return False


def test_the_local_cluster_admits_only_its_own_clients():
    with DaskExecutor(workers=1, numba_threads=1) as executor:
        address = executor.address
        assert address.startswith("tls://127.0.0.1:")
        future = executor._client.submit(np.add, 2, 3)
        assert future.result(timeout=60) == 5
        assert not _connects(address, None)  # no certificate
        assert not _connects(address.replace("tls://", "tcp://"), None)  # plain TCP
        assert not _connects(address, Security.temporary())  # another CA's certificate


def test_a_tls_scheduler_without_tls_settings_is_one_clear_error():
    message = "speaks TLS and this machine has no TLS"
    with (
        DaskExecutor(workers=1, numba_threads=1) as executor,
        pytest.raises(ExecutorError, match=message),
    ):
        DaskExecutor(scheduler=executor.address, connect_timeout=5)
