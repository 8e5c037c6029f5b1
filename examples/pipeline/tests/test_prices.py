import unittest

from shop.prices import discounted, with_tax


class Prices(unittest.TestCase):
    def test_tax_rounds_half_up(self):
        self.assertEqual(with_tax(1999, 19), 2379)
        self.assertEqual(with_tax(50, 1), 51)

    def test_discount_bounds(self):
        self.assertEqual(discounted(1000, 15), 850)
        with self.assertRaises(ValueError):
            discounted(1000, 101)
