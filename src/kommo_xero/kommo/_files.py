"""Files: the drive upload (account drive_url → session → parts → file) and lead attachments."""

from __future__ import annotations

from collections.abc import Sequence

from kommo_xero.kommo._base import KommoBase
from kommo_xero.kommo.models import LeadFile, UploadedFile
from kommo_xero.transport import ApiError

SERVICE = "kommo"


class FilesApi(KommoBase):
    _drive_url: str | None = None

    async def drive_url(self) -> str:
        """The account's file service host, read once and remembered."""
        if self._drive_url is None:
            body = await self._json("GET", "/api/v4/account", params={"with": "drive_url"})
            url = (body or {}).get("drive_url")
            if not url:
                raise ApiError(SERVICE, "the account did not report a drive_url (files scope?)")
            self._drive_url = str(url).rstrip("/")
        return self._drive_url

    async def upload_file(self, name: str, content: bytes, content_type: str) -> UploadedFile:
        """Upload to the Kommo drive; attach the result with `attach_files_to_lead`."""
        if not content:
            raise ValueError("cannot upload an empty file: the drive requires file_size > 0")
        session = await self._json(
            "POST",
            f"{await self.drive_url()}/v1.0/sessions",
            json={
                "file_name": name,
                "file_size": len(content),
                "content_type": content_type,
                "with_preview": False,
            },
        )
        if not isinstance(session, dict) or not session.get("upload_url"):
            raise ApiError(SERVICE, "the drive opened no upload session")
        part_size = max(int(session.get("max_part_size") or len(content) or 1), 1)
        url: str = session["upload_url"]
        offset = 0
        while True:
            part = content[offset : offset + part_size]
            offset += len(part)
            answer = await self._json(
                "POST", url, content=part, headers={"Content-Type": content_type}
            )
            if not isinstance(answer, dict):
                raise ApiError(SERVICE, "the drive answered an upload part with no body")
            if answer.get("uuid"):
                return UploadedFile.model_validate(answer)
            next_url = answer.get("next_url")
            if not next_url or offset >= len(content):
                raise ApiError(SERVICE, "the drive stopped the upload before returning a file")
            url = str(next_url)

    async def attach_files_to_lead(self, lead_id: int, uuids: Sequence[str]) -> None:
        """Show uploaded files in the lead's Files tab."""
        await self._send(
            "PUT", f"/api/v4/leads/{lead_id}/files", json=[{"file_uuid": u} for u in uuids]
        )

    async def list_lead_files(self, lead_id: int) -> list[LeadFile]:
        items = await self._embedded("GET", f"/api/v4/leads/{lead_id}/files", "files")
        return [LeadFile.model_validate(item) for item in items]
