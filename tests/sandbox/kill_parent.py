# Attack: kill our parent, and the test process (its pid is argv[1]).
import os, signal, sys
os.kill(os.getppid(), signal.SIGKILL)
print("sent SIGKILL to the parent", os.getppid(), flush=True)
os.kill(int(sys.argv[1]), signal.SIGKILL)
print("KILLED", sys.argv[1])
