# Attack: resolve a host name (needs a socket to a DNS server).
import socket
print("RESOLVED", socket.getaddrinfo("example.com", 80))
