"""Run every benchmark in bench/ (each prints one JSON line per size): `make bench`.

One alone: `python -m bench.<name>`. A benchmark that needs PostgreSQL reads
DATABASE_URL and says so when it is not set.
"""

import pkgutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    failed = []
    for name in names:
        print(f"# bench.{name}", file=sys.stderr, flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:
            failed.append(name)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
