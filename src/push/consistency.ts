/**
 * The Pushgateway's consistency check (docs/compatibility.md, The consistency
 * check), done against an index instead of a simulated scrape of the whole
 * store: a push is checked only against the index entries of the families it
 * carries, so its cost follows the size of the push, not of the store
 * (docs/architecture.md).
 *
 * Pure: reads the index through an interface, returns problems as strings in
 * the Pushgateway's wording; never throws, never writes.
 * @module
 */

import type { Label, MetricFamily, MetricType } from "../exposition/model.ts";
import { PROTO_TYPE_NAMES } from "../exposition/model.ts";
import { describeSeries, PUSH_FAILURE_TIME, PUSH_TIME } from "./validate.ts";
import {
  labelsOfSeriesKey,
  sameKeys,
  seriesKey,
  seriesKeysOf,
} from "./series_key.ts";

export { labelsOfSeriesKey, sameKeys, seriesKey, seriesKeysOf };

/** What the check needs to know about one family name in the store. */
export interface IndexedFamily {
  /** The type every holder agrees on (the first holder's when unchecked). */
  readonly type: MetricType;
  /** Group ids holding this family. */
  readonly holders: ReadonlySet<string>;
  /** The group id that holds a series with this key, if any. */
  ownerOf(seriesKey: string): string | undefined;
}

/**
 * A family the gateway exposes itself (docs/compatibility.md, The gateway's own
 * metrics).
 */
export interface OwnFamily {
  readonly type: MetricType;
  readonly help: string;
  /**
   * Created lazily upstream: a pushed HELP must match exactly
   * (docs/compatibility.md, HELP conflicts).
   */
  readonly helpMustMatch: boolean;
}

export interface ConsistencyIndex {
  family(name: string): IndexedFamily | undefined;
  own(name: string): OwnFamily | undefined;
  /** Names of the families a group holds now, undefined for a new group. */
  groupFamilies(groupId: string): ReadonlySet<string> | undefined;
  /**
   * The series keys of family `name` in group `groupId` when the group
   * holds every one of them itself (none shadowed: each is in the index as
   * the group's, once); undefined otherwise.
   */
  heldKeys(groupId: string, name: string): readonly string[] | undefined;
}

export interface PushPlan {
  readonly groupId: string;
  /** The grouping key labels, sorted, as metadata series carry them. */
  readonly metadataLabels: readonly Label[];
  /** PUT replaces every family of the group; POST only the ones it carries. */
  readonly replaceAll: boolean;
  readonly families: readonly MetricFamily[];
  /** {@link seriesKey} of each series of each family, as `families`. */
  readonly keys: readonly (readonly string[])[];
  /**
   * Per family, true when its keys are known all different (checked on the
   * push worker, so that the HTTP thread does not build a Set of a million
   * keys); absent: not known.
   */
  readonly distinct?: readonly boolean[] | undefined;
}

/** Returns every rule the push breaks; empty when it may be applied. */
export function checkConsistency(
  plan: PushPlan,
  index: ConsistencyIndex,
): string[] {
  const steps = checkConsistencySteps(plan, index);
  let step = steps.next();
  while (step.done !== true) step = steps.next();
  return step.value;
}

/** Series keys looked up or compared per step of {@link checkConsistencySteps}. */
export const CHECK_STEP_KEYS = 8192;

/**
 * {@link checkConsistency} a step at a time: it yields after about
 * {@link CHECK_STEP_KEYS} series keys, so that a large push's check
 * against the other groups' series (half a second for 500k series) lets
 * other requests in between its steps. The index must not change while
 * it runs (the store applies no other push meanwhile).
 */
export function* checkConsistencySteps(
  plan: PushPlan,
  index: ConsistencyIndex,
): Generator<void, string[], undefined> {
  const problems: string[] = [];
  const current = index.groupFamilies(plan.groupId);
  const pushed = new Map<string, MetricType>();
  for (const family of plan.families) pushed.set(family.name, family.type);

  // Families the group keeps besides the pushed ones (POST merges).
  const kept = (name: string): boolean =>
    !plan.replaceAll && !pushed.has(name) && (current?.has(name) ?? false);
  const typeAfterPush = (name: string): MetricType | undefined => {
    const own = pushed.get(name);
    if (own !== undefined) return own;
    const entry = index.family(name);
    if (!entry) return index.own(name)?.type;
    const others = entry.holders.size -
      (entry.holders.has(plan.groupId) ? 1 : 0);
    if (others > 0 || kept(name)) return entry.type;
    return index.own(name)?.type;
  };

  if (current === undefined) checkNewGroupMetadata(plan, index, problems);

  for (let i = 0; i < plan.families.length; i++) {
    const family = plan.families[i] as MetricFamily;
    const keys = plan.keys[i] as readonly string[];
    checkOwnFamily(family, index, problems);
    checkTypeAgainstOthers(family, keys, plan, index, problems);
    checkSuffixCollisions(family, typeAfterPush, problems);
    yield* checkDuplicates(
      family,
      keys,
      plan.distinct?.[i] === true,
      plan,
      index,
      problems,
    );
  }
  return problems;
}

