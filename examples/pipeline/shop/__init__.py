"""A tiny shop: prices with tax and discounts (the project the example pipeline builds)."""
