"""Settings of the Kommo simulator (credentials, limits, webhook timing)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class KommoSimConfig:
    """Knobs of one simulated Kommo account; the defaults match docs/sandbox-kommo.md."""

    subdomain: str = "sandbox"
    account_id: int = 30000001
    user_id: int = 10584713  # the sandbox admin user; API writes are attributed to it
    long_lived_token: str = "kommo-sandbox-token"
    client_id: str = "kommo-sandbox-client"
    client_secret: str = "kommo-sandbox-secret"
    rate_limit_per_second: int = 7  # 0 disables; past it: 429 problem+json
    rate_limit_retry_after: int = 1  # value of retry_after in the 429 body (real Kommo says 300)
    webhook_time_scale: float = 1.0  # multiplies retry delays and the auto-disable window
    webhook_timeout_s: float = 2.0
    access_token_ttl: int = 86400
    seed: int = 7
    # A second user: changes made through /_sim are attributed to this "sales manager", so the
    # integration can tell a person's edits from its own API writes (modified_user_id).
    person_user_id: int = 10584721
    # Redirect target of GET /oauth when the caller passes no redirect_uri.
    oauth_redirect_uri: str = "http://127.0.0.1/kommo/oauth/callback"
    authorization_code_ttl: int = 20 * 60
    # Kommo disables a hook after more than 100 invalid responses in 2 hours.
    webhook_disable_after: int = 100
    webhook_disable_window_s: float = 7200.0  # scaled by webhook_time_scale
    # After this many 429s in a row without a calm second, switch to the HTML 403 block (0: never).
    block_after_429s: int = 0
