"""A lean OpenAI-compatible streaming server for the benchmark, in a process of its own.

The test double (tests/doubles/fake_llm.py) scripts failures and records every request; under
hundreds of concurrent answers on two cores its own CPU would crowd out what is measured. This
one does three things cheaply: it streams one pre-encoded answer (the same bytes every time) at
once, or paced over about 4 s for a message containing SLOW (1.9 s a chunk for DRIP), or, for a
message containing HANG,
holds the request open without a byte until `/release` (the benchmark's hung LLM). `/stats`
reports its own CPU time and what it served, so the benchmark can report them.

Run: python -m tests.bench.fast_llm --port 0  (prints `listening on PORT` when ready)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

from aiohttp import web

HANG = "HANG"
SLOW = "SLOW"
SLOW_PACE_S = 0.05  # between chunks of a SLOW answer: 80 chunks in about 4 s
DRIP = "DRIP"
DRIP_PACE_S = 1.9  # each chunk just under a 2 s read timeout: the budget's worst case
ANSWER = "The quick brown fox jumps over the lazy dog. " * 14  # 630 characters
CHUNK = 8  # characters per streamed chunk: 80 content chunks an answer


def encoded_answer(model: str) -> list[bytes]:
    """The `data:` events of one streamed answer: role, content chunks, finish, usage, [DONE]."""

    def event(delta: dict[str, str], finish: str | None = None, **extra: object) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    parts = [ANSWER[i : i + CHUNK] for i in range(0, len(ANSWER), CHUNK)]
    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": part}) for part in parts]
    events.append(event({}, "stop"))
    usage = {"prompt_tokens": 40, "completion_tokens": len(parts), "total_tokens": 40 + len(parts)}
    events.append(
        b"data: "
        + json.dumps({"id": "chatcmpl-bench", "choices": [], "usage": usage}).encode()
        + b"\n\n"
    )
    events.append(b"data: [DONE]\n\n")
    return events


class FastLLM:
    def __init__(self, model: str) -> None:
        self.events = encoded_answer(model)
        self.released = asyncio.Event()
        self.answered = 0
        self.hung = 0

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        question = body["messages"][-1]["content"]
        if HANG in question:
            self.hung += 1
            await self.released.wait()
            return web.json_response({"error": {"message": "released"}}, status=503)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        pace = DRIP_PACE_S if DRIP in question else SLOW_PACE_S if SLOW in question else 0.0
        try:
            for event in self.events:
                await response.write(event)
                if pace:
                    await asyncio.sleep(pace)
            await response.write_eof()
        except ConnectionResetError:
            return response  # the client went away (webapi cut the answer): nothing to do
        self.answered += 1
        return response

    async def release(self, request: web.Request) -> web.Response:
        """Let every hung request go (with a 503), and hang new ones again."""
        self.released.set()
        await asyncio.sleep(0)
        self.released = asyncio.Event()
        return web.json_response({"released": True})

    async def stats(self, request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response(
            {
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "answered": self.answered,
                "hung": self.hung,
            }
        )


def build(model: str) -> web.Application:
    fast = FastLLM(model)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", fast.completions)
    app.router.add_post("/release", fast.release)
    app.router.add_get("/stats", fast.stats)
    return app


async def serve(port: int, model: str) -> None:
    runner = web.AppRunner(build(model), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening on {bound}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", default="bench-model")
    args = parser.parse_args()
    # Hundreds of held connections: lift the soft limit on open files to the hard one.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args.port, args.model))


if __name__ == "__main__":
    main()
