# Attack: open a TCP connection to a listener the test opened on 127.0.0.1.
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"escaped")
print("CONNECTED")
