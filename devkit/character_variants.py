"""Writes ``config/character_variants.tsv``: traditional characters and their one simplified form.

The table comes from OpenCC's ``TSCharacters.txt`` (Apache-2.0), as shipped by the PyPI package
``opencc-python-reimplemented`` (a ``dev`` extra). Only characters with exactly one simplified form
are kept: ``於`` (于, or 於 as a surname) and ``乾`` (干, or 乾 in 乾坤) are left out, since a
recognizer's ``乾`` may be printed so. Run ``python -m declscan.devkit.character_variants`` after
updating the package; the output is committed, so nothing is fetched or converted at run time.
"""

from __future__ import annotations

import importlib.metadata
from importlib import resources
from pathlib import Path

SOURCE = ("opencc", "dictionary/TSCharacters.txt")
OUT = "character_variants.tsv"


def one_to_one(table: str) -> dict[str, str]:
    """``{traditional: simplified}`` of an OpenCC character table, for single characters with
    exactly one simplified form other than themselves."""
    pairs = {}
    for line in table.splitlines():
        source, _, targets = line.partition("\t")
        forms = targets.split()
        if len(source) == 1 and len(forms) == 1 and len(forms[0]) == 1 and forms[0] != source:
            pairs[source] = forms[0]
    return pairs


def main() -> None:
    package, name = SOURCE
    table = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    version = importlib.metadata.version("opencc-python-reimplemented")
    pairs = one_to_one(table)
    out = Path(str(resources.files("declscan.config").joinpath(OUT)))
    header = (f"# Traditional character, tab, its one simplified form: {len(pairs)} pairs from OpenCC's\n"
              f"# {name} (Apache-2.0), opencc-python-reimplemented {version}.\n"
              "# Written by declscan.devkit.character_variants; do not edit by hand.\n")
    out.write_text(header + "".join(f"{t}\t{s}\n" for t, s in pairs.items()), encoding="utf-8")
    print(f"{out}: {len(pairs)} pairs")


if __name__ == "__main__":
    main()
