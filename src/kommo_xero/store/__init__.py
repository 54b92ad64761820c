"""The integration's own tables: links, history, parked work, contact links, cursors."""

from kommo_xero.store.db import make_engine, migrate
from kommo_xero.store.repository import Claim, Store

__all__ = ["Claim", "Store", "make_engine", "migrate"]
