/**
 * Which groups a credential's scope reaches when `basic_auth_scopes` limits
 * it with selectors (docs/security.md, Scopes): the groups whose grouping
 * key one of the selectors matches, with the matchers bulk delete takes
 * (matchers.ts). A scope without selectors reaches every group and has no
 * GroupScope at all. Decided per group, never per series. Pure.
 * @module
 */

import type { Label } from "../exposition/model.ts";
import { matchesAny, type Selector } from "./matchers.ts";

/** A scope limited to some groups, as granted to one user. */
export interface GroupScope {
  /** The user it is granted to, for messages. */
  readonly user: string;
  /** `push`, `scrape`, `read` or `admin`. */
  readonly scope: string;
  /** OR'ed; never empty. */
  readonly selectors: readonly Selector[];
  /** The entries as the file spells them: `push:{job=~"ci-.*"}`. */
  readonly spelled: readonly string[];
}

/** Whether the group of grouping key `labels` is in `scope` (undefined: every group). */
export function inScope(
  labels: readonly Label[],
  scope: GroupScope | undefined,
): boolean {
  return scope === undefined ||
    (scope.selectors.length > 0 && matchesAny(labels, scope.selectors));
}

/**
 * The ids of the groups in `scope` among `groups`: the set a scrape or a
 * page filters by, one match per group.
 */
export function groupsInScope(
  groups: Iterable<
    { readonly id: string; readonly key: { readonly labels: readonly Label[] } }
  >,
  scope: GroupScope,
): Set<string> {
  const ids = new Set<string>();
  for (const group of groups) {
    if (inScope(group.key.labels, scope)) ids.add(group.id);
  }
  return ids;
}

/** `push:{job=~"ci-.*"}` or, with several entries, them joined by " or ". */
export function describeScope(scope: GroupScope): string {
  return scope.spelled.join(" or ");
}
