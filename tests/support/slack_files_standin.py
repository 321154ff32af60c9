"""Slack's files in the stand-in (tests/support/slack_standin.py): the external upload API a
report or a template goes through, and a file someone put in a modal's file_input, which the
bot reads with files.info and url_private_download, as Slack documents them."""

from __future__ import annotations

import json
import threading

from starlette.requests import Request
from starlette.responses import Response


class SlackFiles:
    """Mixed into SlackStandIn, whose `files`, `url`, `_lock` and `_channel_problem` these use:
    file id -> {"filename", "length", "content" (bytes once posted), "channel" (once shared)}."""

    files: dict[str, dict]
    channels: dict[str, dict]
    url: str
    _lock: threading.Condition

    def _channel_problem(self, channel: str) -> str | None:
        raise NotImplementedError

    # Files, as Slack's external upload works: files.getUploadURLExternal (filename, length)
    # answers an upload_url and a file_id; the bytes are POSTed to the upload_url (raw or as a
    # form); files.completeUploadExternal (files: [{"id", "title"}], channel_id) shares them.

    def shared_file(self, timeout: float = 10) -> dict:
        """The last file shared with files.completeUploadExternal, once one is."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._shared(), timeout):
                raise AssertionError(f"no file was shared within {timeout}s")
            return self._shared()[-1]

    def _shared(self) -> list[dict]:
        return [f for f in self.files.values() if "channel" in f]

    def _files_getUploadURLExternal(self, args: dict) -> dict:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length is None or not str(length).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            file_id = f"F{len(self.files) + 1:08d}"
            self.files[file_id] = {"filename": filename, "length": int(length)}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        body = await request.body()
        with self._lock:
            pending = self.files.get(file_id)
            if pending is None:
                return Response("not found", status_code=404)
            pending["content"] = body
        return Response(f"OK - {len(body)}")

    def _files_completeUploadExternal(self, args: dict) -> dict:
        try:
            files = json.loads(args.get("files", ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id")
        with self._lock:
            found = [self.files.get(f.get("id", "")) for f in files]
            if not files or any(f is None or "content" not in f for f in found):
                return {"ok": False, "error": "file_not_found"}
            if channel and not channel.startswith("D"):
                problem = self._channel_problem(channel)
                if problem or not self.channels[channel]["member"]:
                    return {"ok": False, "error": problem or "not_in_channel"}
            for f, shared in zip(files, found, strict=True):
                shared |= {"channel": channel, "title": f.get("title")}
            self._lock.notify_all()
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    # A file a person put in a modal's file_input: the view_submission names its id; files.info
    # answers its url_private_download, which takes the bot token as a bearer token.

    def add_upload(self, name: str, content: bytes) -> str:
        with self._lock:
            file_id = f"F{len(self.files) + 1:08d}"
            self.files[file_id] = {"filename": name, "length": len(content), "content": content}
        return file_id

    def _files_info(self, args: dict) -> dict:
        found = self.files.get(args.get("file", ""))
        if found is None or "content" not in found:
            return {"ok": False, "error": "file_not_found"}
        name, file_id = found["filename"], args["file"]
        return {
            "ok": True,
            "file": {
                "id": file_id,
                "name": name,
                "size": found["length"],
                "url_private_download": f"{self.url}/download/{file_id}/{name}",
            },
        }

    async def _download(self, request: Request) -> Response:
        found = self.files.get(request.path_params["file_id"])
        if request.headers.get("authorization") != "Bearer xoxb-test-token" or found is None:
            return Response("<html>sign in</html>", media_type="text/html")  # as Slack does
        return Response(found["content"], media_type="application/octet-stream")
