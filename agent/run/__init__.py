"""The guarded run core: every action of every feature goes through it.

It knows no model, no prompt, no Qt and no ``Settings``: events, ports, policy, the
guarded executor, the capture service, the run harness, the watchdog and the desktop
session (kill switch and takeover detection).
"""
