from ledgerline_backoffice.domain.pagination import Pagination, clamp_page_size


def test_pages_and_bounds() -> None:
    p = Pagination(page=1, page_size=50, total=10_000)
    assert p.pages == 200
    assert (p.first_item, p.last_item) == (1, 50)
    assert p.previous is None and p.next == 2
    last = Pagination(page=200, page_size=50, total=10_000)
    assert last.next is None and last.previous == 199
    assert (last.first_item, last.last_item) == (9951, 10_000)


def test_empty_list_has_one_page() -> None:
    p = Pagination(page=1, page_size=50, total=0)
    assert p.pages == 1 and p.first_item == 0 and p.last_item == 0 and p.next is None
    assert p.window() == [1]


def test_window_shows_first_last_and_neighbours_with_gaps() -> None:
    assert Pagination(page=10, page_size=50, total=1000).window() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert Pagination(page=2, page_size=50, total=300).window() == [1, 2, 3, 4, 5, 6]


def test_page_size_is_one_of_the_offered() -> None:
    assert clamp_page_size(100) == 100
    assert clamp_page_size(100_000) == 50
    assert clamp_page_size(None) == 50
