"""Child-process entry point for the hostile-input tests: runs ``deid`` as its command
line does, then writes the peak resident set size of itself and of every child
process it waited for (the batch's workers) to ``$DEID_RSS_FILE``.
(Debug logging and the network block come from ``childsite/sitecustomize.py``.)
"""

from __future__ import annotations

import json
import os
import resource
import sys


def main() -> int:
    from deid.cli import main as deid_main

    try:
        code = deid_main(sys.argv[1:])
    finally:
        rss_file = os.environ.get("DEID_RSS_FILE")
        if rss_file:
            peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                       resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # fmt: skip
            with open(rss_file, "w") as fh:
                json.dump({"peak_kb": peak}, fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
