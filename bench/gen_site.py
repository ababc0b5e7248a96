"""Generate a synthetic site for benchmarks: deterministic for a given size and seed.

    python bench/gen_site.py OUT --patterns 1000 [--handbook 100] [--seed 1] [--hugo HUGO_OUT]

Pattern pages have 600-900 words, 2-4 tags, one or two categories and 3-6 links to other
patterns (some with a #fragment); one page in ten uses the legacy JBake format. Handbook pages
sit in nested folders; some carry <meta> tags instead of a header. ``--hugo`` also writes the
same content as a Hugo site (YAML front matter, tag and category taxonomies) for comparison.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

CATEGORIES = ["Code", "Presentation", "Social", "Writing", "Budget"]
WORDS = (
    "customer developer community feedback release sample guide session talk demo budget sponsor "
    "meetup workshop forum question answer onboarding integration product team engineer advocate "
    "content tutorial video podcast newsletter survey metric signal adoption retention churn account "
    "partner event booth swag ticket support escalation priority response review pull request api "
    "sdk client server deploy migration example snippet repository issue roadmap launch announcement "
    "audience speaker slide abstract proposal venue travel invoice cost value outcome goal plan week "
    "month quarter owner handbook process checklist template rotation retro incident follow up"
).split()
SECTIONS = ["Problem", "Context", "Solution", "Consequences"]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def slug_of(i: int) -> str:
    return f"pattern-{i:05d}"


def title_of(i: int, rng: random.Random) -> str:
    return f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS).capitalize()} {i}"


def pattern_page(i: int, count: int, rng: random.Random) -> tuple[dict, dict[str, list[str]], list[str]]:
    """Header fields, section paragraphs (with links written in) and variant names."""
    title = title_of(i, rng)
    tags = sorted({f"tag{rng.randint(0, 59):02d}" for _ in range(rng.randint(2, 4))})
    categories = sorted({rng.choice(CATEGORIES) for _ in range(rng.randint(1, 2))})
    fields = {"title": title, "date": f"20{rng.randint(20, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
              "tags": tags, "categories": categories, "description": sentence(rng)}
    words_left = rng.randint(600, 900)
    sections: dict[str, list[str]] = {}
    for name in SECTIONS:
        paragraphs = []
        for _ in range(2):
            text = paragraph(rng, 4)
            words_left -= len(text.split())
            paragraphs.append(text)
        sections[name] = paragraphs
    while words_left > 0:
        text = paragraph(rng, 4)
        sections["Solution"].append(text)
        words_left -= len(text.split())
    links = rng.sample([j for j in range(count) if j != i], k=min(rng.randint(3, 6), count - 1))
    for n, j in enumerate(links):
        section = SECTIONS[n % 4]
        fragment = "#solution" if n % 3 == 0 else ""
        sections[section][0] += f" See [{title_of(j, random.Random(j))}]({{link:{j}{fragment}}})."
    variants = [f"{rng.choice(WORDS).capitalize()} Variant {i}-{k}" for k in range(rng.randint(0, 2))]
    return fields, sections, variants


def modern(fields: dict, sections: dict, variants: list[str], link) -> str:
    lines = ["---", f"title: {fields['title']}", f"date: {fields['date']}",
             f"tags: [{', '.join(fields['tags'])}]", f"categories: [{', '.join(fields['categories'])}]",
             f"description: {fields['description']}", "---", ""]
    for name in SECTIONS:
        lines += [f"## {name}", ""]
        for text in sections[name]:
            lines += [link(text), ""]
    if variants:
        lines += ["## Variants", ""] + [f"* **{v}**: {WORDS[len(v) % len(WORDS)]} in a smaller form." for v in variants] + [""]
    return "\n".join(lines)


def legacy(fields: dict, sections: dict, variants: list[str], link) -> str:
    lines = [f"title={fields['title']}", f"date={fields['date']}", "type=page",
             f"tags={', '.join(fields['tags'])}", "status=published", f"description={fields['description']}",
             "~~~~~~", f"*{', '.join(fields['categories'])}*", ""]
    for name in SECTIONS:
        first, *rest = sections[name]
        lines += [f"***{name}***: {link(first)}", ""]
        for text in rest:
            lines += [link(text), ""]
    if variants:
        lines += ["***Variants***:", ""] + [f"* **{v}**: a smaller form." for v in variants] + [""]
    return "\n".join(lines)


def handbook_page(i: int, rng: random.Random, meta: bool) -> str:
    title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {i}"
    body = [f"# {title}", ""]
    for k in range(3):
        body += [f"## {rng.choice(WORDS).capitalize()} step {k}", "", paragraph(rng, 5), ""]
    if meta:
        body += [f'<meta name="maintainedBy" value="owner{i % 7}">', f'<meta name="title" value="{title}">', ""]
        return "\n".join(body)
    return "\n".join(["---", f"title: {title}", f"maintainedBy: owner{i % 7}", f"order: {i % 5}", "---", ""] + body)


def generate(out: Path, patterns: int, handbook: int, seed: int, hugo: Path | None = None) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "content/patterns").mkdir(parents=True)
    (out / "content/handbook").mkdir(parents=True)
    (out / "site.toml").write_text('title = "Bench"\nbase_url = "https://example.org/bench/"\n'
                                   '[search]\nenabled = false\n', encoding="utf-8")
    if hugo is not None:
        if hugo.exists():
            shutil.rmtree(hugo)
        write_hugo_skeleton(hugo)
    for i in range(patterns):
        rng = random.Random(seed * 1_000_003 + i)
        fields, sections, variants = pattern_page(i, patterns, rng)
        is_legacy = i % 10 == 7

        def ours(text: str, legacy_links: bool = is_legacy) -> str:
            import re
            return re.sub(r"\{link:(\d+)(#[a-z-]+)?\}",
                          lambda m: slug_of(int(m.group(1))) + (".html" if legacy_links else ".md") + (m.group(2) or ""),
                          text)

        text = legacy(fields, sections, variants, ours) if is_legacy else modern(fields, sections, variants, ours)
        (out / "content/patterns" / f"{slug_of(i)}.md").write_text(text, encoding="utf-8")
        if hugo is not None:
            def theirs(text: str) -> str:
                import re
                return re.sub(r"\{link:(\d+)(#[a-z-]+)?\}",
                              lambda m: f"../{slug_of(int(m.group(1)))}/" + (m.group(2) or ""), text)
            (hugo / "content/patterns" / f"{slug_of(i)}.md").write_text(
                modern(fields, sections, variants, theirs), encoding="utf-8")
    for i in range(handbook):
        rng = random.Random(seed * 7_000_001 + i)
        folder = f"area-{i % 5}/topic-{i % 3}"
        text = handbook_page(i, rng, meta=i % 3 == 0)
        path = out / "content/handbook" / folder / f"page-{i:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if hugo is not None:
            target = hugo / "content/handbook" / folder / f"page-{i:04d}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            plain = text.replace('<meta name="maintainedBy"', '<!-- ').replace('<meta name="title"', '<!-- ')
            if not plain.startswith("---"):
                plain = f"---\ntitle: page {i}\n---\n" + plain
            target.write_text(plain, encoding="utf-8")


def write_hugo_skeleton(hugo: Path) -> None:
    (hugo / "content/patterns").mkdir(parents=True)
    (hugo / "content/handbook").mkdir(parents=True)
    (hugo / "hugo.toml").write_text(
        'baseURL = "https://example.org/bench/"\ntitle = "Bench"\nrelativeURLs = true\n'
        'disableKinds = ["RSS"]\n[taxonomies]\ntag = "tags"\ncategory = "categories"\n'
        '[markup.goldmark.renderer]\nunsafe = true\n', encoding="utf-8")
    layouts = hugo / "layouts/_default"
    layouts.mkdir(parents=True)
    (layouts / "baseof.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} | {{ site.Title }}</title>'
        '</head><body><header><a href="{{ "/" | relURL }}">{{ site.Title }}</a></header>'
        '<main>{{ block "main" . }}{{ end }}</main></body></html>\n', encoding="utf-8")
    (layouts / "single.html").write_text(
        '{{ define "main" }}<article><h1>{{ .Title }}</h1><p>{{ .Date.Format "2006-01-02" }}</p>'
        '<ul>{{ range .GetTerms "tags" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>'
        '{{ .TableOfContents }}{{ .Content }}</article>{{ end }}\n', encoding="utf-8")
    (layouts / "list.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">'
        '{{ .Title }}</a> {{ .Description }}</li>{{ end }}</ul>{{ end }}\n', encoding="utf-8")
    (layouts / "terms.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">'
        '{{ .Page.Title }}</a> {{ .Count }}</li>{{ end }}</ul>{{ end }}\n', encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--patterns", type=int, default=1000)
    parser.add_argument("--handbook", type=int, default=None, help="default: a tenth of --patterns")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hugo", type=Path, default=None, help="also write the content as a Hugo site here")
    args = parser.parse_args()
    handbook = args.handbook if args.handbook is not None else max(1, args.patterns // 10)
    generate(args.out, args.patterns, handbook, args.seed, args.hugo)


if __name__ == "__main__":
    main()
