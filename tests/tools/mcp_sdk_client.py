"""Drives `prover mcp` with the official MCP Python SDK's client (PyPI `mcp`), as an agent would.

Usage:
  mcp_sdk_client.py stdio PROVER REPL_CMD CRASH_REPL_CMD WORKDIR
  mcp_sdk_client.py http URL TOKEN WORKDIR REPL_LOG CRASH_URL
  mcp_sdk_client.py prove PROVER ARGS_JSON HEADER STATEMENT

Over stdio: list the tools, prove a theorem, see a failure with its stop reason, check a valid
and an invalid proof, fill two sorries of a file, cancel a long search, and get `isError` with
a cause from a server whose REPL crashes at start. Over HTTP: the same tools, two clients
proving at once on one server, the second proof of a theorem answered from the shared cache
with no tactic reaching the REPL (counted in REPL_LOG, the simulated REPL's `--log` of every
request), and `isError` with a cause from the server at CRASH_URL, whose REPL crashes at start.
Exits non-zero (with a traceback) on the first thing that is not as expected.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

AND_INTRO = "theorem and_intro (p q : Prop) (hp : p) (hq : q) : p ∧ q := by"
FORALL_INTRO = "theorem forall_intro : ∀ n : ℕ, n + 0 = n := by"
UNPROVABLE = "theorem unprovable (x : ℕ) : x < x := by"
FILE = (
    "import Mathlib\n\n"
    f"{AND_INTRO} sorry\n\n"
    f"{FORALL_INTRO}\n  sorry\n"
)
TOOLS = [
    "prover_prove",
    "prover_fill_sorries",
    "prover_check",
    "prover_try",
    "prover_goal",
    "prover_job",
    "prover_cancel",
    "prover_plan",
]


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


async def call(session, tool, arguments, progress=None):
    result = await session.call_tool(tool, arguments, progress_callback=progress)
    return result.structured_content, bool(result.is_error)


async def tools_work(session, workdir):
    listed = await session.list_tools()
    names = [tool.name for tool in listed.tools]
    expect(names == TOOLS, f"tools: {names}")

    seen = []

    async def on_progress(progress, total, message):
        seen.append(message)

    proved, error = await call(session, "prover_prove", {"statement": AND_INTRO}, on_progress)
    expect(not error and proved["status"] == "proved", f"prove: {proved}")
    expect(proved["layers"]["elaboration"] == "passed", f"layers: {proved}")
    expect(len(seen) == proved["statistics"]["expansions"], f"progress: {seen}")
    print(f"proved {proved['name']}: {proved['proof']!r}")

    failed, error = await call(
        session, "prover_prove", {"statement": UNPROVABLE, "budget": {"max_expansions": 3}}
    )
    expect(not error and failed["status"] == "failed", f"failure: {failed}")
    expect(failed["stop_reason"], f"stop reason: {failed}")
    print(f"failed {failed['name']}: {failed['stop_reason']}")
    read = await session.read_resource(f"prover://jobs/{failed['job']}")
    resource = json.loads(read.contents[0].text)
    expect(resource["answer"]["stop_reason"] == failed["stop_reason"], f"resource: {resource}")

    valid, error = await call(
        session,
        "prover_check",
        {"statement": AND_INTRO, "proof": "\n  constructor\n  exact hp\n  exact hq"},
    )
    expect(not error and valid["status"] == "valid", f"valid: {valid}")
    invalid, error = await call(
        session, "prover_check", {"statement": AND_INTRO, "proof": "\n  norm_num"}
    )
    expect(not error and invalid["status"] == "invalid", f"invalid: {invalid}")
    expect(invalid["messages"], f"messages: {invalid}")

    tried, error = await call(
        session,
        "prover_try",
        {"statement": AND_INTRO, "tactics": ["constructor", "norm_num", "exact hp"]},
    )
    statuses = [result["status"] for result in tried["results"]]
    expect(not error and statuses == ["open", "error", "error"], f"try: {tried}")
    expect(len(tried["results"][0]["goals"]) == 2, f"goals after constructor: {tried}")
    print(f"tried 3 tactics: {statuses}")

    path = os.path.join(workdir, "Fill.lean")
    with open(path, "w", encoding="utf-8") as f:
        f.write(FILE)
    filled, error = await call(session, "prover_fill_sorries", {"file": path})
    expect(not error and filled["proved"] == 2, f"fill: {filled}")
    expect(len(filled["edits"]) == 2, f"edits: {filled}")
    with open(path, encoding="utf-8") as f:
        expect(f.read() == FILE, "the file was written without write: true")
    print(f"filled {filled['proved']} sorries")

    # A search none of whose REPL answers is cached yet (another header), each slowed by the
    # simulator: still running when the cancel comes.
    started, error = await call(
        session,
        "prover_prove",
        {"statement": UNPROVABLE, "header": f"import Mathlib\n-- {workdir}\n", "wait": False},
    )
    expect(not error and started["state"] == "running", f"started: {started}")
    cancel, error = await call(session, "prover_cancel", {"id": started["job"]})
    expect(not error and cancel["cancelled"], f"cancel: {cancel}")
    while True:
        status, _ = await call(session, "prover_job", {"id": started["job"]})
        if status["state"] == "ended":
            break
        await asyncio.sleep(0.05)
    expect(status["answer"]["status"] != "proved", f"cancelled job: {status}")
    expect(status["answer"]["stop_reason"] == "cancelled", f"cancelled job: {status}")
    print(f"cancelled job {started['job']}: {status['answer'].get('stop_reason')}")


def tactic_requests(repl_log):
    """How many tactic requests (ProofStep) the simulated REPL has logged so far."""
    with open(repl_log, encoding="utf-8") as f:
        return sum(1 for line in f if "tactic" in json.loads(line))


async def crash_answer(session):
    """Asks a server whose REPL crashes at start for a proof: `isError` with a cause."""
    answer, error = await call(session, "prover_prove", {"statement": AND_INTRO})
    expect(error and answer["status"] == "error", f"crash: {answer}")
    # The cause quotes what the crashing REPL (tests/e2e/mcp.rs's `crashing_repl`) printed.
    expect("simulated REPL: cannot start" in answer["error"], f"crash cause: {answer}")
    return answer["error"]


async def stdio(prover, repl, crash_repl, workdir):
    server = StdioServerParameters(
        command=prover, args=["mcp", "--repl-cmd", repl, "--workers", "1"]
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await tools_work(session, workdir)

    crashing = StdioServerParameters(
        command=prover, args=["mcp", "--repl-cmd", crash_repl, "--workers", "1"]
    )
    async with stdio_client(crashing) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            cause = await crash_answer(session)
            print(f"crash at start: isError with {cause!r}")


async def http(url, token, workdir, repl_log, crash_url):
    headers = {"Authorization": f"Bearer {token}"}

    async def client(work, url=url):
        async with create_mcp_http_client(headers=headers) as http_client:
            async with streamable_http_client(url, http_client=http_client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await work(session)

    await client(lambda session: tools_work(session, workdir))

    async def prove(statement):
        async def work(session):
            return await call(session, "prover_prove", {"statement": statement})

        return await client(work)

    # Two agents at once on one server.
    (first, e1), (second, e2) = await asyncio.gather(prove(FORALL_INTRO), prove(AND_INTRO))
    expect(not e1 and first["status"] == "proved", f"first client: {first}")
    expect(not e2 and second["status"] == "proved", f"second client: {second}")
    # The theorem the first client proved, asked again by the other: from the shared cache,
    # so no tactic reaches the REPL between the first proof's answer and the second's. (The
    # simulator logs each request as it receives it, before answering, so every tactic of the
    # first proofs is in the log by now.)
    tactics_before = tactic_requests(repl_log)
    expect(tactics_before > 0, f"the REPL log {repl_log} holds no tactic of the first proofs")
    again, error = await prove(FORALL_INTRO)
    expect(not error and again["status"] == "proved", f"again: {again}")
    expect(again["statistics"]["from_cache"], f"not from the cache: {again}")
    tactics_sent = tactic_requests(repl_log) - tactics_before
    expect(tactics_sent == 0, f"the second proof sent {tactics_sent} tactics to the REPL")
    print(
        "two clients proved at once; the second proof came from the shared cache "
        f"({tactics_before} tactics reached the REPL before it, none during it)"
    )

    cause = await client(crash_answer, url=crash_url)
    print(f"crash at start over HTTP: isError with {cause!r}")


async def prove_one(prover, args, header, statement):
    """`prover mcp ARGS` (a JSON list) proves STATEMENT on HEADER."""
    server = StdioServerParameters(command=prover, args=["mcp", *json.loads(args)])
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            proved, error = await call(
                session, "prover_prove", {"statement": statement, "header": header}
            )
            expect(not error and proved["status"] == "proved", f"prove: {proved}")
            expect(proved["layers"]["elaboration"] == "passed", f"layers: {proved}")
            print(f"proved {proved['name']} in {proved['statistics']['expansions']} expansions")


def main():
    mode = sys.argv[1]
    if mode == "stdio":
        asyncio.run(stdio(*sys.argv[2:6]))
    elif mode == "http":
        asyncio.run(http(*sys.argv[2:7]))
    elif mode == "prove":
        asyncio.run(prove_one(*sys.argv[2:6]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("ok")


if __name__ == "__main__":
    main()
