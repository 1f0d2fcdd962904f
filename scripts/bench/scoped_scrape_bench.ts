/**
 * The text scrape of a scope limited by selectors (docs/security.md,
 * Tenants) against the unlimited one, in process: 1,000 groups of 10
 * teams, each pushing the same 10 families of 10 series (100k series), so
 * that every family is shared by every team and a tenant's scrape writes
 * each family's visible part aside. Run with
 * `deno bench -A scripts/bench/scoped_scrape_bench.ts`.
 * @module
 */

import { inflateFragments } from "../../src/exposition/gzip_fragments.ts";
import { type GroupScope, groupsInScope } from "../../src/push/group_scope.ts";
import { parseSelector } from "../../src/push/matchers.ts";
import { Store } from "../../src/store/store.ts";
import { textPushCommand } from "./store_command.ts";

const GROUPS = 1000;
const TEAMS = 10;
const FAMILIES = 10;
const SERIES = 10;

const store = new Store({ path: "" });
let time = 1_700_000_000;
for (let g = 0; g < GROUPS; g++) {
  let body = "";
  for (let f = 0; f < FAMILIES; f++) {
    body += `# TYPE job_metric_${f} gauge\n`;
    for (let s = 0; s < SERIES; s++) {
      body += `job_metric_${f}{step="s${s}"} ${g * 0.5 + s}\n`;
    }
  }
  const path = `/metrics/job/batch-${g}/team/t${g % TEAMS}`;
  const outcome = store.push(textPushCommand(path, body, time++, "bench"));
  if (outcome.status !== 200) {
    throw new Error(`push ${path}: ${outcome.status}`);
  }
}
const view = store.view;
const own = new Map();

function scope(selector: string): GroupScope {
  return {
    user: "bench",
    scope: "scrape",
    selectors: [parseSelector(selector)],
    spelled: [`scrape:${selector}`],
  };
}
const ONE_TEAM = scope('{team="t3"}');
const ONE_GROUP = scope('{job="batch-7"}');
const EVERY_TEAM = scope('{team=~"t.*"}');

// The unlimited scrape's cache, built once as a running server has it.
inflateFragments(view.renderParts(own));

Deno.bench("unlimited scrape (cached pieces)", {
  group: "scrape",
  baseline: true,
}, () => {
  inflateFragments(view.renderParts(own));
});

Deno.bench("scope matching every group (the cached pieces)", {
  group: "scrape",
}, () => {
  const visible = groupsInScope(view.groups(), EVERY_TEAM);
  inflateFragments(view.renderParts(own, visible));
});

Deno.bench(
  "scope of one team: 100 of 1,000 groups",
  { group: "scrape" },
  () => {
    const visible = groupsInScope(view.groups(), ONE_TEAM);
    inflateFragments(view.renderParts(own, visible));
  },
);

Deno.bench("scope of one group", { group: "scrape" }, () => {
  const visible = groupsInScope(view.groups(), ONE_GROUP);
  inflateFragments(view.renderParts(own, visible));
});

Deno.bench(
  "matching 1,000 groups against a selector",
  { group: "match" },
  () => {
    groupsInScope(view.groups(), ONE_TEAM);
  },
);
