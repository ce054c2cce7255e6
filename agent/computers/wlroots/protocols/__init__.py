"""The wlroots protocols pywayland does not ship, as Python bindings generated from the vendored XML.

``xml/`` holds the protocol files (MIT; Debian 12 packages none of them):
``wlr-screencopy-unstable-v1.xml`` and ``wlr-virtual-pointer-unstable-v1.xml`` from
swaywm/wlr-protocols (commit b010a03), ``virtual-keyboard-unstable-v1.xml`` from
wlroots' ``protocol/`` folder. The modules beside them are the pywayland scanner's
output, shipped rather than generated at run time: the scanner needs ``wayland.xml``
from libwayland-dev (a build package users do not have) and a writable cache folder,
and shipped modules load in a read-only install. Regenerate them with
``python -m pywayland.scanner -o OUT -i /usr/share/wayland/wayland.xml xml/*.xml`` and
copy the three ``*_v1.py`` files here; tests/test_wlroots_protocols.py checks they match.
``wayland.py`` re-exports pywayland's own core protocol, so every proxy (``WlOutput``,
``WlSeat``, ``WlShm``) comes from one set of classes.
"""
