"""Latin-square lists: which variant of each item a list shows (pure, no django).

Study design builds its participant lists with them (``studies.services.design``), and the
power analysis simulates studies on the same lists (:mod:`analysis.compute.power`).
"""


def latin_square_lists(
    n_instances: int, n_variants: int, block_size: int | None
) -> list[list[tuple[int, int]]]:
    """Return lists of (instance index, variant index): rotation ``(i + r) mod m`` per block."""
    size = block_size or n_instances
    lists = []
    for begin in range(0, n_instances, size):
        block = range(begin, min(begin + size, n_instances))
        for r in range(n_variants):
            lists.append([(i, (i + r) % n_variants) for i in block])
    return lists
