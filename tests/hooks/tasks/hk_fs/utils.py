# the hook worker's file system, seen from a hook (written for these tests)
import errno
import os


def probe(doc):
    if doc["where"] == "tree":
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "written-by-a-hook")
    else:
        path = os.path.join("/tmp", doc["name"])
    try:
        with open(path, "w") as f:
            f.write("written by a hook\n")
        with open(path) as f:
            back = f.read()
        return "wrote " + ("and read back" if back == "written by a hook\n" else "something else")
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
