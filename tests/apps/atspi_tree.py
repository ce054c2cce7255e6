"""Print an application's accessible tree as Orca reads it (AT-SPI through Debian's pyatspi), as JSON.

Run with the system interpreter (/usr/bin/python3: pyatspi is not on PyPI) inside the
same D-Bus session as the application: ``atspi_tree.py APP_NAME``. Prints one JSON
list of {"role", "name", "depth"} for every node under the application.
"""

import json
import sys

import pyatspi


def walk(node, depth, out):
    try:
        out.append({"role": node.getRoleName(), "name": node.name or "", "depth": depth})
        for i in range(node.childCount):
            child = node.getChildAtIndex(i)
            if child is not None:
                walk(child, depth + 1, out)
    except Exception as err:  # a node can go away while it is read
        out.append({"role": "error", "name": str(err), "depth": depth})


def main():
    wanted = sys.argv[1]
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        app = desktop.getChildAtIndex(i)
        if app is not None and app.name == wanted:
            out = []
            walk(app, 0, out)
            sys.stdout.write(json.dumps(out) + "\n")
            return 0
    names = [desktop.getChildAtIndex(i).name for i in range(desktop.childCount)]
    sys.stdout.write(json.dumps({"error": f"no application {wanted!r}", "apps": names}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
