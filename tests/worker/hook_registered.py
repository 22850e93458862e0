"""Registers tests.worker.hook_funcs.file_setup with @worker_setup: imported only by the
runworker processes of tests/worker/test_hooks.py (QUEUEADMIN_HANDLER_MODULES)."""

from core.handlers import job_describer, worker_setup
from tests.worker import hook_funcs

worker_setup(hook_funcs.file_setup)


@job_describer("test.echo")
def describe_echo(job):
    return f"echo of {job.payload.get('invoice')}"
