"""Measuring a benchmark's child process: wall time and peak memory."""
import os
import subprocess
import sys
import time


def measure(argv, cwd, ok=(0,)):
    """Wall time and peak RSS (MB) of one child process; exits when its exit code is not in
    `ok`."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in ok:
        sys.exit(f"{' '.join(argv)} failed: {child.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024
