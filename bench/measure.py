"""Measuring a benchmark's child process: wall time and peak memory."""
import os
import subprocess
import sys
import time


def measure(argv, cwd):
    """Wall time and peak RSS (MB) of one child process; exits on failure."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed: {child.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024
