"""How the output counts things: ``1 epoch``, ``2 epochs``, never ``1 epochs``.

Every message and printed line that puts a number before a noun goes through
:func:`plural`, so the noun agrees with whatever number the run, the data or
the user brought (a one-epoch run, a one-row batch, a one-byte file).
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None, *, spec: str = "") -> str:
    """``count`` and ``noun``, the noun plural unless the count is one.

    Args:
        count: how many.
        noun: the noun for one (``"epoch"``).
        many: the noun for several, when it is not the noun with an s (``"processes"``).
        spec: how to write the count, as in ``format`` (``","`` for ``4,000``).

    >>> plural(1, "epoch"), plural(25, "epoch"), plural(4000, "digit", spec=",")
    ('1 epoch', '25 epochs', '4,000 digits')
    """
    return f"{count:{spec}} {noun if count == 1 else many or noun + 's'}"
