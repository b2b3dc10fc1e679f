"""Message helpers."""

import pytest

from nncore.text import plural


@pytest.mark.parametrize("n,expected", [(0, "0 epochs"), (1, "1 epoch"), (2, "2 epochs"),
                                        (1000, "1,000 epochs")])
def test_plural(n, expected):
    assert plural(n, "epoch") == expected
