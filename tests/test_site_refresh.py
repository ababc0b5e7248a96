"""Header edits (titles, descriptions, dates, handbook order) refresh the site model in place of
building it anew; after any sequence of them the model, the diagnostics and every output are
what a build from scratch gives."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import incremental
from generator.config import load_config
from generator.pipeline import run
from generator.site import build_site

TITLES = ["Alpha", "alpha", "Beta", "Élan", "Zeta", "Mu", "Aaa", "Zzz", "Omega", "Beta"]
TAGS = ["DevRel", "devrel", "Events", "events", "Docs", "Écrit", "ecrit"]


def header(title: str, tags: list[str], description: str, date: str, order: int | None = None) -> str:
    lines = [f"title: {title}", f"tags: [{', '.join(tags)}]", f"description: {description}", f"date: {date}"]
    if order is not None:
        lines.append(f"order: {order}")
    return "---\n" + "\n".join(lines) + "\n---\n"


def pattern_text(title: str, tags: list[str], links: list[str], description: str = "d", date: str = "2024-01-02",
                 categories: str = "Code") -> str:
    see = " ".join(f"[x]({name}.md)" for name in links)
    head = header(title, tags, description, date).replace("---\n", f"---\ncategories: [{categories}]\n", 1)
    return (head + f"{title} in a line. {see}\n\n## Problem\n\np\n\n## Context\n\nc\n\n"
            "## Solution\n\ns\n\n## Consequences\n\nk\n")


def handbook_text(title: str, tags: list[str], links: list[str], order: int, description: str = "h",
                  depth: int = 1) -> str:
    see = " ".join(f"[x]({'../' * depth}patterns/{name}.md)" for name in links)
    return header(title, tags, description, "2024-02-03", order) + f"Text. {see}\n"


def make(root: Path, seed: int, tags: list[str] = TAGS) -> dict[str, dict]:
    """A site of six patterns, three handbook pages and a catalog page, linking each other at
    random; returns what each page was written from, so tests can write it again changed."""
    rng = random.Random(seed)
    names = [f"p{i}" for i in range(6)]
    (root / "content/patterns").mkdir(parents=True)
    (root / "content/handbook/team").mkdir(parents=True)
    (root / "site.toml").write_text('title = "Refresh"\n[search]\nenabled = false\n')
    specs: dict[str, dict] = {}
    for i, name in enumerate(names):
        specs[f"content/patterns/{name}.md"] = dict(kind="pattern", title=TITLES[i], tags=rng.sample(tags, 2),
                                                    links=rng.sample([n for n in names if n != name], 2))
    for i, rel in enumerate(["guide.md", "team/one.md", "team/two.md"]):
        specs[f"content/handbook/{rel}"] = dict(kind="handbook", title=f"H {TITLES[i + 3]}", order=i,
                                                tags=rng.sample(tags, 1), links=rng.sample(names, 1))
    (root / "content/patterns/_index.md").write_text("---\ntitle: The catalog\n---\nSee [one](p0.md).\n")
    (root / "content/handbook/team/four.md").write_text("---\ntitle: Four\n---\nSee [the catalog](../../patterns/).\n")
    for path, spec in specs.items():
        write(root, path, spec)
    return specs


def write(root: Path, path: str, spec: dict, **change) -> None:
    spec.update(change)
    if spec["kind"] == "pattern":
        text = pattern_text(spec["title"], spec["tags"], spec["links"], spec.get("description", "d"),
                            spec.get("date", "2024-01-02"))
    else:
        text = handbook_text(spec["title"], spec["tags"], spec["links"], spec["order"], spec.get("description", "h"),
                             depth=path.count("/") - 1)
    (root / path).write_text(text)


def same_as_from_scratch(state: incremental.State, outputs: bool = True) -> None:
    pages = list(state.pages.values())
    fresh = build_site(state.config, pages, state.rendered, state.analysis.targets, state.dates,
                       include_drafts=state.drafts, category_descriptions=state.described)
    assert state.site == fresh
    assert [p.title for p in state.site.patterns] == [p.title for p in fresh.patterns]
    if outputs:
        result = run(state.config, drafts=state.drafts, workers=1)
        assert state.diagnostics == result.diagnostics
        assert state.outputs == result.outputs


EDITS = st.lists(st.tuples(st.sampled_from(["title", "description", "date", "order", "catalog"]),
                           st.integers(0, 8), st.sampled_from(TITLES)), min_size=1, max_size=6)


@given(st.integers(0, 10**6), EDITS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_header_edits_refresh_the_model_to_what_a_fresh_build_gives(tmp_path_factory, seed, edits):
    root = tmp_path_factory.mktemp("refresh")
    specs = make(root, seed)
    state, first = incremental.build(load_config(root))
    assert first.ok, first.errors
    paths = sorted(specs)
    for edit, n, title in edits:
        path = paths[n % len(paths)]
        spec = specs[path]
        if edit == "title":
            write(root, path, spec, title=title if spec["kind"] == "pattern" else f"H {title}")
        elif edit == "description":
            write(root, path, spec, description=f"about {title}")
        elif edit == "date" and spec["kind"] == "pattern":
            write(root, path, spec, date=f"2023-0{n % 9 + 1}-1{n % 9}")
        elif edit == "order" and spec["kind"] == "handbook":
            write(root, path, spec, order=(spec["order"] + n) % 4)
        elif edit == "catalog":
            (root / "content/patterns/_index.md").write_text(f"---\ntitle: {title} catalog\n---\nSee [one](p0.md).\n")
            path = "content/patterns/_index.md"
        else:
            continue
        state, result = incremental.update(state, [root / path])
        assert result.kind in ("content", "none"), result       # "none": written as it was
        same_as_from_scratch(state, outputs=False)
    same_as_from_scratch(state)


def test_a_title_edit_refreshes_the_model_without_building_it(tmp_path, monkeypatch):
    specs = make(tmp_path, 1, tags=["devrel", "events", "docs"])
    state, _ = incremental.build(load_config(tmp_path))
    built = []
    monkeypatch.setattr(incremental, "build_site", lambda *a, real=incremental.build_site, **k:
                        built.append(a) or real(*a, **k))
    for path in ("content/patterns/p3.md", "content/handbook/team/one.md"):
        write(tmp_path, path, specs[path], title="Aaa First")
        state, _ = incremental.update(state, [tmp_path / path])
    assert built == []
    assert state.site.patterns[0].title == "Aaa First"
    assert state.site.nav.children[-1].children[0].title == "Aaa First"
    same_as_from_scratch(state)


def test_a_title_edit_that_changes_how_a_tag_is_spelled_names_the_tag_anew(tmp_path):
    # A tag is named as the first page in title order spells it.
    (tmp_path / "content/patterns").mkdir(parents=True)
    (tmp_path / "site.toml").write_text('title = "Refresh"\n[search]\nenabled = false\n')
    (tmp_path / "content/patterns/a.md").write_text(pattern_text("Alpha", ["DevRel"], []))
    (tmp_path / "content/patterns/b.md").write_text(pattern_text("Beta", ["devrel"], []))
    state, _ = incremental.build(load_config(tmp_path))
    assert [t.name for t in state.site.tags] == ["DevRel"]
    (tmp_path / "content/patterns/a.md").write_text(pattern_text("Zeta", ["DevRel"], []))
    state, _ = incremental.update(state, [tmp_path / "content/patterns/a.md"])
    assert [t.name for t in state.site.tags] == ["devrel"]
    same_as_from_scratch(state)
