"""The API against Django's ceiling on this machine, with wrk on 127.0.0.1.

Three operations, each measured twice in the same run: through Crewcall's own web
process setup (`crewcall web`: uvicorn, Django's WSGI handler on a thread pool via
a2wsgi, the setup that also serves the change stream; token auth, rate limit, problem
handling, pydantic output), and through a bare Django view running the same queries
under gunicorn's sync workers (bench/bare: no middleware, no auth).

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32] [--web-processes 2]

Prints requests/s and latency percentiles per operation and the API's share of the
ceiling. Stops by itself; everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import ROOT, stop_process, use_scratch_database  # noqa: E402

use_scratch_database("bench-api", "bench_api")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

BENCH = Path(__file__).resolve().parent
EMPLOYEES = 4000
API_PORT, BARE_PORT = 8391, 8392


def prepare() -> tuple[int, str]:
    """Employees (once) and a fresh dispatcher token; the first employee id."""
    from crewcall.accounts.models import User
    from crewcall.accounts.services import token_create
    from crewcall.people.models import Employee, Role

    call_command("migrate", verbosity=0)
    if Employee.objects.count() < EMPLOYEES:
        from crewcall.people.services import role_create

        roles = [Role.objects.filter(key=k).first() or role_create(actor=None, key=k, name=k.title())
                 for k in ("waiter", "bartender", "cook")]  # fmt: skip
        have = Employee.objects.count()
        Employee.objects.bulk_create(
            [
                Employee(name=f"Person {n:05d}", phone_number=f"+4915{n:09d}", primary_role=roles[n % 3],
                         employment_type="part_time")  # fmt: skip
                for n in range(have, EMPLOYEES)
            ],
            batch_size=1000,
        )
    user = User.objects.filter(username="bench").first() or User.objects.create_user("bench", role="dispatcher")
    token = token_create(actor=None, user_id=user.pk, name="bench").secret
    first = Employee.objects.order_by("id").values_list("id", flat=True).first()
    connection.close()
    assert first is not None
    return first, token


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    began = time.monotonic()
    while time.monotonic() - began < 60:
        if process.poll() is not None:
            raise SystemExit(f"server on {port} exited; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listened on {port} within 60 s; see {log}")


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    wait_listening(port, process, log)
    return process


def versions_file(first: int, path: Path) -> str:
    """The current version of every bench employee, for the PATCH script to send."""
    from crewcall.people.models import Employee

    rows = Employee.objects.filter(id__gte=first, id__lt=first + EMPLOYEES).values_list("id", "version")
    path.write_text("".join(f"{pk} {version}\n" for pk, version in rows))
    connection.close()
    return str(path)


def wrk(script: str, args: list[str], port: int, seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(BENCH / script),
               f"http://127.0.0.1:{port}", "--", *args]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for label in ("50", "99"):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)  # type: ignore[union-attr]
        result[f"p{label}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--bare-workers", type=int, default=2)
    args = parser.parse_args()

    first, token = prepare()
    logs = ROOT / ".data" / "bench-api"
    env = {**os.environ, "CREWCALL_API_RATE_PER_MINUTE": "100000000", "CREWCALL_API_RATE_BURST": "100000000"}
    api = start([sys.executable, "-m", "crewcall", "web", "--host", "127.0.0.1", "--port", str(API_PORT),
                 "--workers", str(args.web_processes)], env, API_PORT, logs / "web.log")  # fmt: skip
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bare.settings",
                "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT / "src")])}  # fmt: skip
    bare = start([sys.executable, "-m", "gunicorn", "-w", str(args.bare_workers), "-b", f"127.0.0.1:{BARE_PORT}",
                  "--access-logfile", "-", "--log-level", "warning",
                  "django.core.wsgi:get_wsgi_application()"], bare_env, BARE_PORT, logs / "gunicorn.log")  # fmt: skip
    try:
        rows = []
        for name, script, api_args, bare_args in (
            ("GET one employee", "wrk_get.lua", [str(first), str(EMPLOYEES), token, "/api/v1/employees/"],
             [str(first), str(EMPLOYEES), token, "/employees/"]),
            ("list 50, filtered", "wrk_list.lua", [token, "/api/v1/employees?role=waiter&limit=50"],
             [token, "/employees?role=waiter"]),
            ("PATCH one employee", "wrk_patch.lua", [str(first), str(EMPLOYEES), token, "/api/v1/employees/"],
             [str(first), str(EMPLOYEES), token, "/employees/"]),
        ):  # fmt: skip
            measured = {}
            for side, port, extra in (("bare", BARE_PORT, bare_args), ("api", API_PORT, api_args)):
                versions = logs / "versions.txt"
                patching = script == "wrk_patch.lua"
                wrk(script, [*extra, versions_file(first, versions)] if patching else extra, port, 2,
                    args.connections)  # warm up  # fmt: skip
                run_args = [*extra, versions_file(first, versions)] if patching else extra
                measured[side] = wrk(script, run_args, port, args.seconds, args.connections)
            rows.append((name, measured))
        print(f"\n{args.connections} connections, {args.seconds} s each; API: crewcall web x{args.web_processes}; "
              f"ceiling: bare Django view, gunicorn sync x{args.bare_workers}")  # fmt: skip
        print(f"{'operation':<20} {'side':<5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for name, measured in rows:
            for side in ("bare", "api"):
                m = measured[side]
                print(f"{name:<20} {side:<5} {m['rps']:>8.0f} {m['p50']:>8.2f} {m['p99']:>8.2f} {m['non2xx']:>8.0f}")
            share = measured["api"]["rps"] / measured["bare"]["rps"]
            print(f"{'':<20} API at {share:.0%} of the ceiling")
    finally:
        stop_process(api)
        stop_process(bare)


if __name__ == "__main__":
    main()
