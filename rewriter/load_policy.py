"""Reading the governance parts of a lens: Lens 2 ``user_groups``, ``meta.secure``, secured ``segments``,
and our ``policies`` block (a mixin of ``rewriter.load``'s loader: same node helpers, same issue reports
with file, line and YAML path). The model is ``rewriter.policy``; whole-lens checks (names that must
exist) are ``check_policies`` below, run with the loader's other checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewriter.lens import (
    MASK_FUNCS,
    Entity,
    GroupSelector,
    Location,
    Mask,
    Policy,
    SecureMember,
    Segment,
    UserGroup,
)
from rewriter.load_checks import LensIssue, did_you_mean
from rewriter.load_nodes import NodeReader

if TYPE_CHECKING:
    from rewriter.lens import Lens

USER_GROUP_KEYS = ("name", "description", "api_scopes", "includes", "excludes")
API_SCOPES = ("meta", "data", "graphql", "sql", "source", "jobs")
POLICY_KEYS = ("name", "description", "groups", "group", "entity", "members", "row_filter", "masks")
MEMBERS_KEYS = ("includes", "excludes")
SECURE_KEYS = ("func", "user_groups", "keep", "sql")
SEGMENT_KEYS = ("name", "description", "sql_snippet", "sql", "meta")
MASK_KEYS = ("func", "keep", "keep_last", "sql")


class PolicyLoading(NodeReader):
    """The governance readers of the loader (``rewriter.load`` subclasses this)."""

    def _selector(self, src) -> GroupSelector:
        """``"*"``, a list of groups, or ``{includes: …, excludes: …}``."""
        if src is None:
            return GroupSelector()
        if src.node.tag.endswith(":map"):
            m = self.mapping(src, MEMBERS_KEYS, what="user_groups") or {}
            return GroupSelector(self.texts(m.get("includes")) or ("*",), self.texts(m.get("excludes")))
        return GroupSelector(self.texts(src) or ("*",))

    def _mask(self, src, self_name: str, *, func_src=None, extra: dict | None = None) -> Mask | None:
        """``redact | md5 | sha256 | null``, ``{keep_last: 4}`` or ``{sql: "…${entity.member}…"}``."""
        if src is not None and src.node.tag.endswith(":map"):
            m = self.mapping(src, MASK_KEYS, what="mask") or {}
            if "keep_last" in m:
                return self._keep_last(m["keep_last"], src)
            if "sql" in m:
                return self._sql_mask(m["sql"], self_name)
            if "func" not in m:
                self.report(src, f"a mask needs 'func' ({', '.join(MASK_FUNCS)}), 'keep_last' or 'sql'")
                return None
            return self._mask(m["func"], self_name, extra=m)
        func = (self.text(src) or "").strip().lower()
        extra = extra or {}
        if func == "keep_last":
            return self._keep_last(extra.get("keep") or extra.get("keep_last"), src)
        if func == "sql":
            if "sql" not in extra:
                self.report(src, "mask 'sql' needs the expression under 'sql'")
                return None
            return self._sql_mask(extra["sql"], self_name)
        if func not in MASK_FUNCS:
            self.report(src, f"unknown mask '{func}'{did_you_mean(func, MASK_FUNCS)}; use one of {', '.join(MASK_FUNCS)}")
            return None
        return Mask(func, location=src.loc())

    def _keep_last(self, src, at) -> Mask | None:
        text = (self.text(src) or "").strip() if src is not None else ""
        if not text.isdigit():
            self.report(src or at, "keep_last needs a number of characters to keep, e.g. keep_last: 4")
            return None
        return Mask("keep_last", keep=int(text), location=(src or at).loc())

    def _sql_mask(self, src, self_name: str) -> Mask | None:
        expression = self.parse(src, self_name)
        if expression is None:
            return None
        return Mask("sql", expression=expression, snippet=(self.text(src) or "").strip(), location=src.loc())

    def _secure(self, meta, self_name: str) -> SecureMember | None:
        """Lens 2 ``meta: {secure: {func: redact|md5, user_groups: …}}`` (other meta keys are free-form)."""
        if meta is None or not meta.node.tag.endswith(":map"):
            return None
        secure = dict((str(k.value), v) for k, v in meta.node.value).get("secure")
        if secure is None:
            return None
        src = type(meta)(meta.file, secure, meta.key("secure"))
        m = self.mapping(src, SECURE_KEYS, required=("func",), what="secure") or {}
        if "func" not in m:
            return None
        mask = self._mask(m["func"], self_name, extra=m)
        return SecureMember(mask, self._selector(m.get("user_groups"))) if mask else None

    def _user_groups(self, src) -> tuple[UserGroup, ...]:
        groups = []
        for item in self.sequence(src):
            m = self.mapping(item, USER_GROUP_KEYS, required=("name", "includes"), what="user group")
            if m is None:
                continue
            self.record(item.loc(), m)
            for scope in self.texts(m.get("api_scopes")):
                if scope.lower() not in API_SCOPES:
                    self.report(m["api_scopes"], f"unknown api scope '{scope}'{did_you_mean(scope, API_SCOPES)}")
            name = self.name(m.get("name"))
            for key in ("includes", "excludes"):
                for entry in self.texts(m.get(key)):
                    kind, sep, who = entry.strip().rpartition(":")
                    if entry.strip() != "*" and sep and kind.lower() not in ("users:id", "user", "users", "roles", "role",
                                                                             "groups", "group"):
                        self.report(m[key], f"'{entry}': write users:id:<user>, roles:<role> or \"*\"")
            if name:
                groups.append(UserGroup(name, self.texts(m.get("includes")), self.texts(m.get("excludes")),
                                        self.text(m.get("description")), item.loc()))
        seen: set[str] = set()
        for group in groups:
            if group.name.lower() in seen:
                self.report(group.location, f"duplicate user group '{group.name}'")
            seen.add(group.name.lower())
        return tuple(groups)

    def _policies(self, src, entity_name: str | None) -> tuple[Policy, ...]:
        """Policies declared on an entity (``entity_name``) or at lens level (each may name its ``entity``)."""
        out = []
        for item in self.sequence(src):
            m = self.mapping(item, POLICY_KEYS, required=("name",), what="policy")
            if m is None:
                continue
            self.record(item.loc(), m)
            if "groups" not in m and "group" not in m:
                self.report(item, "a policy needs 'groups' (a list, or \"*\" for every group)")
            if "entity" in m and entity_name is not None:
                self.report(m["entity"], "a policy declared on an entity applies to it; 'entity' belongs to lens-level policies")
            target = entity_name or self.text(m.get("entity"))
            self_name = target or "ENTITY"
            include = exclude = None
            if "members" in m:
                mm = self.mapping(m["members"], MEMBERS_KEYS, what="members") or {}
                include, exclude = self.texts(mm.get("includes")) or ("*",), self.texts(mm.get("excludes"))
            row_filter = self.parse(m["row_filter"], self_name, condition=True) if "row_filter" in m else None
            masks = []
            if "masks" in m:
                if not m["masks"].node.tag.endswith(":map"):
                    self.report(m["masks"], "masks: a mapping of member: mask")
                else:
                    for key_node, value_node in m["masks"].node.value:
                        value = type(item)(item.file, value_node, m["masks"].key(str(key_node.value)))
                        mask = self._mask(value, self_name)
                        if mask is not None:
                            masks.append((str(key_node.value), mask))
            name = self.name(m.get("name"))
            if name:
                out.append(Policy(name, self._selector(m.get("groups") or m.get("group")), None if entity_name else target,
                                  include, exclude or (), row_filter,
                                  (self.text(m["row_filter"]) or "").strip() if "row_filter" in m else None,
                                  tuple(masks), item.loc()))
        return tuple(out)

    def _segments(self, src, self_name: str) -> tuple[Segment, ...]:
        out = []
        for item in self.sequence(src):
            m = self.mapping(item, SEGMENT_KEYS, required=("name",), what="segment")
            if m is None:
                continue
            self.record(item.loc(), m)
            snippet_src = m.get("sql_snippet") or m.get("sql")
            if snippet_src is None:
                self.report(item, "a segment needs 'sql_snippet' (its condition)")
                continue
            condition = self.parse(snippet_src, self_name, condition=True)
            secure = None
            if "meta" in m and m["meta"].node.tag.endswith(":map"):
                raw = dict((str(k.value), v) for k, v in m["meta"].node.value).get("secure")
                if raw is not None:
                    sec = self.mapping(type(item)(item.file, raw, m["meta"].key("secure")), ("user_groups",),
                                       what="secure") or {}
                    secure = self._selector(sec.get("user_groups"))
            name = self.name(m.get("name"))
            if name and condition is not None:
                out.append(Segment(name, condition, (self.text(snippet_src) or "").strip(), secure, item.loc()))
        return tuple(out)


def check_policies(lens: Lens) -> list[LensIssue]:
    """Names a policy uses must exist: its entity, the members it includes, excludes and masks, and (when
    the lens declares user groups) the groups it names."""
    issues: list[LensIssue] = []
    group_names = {g.name.lower() for g in lens.user_groups}
    every = [(p, lens.entity(p.entity) if p.entity else None) for p in lens.policies]
    every += [(p, e) for e in lens.entities for p in e.policies]
    for policy, entity in every:
        where = policy.location or Location("?", 0, "")
        if policy.entity and entity is None:
            issues.append(LensIssue(where, f"policy '{policy.name}': unknown entity '{policy.entity}'"
                                    f"{did_you_mean(policy.entity, [e.name for e in lens.entities])}"))
            continue
        targets = [entity] if entity is not None else list(lens.entities)
        names = [n for n in (*(policy.members_include or ()), *policy.members_exclude) if n != "*"]
        names += [n for n, _ in policy.masks]
        for name in names:
            if not any(t.member(name) is not None for t in targets):
                issues.append(LensIssue(where, f"policy '{policy.name}': unknown member '{name}'"
                                        f"{did_you_mean(name, _member_names(targets))}"))
        if group_names:
            for group in (*policy.groups.includes, *policy.groups.excludes):
                if group != "*" and group.lower() not in group_names:
                    issues.append(LensIssue(where, f"policy '{policy.name}': unknown user group '{group}'"
                                            f"{did_you_mean(group, [g.name for g in lens.user_groups])}"))
    for policy, entity in every:
        for name, mask in policy.masks:
            for target in ([entity] if entity is not None else list(lens.entities)):
                member = target.member(name) if target is not None else None
                if member is not None:
                    issues += _mask_fits(mask, member, f"policy '{policy.name}'", policy.location)
    for entity in lens.entities:
        for member in entity.members:
            if member.secure is not None:
                issues += _mask_fits(member.secure.mask, member, f"meta.secure of '{member.name}'", member.location)
    for entity in lens.entities:
        for segment in entity.segments:
            if segment.secure is None or not group_names:
                continue
            for group in (*segment.secure.includes, *segment.secure.excludes):
                if group != "*" and group.lower() not in group_names:
                    issues.append(LensIssue(segment.location or Location("?", 0, ""),
                                            f"segment '{segment.name}': unknown user group '{group}'"))
    return issues


def _mask_fits(mask, member, what: str, where) -> list[LensIssue]:
    """Hashes and partial masks are for text; a measure can only be hidden (null) or replaced (sql)."""
    location = mask.location or where or Location("?", 0, "")
    if member.kind == "measure" and mask.func not in ("null", "sql"):
        return [LensIssue(location, f"{what}: a measure can be masked with null or sql, not {mask.func}")]
    if mask.func in ("md5", "sha256", "keep_last") and member.type != "string":
        return [LensIssue(location, f"{what}: {mask.func} masks text; '{member.name}' is a {member.type} "
                                    "(use null, redact or sql)")]
    return []


def _member_names(entities: list[Entity]) -> list[str]:
    return [m.name for e in entities for m in e.members]
