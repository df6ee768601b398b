"""`assistant nlu ...` (issue 3): train, predict, compare and list intent models (the NLU library, nlu/,
with the assistant's settings and console)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True)

ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Registry name or a saved model folder.")
]
OptionList = Annotated[
    list[str] | None,
    typer.Option("--option", "-o", help="Model option KEY=VALUE, e.g. epochs=5 or mode=frozen (repeatable)."),
]


def _parse_options(pairs: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"--option expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _user_errors() -> tuple[type[BaseException], ...]:
    from assistant.offline import ModelNotAvailableError
    from nlu.data import DatasetError
    from nlu.models.base import ModelFolderError
    from nlu.plugins import UnknownBackendError
    from nlu.tokenize import NLUInputError

    return (
        UnknownBackendError,
        ModelFolderError,
        DatasetError,
        NLUInputError,
        ModelNotAvailableError,
        ValueError,
    )


@app.command("list")
def list_models(ctx: typer.Context) -> None:
    """List the product's intent models: shipped in the repository, or trained once on this machine."""
    from rich.table import Table

    from assistant.cli_state import settings_from
    from assistant.console import console
    from nlu.shipped import CATALOG, is_ready

    settings = settings_from(ctx)
    table = Table(title="Intent models (trained on HWU64 + out-of-scope)")
    for column in ("name", "description", "weights", "default"):
        table.add_column(column)
    for name, entry in CATALOG.items():
        ready = is_ready(name, settings.cache_dir)
        where = (
            "shipped"
            if entry.shipped
            else ("trained here" if ready else f"not yet: nlu train --product {name}")
        )
        table.add_row(name, entry.description, where, "✓" if name == settings.nlu.model else "")
    console.print(table)


@app.command()
def train(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Registry name (see `assistant nlu list`).")
    ] = "lstm",
    data: Annotated[
        str, typer.Option("--data", "-d", help="hwu64, clinc150, snips, atis, banking77 or a folder.")
    ] = "hwu64",
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to save to (default: the cache); use it with --set nlu.model=FOLDER."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    option: OptionList = None,
    per_intent: Annotated[
        int | None, typer.Option(help="Train on at most N examples per intent (quick runs).")
    ] = None,
    product: Annotated[
        str | None,
        typer.Option(
            help="Train product model NAME (e.g. minilm: the fine-tuned MiniLM) on the product dataset "
            "with its fixed options, into the cache the assistant and the NLU lab load it from."
        ),
    ] = None,
) -> None:
    """Train a model on a dataset, report test scores, save it (config.json + model.safetensors + vocab)."""
    from rich.table import Table

    from assistant.cli_state import settings_from
    from assistant.console import console, fail
    from nlu.data import load_dataset, subsample
    from nlu.evaluate import evaluate
    from nlu.registry import create

    settings = settings_from(ctx)
    if product is not None:
        _train_product(settings, product, out)
        return
    try:
        dataset = load_dataset(data, settings.nlu.data_dir, seed=seed)
        if per_intent:
            dataset = subsample(dataset, per_intent, seed)
        net = create(
            model,
            device=settings.resolved_device(),
            cache_dir=settings.cache_dir,
            **{**_parse_options(option), "seed": seed},
        )
        console.print(
            f"Training [bold]{model}[/] on {dataset.name}: {len(dataset.train)} train / {len(dataset.valid)} valid examples, {len(dataset.labels)} intents"
        )
        history = net.fit(dataset)
        result = evaluate(net, dataset) if dataset.test else None
    except _user_errors() as exc:
        fail(str(exc))
        return
    dataset_name = Path(data).name if Path(data).is_dir() else data
    folder = out or Path(settings.cache_dir).expanduser() / "nlu" / "trained" / f"{model}-{dataset_name}"
    net.save(folder)
    table = Table(title=f"{model} on {dataset.name} (test)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("train seconds", f"{history['train_seconds']:.1f}")
    table.add_row("best epoch", str(history.get("best_epoch", "–")))
    table.add_row("temperature / threshold", f"{net.temperature:.3f} / {net.threshold:.3f}")
    if result is not None:
        for key, value in result.to_dict().items():
            if isinstance(value, float):
                table.add_row(key, f"{value:.4f}")
    console.print(table)
    console.print(f"Saved to {folder}")


def _train_product(settings: Any, name: str, out: Path | None) -> None:
    from assistant.console import console, fail
    from assistant.nlu_models import train_product
    from nlu.shipped import CATALOG

    if name not in CATALOG:
        fail(f"Unknown product model {name!r}; known: {', '.join(CATALOG)}.")
        return
    try:
        model, folder = train_product(name, settings, out)
    except _user_errors() as exc:
        fail(str(exc))
        return
    console.print(
        f"Trained {name}: best validation score {model.metrics.get('best_valid', float('nan')):.4f}; "
        f"saved to {folder}"
    )


@app.command()
def ship(
    ctx: typer.Context,
    models: Annotated[
        str, typer.Option(help='Comma-separated shipped models to rebuild ("": only measure them again).')
    ] = "lstm,transformer,tfidf-logreg,minilm-frozen,blend",
) -> None:
    """Maintainers: retrain the shipped models into nlu/shipped, with the report and checksum manifest."""
    from assistant.cli_state import settings_from
    from assistant.console import console, fail
    from nlu.ship import ship as run_ship

    settings = settings_from(ctx)
    try:
        names = [m.strip() for m in models.split(",") if m.strip()]
        device = settings.resolved_device() if names else "cpu"  # nothing to train: no device to pick
        run_ship(
            names,
            cache_dir=settings.cache_dir,
            device=device,
            data_dir=settings.nlu.data_dir,
            log=console.print,
        )
    except _user_errors() as exc:
        fail(str(exc))
        return
    console.print("Rebuilt nlu/shipped (REPORT.md, MANIFEST.json); commit it.")


@app.command()
def predict(
    ctx: typer.Context,
    texts: Annotated[list[str] | None, typer.Argument(help="Utterances to classify.")] = None,
    model: ModelOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="One utterance per line ('-' = stdin).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input line on stdout.")
    ] = False,
) -> None:
    """Classify utterances: intent, calibrated confidence, slots; low confidence routes to the fallback."""
    import sys

    from rich.table import Table

    from assistant.cli_state import settings_from
    from assistant.console import console, fail, status
    from assistant.nlu_models import load_intent_model
    from nlu.calibrate import FALLBACK, route

    settings = settings_from(ctx, {"nlu": {"model": model}})
    lines = list(texts or [])
    if file is not None:
        try:
            raw = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"Cannot read {file}: {exc}")
            return
        lines += [line for line in raw.splitlines() if line.strip()]
    if not lines:
        fail("Nothing to classify: give utterances as arguments or --file FILE.")
        return
    try:
        with status(f"Loading NLU model {settings.nlu.model}"):
            nlu = load_intent_model(settings.nlu.model, settings)
        if as_json:
            from nlu.ship import prediction_lines

            print("\n".join(prediction_lines(nlu, lines)))
            return
        intents = nlu.predict(lines)
    except _user_errors() as exc:
        fail(str(exc))
        return
    table = Table(title=f"{nlu.name} (threshold {nlu.threshold:.2f})")
    for column in ("text", "intent", "confidence", "routed to", "slots"):
        table.add_column(column)
    for text, intent in zip(lines, intents, strict=True):
        routed = route(intent, nlu.threshold)
        slots = ", ".join(f"{s.name}={s.value}" for s in intent.slots)
        table.add_row(
            text[:80],
            intent.label,
            f"{intent.confidence:.3f}",
            routed if routed != FALLBACK else "[yellow]fallback (generator)[/]",
            slots,
        )
    console.print(table)


