"""What reading an mkdocstrings API page costs, against parsing the Markdown it becomes (the step ingestion takes
next).

    .venv/bin/python bench/autodoc.py

A package as libraries document them: 8 modules of 5 classes, each with 6 documented methods (Google-style
docstrings with Args, Returns and Raises), a private method and a module constant; one page per module
(`::: package.module`), and one page for the whole package with every module (`::: package` with
`show_submodules`). Rows: one module's page (griffe reads the package's code for each page), the whole package
on one page, and parsing that page's Markdown as ingestion parses a page, which is the baseline of the ratio
column. Each time is the best of five runs.
"""

import tempfile
from pathlib import Path

from _setup import best_ms, setup, table, write_file

METHOD = '''
    def {name}(self, litres: float, *, zone: str = "beds") -> bool:
        """Water {name} with a number of litres.

        Args:
            litres: How much water to give.
            zone: Which zone of the garden.

        Returns:
            Whether the valve opened.

        Raises:
            ValueError: When litres is negative.
        """
        return litres >= 0
'''


def package(root: Path) -> None:
    write_file(root, "src/garden/__init__.py", '"""Garden automation."""\n')
    for module in range(8):
        classes = []
        for number in range(5):
            methods = "".join(METHOD.format(name=f"step_{n}") for n in range(6))
            classes.append(
                f'class Valve{number}:\n    """Valve {number} of the drip line.\n\n    Attributes:\n'
                f'        schedule: When it opens.\n    """\n{methods}\n    def _private(self) -> None:\n'
                '        """Not shown."""\n'
            )
        constant = f'LIMIT_{module} = {module}\n"""A limit."""\n\n'
        write_file(root, f"src/garden/part{module}.py", f'"""Part {module}."""\n\n{constant}' + "\n\n".join(classes))


def main() -> None:
    setup()
    from knowledge.autodoc import MkDocstrings, render_autodoc
    from knowledge.markdown import parse_markdown

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        package(root)
        settings = MkDocstrings(paths=(root / "src",))
        everything = MkDocstrings(paths=settings.paths, options={"show_submodules": True})
        page = "# Part 0\n\n::: garden.part0\n"
        whole = render_autodoc("# Garden\n\n::: garden\n", settings=everything)

        rows = [
            ("one module's page", best_ms(lambda: render_autodoc(page, settings=settings))),
            ("the whole package on one page", best_ms(lambda: render_autodoc("::: garden", settings=everything))),
            ("parsing the whole package's page (baseline)", best_ms(lambda: parse_markdown(whole, style="mkdocs"))),
        ]
        base = rows[-1][1]
        print(f"package: 8 modules, 40 classes, 240 methods; its page: {len(whole) / 1024:.0f} KB of Markdown\n")
        print(table(["step", "ms", "x parse"], [[name, f"{ms:.1f}", f"{ms / base:.2f}"] for name, ms in rows]))


if __name__ == "__main__":
    main()
