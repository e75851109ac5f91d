"""Whom a push is for: group kinds, region prefixes, explicit groups, and exclusions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Group, GroupKind, PushTarget
from bot.store.groups import in_region


@dataclass(frozen=True, slots=True)
class Audience:
    """Which registered groups a push goes to; explicit ids add to the kind/region match."""

    kinds: frozenset[GroupKind] = frozenset()
    regions: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()
    exclude_groups: frozenset[str] = frozenset()
    exclude_regions: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Return True when nothing selects a group: such an audience is refused, never 'all'."""
        return not (self.kinds or self.regions or self.groups)

    def matches(self, group: Group) -> bool:
        """Return True when a push for this audience may go to `group`."""
        if group.kind is GroupKind.UNBOUND or group.target is PushTarget.NONE:
            return False
        if group.id in self.exclude_groups:
            return False
        if any(in_region(group, prefix) for prefix in self.exclude_regions):
            return False
        if group.id in self.groups:
            return True
        if not (self.kinds or self.regions):
            return False
        kind_ok = not self.kinds or group.kind in self.kinds
        region_ok = not self.regions or any(in_region(group, p) for p in self.regions)
        return kind_ok and region_ok
