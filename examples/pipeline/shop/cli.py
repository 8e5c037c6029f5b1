"""`python3 shop.pyz 1999 19`: a price in cents with tax."""

import sys

from shop.prices import with_tax


def main() -> None:
    cents, rate = (int(value) for value in sys.argv[1:3])
    print(with_tax(cents, rate))
