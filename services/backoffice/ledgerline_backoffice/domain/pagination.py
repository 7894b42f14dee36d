"""Server-side pagination of a list the API already paginates: which pages to offer as links."""

from __future__ import annotations

from dataclasses import dataclass

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


def clamp_page_size(value: int | None) -> int:
    return value if value in PAGE_SIZES else DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Pagination:
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_item(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.page_size + 1

    @property
    def last_item(self) -> int:
        return min(self.total, self.page * self.page_size)

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show as links: first, last, and `around` either side; None marks a gap."""
        shown = {1, self.pages} | set(range(self.page - around, self.page + around + 1))
        pages = sorted(p for p in shown if 1 <= p <= self.pages)
        out: list[int | None] = []
        previous = 0
        for p in pages:
            if p - previous == 2:
                out.append(p - 1)  # a gap of one page: show the page rather than "…"
            elif p - previous > 2 and previous:
                out.append(None)
            out.append(p)
            previous = p
        return out
