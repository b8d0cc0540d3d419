"""Tests of eoforge.evaluate."""
