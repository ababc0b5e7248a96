"""The persistent cache: warm builds give exactly what cold builds give, and a bad cache is never trusted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jinja2.bccache
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import pattern, run_cli, write_files
from generator.builder import build
from generator.config import load_config


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def folders(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir()}


def base_files() -> dict[str, str]:
    return {
        "site.toml": 'title = "Cache"\n[search]\nenabled = false\n',
        "content/patterns/alpha.md": pattern("Alpha", tags="[a, b]", body_extra="See [beta](beta.md#solution).\n"),
        "content/patterns/beta.md": pattern("Beta", tags="[b]", categories="[Code]",
                                            body_extra="See [alpha](alpha.md).\n"),
        "content/patterns/gamma.md": pattern("Gamma", tags="[c]", categories="[Writing]"),
        "content/handbook/index.md": "# Handbook\n\nSee [alpha](../patterns/alpha.md).\n",
        "content/handbook/team/one.md": "---\ntitle: One\norder: 1\n---\n# One\n\n## Part\n\ntext\n",
        "content/handbook/team/two.md": "# Two\n\nBack to [one](one.md#part).\n",
        "content/patterns/img/pic.txt": "a file next to the pages\n",
    }


def cold_copy(root: Path, name: str = "cold") -> dict[str, bytes]:
    config = load_config(root).with_overrides(output_dir=str(root.parent / name))
    outcome = build(config, use_cache=False)
    assert outcome.kind == "cold", outcome
    return tree(root.parent / name)


EDITS = st.sampled_from(["body", "title", "tags", "add", "delete", "rename", "handbook", "link", "file",
                         "categories", "nothing", "draft", "intro"])


def apply(root: Path, edit: str, n: int) -> None:
    patterns = root / "content/patterns"
    names = sorted(p.name for p in patterns.glob("*.md") if not p.name.startswith("_"))
    target = patterns / names[n % len(names)] if names else None
    if edit == "body" and target:
        target.write_text(target.read_text() + f"\nMore words {n}.\n")
    elif edit == "title" and target:
        text = target.read_text()
        target.write_text(text.replace("title: ", f"title: Renamed{n} ", 1))
    elif edit == "tags" and target:
        target.write_text(target.read_text().replace("tags: [", f"tags: [t{n}, ", 1))
    elif edit == "categories" and target:
        target.write_text(target.read_text().replace("categories: [", f"categories: [Budget{n % 2}, ", 1))
    elif edit == "add":
        (patterns / f"new{n}.md").write_text(pattern(f"New {n}", tags=f"[a, n{n}]"))
    elif edit == "delete" and len(names) > 2:
        # Only delete pages nothing links to, so the site stays buildable.
        for name in names:
            stem = name[:-3]
            linked = any(f"({stem}.md" in p.read_text() for p in root.rglob("*.md"))
            if not linked:
                (patterns / name).unlink()
                break
    elif edit == "rename" and target and not any(f"({target.stem}.md" in p.read_text() for p in root.rglob("*.md")):
        target.rename(patterns / f"moved-{n}-{target.name}")
    elif edit == "handbook":
        (root / "content/handbook/team" / f"h{n}.md").write_text(f"---\ntitle: H {n}\norder: {n % 3}\n---\nx\n")
    elif edit == "link" and target:
        target.write_text(target.read_text() + "\nSee [the handbook](../handbook/team/one.md#part).\n")
    elif edit == "file":
        (root / "content/patterns/img" / f"f{n}.txt").write_text(f"file {n}\n")
    elif edit == "intro":             # the catalog's page: made, changed, taken away
        intro = patterns / "_index.md"
        if intro.exists() and n % 3 == 0:
            intro.unlink()
        else:
            first = f"See [{names[0][:-3]}]({names[0]}). " if names else ""
            intro.write_text(f"---\ntitle: Catalog {n}\n---\n{first}Intro {n}.\n")
    elif edit == "draft" and target:
        text = target.read_text()
        if not any(f"({target.stem}.md" in p.read_text() for p in root.rglob("*.md") if p != target):
            target.write_text(text.replace("status: published", "status: draft", 1))


@given(st.lists(st.tuples(EDITS, st.integers(0, 50)), min_size=1, max_size=5))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_warm_build_equals_cold_build_after_any_edits(tmp_path_factory, edits):
    base = tmp_path_factory.mktemp("warm")
    root = write_files(base / "site", base_files())
    config = load_config(root)
    assert build(config).kind == "cold"
    for edit, n in edits:
        time.sleep(0.002)       # distinct modification times on coarse file systems
        apply(root, edit, n)
        outcome = build(config)
        assert outcome.kind in ("warm", "unchanged", "cold"), outcome
        assert not [d for d in outcome.diagnostics if d.severity.value == "error"], outcome.diagnostics
        assert tree(root / "build") == cold_copy(root), f"after {edit} {n}"
        assert folders(root / "build") == folders(root.parent / "cold")


def test_warm_build_rewrites_only_changed_files(site):
    root = site(base_files())
    config = load_config(root)
    assert build(config).kind == "cold"
    before = {p: p.stat().st_mtime_ns for p in (root / "build").rglob("*") if p.is_file()}
    time.sleep(0.02)
    page = root / "content/patterns/gamma.md"
    page.write_text(page.read_text().replace("The solution of Gamma.", "A better solution."))
    outcome = build(config)
    assert outcome.kind == "warm"
    after = {p: p.stat().st_mtime_ns for p in (root / "build").rglob("*") if p.is_file()}
    changed = {p.relative_to(root / "build").as_posix() for p in after if after[p] != before.get(p)}
    assert changed == {"patterns/gamma/index.html"}
    assert b"A better solution." in (root / "build/patterns/gamma/index.html").read_bytes()
    assert build(config).kind == "unchanged"


def test_cache_is_invalidated_by_config_and_theme_changes(site):
    root = site(base_files())
    assert build(load_config(root)).kind == "cold"
    (root / "site.toml").write_text('title = "Other"\n[search]\nenabled = false\n')
    assert build(load_config(root)).kind == "cold"
    assert build(load_config(root)).kind == "unchanged"
    write_files(root, {"themes/default/templates/taxon.html": "<!doctype html><title>{{ taxon.name }}</title>X\n"})
    assert build(load_config(root)).kind == "cold"
    assert (root / "build/tags/a/index.html").read_text().endswith("X\n")


def test_a_touched_output_folder_means_a_cold_build(site):
    root = site(base_files())
    config = load_config(root)
    build(config)
    (root / "build/patterns/alpha/index.html").unlink()
    assert build(config).kind == "cold"
    assert (root / "build/patterns/alpha/index.html").is_file()
    # A file added to the output by hand: a warm build would keep it, a full one would not.
    for extra in ("extra.html", "patterns/alpha/notes.txt", "new-folder/x.html"):
        (root / "build" / extra).parent.mkdir(exist_ok=True)
        (root / "build" / extra).write_text("x")
        assert build(config).kind == "cold", extra
        assert not (root / "build" / extra).exists()
    assert build(config).kind == "unchanged"


def test_truncated_or_corrupt_cache_is_discarded_with_a_warning(site):
    root = site(base_files())
    assert run_cli("build", "--root", str(root)).code == 0
    state = root / ".devrel-cache/build/state.pickle"
    state.write_bytes(state.read_bytes()[: len(state.read_bytes()) // 2])
    page = root / "content/patterns/beta.md"
    page.write_text(page.read_text() + "\nChanged.\n")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.err
    assert "cannot be read" in result.err
    assert tree(root / "build") == cold_copy(root)
    (root / ".devrel-cache/build/manifest.pickle").write_bytes(b"not a pickle")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "cannot be read" in result.err
    assert tree(root / "build") == cold_copy(root)


def test_warm_builds_keep_compiled_templates_and_recompile_a_damaged_one(site):
    root = site(base_files())
    config = load_config(root)
    assert build(config).kind == "cold"
    page = root / "content/patterns/beta.md"
    page.write_text(page.read_text() + "\nChanged.\n")
    assert build(config).kind == "warm"
    compiled = sorted((root / ".devrel-cache/build").glob("templates-*/*"))
    assert compiled, "the warm build kept no compiled template"
    cut = len(jinja2.bccache.bc_magic) + 2   # the header whole, the source's checksum cut short
    for entry in compiled:
        entry.write_bytes(entry.read_bytes()[:cut])
    page.write_text(page.read_text() + "\nChanged again.\n")
    outcome = build(config)
    assert outcome.kind == "warm" and not outcome.diagnostics, outcome
    assert tree(root / "build") == cold_copy(root)


def test_warm_builds_write_a_delta_that_is_checked_against_its_full_state(site):
    root = site(base_files())
    for i in range(80):       # a delta pays off once the site is more than a handful of pages
        (root / f"content/patterns/p{i}.md").write_text(pattern(f"P {i}", tags="[bulk]"))
    folder = root / ".devrel-cache/build"
    page = root / "content/patterns/beta.md"
    assert run_cli("build", "--root", str(root)).code == 0
    assert (folder / "state.pickle").is_file() and not (folder / "delta.pickle").exists()
    page.write_text(page.read_text() + "\nChanged once.\n")
    assert run_cli("build", "--root", str(root)).code == 0
    delta = folder / "delta.pickle"
    assert delta.is_file() and delta.stat().st_size < (folder / "state.pickle").stat().st_size
    first_delta = delta.read_bytes()
    page.write_text(page.read_text() + "\nChanged twice.\n")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "warning" not in result.err
    assert tree(root / "build") == cold_copy(root)

    # A delta cut short is not trusted.
    delta.write_bytes(delta.read_bytes()[:200])
    page.write_text(page.read_text() + "\nChanged thrice.\n")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "cannot be read" in result.err
    assert tree(root / "build") == cold_copy(root)
    assert not delta.exists()            # the cold build wrote a full state

    # Nor is one written against another full state.
    delta.write_bytes(first_delta)
    page.write_text(page.read_text() + "\nChanged again.\n")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "does not belong" in result.err
    assert tree(root / "build") == cold_copy(root)


def test_a_failed_build_leaves_the_last_good_cache_as_it_was(site):
    root = site(base_files())
    for i in range(80):       # enough pages for the parsing workers to write several packs
        (root / f"content/patterns/p{i}.md").write_text(pattern(f"P {i}", tags="[bulk]"))
    assert run_cli("build", "--root", str(root)).code == 0
    folder = root / ".devrel-cache/build"
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    (root / "build/patterns/p1/index.html").unlink()        # the next build is a cold one
    output = tree(root / "build")
    (root / "content/patterns/p3.md").write_text(pattern("P 3") + "\nSee [nowhere](missing.md).\n")
    (root / "content/patterns/p4.md").write_text("---\ntitle: P 4\n---\nNo sections at all.\n")
    assert run_cli("build", "--root", str(root), "--no-cache").code == 1
    assert run_cli("build", "--root", str(root)).code == 1
    # The failed cold build wrote packs while parsing; they are gone, the rest is untouched.
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert tree(root / "build") == output


@pytest.mark.parametrize("pages", [3, 80])      # one process, and several
def test_a_build_that_fails_while_rendering_leaves_the_last_good_cache_as_it_was(site, pages):
    """A cold build writes its state while the pages render; a build whose rendering fails
    leaves neither that state nor anything else of its own in the cache."""
    root = site(base_files())
    for i in range(pages):
        (root / f"content/patterns/p{i}.md").write_text(pattern(f"P {i}", tags="[bulk]"))
    assert run_cli("build", "--root", str(root)).code == 0
    folder = root / ".devrel-cache/build"
    before = tree(folder)
    assert "state.pickle" in before and not [name for name in before if name.endswith(".new")]
    output = tree(root / "build")
    templates = root / "themes/broken/templates"
    templates.mkdir(parents=True)
    (templates / "pattern.html").write_text("{{ page.title }}{{ no_such_thing.attribute }}\n")
    (root / "site.toml").write_text(base_files()["site.toml"].replace("[search]", 'theme = "broken"\n[search]'))
    result = run_cli("build", "--root", str(root))
    assert result.code == 1 and "template-error" in result.out + result.err
    assert tree(folder) == before
    assert tree(root / "build") == output
    (root / "site.toml").write_text(base_files()["site.toml"])
    assert build(load_config(root)).kind == "unchanged"


def test_two_builds_at_once_do_not_corrupt_each_other(site):
    root = site(base_files())
    for i in range(40):
        (root / f"content/patterns/p{i}.md").write_text(pattern(f"P {i}", tags="[bulk]"))
    procs = [subprocess.Popen([sys.executable, "-m", "generator", "build", "--root", str(root)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert tree(root / "build") == cold_copy(root)
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".build.")]
    assert leftovers == []


def test_no_cache_option_leaves_no_cache(site):
    root = site(base_files())
    assert run_cli("build", "--root", str(root), "--no-cache").code == 0
    assert not (root / ".devrel-cache/build/state.pickle").exists()


def test_only_commits_that_touch_content_invalidate_the_cache(site):
    root = site(base_files())
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "content", "site.toml"], check=True)
    subprocess.run(git + ["commit", "-qm", "first"], check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2024-01-02T00:00:00"})
    config = load_config(root)
    assert build(config).kind == "cold"
    (root / "notes.txt").write_text("not content\n")
    subprocess.run(git + ["add", "notes.txt"], check=True)
    subprocess.run(git + ["commit", "-qm", "notes"], check=True)
    assert build(config).kind == "unchanged"
    page = root / "content/handbook/team/one.md"
    page.write_text(page.read_text() + "\nmore\n")
    subprocess.run(git + ["commit", "-qam", "content"], check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2025-03-04T00:00:00"})
    assert build(config).kind == "cold"
    assert "2025-03-04" in (root / "build/handbook/team/one/index.html").read_text()


def test_git_dates_reach_the_pages_when_workers_parse_them(site):
    """``git log`` runs while the workers parse: its dates still reach every page, and a
    build whose checks fail stops it without waiting for it."""
    root = site(base_files())
    for i in range(80):       # enough pages for the parsing workers
        (root / f"content/patterns/p{i}.md").write_text(pattern(f"P {i}", tags="[bulk]"))
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "content"], check=True)
    subprocess.run(git + ["commit", "-qm", "first"], check=True, env={**os.environ, "GIT_COMMITTER_DATE": "2023-05-06T00:00:00"})
    assert run_cli("build", "--root", str(root), "--no-cache").code == 0
    assert "2023-05-06" in (root / "build/handbook/team/one/index.html").read_text()   # "Last updated"
    (root / "content/patterns/p5.md").write_text(pattern("P 5") + "\nSee [nowhere](missing.md).\n")
    result = run_cli("build", "--root", str(root), "--no-cache")
    assert result.code == 1 and "link-broken" in result.out


def test_check_reuses_the_last_build_when_nothing_changed(site):
    root = site(base_files())
    assert run_cli("build", "--root", str(root)).code == 0
    result = run_cli("check", "--root", str(root), "--verbose")
    assert result.code == 0 and "nothing changed since the last build" in result.err
    page = root / "content/patterns/beta.md"
    page.write_text(page.read_text() + "\n[x](missing.md)\n")
    result = run_cli("check", "--root", str(root), "--verbose")
    assert result.code == 1 and "link-broken" in result.out
    assert "nothing changed" not in result.err


def test_missing_html_in_the_cache_falls_back_to_a_full_build(site):
    root = site(base_files())
    config = load_config(root)
    assert build(config).kind == "cold"
    for path in (root / ".devrel-cache/build/html").iterdir():
        path.unlink()
    page = root / "content/patterns/gamma.md"
    page.write_text(page.read_text().replace("title: Gamma", "title: Gamma Two"))
    outcome = build(config)
    assert outcome.kind == "cold"
    assert tree(root / "build") == cold_copy(root)


def test_tag_collisions_are_reported_alike_by_warm_and_cold_runs(site):
    root = site({"content/patterns/a.md": pattern("A", tags="[C++]"),
                 "content/patterns/b.md": pattern("B", tags="['C#']"),
                 "content/patterns/c.md": pattern("C")})
    assert run_cli("build", "--root", str(root), "--no-search").code == 0

    def reports(command, *args):
        result = run_cli(command, "--root", str(root), "--format", "json", *args)
        assert "from the cache" in result.err or command == "check"
        return [(d["path"], d["line"], d["code"]) for d in result.json()["diagnostics"]]
    # Another page's body changes, then the colliding page's header moves its tags down a line.
    (root / "content/patterns/c.md").write_text(pattern("C", body_extra="More.\n"))
    assert reports("build", "--no-search") == [("content/patterns/b.md", 4, "taxonomy-collision")]
    (root / "content/patterns/b.md").write_text(pattern("B", tags="['C#']").replace("title: B\n", "title: B\nowner: x\n"))
    warm, cold = reports("build", "--no-search"), reports("check", "--no-cache")
    assert warm == cold == [("content/patterns/b.md", 5, "taxonomy-collision")]