@app.command()
def compare(
    ctx: typer.Context,
    models: Annotated[
        str, typer.Option(help="Comma-separated registry names.")
    ] = "lstm,transformer,minilm,tfidf-logreg",
    data: Annotated[
        str, typer.Option("--data", "-d", help="Comma-separated dataset names.")
    ] = "hwu64,clinc150,snips,atis,banking77",
    seeds: Annotated[int, typer.Option(min=1, help="Seeds per (model, dataset): 0..N-1; mean ± std.")] = 3,
    seed: Annotated[
        list[int] | None,
        typer.Option(
            "--seed",
            min=0,
            help="Run only this seed (repeatable) instead of 0..SEEDS-1, e.g. one seed per parallel process.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Reports folder (results.md, results.json, plots).")] = Path(
        "reports/nlu"
    ),
    option: OptionList = None,
    per_intent: Annotated[
        int | None, typer.Option(help="Train on at most N examples per intent (quick runs).")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Forget runs already in OUT/results.json.")] = False,
) -> None:
    """Train and evaluate models × datasets × seeds; print the table, write Markdown, JSON and plots."""
    from assistant.cli_state import settings_from
    from assistant.console import console, err_console, fail
    from nlu.compare import rich_table, run_compare

    settings = settings_from(ctx)
    names = [m.strip() for m in models.split(",") if m.strip()]
    datasets = [d.strip() for d in data.split(",") if d.strip()]
    try:
        report = run_compare(
            names,
            datasets,
            seed or seeds,
            out,
            device=settings.resolved_device(),
            cache_dir=settings.cache_dir,
            data_dir=settings.nlu.data_dir,
            options=_parse_options(option),
            per_intent=per_intent,
            fresh=fresh,
            log=lambda line: err_console.print(line),
        )
    except _user_errors() as exc:
        fail(str(exc))
        return
    console.print(rich_table(report["summary"]))
    console.print(f"Wrote {out / 'results.md'}, {out / 'results.json'} and plots to {out}")


@app.command()
def crossset(
    ctx: typer.Context,
    model: ModelOption = None,
    split: Annotated[
        str, typer.Option(help="test (default) or valid splits of CLINC150 and SNIPS.")
    ] = "test",
    include_doubtful: Annotated[
        bool, typer.Option(help="Also count the doubtful pairs of nlu/data/crossset/mapping.tsv.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The full result as JSON on stdout.")] = False,
) -> None:
    """Cross-set accuracy of an HWU64 model on the CLINC150 and SNIPS utterances mapped to HWU64 labels."""
    from rich.table import Table

    from assistant.cli_state import settings_from
    from assistant.console import console, fail, status
    from assistant.nlu_models import load_intent_model
    from nlu.crossset import evaluate_crossset

    settings = settings_from(ctx, {"nlu": {"model": model}})
    try:
        with status(f"Loading NLU model {settings.nlu.model}"):
            nlu = load_intent_model(settings.nlu.model, settings)
        result = evaluate_crossset(
            nlu, split=split, data_dir=settings.nlu.data_dir, include_doubtful=include_doubtful
        )
    except _user_errors() as exc:
        fail(str(exc))
        return
    if as_json:
        print(json.dumps(result.to_dict(), indent=1, ensure_ascii=False))
        return
    table = Table(title=f"{nlu.name}: trained on HWU64, tested on mapped {split} utterances")
    for column in ("source", "utterances", "intents", "accuracy %"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, score in result.sources.items():
        table.add_row(f"{name} → hwu64", str(score.n), str(score.intents), f"{score.accuracy * 100:.2f}")
    table.add_row("macro (over sources)", str(result.n), "", f"{result.macro * 100:.2f}")
    table.add_row("micro (all utterances)", str(result.n), "", f"{result.micro * 100:.2f}")
    console.print(table)
    worst = Table(title="Weakest intents")
    for column in ("source intent", "hwu64", "n", "accuracy %"):
        worst.add_column(column, justify="right" if column in ("n", "accuracy %") else "left")
    for score in sorted(result.intents, key=lambda s: (s.accuracy, -s.n))[:10]:
        worst.add_row(
            f"{score.source}:{score.intent}",
            "|".join(score.accepted),
            str(score.n),
            f"{score.accuracy * 100:.1f}",
        )
    console.print(worst)
    if result.confusions:
        console.print("Most common confusions (source intent → predicted):")
        for source, intent, predicted, count in result.confusions[:10]:
            console.print(f"  {source}:{intent} → {predicted}: {count}")
    if result.oos_predictions:
        console.print(f"{result.oos_predictions} mapped utterances were predicted oos (counted wrong).")
    if result.in_scope:
        console.print(
            f"With oos set aside (the best of the 64 HWU64 labels, as for a model without an oos class): "
            f"macro {result.macro_in_scope * 100:.2f}%."
        )
    if result.missing_labels:
        console.print(f"[yellow]The model lacks accepted labels:[/] {', '.join(result.missing_labels)}")


@app.command()
def claims(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Reports folder (claims.md, claims.json, plots).")] = Path(
        "reports/nlu/claims"
    ),
    small: Annotated[
        bool, typer.Option("--small", help="Tiny setting (tests, a first look): one seed, minutes.")
    ] = False,
    full: Annotated[bool, typer.Option("--full", help="More seeds, lengths and distances (hours).")] = False,
    seeds: Annotated[
        int | None, typer.Option(min=1, help="Seeds 0..N-1 instead of the setting's (default 3).")
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu or cuda (default: the settings' device; auto picks cuda).")
    ] = None,
) -> None:
    """Measure the "Transformer vs LSTM" article's claims here: speed, long range, memory, data, latency."""
    from assistant.cli_state import settings_from
    from assistant.console import console, err_console, fail
    from assistant.device import pick_device
    from nlu.claims.report import rich_table
    from nlu.claims.runner import run_claims
    from nlu.claims.settings import ClaimsSettings

    if small and full:
        fail("Choose --small or --full, not both.")
        return
    if device is not None and device not in ("auto", "cpu", "cuda"):
        fail(f"Unknown device {device!r}: use auto, cpu or cuda.")
        return
    settings = settings_from(ctx)
    try:
        setting = ClaimsSettings.named("small" if small else "full" if full else "default")
        if seeds is not None:
            setting = setting.with_seeds(seeds)
        resolved = pick_device(device) if device else settings.resolved_device()
        report = run_claims(
            setting,
            out,
            device=resolved,
            cache_dir=settings.cache_dir,
            data_dir=settings.nlu.data_dir,
            log=lambda line: err_console.print(line),
        )
    except (*_user_errors(), RuntimeError) as exc:
        fail(str(exc))
        return
    console.print(rich_table(report))
    console.print(f"Wrote {out / 'claims.md'}, {out / 'claims.json'} and plots to {out}")
