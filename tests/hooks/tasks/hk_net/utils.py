# the hook worker's network, seen from a hook (written for these tests):
# a connection to 127.0.0.1 port 1 is refused on the host's network, and
# finds no network at all in a namespace of its own (loopback down)
import errno
import socket


def probe(doc):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(("127.0.0.1", 1))
        return "connected"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
