"""Running test code on several threads at once, each on its own database connection."""

import threading

from django.db import connection


def race(target, args_list):
    """Run target(*args) for each args on its own thread and database connection, all at once."""
    barrier = threading.Barrier(len(args_list))
    failures = []

    def run(args):
        try:
            barrier.wait()
            target(*args)
        except Exception as error:  # noqa: BLE001 (the caller asserts there were none)
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(args,)) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
