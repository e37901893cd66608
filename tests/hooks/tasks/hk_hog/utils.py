# a hook that wants 4 GB (written for these tests). Where the worker has no
# address-space limit under 1 GB (the test sets 256 MB) it says so instead
# of taking the machine's memory.
import resource


def hog(doc):
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > (1 << 30):
        raise RuntimeError("this worker has no memory limit under 1 GB")
    hoard = bytearray(4 << 30)
    return "got %d bytes" % len(hoard)
