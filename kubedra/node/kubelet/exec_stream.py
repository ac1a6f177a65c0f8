"""``kubectl exec`` over WebSocket: the Kubernetes channel protocol (``v4``/``v5.channel.k8s.io``).

kubectl ≥ 1.30 speaks WebSocket first. Every binary frame starts with a channel byte:
0 stdin, 1 stdout, 2 stderr, 3 error (a metav1.Status JSON sent once at the end), 4 resize;
v5 adds 255 = "close this channel" (``[255, 0]`` closes stdin). The command runs as a
local process with the container's environment and working directory. SPDY is not
offered: kubectl falls back to it only when the WebSocket upgrade itself fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_status(argv: Sequence[str], code: int) -> dict[str, object]:
    """The channel-3 Status for an exit code (kubectl turns NonZeroExitCode into its own exit code)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {list(argv)}, "
                   f"exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def error_status(message: str) -> dict[str, object]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
            "details": {"causes": [{"message": message}]}, "code": 500}


async def serve_exec(request: web.Request, argv: list[str], env: dict[str, str], cwd: Path | None,
                     want_stdin: bool, tty: bool) -> web.WebSocketResponse:
    """Upgrade ``request`` and run ``argv``; returns when the command finished and the socket closed."""
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0)
    await ws.prepare(request)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=str(cwd) if cwd else None,
            stdin=asyncio.subprocess.PIPE if want_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT if tty else asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        reason = "executable file not found in $PATH" if isinstance(exc, FileNotFoundError) else str(exc)
        message = f'error executing command in container: exec: "{argv[0]}": {reason}'
        await ws.send_bytes(bytes([ERROR]) + json.dumps(error_status(message)).encode())
        await ws.close()
        return ws

    async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
        if stream is None:
            return
        while chunk := await stream.read(32 * 1024):
            await ws.send_bytes(bytes([channel]) + chunk)

    async def feed() -> None:
        async for message in ws:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel == STDIN and process.stdin is not None:
                process.stdin.write(payload)
                with contextlib.suppress(ConnectionError):
                    await process.stdin.drain()
            elif channel == CLOSE and payload[:1] == bytes([STDIN]) and process.stdin is not None:
                process.stdin.close()
        # The client went away: the command must not outlive the session.
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    reader = asyncio.create_task(feed())
    try:
        await asyncio.gather(pump(process.stdout, STDOUT), pump(process.stderr, STDERR))
        code = await process.wait()
        if not ws.closed:
            await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(argv, code)).encode())
            await ws.close()
    except ConnectionError:
        log.debug("exec client disconnected")
    finally:
        reader.cancel()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    return ws
