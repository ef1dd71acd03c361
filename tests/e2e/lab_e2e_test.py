#!/usr/bin/env python3
"""End-to-end: the whole lab scenario (scenarios/practica1.yaml) through the real
`sonda` binary, with shortened durations, then checks the run directory.

usage: lab_e2e_test.py SONDA_BINARY REPO_ROOT
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

checks_passed, checks_failed = 0, 0


def check(cond: bool, what: str) -> None:
    global checks_passed, checks_failed
    if cond:
        checks_passed += 1
    else:
        checks_failed += 1
        print(f"FAIL: {what}", file=sys.stderr)


def sockets_on_port(port: int) -> str:
    # Reading the socket table, never connecting.
    out = subprocess.run(["ss", "-tuanpH", f"( sport = :{port} )"], capture_output=True, text=True)
    return out.stdout.strip()


def main() -> int:
    sonda, root = sys.argv[1], sys.argv[2]
    if sockets_on_port(10000):
        print("SKIP: port 10000 is already in use on this machine:\n" + sockets_on_port(10000))
        print("0 passed, 0 failed")
        return 0
    with tempfile.TemporaryDirectory(prefix="sonda-lab-") as out:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sonda, "run", os.path.join(root, "scenarios", "practica1.yaml"), "-o", out,
             "--set", "defaults.duration=1s"],
            capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - t0
        print(proc.stdout)
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
        check(proc.returncode == 0, f"sonda run exit code {proc.returncode} (want 0)")

        run_json = os.path.join(out, "practica1", "latest", "run.json")
        check(os.path.exists(run_json), f"{run_json} exists")
        if not os.path.exists(run_json):
            print(f"{checks_passed} passed, {checks_failed} failed")
            return 1
        with open(run_json) as f:
            run = json.load(f)
        for s in run["steps"]:  # records of 1 MiB or more are files of their own
            if "record_file" in s and "record" not in s:
                with open(os.path.join(os.path.dirname(run_json), s["record_file"])) as f:
                    s["record"] = json.load(f)
        steps = {s["id"]: s for s in run["steps"]}
        for sid, s in steps.items():
            check(s["status"] == "ok", f"step {sid} ok (got {s['status']}: {s.get('reason', '')})")
        for sid in ["ifaces", "sockets", "tcp_py", "udp_py", "port_tcp_py",
                    "port_udp_py", "tcp_py_rr", "udp_py_rr", "tcp_own", "udp_own", "tcp_own_rr",
                    "udp_own_rr", "tcp_own_stream", "udp_own_stream", "lo_tcp_py"]:
            check(sid in steps, f"step {sid} recorded")

        rec = lambda sid: steps.get(sid, {}).get("record", {})
        # Who occupies port 10000: the very processes the scenario spawned.
        for proto, owner_step, spawn_step in [("tcp", "port_tcp_py", "tcp_py"), ("udp", "port_udp_py", "udp_py")]:
            owners = rec(owner_step).get("owners", [])
            pid = rec(spawn_step).get("pid")
            check(any(o.get("pid") == pid for o in owners), f"{proto} port 10000 owner is spawned pid {pid}: {owners}")
            check(any("python" in o.get("process", "") for o in owners), f"{proto} owner is python: {owners}")
        # sonda's own servers are owned by the sonda process itself.
        own = rec("port_tcp_own").get("owners", [])
        check(any(o.get("process") == "sonda" for o in own), f"sonda's TCP server owner is sonda: {own}")

        # Discovery of the interfaces and the environment.
        check(run.get("context", {}).get("kernel") is not None, "run context has the kernel")
        check("docker" in run.get("context", {}), "run context says whether Docker is present")
        names = [i.get("name") for i in rec("ifaces").get("interfaces", [])]
        check("lo" in names, f"interfaces include lo: {names}")

        # The summary's sections, in the lab's order, and the comparison's answers.
        reports = run.get("reports", [])
        kinds = [r.get("kind") for r in reports]
        check(kinds == ["interfaces", "services", "kernel_threads", "occupation", "comparison"],
              f"the lab's five sections: {kinds}")
        by_kind = {r.get("kind"): r for r in reports}
        occupation = by_kind.get("occupation", {}).get("rows", [])
        check(len(occupation) == 4 and all(r.get("holders") for r in occupation),
              f"a holder of port 10000 during each of the four loads: {occupation}")
        comparison = by_kind.get("comparison")
        if comparison:
            rows = {r["label"]: r for r in comparison["rows"]}
            p50 = rows.get("RTT p50", {}).get("values", [])
            check(len(p50) == 4 and all(isinstance(v, (int, float)) and v > 0 for v in p50),
                  f"RTT p50 measured for all four servers: {p50}")
            answers = comparison.get("answers", [])
            check(len(answers) == 2 and all(a.get("figures") for a in answers), f"answers for both pairs: {answers}")
            check("Overall," not in comparison.get("verdict", ""), "no winner count")
        for title in ["1. Network configuration", "2. Listening services", "3. Kernel threads",
                      "4. Who held port 10000", "5. TCP vs UDP", "Is UDP faster than TCP?"]:
            check(title in proc.stdout, f"the summary prints '{title}'")
        check(all(e["passed"] for e in run.get("expectations", [])), "every expectation passed")

        # Nothing left behind: no process, no socket on port 10000.
        time.sleep(0.2)
        left = sockets_on_port(10000)
        check(left == "" or "TIME-WAIT" in left and "users:" not in left, f"no socket left on 10000: {left}")
        for sid in ["tcp_py", "udp_py"]:
            pid = rec(sid).get("pid")
            check(pid is not None and not os.path.exists(f"/proc/{pid}"), f"spawned {sid} pid {pid} is gone")
        print(f"lab scenario took {elapsed:.1f}s")
    print(f"{checks_passed} passed, {checks_failed} failed")
    return 0 if checks_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
