# Attack: write outside its own directory. Each argument is a host path; the
# first write that fails ends the program with that error.
import sys
for path in sys.argv[1:]:
    with open(path, "w") as f:
        f.write("escaped\n")
    print("WROTE", path, flush=True)
