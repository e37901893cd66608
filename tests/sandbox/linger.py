# Attack: leave a process behind (a double-forked grandchild that tries to start
# its own session), then loop until the timeout. argv[1] is a marker.
import os, sys, time
if os.fork() == 0:
    if os.fork() == 0:
        try:
            os.setsid()
        except OSError as e:
            print("setsid:", e.strerror, flush=True)
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(1000)", sys.argv[1]])
    os._exit(0)
while True:
    time.sleep(0.05)