function checkNewGroupMetadata(
  plan: PushPlan,
  index: ConsistencyIndex,
  problems: string[],
): void {
  // `{job="j1"}` and `{instance="",job="j1"}` would expose the same
  // metadata series; the Pushgateway then refuses every push anywhere.
  const key = seriesKey(plan.metadataLabels);
  for (const name of [PUSH_FAILURE_TIME, PUSH_TIME]) {
    const owner = index.family(name)?.ownerOf(key);
    if (owner !== undefined && owner !== plan.groupId) {
      problems.push(
        `collected metric ${JSON.stringify(name)} ${
          describeSeries("", plan.metadataLabels)
        } was collected before with the same name and label values (group ${owner} has the same labels once instance="" is added)`,
      );
    }
  }
}

function checkOwnFamily(
  family: MetricFamily,
  index: ConsistencyIndex,
  problems: string[],
): void {
  const own = index.own(family.name);
  if (!own) return;
  if (own.type !== family.type) {
    problems.push(
      `gathered metric family ${family.name} has type ${
        PROTO_TYPE_NAMES[family.type]
      } but should have ${PROTO_TYPE_NAMES[own.type]}`,
    );
  } else if (own.helpMustMatch && (family.help ?? "") !== own.help) {
    problems.push(
      `gathered metric family ${family.name} has help ${
        JSON.stringify(family.help ?? "")
      } but should have ${JSON.stringify(own.help)}`,
    );
  }
}

function checkTypeAgainstOthers(
  family: MetricFamily,
  keys: readonly string[],
  plan: PushPlan,
  index: ConsistencyIndex,
  problems: string[],
): void {
  const entry = index.family(family.name);
  if (!entry || entry.type === family.type) return;
  const others = entry.holders.size - (entry.holders.has(plan.groupId) ? 1 : 0);
  if (others === 0) return; // only this group held it, and the push replaces it
  const first = keys[0];
  // The Pushgateway's message names only the pushed series; naming a group
  // that holds the family tells the pusher where to look. The first other
  // holder is found in a step or two, whatever the number of holders.
  let holder = "";
  for (const id of entry.holders) {
    if (id === plan.groupId) continue;
    holder = id;
    break;
  }
  const type = PROTO_TYPE_NAMES[entry.type];
  problems.push(
    `collected metric ${JSON.stringify(family.name)} ${
      describeSeries("", first === undefined ? [] : labelsOfSeriesKey(first))
    } is not a ${type} (it is a ${type} in group ${holder})`,
  );
}

const SUFFIXES = ["_count", "_sum", "_bucket"] as const;

function checkSuffixCollisions(
  family: MetricFamily,
  typeAfterPush: (name: string) => MetricType | undefined,
  problems: string[],
): void {
  const name = family.name;
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const baseType = typeAfterPush(base);
    if (baseType === "summary" && suffix !== "_bucket") {
      problems.push(
        `collected metric named ${
          JSON.stringify(name)
        } collides with previously collected summary named ${
          JSON.stringify(base)
        }`,
      );
    } else if (baseType === "histogram" || baseType === "gaugehistogram") {
      problems.push(
        `collected metric named ${
          JSON.stringify(name)
        } collides with previously collected histogram named ${
          JSON.stringify(base)
        }`,
      );
    }
  }
  const isHistogram = family.type === "histogram" ||
    family.type === "gaugehistogram";
  if (family.type !== "summary" && !isHistogram) return;
  const colliding = isHistogram ? SUFFIXES : SUFFIXES.slice(0, 2);
  for (const suffix of colliding) {
    if (typeAfterPush(name + suffix) !== undefined) {
      problems.push(
        `collected ${family.type} named ${
          JSON.stringify(name)
        } collides with previously collected metric named ${
          JSON.stringify(name + suffix)
        }`,
      );
    }
  }
}

function* checkDuplicates(
  family: MetricFamily,
  keys: readonly string[],
  distinct: boolean,
  plan: PushPlan,
  index: ConsistencyIndex,
  problems: string[],
): Generator<void, void, undefined> {
  // The series the group holds already, again (most pushes): none can be
  // another group's or repeat, so no key needs looking up.
  if (yield* sameKeySteps(keys, index.heldKeys(plan.groupId, family.name))) {
    return;
  }
  const entry = index.family(family.name);
  // Keys known distinct need no Set, and a new family no lookups.
  if (distinct && entry === undefined) return;
  const seen = distinct ? undefined : new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && i % CHECK_STEP_KEYS === 0) yield;
    const key = keys[i] as string;
    const owner = entry?.ownerOf(key);
    const duplicate = (seen?.has(key) ?? false) ||
      (owner !== undefined && owner !== plan.groupId);
    seen?.add(key);
    if (duplicate) {
      problems.push(
        `collected metric ${JSON.stringify(family.name)} ${
          describeSeries("", labelsOfSeriesKey(key))
        } was collected before with the same name and label values`,
      );
    }
  }
}

/** {@link sameKeys} a step at a time (a million keys: tens of ms). */
function* sameKeySteps(
  a: readonly string[],
  b: readonly string[] | undefined,
): Generator<void, boolean, undefined> {
  if (b === undefined || a.length !== b.length) return false;
  for (let from = 0; from < a.length; from += CHECK_STEP_KEYS) {
    if (from > 0) yield;
    const to = Math.min(a.length, from + CHECK_STEP_KEYS);
    for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  }
  return true;
}
