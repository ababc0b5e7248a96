"""The command line: the only place that prints and chooses exit codes.

Exit codes: 0 clean (warnings allowed), 1 errors (or warnings under --strict),
2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from . import __version__
from .config import ConfigError, SiteConfig, check_content_exists, load_config
from .urls import valid_base_url
from .diagnostics import Diagnostic, _plural, exit_code, make, render, sort_diagnostics

FORMATS = ("text", "json", "github")


class Console:
    """Where messages go: diagnostics to stdout, progress and notes to stderr."""

    def __init__(self, quiet: bool = False, verbose: bool = False):
        self.quiet = quiet
        self.verbose = verbose
        self.color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        # What a command made and no longer needs: kept until the process ends (see ``run``),
        # which is quicker than freeing a large site's objects one by one.
        self.keep: list[object] = []

    def note(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def progress(self, start: float):
        """A progress line on standard error for builds that take longer than a second:
        rewritten in place on a terminal, one line per stage otherwise."""
        shown: set[str] = set()
        tty = sys.stderr.isatty()
        state = {"width": 0}

        def tell(stage: str, done: int, total: int) -> None:
            if self.quiet or time.perf_counter() - start < 1.0:
                return
            text = f"{stage} {done}/{total} pages" if stage == "rendering" else f"{stage} {total} pages"
            if tty:
                print("\r" + text.ljust(state["width"]), end="", file=sys.stderr, flush=True)
                state["width"] = len(text)
            elif stage not in shown:
                shown.add(stage)
                print(f"{text}...", file=sys.stderr, flush=True)

        def finish() -> None:
            if tty and state["width"]:
                print("\r" + " " * state["width"] + "\r", end="", file=sys.stderr, flush=True)

        return tell, finish

    def report(self, diagnostics: list[Diagnostic], fmt: str, pages: int, noun: str = "page",
               extra: dict | None = None) -> None:
        text = render(diagnostics, fmt, pages, noun, color=self.color and fmt == "text", extra=extra)
        if self.quiet and fmt == "text":
            text = "".join(line + "\n" for line in text.splitlines()[:-1])
        sys.stdout.write(text)
        sys.stdout.flush()


def _config(args: argparse.Namespace, console: Console) -> SiteConfig | None:
    root = Path(getattr(args, "root", None) or ".")
    try:
        config = load_config(root)
        if args.command in ("build", "check", "serve", "report"):
            check_content_exists(config)
    except ConfigError as exc:
        location = exc.path + (f":{exc.line}" if exc.line else "")
        print(f"{location}: error[config-invalid]: {exc.message}", file=sys.stderr)
        fmt = getattr(args, "format", "text")
        if fmt in ("json", "github"):        # machine-readable output stays readable
            console.report([make(exc.path, exc.line, None, "config-invalid", exc.message)], fmt, 0)
        return None
    out = getattr(args, "out", None)
    if out:
        out_path = Path(out)
        if not out_path.is_absolute():
            out_path = (Path.cwd() / out_path).resolve()
        config = config.with_overrides(output_dir=str(out_path))
    base_url = getattr(args, "base_url", None) if args.command == "build" else None
    if base_url is not None:
        if not valid_base_url(base_url):
            print(f"error: --base-url must be a full URL (https://example.org/docs/) or a path starting with '/', "
                  f"not {base_url!r}", file=sys.stderr)
            return None
        config = config.with_overrides(base_url=base_url)
    if getattr(args, "no_search", False):
        config = config.with_overrides(search=False)
    elif config.search and args.command in ("build", "serve"):
        from .search import available
        if not available():
            console.note("note: search is off because Pagefind is not installed (pip install 'pagefind[bin]')")
            config = config.with_overrides(search=False)
    return config


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from .pipeline import run
    config = _config(args, console)
    if config is None:
        return 2
    from .builder import cached_check
    start = time.perf_counter()
    cached = None if args.no_cache else cached_check(config, args.drafts)
    if cached is not None:
        diagnostics, pages = list(cached[0]), cached[1]
    else:
        result = run(config, drafts=args.drafts, render=False)
        console.keep.append(result)
        diagnostics, pages = list(result.diagnostics), result.pages
    console.report(diagnostics, args.format, pages)
    how = " (nothing changed since the last build)" if cached is not None else ""
    console.detail(f"checked {pages} pages in {time.perf_counter() - start:.2f}s{how}")
    return exit_code(diagnostics, args.strict)


def _protected_folders(config) -> list[Path]:
    """Folders of the site that an output folder may neither be, nor be inside, nor hold."""
    from .cache import FOLDER
    root = config.root
    return [root / config.patterns_dir, root / config.handbook_dir, root / config.static_dir,
            root / "themes", root / FOLDER, root / ".git"]


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    from .builder import build
    from .write import OutputError, check_output_folder
    config = _config(args, console)
    if config is None:
        return 2
    try:
        check_output_folder(config.output, config.root, _protected_folders(config))
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tell, finish = console.progress(time.perf_counter())
    try:
        outcome = build(config, drafts=args.drafts, keep_going=args.keep_going, strict=args.strict,
                        linkcheck=args.linkcheck, use_cache=not args.no_cache, note=console.note, progress=tell)
        finish()
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write '{config.output}': {exc}", file=sys.stderr)
        return 1
    console.keep.append(outcome)
    diagnostics = sort_diagnostics(list(outcome.diagnostics))
    console.report(diagnostics, args.format, outcome.pages)
    shown = _shown(config.output)
    if outcome.kind == "failed":
        what = "link check failed" if outcome.reason == "linkcheck" else "build failed"
        console.note(f"{what}; '{shown}' was left as it was")
        return 1
    if outcome.kind == "unchanged":
        console.note(f"nothing changed since the last build of {outcome.pages} pages; '{shown}' is up to date "
                     f"({outcome.elapsed:.2f}s)")
    else:
        how = "" if outcome.kind == "cold" else " from the cache"
        console.note(f"built {outcome.pages} pages{how} ({outcome.files} files, {outcome.changed} changed) "
                     f"into {shown} in {outcome.elapsed:.2f}s")
    return exit_code(diagnostics, args.strict)


def cmd_linkcheck(args: argparse.Namespace, console: Console) -> int:
    from .linkcheck import check_site
    config = _config(args, console)
    if config is None:
        return 2
    folder = Path(args.dir) if args.dir else config.output
    if not folder.is_dir():
        print(f"error: '{folder}' is not a folder (build the site first, or name a folder)", file=sys.stderr)
        return 2
    base_url = args.base_url or config.base_url
    cache = config.root / ".devrel-cache" / "linkcheck.json" if args.external else None
    try:
        result = check_site(folder, base_url=base_url, ignore=config.linkcheck_ignore, external=args.external,
                            cache_file=cache, timeout=config.linkcheck_timeout,
                            cache_ttl=config.linkcheck_cache_ttl, concurrency=config.linkcheck_concurrency,
                            per_host=config.linkcheck_per_host)
    except ValueError as exc:          # a --base-url that is neither a URL nor a path
        print(f"error: {exc}", file=sys.stderr)
        return 2
    diagnostics = list(result.diagnostics)
    console.report(diagnostics, args.format, result.pages,
                   extra={"links": result.links, "external": len(result.external_urls)})
    if args.format == "text":
        skipped = "" if args.external else f" ({len(result.external_urls)} external URLs not fetched; use --external)"
        console.note(f"checked {_plural(result.links, 'link')} in {_plural(result.pages, 'page')}{skipped}")
    return exit_code(diagnostics, args.strict)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# The other commands, each defined beside its code: (command, module). Their modules are
# imported only when the command line may name them, so build and check start sooner.
OTHER_COMMANDS = (("serve", "serve"), ("new", "scaffold"), ("import", "jbake_import"), ("report", "report"))
CORE_COMMANDS = ("build", "check", "linkcheck")


def _named_command(argv: list[str]) -> str | None:
    """The command a command line names: its first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``; without it, a parser that knows every command."""
    parser = argparse.ArgumentParser(
        prog="devrel-site",
        description="Build, check and serve a DevRel pattern catalog and customer-success handbook.",
    )
    parser.add_argument("--version", action="version", version=f"devrel-site {__version__}")
    # Unset options stay out of the namespace (readers use getattr with a default), so that
    # `new --root DIR pattern T` keeps DIR when the KIND's parser, which has them too, runs.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--root", metavar="DIR", help="the site root (default: the current folder)")
    common.add_argument("-q", "--quiet", action="store_true", help="print only diagnostics")
    common.add_argument("-v", "--verbose", action="store_true", help="print more detail")
    report = argparse.ArgumentParser(add_help=False)
    report.add_argument("--format", choices=FORMATS, default="text", help="diagnostics format (default: text)")
    report.add_argument("--strict", action="store_true", help="treat warnings as errors")

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser("build", parents=[common, report], help="build the site into the output folder")
    build.add_argument("--out", metavar="DIR", help="output folder (default: build, or [output] dir)")
    build.add_argument("--drafts", action="store_true", help="include pages with status: draft")
    build.add_argument("--keep-going", action="store_true", help="write the site even when there are errors")
    build.add_argument("--linkcheck", action="store_true", help="check every link of the new output before it is swapped in")
    build.add_argument("--no-search", action="store_true", help="do not build the search index")
    build.add_argument("--no-cache", action="store_true", help="ignore and do not write .devrel-cache/")
    build.add_argument("--base-url", metavar="URL",
                       help="publish for this URL instead of base_url from site.toml (a deploy preview)")
    build.set_defaults(func=cmd_build)

    check = commands.add_parser("check", parents=[common, report], help="check the sources; write nothing")
    check.add_argument("--drafts", action="store_true", help="check as if drafts were published")
    check.add_argument("--no-cache", action="store_true", help="check every file even when nothing changed since the last build")
    check.set_defaults(func=cmd_check)

    linkcheck = commands.add_parser("linkcheck", parents=[common, report],
                                    help="check every link of a built site (or any folder of HTML)")
    linkcheck.add_argument("dir", nargs="?", metavar="DIR", help="folder to check (default: the output folder)")
    linkcheck.add_argument("--external", action="store_true", help="also fetch external http(s) links")
    linkcheck.add_argument("--base-url", metavar="URL", help="the site's base URL (default: base_url from site.toml)")
    linkcheck.set_defaults(func=cmd_linkcheck)

    named = None if argv is None else _named_command(argv)
    for name, module in OTHER_COMMANDS:
        if named not in CORE_COMMANDS or named == name:
            importlib.import_module(f".{module}", __package__).add_parser(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    return _main(argv)[0]


def _main(argv: list[str] | None = None) -> tuple[int, Console | None]:
    """The exit code, and the console, which holds what the command made (see ``Console.keep``)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2, None
    console = Console(quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False))
    try:
        return args.func(args, console), console
    except KeyboardInterrupt:
        return 130, console
    except BrokenPipeError:
        return 1, console


def _write_names_as_on_disk(stream) -> None:
    """A file name that is not valid UTF-8 is held with surrogate escapes, which a strict
    stream cannot encode: it is written as the bytes it has on disk instead (as Python itself
    does under the C locale), so a diagnostic naming it is printed, not an encoding error."""
    if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="surrogateescape")


def run() -> None:
    """The ``devrel-site`` command. After ``build``, ``check`` or ``linkcheck`` the process
    ends as soon as its output is flushed: everything was written and closed, and tearing
    down a large site's objects one by one would only add time (a tenth of a second at
    10,000 pages)."""
    _write_names_as_on_disk(sys.stdout)
    code, console = _main()      # the console keeps what the command made until the process ends
    if _named_command(sys.argv[1:]) in CORE_COMMANDS:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            code = code or 1
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
