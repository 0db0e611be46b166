"""Load benchmarks of mana-auth against a production-mode server: `make bench` (see README.md)."""
