"""Reading the rendered .docx back the way a clerk reads the printed form: find a label, look beside it."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from docx import Document
from docx.table import Table, _Cell


def unique_cells(row) -> list[_Cell]:
    """A row's cells with horizontally merged cells counted once."""
    out: list[_Cell] = []
    for cell in row.cells:
        if not out or out[-1]._tc is not cell._tc:
            out.append(cell)
    return out


@dataclass
class Read:
    doc: object

    @classmethod
    def of(cls, data: bytes) -> Read:
        assert data[:2] == b"PK", "not a .docx (zip) file"
        return cls(Document(io.BytesIO(data)))

    @property
    def table(self) -> Table:
        assert len(self.doc.tables) == 1
        return self.doc.tables[0]

    @property
    def paragraphs(self) -> list[str]:
        return [p.text for p in self.doc.paragraphs]

    def rows(self) -> list[list[str]]:
        return [[c.text for c in unique_cells(r)] for r in self.table.rows]

    def beside(self, label: str, nth: int = 0) -> str:
        """The text of the cell right of the ``nth`` cell whose text is exactly ``label``."""
        hits = []
        for row in self.table.rows:
            cells = unique_cells(row)
            for i, cell in enumerate(cells):
                if cell.text == label:
                    hits.append(cells[i + 1].text if i + 1 < len(cells) else None)
        assert len(hits) > nth, f"label {label!r} found {len(hits)} times"
        value = hits[nth]
        assert value is not None, f"nothing beside {label!r}"
        return value

    def row_starting(self, first: str) -> list[str]:
        for cells in self.rows():
            if cells and cells[0] == first:
                return cells
        raise AssertionError(f"no row starts with {first!r}")

    def cells_beside(self, label: str) -> list[_Cell]:
        """The cells right of every cell whose text is exactly ``label``, top to bottom."""
        out = []
        for row in self.table.rows:
            cells = unique_cells(row)
            out.extend(cells[i + 1] for i, c in enumerate(cells[:-1]) if c.text == label)
        return out

    def cell_paragraphs_beside(self, label: str) -> list[str]:
        for row in self.table.rows:
            cells = unique_cells(row)
            for i, cell in enumerate(cells):
                if cell.text == label:
                    return [p.text for p in cells[i + 1].paragraphs]
        raise AssertionError(f"no label {label!r}")

    def all_text(self) -> str:
        parts = list(self.paragraphs)
        for t in self.doc.tables:
            parts.extend(c.text for r in t.rows for c in r.cells)
        return "\n".join(parts)


@pytest.fixture
def read():
    return Read.of
