"""Prints the goal verdicts of one benchmark section: every table that has a PASS/MISS row
(with its header), and every other line that states one. Used by run.sh for the summary at
the top of BENCHMARKS.md."""
import re
import sys

VERDICT = re.compile(r"\b(PASS|MISS)\b")


def main(path: str) -> None:
    lines = open(path, encoding="utf-8").read().splitlines()
    title = next((l.lstrip("# ").strip() for l in lines if l.startswith("## ")), path)
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            table = lines[i:j]
            if any(VERDICT.search(r) for r in table[2:]):
                out += table + [""]
            i = j
            continue
        if VERDICT.search(lines[i]) and lines[i].lstrip().startswith(("- ", "**", "* ")):
            out.append(lines[i])
            if lines[i].startswith("**"):
                out.append("")
        i += 1
    if out:
        print(f"**{title}**\n")
        print("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
