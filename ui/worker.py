"""One extra web process of `assistant serve` with `web.workers` > 1 (see `ui.workers`):
`python -m ui.worker HOST PORT [--insecure-no-auth]`, the main process's settings as JSON on stdin."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from assistant.accounts import open_accounts
    from assistant.config import Settings
    from ui.serve import plan, run_server

    if len(argv) < 2:
        print("usage: python -m ui.worker HOST PORT [--insecure-no-auth] < settings.json", file=sys.stderr)
        return 2
    host, port = argv[0], int(argv[1])
    exit_with_parent()
    insecure_no_auth = "--insecure-no-auth" in argv[2:]
    settings = Settings.model_validate_json(sys.stdin.read())
    accounts = open_accounts(settings).count()
    serve_plan = plan(settings, host, port, False, insecure_no_auth, accounts)
    run_server(settings, serve_plan, insecure_no_auth, warm_up=True, quiet=True)
    return 0


def exit_with_parent(every_s: float = 1.0) -> None:
    """A worker never outlives the `assistant serve` that started it (killed, it cannot stop its workers)."""
    import os
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)  # what it stored is committed; a turn in flight was never acknowledged

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
