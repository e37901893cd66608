# a hook in an endless loop (written for these tests). Where the worker has
# no CPU-time limit under a minute (the test sets 1 s) it says so instead of
# spinning for ever.
import resource


def spin(doc):
    soft, _ = resource.getrlimit(resource.RLIMIT_CPU)
    if soft == resource.RLIM_INFINITY or soft > 60:
        raise RuntimeError("this worker has no CPU-time limit under a minute")
    n = 0
    while True:
        n += 1
