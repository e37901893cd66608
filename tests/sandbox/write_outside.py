# Attack: write outside its own directory. Each argument is a host path; every
# one is tried, and the program ends with the last error if any was refused.
import sys
last = None
for path in sys.argv[1:]:
    try:
        with open(path, "w") as f:
            f.write("escaped\n")
        print("WROTE", path, flush=True)
    except OSError as e:
        print("blocked", path + ":", e.strerror, flush=True)
        last = e
if last:
    raise last
