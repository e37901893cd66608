# the hook worker's network, seen from a hook (written for these tests):
# connect to the port on 127.0.0.1 the document names (a listener the test
# opened) and say hello; the answer is what happened, or the errno's name
import errno
import socket


def _name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def probe(doc):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as e:
        return "socket " + _name(e)
    try:
        s.settimeout(30)
        s.connect(("127.0.0.1", int(doc["port"])))
        s.sendall(b"hello from a hook\n")
        return "connected"
    except OSError as e:
        return "connect " + _name(e)
    finally:
        s.close()
