"""Picks the sample from a demo run's audit records (target/demo/audit.jsonl): the first two
records of each tool, check and outcome, in the order the functions wrote them, unchanged."""

import json
import sys
from collections import Counter

PER_KIND = 2


def main(path):
    seen = Counter()
    with open(path, encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)["guard_audit"]
            kind = (record["tool"], record["check"], record["outcome"])
            if seen[kind] < PER_KIND:
                seen[kind] += 1
                sys.stdout.write(line if line.endswith("\n") else line + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
