"""`setup` makes a fresh simulator account ready; `doctor` passes, then names what breaks."""

from __future__ import annotations

import httpx
from tests.integration.connections.conftest import Env
from typer.testing import CliRunner

from kommo_xero.cli_setup import setup_app

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(setup_app, list(args))
    return result.exit_code, result.output


def test_setup_prepares_fresh_account_and_doctor_passes(env: Env) -> None:
    """setup creates the lead fields and the Kommo webhook; doctor then exits 0."""
    config = env.write_config()
    code, out = _run("setup", "--config", str(config))
    assert code == 0, out
    assert "Xero invoice status" in out  # created on the fresh account
    assert f"http://127.0.0.1:{env.port}/webhooks/xero" in out
    hooks = env.sims.kommo.app.state.sim.webhooks.values()
    expected = f"http://127.0.0.1:{env.port}/webhooks/kommo/sandbox-webhook-secret"
    assert [expected] == [h.destination for h in hooks]
    assert "sandbox-webhook-secret" not in out

    code, out = _run("doctor", "--config", str(config))
    assert code == 0, out
    assert "✖" not in out


def test_setup_twice_creates_nothing_twice(env: Env) -> None:
    """Running setup again leaves one webhook and one set of fields."""
    config = env.write_config()
    assert _run("setup", "--config", str(config))[0] == 0
    assert _run("setup", "--config", str(config))[0] == 0
    state = env.sims.kommo.app.state.sim
    assert len(state.webhooks) == 1
    names = [f.name for f in state.fields.values()]
    assert names.count("Xero invoice status") == 1


def test_doctor_names_a_deleted_field(env: Env) -> None:
    """Deleting one of the integration's lead fields makes doctor fail naming it."""
    config = env.write_config()
    assert _run("setup", "--config", str(config))[0] == 0
    field = next(
        f for f in env.sims.kommo.app.state.sim.fields.values() if f.name == "Xero amount due"
    )
    httpx.delete(
        f"{env.sims.kommo.base_url}/api/v4/leads/custom_fields/{field.id}",
        headers={"Authorization": "Bearer kommo-sandbox-token"},
    ).raise_for_status()
    code, out = _run("doctor", "--config", str(config))
    assert code == 1
    assert "'Xero amount due'" in out
    assert "kommo-xero setup" in out


def test_doctor_names_a_missing_stage(env: Env) -> None:
    """A trigger stage that does not exist in Kommo makes doctor fail naming it."""
    assert _run("setup", "--config", str(env.write_config()))[0] == 0
    config = env.write_config(trigger_stage="Invoice Please")
    code, out = _run("doctor", "--config", str(config))
    assert code == 1
    assert "'Invoice Please'" in out
    assert "mapping.trigger_stage" in out


def test_doctor_names_a_disabled_currency(env: Env) -> None:
    """Disabling in Xero a currency that was in use makes doctor fail naming it."""
    config = env.write_config()
    assert _run("setup", "--config", str(config))[0] == 0
    env.sims.xero_sim.post("/currencies", json={"code": "EUR", "enabled": False}).raise_for_status()
    code, out = _run("doctor", "--config", str(config))
    assert code == 1
    assert "not enabled in Xero: EUR" in out


def test_doctor_before_setup_points_to_setup(env: Env) -> None:
    """On an account never set up, doctor fails and says to run setup."""
    code, out = _run("doctor", "--config", str(env.write_config()))
    assert code == 1
    assert "Run `kommo-xero setup`" in out
