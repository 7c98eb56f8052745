"""The mapping document made before each panel: cases, persons of concern and locations as a
graph of their links, grouped into clusters, with the links no record has stated flagged.

Everything here but :func:`load` is a pure function over plain data. A node is
``{id, kind, type, risk, status, police_only}`` (``kind`` is case, person or location;
``type`` the person's or location's own kind), an edge ``{id, a, b, date, police_only}``.
Names, nicknames, addresses and a link's free-text nature and source are never read into
the map: every output names records by id, kind and risk level only.

Hidden links (flags), each ``{kind, ids, reason}``:

``shared person`` / ``shared location``
    two cases linked to the same person or location but not to each other;
``missing together``
    two open cases with missing episodes that overlap (an episode with no end runs until
    now; episodes that only touch do not overlap);
``person across cases``
    one person of concern linked to two or more cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import combinations
from xml.sax.saxutils import escape, quoteattr

from panelctl.base.dates import now as uk_now
from panelctl.base.dates import show_date
from panelctl.base.errors import InvalidInputError, NotAllowedError, NotFoundError
from panelctl.model import records
from panelctl.outputs import papers, render

KINDS = {"C": "case", "P": "person", "L": "location"}
FLAG_ORDER = ("shared person", "shared location", "missing together", "person across cases")
FORMATS = ("html", "svg", "dot", "json")


def kind_of(record_id: str) -> str:
    return KINDS.get(record_id.split("-", 1)[0], "other")


def _key(record_id: str) -> tuple[int, str, int]:
    prefix, _, number = record_id.partition("-")
    order = list(KINDS).index(prefix) if prefix in KINDS else len(KINDS)
    return order, prefix, int(number) if number.isdigit() else 0


def _sorted(ids: Iterable[str]) -> list[str]:
    return sorted(set(ids), key=_key)


# --- the graph -----------------------------------------------------------------------------


def build_graph(nodes: Iterable[str], links: Iterable[dict]) -> list[dict]:
    """Connected components of ``nodes`` joined by ``links`` ({id, a, b}), as clusters.

    Each cluster is ``{id, nodes, cases, links}`` (ids, sorted); clusters come largest
    first (by cases, then nodes), then by their first id, and are numbered G1, G2, ...
    A link to a node not in ``nodes`` is ignored.
    """
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    links = [link for link in links if link["a"] in parent and link["b"] in parent]
    for link in links:
        ra, rb = find(link["a"]), find(link["b"])
        if ra != rb:
            parent[max(ra, rb, key=_key)] = min(ra, rb, key=_key)
    members: dict[str, list[str]] = {}
    for n in parent:
        members.setdefault(find(n), []).append(n)
    edges: dict[str, list[str]] = {}
    for link in links:
        edges.setdefault(find(link["a"]), []).append(link["id"])
    groups = []
    for root, ids in members.items():
        ids = _sorted(ids)
        cases = [n for n in ids if kind_of(n) == "case"]
        groups.append({"nodes": ids, "cases": cases, "links": sorted(edges.get(root, []))})
    groups.sort(key=lambda g: (-len(g["cases"]), -len(g["nodes"]), _key(g["nodes"][0])))
    return [{"id": f"G{i}", **g} for i, g in enumerate(groups, start=1)]


def overlapping(episodes: Iterable[dict], now: datetime | None = None) -> list[dict]:
    """Pairs of cases missing at overlapping times: ``[{a, b, start, end}]`` (a before b).

    Each episode is ``{case, start, end}``; an episode without an end runs until ``now``
    (or for ever when ``now`` is None). Episodes that only touch (one ends as the other
    starts) do not overlap. One entry per pair of cases: their earliest overlap.
    """
    spans = []
    for ep in episodes:
        end = ep.get("end") or now
        if end is not None and end <= ep["start"]:
            continue
        spans.append((ep["start"], end, ep["case"]))
    spans.sort(key=lambda s: s[0])
    found: dict[tuple[str, str], dict] = {}
    active: list[tuple] = []
    for start, end, case in spans:
        active = [s for s in active if s[1] is None or s[1] > start]
        for _s, other_end, other in active:
            if other == case:
                continue
            pair = tuple(_sorted((case, other)))
            if pair not in found:
                ends = [e for e in (end, other_end) if e is not None]
                found[pair] = {
                    "a": pair[0],
                    "b": pair[1],
                    "start": start,
                    "end": min(ends, default=None),
                }
        active.append((start, end, case))
    return [found[p] for p in sorted(found, key=lambda p: (_key(p[0]), _key(p[1])))]


def hidden_links(
    links: Iterable[dict], episodes: Iterable[dict] = (), now: datetime | None = None
) -> list[dict]:
    """The links no record states, each ``{kind, ids, reason}`` naming ids only."""
    links = list(links)
    stated = {frozenset((link["a"], link["b"])) for link in links}
    cases_of: dict[str, set[str]] = {}  # person or location -> the cases linked to it
    for link in links:
        a, b = link["a"], link["b"]
        for one, other in ((a, b), (b, a)):
            if kind_of(one) == "case" and kind_of(other) in ("person", "location"):
                cases_of.setdefault(other, set()).add(one)
    flags = []
    for hub, cases in cases_of.items():
        what = kind_of(hub)
        for c1, c2 in combinations(_sorted(cases), 2):
            if frozenset((c1, c2)) in stated:
                continue
            flags.append(
                {
                    "kind": f"shared {what}",
                    "ids": [c1, c2, hub],
                    "reason": f"{c1} and {c2} are both linked to {what} {hub}.",
                }
            )
        if what == "person" and len(cases) >= 2:
            ids = _sorted(cases)
            flags.append(
                {
                    "kind": "person across cases",
                    "ids": [hub, *ids],
                    "reason": f"Person {hub} is linked to {len(ids)} cases: {', '.join(ids)}.",
                }
            )
    for pair in overlapping(episodes, now):
        a, b = pair["a"], pair["b"]
        if frozenset((a, b)) in stated:
            continue
        flags.append(
            {
                "kind": "missing together",
                "ids": [a, b],
                "reason": f"{a} and {b} were missing at overlapping times "
                f"(from {show_date(pair['start'].date())}).",
            }
        )
    flags.sort(key=lambda f: (FLAG_ORDER.index(f["kind"]), [_key(i) for i in f["ids"]]))
    return flags


def build_map(
    nodes: list[dict],
    links: list[dict],
    episodes: Iterable[dict] = (),
    now: datetime | None = None,
    agenda: Iterable[str] | None = None,
) -> dict:
    """The whole map: ``{nodes, edges, clusters, flags}``; with ``agenda`` (case ids), only
    the clusters holding one of those cases, and the flags that touch them."""
    by_id = {n["id"]: n for n in nodes}
    edges = [
        {
            "id": link["id"],
            "a": link["a"],
            "b": link["b"],
            "date": link.get("date"),
            "police_only": bool(link.get("police_only")),
        }
        for link in links
        if link["a"] in by_id and link["b"] in by_id
    ]
    edges.sort(key=lambda e: _key(e["id"]))
    flags = hidden_links(edges, episodes, now)
    clusters = build_graph(by_id, edges)
    if agenda is not None:
        wanted = set(agenda)
        clusters = [c for c in clusters if wanted & set(c["cases"])]
    shown = {n for c in clusters for n in c["nodes"]}
    flags = [f for f in flags if shown & set(f["ids"])]
    for cluster in clusters:
        members = set(cluster["nodes"])
        cluster["risks"] = {c: by_id[c].get("risk") for c in cluster["cases"]}
        cluster["flags"] = sum(1 for f in flags if members & set(f["ids"]))
    return {
        "nodes": [by_id[n] for n in _sorted(shown)],
        "edges": [e for e in edges if e["a"] in shown],
        "clusters": clusters,
        "flags": flags,
    }


# --- the store -----------------------------------------------------------------------------


def load(store, meeting: str | None = None, now: datetime | None = None) -> dict:
    """The map of a store, from the index; only open cases are read (for missing episodes).

    Nodes are every open case and every case, person and location with a link.
    """

    index = store.index()
    agenda = None
    if meeting is not None:
        meeting = meeting.strip()
        if records.type_of_id(meeting).name != "meeting":
            raise InvalidInputError(f"{meeting} is not a meeting id (those look like M-0007).")
        rows = {rid: f for rid, f in index.rows("meeting")}
        if meeting not in rows:
            raise NotFoundError(f"No meeting {meeting} in this store.")
        record = store.read(meeting)
        if "cases" not in record and "agenda" not in record:
            raise NotAllowedError(
                f"{meeting} has no agenda yet, so no case of it can be mapped; build its "
                f"agenda first (`panelctl agenda build {meeting}`), or map the whole store."
            )
        agenda = list(record.get("cases") or [])
    links = [{"id": rid, **f} for rid, f in index.rows("link")]
    linked = {end for link in links for end in (link.get("a"), link.get("b"))}
    nodes, open_cases = [], []
    for rid, f in index.rows("case"):
        if f.get("status") == "open":
            open_cases.append(rid)
        if f.get("status") == "open" or rid in linked:
            nodes.append(_node(rid, "case", None, f))
    for rtype in ("person", "location"):
        for rid, f in index.rows(rtype):
            if rid in linked:
                nodes.append(_node(rid, rtype, f.get("kind"), f))
    episodes = []
    for rid in _sorted(open_cases):
        for ep in store.read(rid).get("missing") or []:
            episodes.append({"case": rid, "start": ep["start"], "end": ep.get("end")})
    result = build_map(nodes, links, episodes, now or uk_now(), agenda)
    result["meeting"] = meeting
    result["agenda"] = agenda
    return result


def _node(rid: str, kind: str, subtype: str | None, fields: dict) -> dict:
    node = {
        "id": rid,
        "kind": kind,
        "type": subtype,
        "police_only": bool(fields.get("police_only")),
    }
    if kind == "case":
        node.update(risk=fields.get("risk"), status=fields.get("status"))
    return node


# --- formats -------------------------------------------------------------------------------


def to_json(data: dict) -> str:
    import json

    keys = ("meeting", "agenda", "nodes", "edges", "clusters", "flags")
    return json.dumps({k: data.get(k) for k in keys}, indent=2, default=str) + "\n"


def _label_lines(node: dict) -> list[str]:
    lines = [node["id"], node.get("type") or node["kind"]]
    if node["kind"] == "case":
        lines = [node["id"], "case", str(node.get("risk") or "risk not assessed")]
        if node.get("status") == "closed":
            lines.append("closed")
    if node.get("police_only"):
        lines.append("police only")
    return lines


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


DOT_SHAPES = {"case": "box", "person": "ellipse", "location": "diamond"}


def to_dot(data: dict) -> str:
    """Graphviz text: one subgraph per cluster; hidden links dashed and red."""
    by_id = {n["id"]: n for n in data["nodes"]}
    out = ["graph panel_map {", '  graph [rankdir=LR, fontname="Helvetica"];']
    out.append('  node [fontname="Helvetica", fontsize=10];')
    for cluster in data["clusters"]:
        out.append(f"  subgraph cluster_{cluster['id']} {{")
        out.append(f"    label={_dot_str(cluster['id'])};")
        for nid in cluster["nodes"]:
            node = by_id[nid]
            label = "\\n".join(_dot_str(x)[1:-1] for x in _label_lines(node))
            out.append(
                f'    "{nid}" [shape={DOT_SHAPES.get(node["kind"], "box")}, label="{label}"];'
            )
        out.append("  }")
    for edge in data["edges"]:
        style = ", style=bold" if edge.get("police_only") else ""
        out.append(f'  "{edge["a"]}" -- "{edge["b"]}" [id={_dot_str(edge["id"])}{style}];')
    for a, b, flag in _flag_pairs(data):
        if a in by_id and b in by_id:
            out.append(
                f'  "{a}" -- "{b}" [style=dashed, color=red, constraint=false, '
                f"label={_dot_str(flag['kind'])}];"
            )
    out.append("}")
    return "\n".join(out) + "\n"


def _flag_pairs(data: dict) -> list[tuple[str, str, dict]]:
    """The case pairs of the pairwise flags (shared person or location, missing together)."""
    return [
        (f["ids"][0], f["ids"][1], f) for f in data["flags"] if f["kind"] != "person across cases"
    ]


def layout(data: dict, width: int = 720) -> tuple[dict[str, tuple[float, float]], list[dict], int]:
    """A deterministic layout: each cluster a box in its own row, its nodes on a circle.

    Returns (node -> (x, y)), boxes [{id, x, y, w, h}] and the total height.
    """
    import math

    positions, boxes, y = {}, [], 70.0
    for cluster in data["clusters"]:
        ids = cluster["nodes"]
        radius = 0.0 if len(ids) == 1 else max(60.0, len(ids) * 70 / (2 * math.pi))
        height = 2 * radius + 110
        cx, cy = width / 2, y + 35 + radius
        for i, nid in enumerate(ids):
            angle = -math.pi / 2 + 2 * math.pi * i / len(ids)
            positions[nid] = (
                round(cx + radius * math.cos(angle), 1),
                round(cy + radius * math.sin(angle), 1),
            )
        boxes.append({"id": cluster["id"], "x": 10, "y": y, "w": width - 20, "h": height})
        y += height + 15
    return positions, boxes, int(y)


def to_svg(data: dict) -> str:
    """The map drawn as SVG: cluster boxes, nodes (case square, person circle, location
    diamond), links (police-only thicker, hidden links dashed red) and the flags listed."""
    by_id = {n["id"]: n for n in data["nodes"]}
    base_width = 720
    need = max((len(c["nodes"]) * 70 / 3.14 + 160 for c in data["clusters"]), default=0)
    width = max(base_width, int(need))
    pos, boxes, y = layout(data, width)
    flag_lines = [f"{f['kind']}: {f['reason']}" for f in data["flags"]] or [
        "No hidden links found."
    ]
    height = y + 40 + 16 * len(flag_lines)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Arial, Helvetica, sans-serif" font-size="10" '
        'style="max-width: 100%; height: auto" role="img" aria-label="Map of links between cases, persons and locations">',
        '<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>',
        '<text x="10" y="20" font-size="13" font-weight="bold">Map of links</text>',
        '<g transform="translate(10,40)">'
        '<rect x="0" y="-8" width="12" height="12" fill="#dbe9f6" stroke="#000"/>'
        '<text x="16" y="2">case</text>'
        '<circle cx="66" cy="-2" r="6" fill="#f6e0db" stroke="#000"/><text x="76" y="2">person</text>'
        '<polygon points="136,-9 143,-2 136,5 129,-2" fill="#e3f1dc" stroke="#000"/>'
        '<text x="148" y="2">location</text>'
        '<line x1="200" y1="-2" x2="230" y2="-2" stroke="#c00" stroke-dasharray="4 3"/>'
        '<text x="235" y="2">hidden link (flag)</text></g>',
    ]
    for box in boxes:
        body.append(
            f'<rect x="{box["x"]}" y="{box["y"]}" width="{box["w"]}" height="{box["h"]}" '
            'fill="none" stroke="#888" rx="6"/>'
            f'<text x="{box["x"] + 8}" y="{box["y"] + 16}" font-weight="bold">{escape(box["id"])}</text>'
        )
    for edge in data["edges"]:
        (x1, y1), (x2, y2) = pos[edge["a"]], pos[edge["b"]]
        thick = 2.5 if edge.get("police_only") else 1
        body.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="{thick}"/>'
        )
    for a, b, _flag in _flag_pairs(data):
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            body.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#c00" '
                'stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
    for nid, (x, y0) in pos.items():
        node = by_id[nid]
        kind = node["kind"]
        if kind == "case":
            shape = f'<rect x="{x - 9}" y="{y0 - 9}" width="18" height="18" fill="#dbe9f6" stroke="#000"/>'
        elif kind == "person":
            shape = f'<circle cx="{x}" cy="{y0}" r="10" fill="#f6e0db" stroke="#000"/>'
        else:
            shape = (
                f'<polygon points="{x},{y0 - 11} {x + 11},{y0} {x},{y0 + 11} {x - 11},{y0}" '
                'fill="#e3f1dc" stroke="#000"/>'
            )
        lines = _label_lines(node)
        text = "".join(
            f'<tspan x="{x}" dy="{0 if i == 0 else 11}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        body.append(
            f"<g id={quoteattr('node-' + nid)}>{shape}"
            f'<text x="{x}" y="{y0 + 22}" text-anchor="middle" stroke="#fff" '
            f'stroke-width="3" paint-order="stroke">{text}</text></g>'
        )
    fy = y + 20
    body.append(f'<text x="10" y="{fy}" font-weight="bold">Hidden links</text>')
    for i, line in enumerate(flag_lines, start=1):
        body.append(f'<text x="10" y="{fy + 16 * i}">{escape(line)}</text>')
    body.append("</svg>")
    return "\n".join(body) + "\n"


def to_html(data: dict, panel: dict, generated, store_root=None) -> str:
    """The print-ready A4 mapping paper (OFFICIAL-SENSITIVE on every page)."""

    by_id = {n["id"]: n for n in data["nodes"]}
    clusters = [
        {
            **c,
            "persons": [n for n in c["nodes"] if by_id[n]["kind"] == "person"],
            "locations": [n for n in c["nodes"] if by_id[n]["kind"] == "location"],
        }
        for c in data["clusters"]
    ]
    name = "map/map.html.j2"
    context = dict(
        marking=papers.MARKING,
        panel=panel,
        generated=generated,
        meeting=data.get("meeting"),
        clusters=clusters,
        flags=data["flags"],
        svg=to_svg(data),
    )
    return render.run(papers.environment(store_root), name, context)


def render_map(
    data: dict, fmt: str, panel: dict | None = None, generated=None, store_root=None
) -> str:
    if fmt == "json":
        return to_json(data)
    if fmt == "dot":
        return to_dot(data)
    if fmt == "svg":
        return to_svg(data)
    if fmt == "html":
        return to_html(data, panel or {}, generated, store_root)
    raise InvalidInputError(f"Map format {fmt!r} is not one of: {', '.join(FORMATS)}.")
