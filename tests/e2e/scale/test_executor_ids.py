"""Executor ids on PostgreSQL: a second live process under a taken id is refused at start,
and the id is free again once its process is gone (so a crashed worker can come back)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.scale.cluster import CLI
from tests.e2e.scale.scenario import Cluster, running_cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, workers=1) as running:
        yield running


def _second_worker(cluster: Cluster, executor_id: str) -> subprocess.CompletedProcess[str]:
    command = [str(CLI), "worker", "--config", str(cluster.serve.config)]
    return subprocess.run(
        [*command, "--executor-id", executor_id],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_a_second_process_under_a_live_executor_id_is_refused(cluster: Cluster) -> None:
    """Starting `worker --executor-id worker-1` while worker-1 runs exits with advice."""
    refused = _second_worker(cluster, "worker-1")
    assert refused.returncode != 0
    message = refused.stdout + refused.stderr
    assert "executor id 'worker-1' is in use by another running process" in message
    assert "--executor-id" in message
    assert cluster.workers[0].alive()


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_a_killed_process_frees_its_executor_id(cluster: Cluster) -> None:
    """After worker-1 is SIGKILLed, a new process under worker-1 starts normally."""
    worker = cluster.workers[0]
    worker.kill()
    worker.start()  # waits until it reports running
    assert worker.alive()
