"""`assistant users add|list|remove|passwd|token`: the accounts people sign in to when the server is shared.

Passwords are prompted for (twice, hidden) or read from the first line of stdin with --password-stdin;
they must be at least auth.min_password_chars long. A running `assistant serve` asks for a sign-in once it
is restarted after the first account is added; API tokens work as soon as they are made.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from assistant.cli_state import settings_from
from assistant.console import console, err_console, fail

app = typer.Typer(no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The account's name (also its user in the memory).")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def _accounts(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from assistant.accounts import open_accounts
    from assistant.memory import DatabaseError

    settings = settings_from(ctx)
    try:
        return settings, open_accounts(settings)
    except DatabaseError as exc:
        fail(str(exc))
        raise  # unreachable; fail exits


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(ctx: typer.Context, name: NameArg, password_stdin: StdinOpt = False) -> None:
    """Add an account (its memory is the user of the same name: `chat --user NAME` reaches it)."""
    from assistant.accounts import AccountError

    settings, accounts = _accounts(ctx)
    try:
        record = accounts.add(name, _password(password_stdin), settings.auth.min_password_chars)
    except AccountError as exc:
        fail(str(exc))
        return
    console.print(f"Added [bold]{record.name}[/]. Restart `assistant serve` so its page asks to sign in.")


@app.command("list")
def list_accounts(ctx: typer.Context) -> None:
    """The accounts, whether each has an API token, and the one from settings (auth.username)."""
    from rich.table import Table

    settings, accounts = _accounts(ctx)
    records = accounts.list()
    table = Table("name", "created", "API token")
    for record in records:
        token = f"yes, since {record.token_created_at:%Y-%m-%d}" if record.token_created_at else "no"
        table.add_row(record.name, f"{record.created_at:%Y-%m-%d %H:%M}", token)
    if settings.auth.username and settings.auth.password:
        table.add_row(settings.auth.username, "(settings: auth.username)", "auth.api_token / password")
    if not table.row_count:
        console.print(f"No accounts. Without them this machine's doors act for [bold]{settings.owner}[/].")
        return
    console.print(table)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    keep_memory: Annotated[
        bool, typer.Option("--keep-memory", help="Keep their conversations, lists and facts.")
    ] = False,
) -> None:
    """Remove an account and (unless --keep-memory) everything stored about them."""
    from assistant.accounts import AccountError
    from assistant.memory import open_memory

    settings, accounts = _accounts(ctx)
    name = name.strip()
    if not accounts.exists(name):
        fail(f"There is no account called {name!r}.")
    what = "the account" if keep_memory else "the account and all their conversations, lists and facts"
    if not yes and not typer.confirm(f"Remove {what} of {name!r}?", default=False):
        err_console.print("Nothing removed.")
        raise typer.Exit(1)
    try:
        accounts.remove(name)
    except AccountError as exc:
        fail(str(exc))
    if not keep_memory:
        memory = open_memory(settings)
        memory.forget_user(memory.user(name).id)
    console.print(f"Removed {name!r}{'' if keep_memory else ' and their memory'}.")


@app.command("passwd")
def passwd(ctx: typer.Context, name: NameArg, password_stdin: StdinOpt = False) -> None:
    """Set a new password (pages already signed in stay signed in until the server restarts)."""
    from assistant.accounts import AccountError

    settings, accounts = _accounts(ctx)
    if not accounts.exists(name):
        fail(f"There is no account called {name.strip()!r}.")
    try:
        accounts.set_password(name, _password(password_stdin), settings.auth.min_password_chars)
    except AccountError as exc:
        fail(str(exc))
        return
    console.print(f"New password set for {name.strip()!r}.")


@app.command("token")
def token(
    ctx: typer.Context,
    name: NameArg,
    revoke: Annotated[bool, typer.Option("--revoke", help="Remove the token instead of making one.")] = False,
) -> None:
    """Make (or replace) the account's API token and print it once; only a hash of it is kept."""
    from assistant.accounts import AccountError

    _, accounts = _accounts(ctx)
    try:
        if revoke:
            had = accounts.revoke_token(name)
            console.print(f"{name.strip()!r}: {'token revoked' if had else 'had no token'}.")
            return
        secret = accounts.rotate_token(name)
    except AccountError as exc:
        fail(str(exc))
        return
    err_console.print(
        f"API token for {name.strip()!r} (shown only now; any earlier one stops working). Send it as "
        "`Authorization: Bearer <token>`:"
    )
    print(secret, flush=True)  # alone on stdout, so `TOKEN=$(assistant users token NAME)` works
