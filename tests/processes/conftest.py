"""What the runworker-process tests share."""


def finish(proc, timeout=30.0) -> int:
    """Wait for a process to exit; kill it and fail if it does not."""
    try:
        return proc.wait(timeout=timeout)
    except Exception:
        proc.kill()
        raise
