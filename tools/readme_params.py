#!/usr/bin/env python3
"""Keep plugin READMEs' parameter tables equal to the plugins' own schemas.

A README marks each table it embeds:

    <!-- sonda:params tcp_transport.stream -->
    ...what `sonda plugins describe --markdown tcp_transport.stream` prints...
    <!-- /sonda:params -->

  tools/readme_params.py --sonda build/bin/sonda --check plugins/*/README.md
      exit 1 with a unified diff per stale region and the command that fixes it
  tools/readme_params.py --sonda build/bin/sonda --write plugins/*/README.md
      rewrite every region from the schema

The schema is the only source (docs/PARAMETERS.md); nothing here knows a
parameter. ctest runs --check (test docs_readme_params), so CI fails when a
README and its plugin disagree.
"""
import argparse
import difflib
import re
import subprocess
import sys

REGION = re.compile(r"(<!-- sonda:params ([\w.-]+) -->\n)(.*?)(<!-- /sonda:params -->)", re.S)


def describe(sonda, what):
    out = subprocess.run([sonda, "plugins", "describe", "--markdown", what], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{sonda} plugins describe --markdown {what} failed ({out.returncode}): "
                         f"{out.stderr.strip()}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sonda", required=True, help="the sonda binary (its plugins next to it)")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report stale regions, exit 1 if any")
    mode.add_argument("--write", action="store_true", help="rewrite the regions")
    ap.add_argument("readmes", nargs="+")
    args = ap.parse_args()

    stale = 0
    for path in args.readmes:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        regions = list(REGION.finditer(text))
        if not regions:
            print(f"{path}: no <!-- sonda:params plugin.action --> region", file=sys.stderr)
            stale += 1
            continue

        def fresh(m):
            return m.group(1) + describe(args.sonda, m.group(2)) + m.group(4)

        for m in regions:
            want = describe(args.sonda, m.group(2))
            if m.group(3) != want:
                stale += 1
                line = text.count("\n", 0, m.start()) + 1
                print(f"{path}:{line}: the {m.group(2)} table differs from the plugin's schema:")
                sys.stdout.writelines(difflib.unified_diff(
                    m.group(3).splitlines(True), want.splitlines(True),
                    f"{path} (README)", f"sonda plugins describe --markdown {m.group(2)}"))
        if args.write:
            new = REGION.sub(fresh, text)
            if new != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
                print(f"{path}: rewritten")
    if args.check and stale:
        print(f"\n{stale} stale region(s). Regenerate them with:\n"
              f"  tools/readme_params.py --sonda {args.sonda} --write {' '.join(args.readmes)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
