"""The data dictionary: what each lens offers, as the viewer may see it, on one self-contained page.

Per lens: its description and how to connect; the relationship diagram (``proxy.ops.diagram``, SVG drawn
here) and the relationships and temporal relationships as tables; then each entity with its members
(fields, dimensions, measures): type (the lens's, and the PostgreSQL type the catalog reports), the
measure's aggregation, description, SQL snippet, hidden or not, the policies that apply, and for each
measure an example query ready to paste. A search box filters members by name, description and type.

Who sees what: exactly what the catalog shows that viewer (``rewriter.policy.resolve_access`` and
``lens_view``, as ``proxy.session`` uses them): denied entities and members are absent, a lens the viewer
may not use is not listed, masks and row filters that apply are named. Hidden members are listed (they can
be queried by name) and marked hidden. Snippets and policy conditions that name a member the viewer may not
see are not shown. The page is rendered once per (viewer, lens versions) and kept.

Nothing outside loads: styles and the script are inline, allowed by their hashes in the Content-Security-
Policy (``default-src 'none'``), the favicon is a data: URL.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from html import escape
from typing import Any

from proxy.ops.diagram import edges_of, render_svg
from rewriter.lens import REF_CATALOG, Entity, Lens, Measure, Member
from rewriter.policy import Access, Identity, NoAccess, Policy, lens_view, resolve_access

CACHE_PAGES = 64
_SAFE_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")
_RESERVED = frozenset("""all and any array as asc between both case cast check collate column constraint create
current_date current_time current_timestamp current_user default desc distinct do else end except false for
foreign from grant group having in initially intersect into leading limit localtime not null offset on only or
order placing primary references returning select session_user some symmetric table then to trailing true union
unique user using variadic when where window with""".split())

STYLE = """
:root{--ink:#0f172a;--muted:#475569;--line:#e2e8f0;--accent:#2563eb;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{position:sticky;top:0;z-index:2;display:flex;gap:16px;align-items:center;padding:10px 24px;background:#0f172a;color:#fff}
header h1{font-size:17px;margin:0;font-weight:600}
header .viewer{color:#cbd5e1;font-size:13px}
header input{margin-left:auto;width:340px;padding:7px 10px;border-radius:6px;border:1px solid #334155;font-size:14px}
header .count{color:#cbd5e1;font-size:13px;min-width:110px}
.layout{display:flex}
nav{width:230px;flex:none;padding:16px;border-right:1px solid var(--line);height:calc(100vh - 52px);position:sticky;top:52px;overflow:auto;background:#fff}
nav a{display:block;color:var(--ink);text-decoration:none;padding:2px 0}
nav .lens-link{font-weight:600;margin-top:10px}
nav .entity-link{padding-left:12px;color:var(--muted)}
main{flex:1;padding:16px 28px 60px;min-width:0}
section.lens{margin-bottom:40px}
section.lens>h2{font-size:22px;margin:8px 0 4px}
.meta{color:var(--muted);margin:2px 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
.connect{background:#e2e8f0;padding:2px 6px;border-radius:4px}
figure{margin:14px 0;padding:12px;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:auto}
svg.diagram{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
svg .node-name{font-size:14px;font-weight:700;fill:#0f172a}
svg .node-sub{font-size:11px;fill:#475569}
svg .edge-label{font-size:11.5px;fill:#0f172a}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:8px;margin:8px 0 18px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:#f1f5f9;font-weight:600;font-size:12.5px;color:var(--muted)}
article.entity{margin:26px 0}
article.entity h3{font-size:18px;margin:0 0 4px}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:9px;margin-left:4px;border:1px solid}
.kind-field{color:#166534;border-color:#86efac;background:#f0fdf4}
.kind-dimension{color:#854d0e;border-color:#fde047;background:#fefce8}
.kind-measure{color:#1e40af;border-color:#93c5fd;background:#eff6ff}
.hidden-badge{color:#6b21a8;border-color:#d8b4fe;background:#faf5ff}
.pk{color:#9a3412;border-color:#fdba74;background:#fff7ed}
.policy{color:#991b1b;border-color:#fca5a5;background:#fef2f2}
.yours{font-weight:700}
td.name{font-weight:600;white-space:nowrap}
td.sql pre{max-width:420px;color:#334155}
.example{margin-top:6px;padding:6px 8px;background:#f1f5f9;border-radius:6px;position:relative}
.example button{position:absolute;right:4px;top:4px;font-size:11px;padding:1px 6px;cursor:pointer}
.policies li{margin:2px 0}
.empty{color:var(--muted)}
[hidden]{display:none !important}
"""

SCRIPT = """
(function(){
  var box=document.getElementById('search'),count=document.getElementById('count');
  function apply(){
    var q=box.value.trim().toLowerCase(),shown=0;
    document.querySelectorAll('article.entity').forEach(function(ent){
      var own=ent.getAttribute('data-search')||'',entHit=q!==''&&own.indexOf(q)>=0,any=false;
      ent.querySelectorAll('tr.member').forEach(function(row){
        var hit=q===''||entHit||(row.getAttribute('data-search')||'').indexOf(q)>=0;
        row.hidden=!hit; if(hit){any=true;shown++;}
      });
      ent.hidden=!(q===''||any||entHit);
      var link=document.querySelector('nav a[href="#'+ent.id+'"]'); if(link){link.hidden=ent.hidden;}
    });
    document.querySelectorAll('section.lens').forEach(function(sec){
      var visible=sec.querySelectorAll('article.entity:not([hidden])').length>0;
      sec.hidden=q!==''&&!visible;
      var link=document.querySelector('nav a[href="#'+sec.id+'"]'); if(link){link.hidden=sec.hidden;}
    });
    count.textContent=shown+(shown===1?' member':' members');
  }
  box.addEventListener('input',apply);
  document.querySelectorAll('button.copy').forEach(function(b){
    b.addEventListener('click',function(){
      var text=b.parentNode.querySelector('pre').textContent;
      if(navigator.clipboard){navigator.clipboard.writeText(text).then(function(){b.textContent='copied';});}
    });
  });
  var params=new URLSearchParams(location.search); if(params.get('q')){box.value=params.get('q');}
  apply();
})();
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; img-src data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def identity_for(user: str, users: dict[str, Any]) -> Identity:
    """The viewer as ``proxy.session.Session.identity`` makes a session user (groups and attributes from the
    users file)."""
    entry = users.get(user)
    groups = tuple(entry.groups) if entry is not None else ()
    attributes = dict(entry.attributes) if entry is not None else {}
    return Identity.of(user, groups, attributes)


def ident(name: str) -> str:
    return name if _SAFE_IDENT.match(name) and name not in _RESERVED else '"' + name.replace('"', '""') + '"'


def example_query(entity: Entity, measure: Measure, access: Access) -> str:
    """A query that shows ``measure`` at a useful grain: by the entity's first plain string member (not a
    key, not hidden, not masked for the viewer), its largest values first."""
    by = next((m for m in (*entity.fields, *entity.dimensions)
               if m.type == "string" and not m.hidden and not getattr(m, "primary", False)
               and not getattr(m, "sub_query", False) and access.mask(entity.name, m.name) is None), None)
    table, column = ident(entity.name), ident(measure.name)
    if by is None:
        return f"SELECT {column}\nFROM {table};"
    group = ident(by.name)
    return f"SELECT {group}, {column}\nFROM {table}\nGROUP BY {group}\nORDER BY {column} DESC NULLS LAST\nLIMIT 10;"


def _references(snippet_expr: Any) -> set[tuple[str, str]]:
    if snippet_expr is None:
        return set()
    from sqlglot import exp

    return {(c.table.lower(), c.name.lower()) for c in snippet_expr.find_all(exp.Column) if c.catalog == REF_CATALOG}


def _shows(refs: set[tuple[str, str]], access: Access) -> bool:
    """Whether a snippet naming ``refs`` may be shown to a viewer with ``access``."""
    return all(access.entity_visible(e) and access.member_visible(e, m) for e, m in refs)


class Dictionary:
    """Renders and keeps the page per viewer. ``lens_status``: () -> {lens: {version, loaded_at, …}}."""

    def __init__(self, context: Any, *, backends: Any = None, wire_address: tuple[str, int] | None = None,
                 lens_status: Callable[[], dict[str, dict[str, Any]]] | None = None) -> None:
        self.context = context
        self.backends = backends or {}
        self.wire_address = wire_address
        self.lens_status = lens_status or dict
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, user: str) -> tuple[bytes, str]:
        """(the HTML for ``user``, its Content-Security-Policy). Blocking: runs in a thread."""
        identity = identity_for(user, self.context.users)
        views: list[tuple[Lens, Lens, Access]] = []
        for lens in list(self.context.lenses.values()):
            try:
                access = resolve_access(lens, identity)
            except NoAccess:
                continue
            views.append((lens, lens_view(lens, access), access))
        status = self.lens_status()
        key = (user, identity, tuple((lens.name, id(lens), access.fingerprint, status.get(lens.name, {}).get("version"))
                                     for lens, _, access in views))
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return cached, CSP
        body = self.render(user, views, status).encode()
        with self._lock:
            self._pages[key] = body
            while len(self._pages) > CACHE_PAGES:
                self._pages.popitem(last=False)
        return body, CSP

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, user: str, views: list[tuple[Lens, Lens, Access]], status: dict[str, dict[str, Any]]) -> str:
        nav, sections = [], []
        for lens, view, access in views:
            nav.append(f'<a class="lens-link" href="#lens-{escape(view.name)}">{escape(view.name)}</a>')
            nav += [f'<a class="entity-link" href="#{escape(view.name)}-{escape(e.name)}">{escape(e.name)}</a>'
                    for e in view.entities]
            sections.append(self._lens(user, lens, view, access, status.get(lens.name, {})))
        if not sections:
            sections.append('<p class="empty">No lens is served to you.</p>')
        generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>lens-proxy data dictionary</title><link rel="icon" href="data:,">'
            f"<style>{STYLE}</style></head><body>"
            f'<header><h1>lens-proxy data dictionary</h1><span class="viewer">viewing as <b id="viewer">'
            f'{escape(user)}</b> · {generated}</span>'
            '<input id="search" type="search" placeholder="Search entities, members, descriptions…" '
            'aria-label="search" autocomplete="off"><span id="count" class="count"></span></header>'
            f'<div class="layout"><nav>{"".join(nav)}</nav><main>{"".join(sections)}</main></div>'
            f"<script>{SCRIPT}</script></body></html>")

    def _lens(self, user: str, lens: Lens, view: Lens, access: Access, status: dict[str, Any]) -> str:
        name = escape(view.name)
        backend = self.backends.get(lens.name)
        meta = []
        if view.description:
            meta.append(f'<p class="meta">{escape(view.description)}</p>')
        facts = [f"dialect {escape(view.dialect)}"]
        if backend is not None:
            facts.append(f"backend {escape(str(getattr(backend, 'name', '')))} ({escape(str(getattr(backend, 'dialect', '')))})")
        if view.owner:
            facts.append(f"owner {escape(view.owner)}")
        if status.get("version"):
            facts.append(f"version {escape(status['version'])}, loaded {escape(str(status.get('loaded_at', '')))}")
        meta.append(f'<p class="meta">{" · ".join(facts)}</p>')
        if self.wire_address is not None:
            host, port = self.wire_address
            meta.append(f'<p class="meta">connect: <code class="connect">psql -h {escape(host)} -p {port} '
                        f'-U {escape(user)} {name}</code></p>')
        if not access.unrestricted:
            meta.append(f'<p class="meta">Shown as your data policy allows (groups: '
                        f'{escape(", ".join(sorted(access.groups)) or "none")}).</p>')
        parts = [f'<section class="lens" id="lens-{name}" data-lens="{name}"><h2>{name}</h2>', *meta,
                 f'<figure>{render_svg(view, view.name)}</figure>', self._relationships(view)]
        types = self._types(lens)
        for entity in view.entities:
            parts.append(self._entity(lens, view, entity, access, types.get(entity.name, {})))
        parts.append("</section>")
        return "".join(parts)

    def _types(self, lens: Lens) -> dict[str, dict[str, str]]:
        """entity -> member -> the PostgreSQL type the catalog reports (empty when it cannot say)."""
        catalog = self.context.catalog
        try:
            return catalog.entity_types(lens) if catalog is not None else {}
        except Exception:
            return {}

    def _relationships(self, view: Lens) -> str:
        rows = []
        for entity in view.entities:
            for r in entity.relationships:
                on = f"{entity.name}.{r.field} = {r.target}.{r.target_field}"
                if r.extra_snippet:
                    on += f" AND {r.extra_snippet}"
                rows.append(f'<tr class="relationship" data-source="{escape(entity.name)}" data-target="{escape(r.target)}">'
                            f"<td>{escape(entity.name)}</td><td>{escape(r.kind)}</td><td>{escape(r.target)}</td>"
                            f"<td><code>{escape(on)}</code></td><td>{escape(r.description or '')}</td></tr>")
        out = []
        if rows:
            out.append("<table><thead><tr><th>from</th><th>kind</th><th>to</th><th>joined on</th><th>description</th>"
                       f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        temporal = []
        for entity in view.entities:
            for t in entity.temporals:
                members = ", ".join(t.column(m) for m in t.members)
                temporal.append(f'<tr class="temporal" data-source="{escape(entity.name)}" data-target="{escape(t.target)}">'
                                f"<td>{escape(entity.name)}</td><td>{escape(t.name)}</td><td>{escape(t.kind)}</td>"
                                f"<td>{escape(t.target)}</td><td><code>{escape(members)}</code></td>"
                                f"<td>{escape(t.description or '')}</td></tr>")
        if temporal:
            out.append("<h3>Temporal relationships</h3><table><thead><tr><th>cohort</th><th>name</th><th>kind</th>"
                       "<th>appended</th><th>columns it adds</th><th>description</th></tr></thead>"
                       f"<tbody>{''.join(temporal)}</tbody></table>")
        if not edges_of(view):
            out.append('<p class="empty">No relationships.</p>')
        return "".join(out)

    def _entity(self, lens: Lens, view: Lens, entity: Entity, access: Access, types: dict[str, str]) -> str:
        anchor = f"{escape(view.name)}-{escape(entity.name)}"
        search = " ".join([entity.name, entity.description or "", *entity.tags]).lower()
        head = [f'<article class="entity" id="{anchor}" data-entity="{escape(entity.name)}" data-search="{escape(search)}">',
                f"<h3>{escape(entity.name)}</h3>"]
        if entity.description:
            head.append(f'<p class="meta">{escape(entity.description)}</p>')
        facts = []
        if entity.primary_key:
            facts.append("primary key " + ", ".join(f"<code>{escape(k)}</code>" for k in entity.primary_key))
        if entity.tables:
            facts.append("reads " + ", ".join(f"<code>{escape(t)}</code>" for t in entity.tables))
        if facts:
            head.append(f'<p class="meta">{" · ".join(facts)}</p>')
        head.append(self._entity_policies(lens, entity, access))
        rows = [self._member(entity, member, access, types.get(member.name)) for member in entity.members]
        table = ('<table class="members"><thead><tr><th>member</th><th>type</th><th>aggregation</th>'
                 '<th>description</th><th>SQL</th><th>policies</th></tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table></article>')
        return "".join(head) + table

    def _member(self, entity: Entity, member: Member, access: Access, pg_type: str | None) -> str:
        kind = member.kind
        badges = [f'<span class="badge kind-{kind}">{kind}</span>']
        if getattr(member, "primary", False):
            badges.append('<span class="badge pk">key</span>')
        if member.hidden:
            badges.append('<span class="badge hidden-badge">hidden</span>')
        aggregation = escape(member.measure_type) if isinstance(member, Measure) else ""
        if isinstance(member, Measure) and member.rolling_window is not None:
            w = member.rolling_window
            aggregation += escape(f" (rolling: trailing {w.trailing or '-'}, leading {w.leading or '-'})")
        type_text = escape(member.type) + (f' <span class="meta">{escape(pg_type)}</span>' if pg_type else "")
        refs = _references(member.expression)
        snippet = (f"<pre>{escape(member.snippet)}</pre>" if _shows(refs, access)
                   else '<span class="empty">(names members you cannot see)</span>')
        policies = self._member_policies(entity, member, access)
        example = ""
        if isinstance(member, Measure):
            query = example_query(entity, member, access)
            example = (f'<div class="example"><button class="copy" type="button">copy</button>'
                       f'<pre class="example-sql">{escape(query)}</pre></div>')
        search = " ".join([member.name, kind, member.type, member.description or "",
                           member.measure_type if isinstance(member, Measure) else "", *member.tags]).lower()
        return (f'<tr class="member" data-member="{escape(member.name)}" data-kind="{kind}" '
                f'data-hidden="{"true" if member.hidden else "false"}" data-search="{escape(search)}">'
                f'<td class="name"><code>{escape(member.name)}</code>{"".join(badges)}</td>'
                f"<td>{type_text}</td><td>{aggregation}</td>"
                f"<td>{escape(member.description or '')}{example}</td>"
                f'<td class="sql">{snippet}</td><td>{policies}</td></tr>')

    def _member_policies(self, entity: Entity, member: Member, access: Access) -> str:
        notes = []
        mine = access.mask(entity.name, member.name)
        if mine is not None:
            notes.append(f'<span class="badge policy yours">masked for you: {escape(_mask_text(mine))}</span>')
        secure = getattr(member, "secure", None)
        if secure is not None:
            groups = ", ".join(secure.applies_to.includes)
            if secure.applies_to.excludes:
                groups += " except " + ", ".join(secure.applies_to.excludes)
            notes.append(f'<span class="badge policy">secure: {escape(_mask_text(secure.mask))} for {escape(groups)}</span>')
        return " ".join(notes)

    def _entity_policies(self, lens: Lens, entity: Entity, access: Access) -> str:
        """The policies naming this entity (lens-level ones for it or for every entity, and its own), with
        whether each applies to the viewer; what they name is shown only where the viewer may see it."""
        key = entity.name.lower()
        policies: list[Policy] = [p for p in lens.policies if p.entity is None or p.entity.lower() == key]
        source = lens.entity(entity.name)
        policies += list(source.policies) if source is not None else []
        items = []
        for policy in policies:
            groups = ", ".join(policy.groups.includes)
            if policy.groups.excludes:
                groups += " except " + ", ".join(policy.groups.excludes)
            yours = policy.groups.matches(access.groups)
            facts = [f"for {escape(groups)}"]
            if policy.members_include is not None or policy.members_exclude:
                visible = [m for m in (policy.members_include or ("*",)) if m == "*" or access.member_visible(entity.name, m)]
                facts.append("members " + escape(", ".join(visible)))
                hidden_ex = [m for m in policy.members_exclude if access.member_visible(entity.name, m)]
                if hidden_ex:
                    facts.append("except " + escape(", ".join(hidden_ex)))
            if policy.row_filter_snippet:
                if _shows(_references(policy.row_filter), access):
                    facts.append(f"rows where <code>{escape(policy.row_filter_snippet)}</code>")
                else:
                    facts.append("a row filter on members you cannot see")
            masks = [f"{m} ({_mask_text(mask)})" for m, mask in policy.masks if access.member_visible(entity.name, m)]
            if masks:
                facts.append("masks " + escape(", ".join(masks)))
            badge = ' <span class="badge policy yours">applies to you</span>' if yours else ""
            items.append(f'<li class="policy-item" data-policy="{escape(policy.name)}"><b>{escape(policy.name)}</b>'
                         f'{badge}: {"; ".join(facts)}</li>')
        mine = access.row_filter(entity.name)
        if mine is not None and not items:
            items.append('<li><span class="badge policy yours">a row filter applies to you</span></li>')
        for segment in (source.segments if source is not None else ()):
            if segment.secure is not None:
                items.append(f'<li class="policy-item"><b>segment {escape(segment.name)}</b>: rows forced for '
                             f'{escape(", ".join(segment.secure.includes))}</li>')
        return f'<ul class="policies">{"".join(items)}</ul>' if items else ""


def _mask_text(mask: Any) -> str:
    if mask.func == "keep_last":
        return f"keep last {mask.keep}"
    if mask.func == "sql" and mask.snippet:
        return f"sql: {mask.snippet}"
    return mask.func
