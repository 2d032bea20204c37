"""Unit tests of the benchmark's measuring and reporting code: no cluster, no load generator, no matplotlib.

Run from the repository's root: python3 -m unittest discover -s scripts/bench -p 'test_*.py'
(scripts/bench is then on sys.path, so the tests import the bench's modules by name, as bench.py does)."""
