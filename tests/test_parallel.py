"""Spreading parsing and rendering over processes changes nothing in what a build makes."""

from __future__ import annotations

import random
from pathlib import Path

from conftest import pattern, run_cli
from generator.config import load_config
from generator.parallel import MIN_ITEMS, _chunks, _in_order, load_and_parse
from generator.content import discover_all, published
from generator.pipeline import run

SITE_TOML = 'title = "Spread"\nbase_url = "https://example.org/"\n'


def many_pages(root: Path, count: int, seed: int = 7, faults: bool = True) -> Path:
    """A site of ``count`` patterns and handbook pages that link to each other, some with faults."""
    rng = random.Random(seed)
    (root / "content/patterns").mkdir(parents=True)
    (root / "content/handbook/guide").mkdir(parents=True)
    (root / "site.toml").write_text(SITE_TOML)
    for i in range(count):
        others = rng.sample(range(count), 3)
        links = " ".join(f"[P {j}](p{j}.md)" for j in others)
        extra = f"\nSee {links}.\n"
        if faults and i % 17 == 0:
            extra += "\nA [broken](nowhere.md) link.\n"
        if faults and i % 23 == 0:
            extra += "\n[anchor](#no-such-heading)\n"
        (root / f"content/patterns/p{i}.md").write_text(
            pattern(f"P {i}", tags=f"[t{i % 7}, shared]", categories=f"[C{i % 3}]", body_extra=extra))
        if i % 4 == 0:
            (root / f"content/handbook/guide/h{i}.md").write_text(
                f"---\ntitle: Guide {i}\n---\n# Guide {i}\n\nRead [P {i}](../../patterns/p{i}.md).\n")
    return root


def test_several_processes_make_what_one_process_makes(tmp_path):
    root = many_pages(tmp_path / "site", MIN_ITEMS * 2 + 11)
    config = load_config(root)
    one = run(config, workers=1)
    assert one.pages > MIN_ITEMS * 2
    codes = {d.code for d in one.diagnostics}
    assert {"link-broken", "link-anchor"} <= codes, codes
    for workers in (2, 3):
        many = run(config, workers=workers)
        assert many.diagnostics == one.diagnostics
        assert many.outputs.keys() == one.outputs.keys()
        assert many.outputs == one.outputs
        assert [p.source for p in many.parts["pages"]] == [p.source for p in one.parts["pages"]]


def test_parses_come_back_in_the_order_of_the_sources(tmp_path):
    root = many_pages(tmp_path / "site", 150)
    config = load_config(root)
    sources, _ = published(discover_all(config))
    rng = random.Random(3)
    shuffled = rng.sample(sources, len(sources))
    pages, rendered, _ = load_and_parse(config, shuffled, 2)
    assert [p.source for p in pages] == [s.path for s in shuffled]
    assert set(rendered) == {s.path for s in shuffled}


def test_what_is_made_while_workers_run_is_set_aside_from_the_cycle_collector():
    """Results that came in while the workers ran are long-lived: they are not left in the
    collector's youngest generation, where its first run would scan every one of them."""
    import gc
    from generator.parallel import _quiet_gc
    assert gc.isenabled()
    gc.collect()
    with _quiet_gc():
        assert not gc.isenabled()
        kept = [[n] for n in range(20_000)]
    young = gc.get_count()[0]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert young < gc.get_threshold()[0], young
    assert any(item is kept[-1] for item in gc.get_objects(generation=2))


def test_results_are_put_back_in_chunk_order_as_soon_as_they_can_be():
    arrivals = [(2, "c"), (0, "a"), (3, "d"), (1, "b"), (4, "e")]
    seen = []

    def feed():
        for item in arrivals:
            seen.append(item[0])
            yield item

    out = []
    for result in _in_order(feed()):
        out.append((result, list(seen)))
    assert [r for r, _ in out] == ["a", "b", "c", "d", "e"]
    # "a" goes out as soon as it came, "b" only after it came, with "c" waiting for it.
    assert out[0][1] == [2, 0] and out[1][1] == [2, 0, 3, 1]


def test_chunks_cover_every_item_once_in_order():
    for size in (0, 1, 15, 64, 1000, 12345):
        items = list(range(size))
        for workers in (1, 2, 3, 8):
            chunks = _chunks(items, workers)
            assert [x for chunk in chunks for x in chunk] == items
            assert all(chunks)


def test_a_template_error_with_several_processes_is_one_diagnostic_and_no_output(tmp_path):
    root = many_pages(tmp_path / "site", MIN_ITEMS * 2, faults=False)
    assert run_cli("check", "--root", str(root)).code == 0
    theme = root / "themes/broken/templates"
    theme.mkdir(parents=True)
    (theme / "pattern.html").write_text("{{ page.title }}{{ no_such_thing.attribute }}\n")
    (root / "site.toml").write_text(SITE_TOML + 'theme = "broken"\n')
    result = run_cli("build", "--root", str(root))
    assert result.code == 1
    errors = [line for line in result.out.splitlines() + result.err.splitlines() if "template-error" in line]
    assert len(errors) == 1, result.err
    assert "Traceback" not in result.err
    assert not (root / "build").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".build.")] == []
