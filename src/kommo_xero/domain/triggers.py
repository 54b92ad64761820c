"""Which Kommo lead events mean "this deal just entered the trigger stage"."""

from __future__ import annotations

from collections.abc import Callable

# action → does an event of that kind, sitting in the trigger stage, mean "entered it"?
# A status event always reports a move; an added lead created straight in the stage counts;
# an update counts only when it reports a different previous stage (otherwise it is an
# ordinary edit of a deal that was already there, including our own write-backs).
_ENTERED: dict[str, Callable[[int | None, int | None], bool]] = {
    "status": lambda status, old: old != status,
    "add": lambda status, old: True,
    "update": lambda status, old: old is not None and old != status,
    "restore": lambda status, old: True,
}


def entered_trigger_stage(
    action: str,
    status_id: int | None,
    old_status_id: int | None,
    pipeline_id: int | None,
    *,
    trigger_pipeline_id: int,
    trigger_status_id: int,
) -> bool:
    if status_id != trigger_status_id:
        return False
    if pipeline_id is not None and pipeline_id != trigger_pipeline_id:
        return False
    rule = _ENTERED.get(action)
    return bool(rule and rule(status_id, old_status_id))


def cause_id(account_id: int, lead_id: int, status_id: int, changed_at: int | str | None) -> str:
    """The deterministic id of one "entered the stage" event: repeats map to the same id."""
    return f"kommo:{account_id}:{lead_id}:{status_id}:{changed_at or 0}"
