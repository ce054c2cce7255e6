"""Shipped on purpose: the fakes and the tiny model the tests and scripts use.

Nothing in Deskpilot itself imports this package (an import-contract test checks).
"""
