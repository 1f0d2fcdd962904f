/**
 * The Metrics tab of the web UI (spec §9): one card per group, ordered by
 * grouping key; inside, the group's families sorted by name, each with a
 * Labels | Value table, and the group's recent pushes, accepted and refused.
 *
 * Pure: renders what it is given through the escaping `html` tag; no store,
 * no clock (`now` comes in). Every user-supplied string (label names and
 * values, HELP, error texts) is interpolated, never passed to `raw()`.
 * @module
 */

import type {
  HistogramMetric,
  Label,
  MetricFamily,
  ScalarMetric,
  SummaryMetric,
} from "../exposition/model.ts";
import {
  LABEL_NAME_RE,
  PROTO_TYPE_NAMES,
  unreachable,
} from "../exposition/model.ts";
import { compareNames, compareUtf8 } from "../exposition/sort.ts";
import { formatGoFloat } from "../exposition/float.ts";
import { PUSH_FAILURE_TIME, PUSH_TIME } from "../push/validate.ts";
import type { HistoryEntry, LoadedFamily } from "../store/store.ts";
import type { GroupState } from "../store/view.ts";
import { PUSH_FAILURE_TIME_HELP, PUSH_TIME_HELP } from "../store/view.ts";
import {
  formatAge,
  formatBytes,
  formatPlainDecimal,
  formatSpan,
  formatTime,
  nativeBuckets,
} from "./format.ts";
import type { Html } from "./html.ts";
import { html } from "./html.ts";

/** Rows shown per family; the rest is summarised (a page must stay loadable). */
export const MAX_SERIES_ROWS = 1000;

export interface GroupCardsInput {
  readonly groups: Iterable<GroupState>;
  /** A group's families with their values (read from the database). */
  readonly families: (group: GroupState) => readonly LoadedFamily[];
  /** The group's latest pushes, newest first. */
  readonly recentPushes: (group: GroupState) => readonly HistoryEntry[];
  /** Server-side filter (`?q=`); the same rule as the page script's. */
  readonly query: string;
  /** Unix seconds. */
  readonly now: number;
  readonly enableAdminApi: boolean;
  /** `--push.enable-utf8-names`: other label names go into URLs `U__`-escaped. */
  readonly utf8Names: boolean;
  /** A push URL for the empty state, e.g. `http://host:9091/metrics/job/`. */
  readonly pushUrl: string;
  /** `--group.ttl` in seconds; 0 keeps groups forever (a group's own TTL wins). */
  readonly defaultTtl: number;
}

/** The Metrics tab: toolbar, group cards, confirmation dialog. */
export function renderGroupCards(input: GroupCardsInput): Html {
  const groups = sortGroups(input.groups);
  const terms = queryTerms(input.query);
  let shown = 0;
  const cards = groups.map((group) => {
    const search = searchText(group);
    const visible = matches(search, terms);
    if (visible) shown++;
    return groupCard(group, { input, search, visible });
  });
  const total = groups.length;
  return html`
    <section class="toolbar" aria-label="Groups">
      <form class="search" method="get" action="./" role="search">
        <input type="search" id="search" name="q" value="${input
          .query}" placeholder="Filter groups by label name or value  ( / )" aria-label="Filter groups by label name or value" autocomplete="off" spellcheck="false">
      </form>
      <span class="group-count" id="group-count" data-total="${total}">${countText(
        shown,
        total,
      )}</span>
      <span class="toolbar-spacer"></span>
      <button type="button" class="btn" data-action="expand-all"${total === 0
        ? " disabled"
        : ""}>Expand all</button>
      <button type="button" class="btn" data-action="collapse-all"${total === 0
        ? " disabled"
        : ""}>Collapse all</button>
      ${input.enableAdminApi &&
        html`
          <button type="button" class="btn btn-danger" id="delete-all"
            data-action="delete-all"
            ${total === 0
              ? " disabled"
              : ""}>Delete all <span class="counter">${total}</span> groups</button>
        `}
    </section>
    ${total === 0 ? emptyState(input.pushUrl) : html`
      <div class="groups" id="groups">${cards}</div>
      <p class="empty" id="no-match"
        ${shown > 0
          ? " hidden"
          : ""}>No group matches this filter. <a href="./">Show all groups</a></p>
    `}
    <dialog id="confirm" class="dialog" aria-labelledby="confirm-title">
      <form method="dialog">
        <h2 id="confirm-title">Deletion confirmation</h2>
        <p id="confirm-message"></p>
        <p class="dialog-error" id="confirm-error" hidden></p>
        <div class="dialog-actions">
          <button type="submit" class="btn" value="cancel"
            id="confirm-cancel">Cancel</button>
          <button type="button" class="btn btn-danger btn-solid"
            id="confirm-ok">Delete</button>
        </div>
      </form>
    </dialog>
  `;
}

function countText(shown: number, total: number): string {
  const noun = total === 1 ? "group" : "groups";
  return shown === total ? `${total} ${noun}` : `${shown} of ${total} ${noun}`;
}

function emptyState(pushUrl: string): Html {
  return html`<div class="empty-state">
  <h2>No metric groups yet</h2>
  <p>Push a metric and it shows up here, for example:</p>
  <pre><code>echo "some_metric 3.14" | curl --data-binary @- ${pushUrl}some_job</code></pre>
</div>`;
}

// --- groups -------------------------------------------------------------------

/**
 * Groups in the Pushgateway's order: by the internal grouping key, label
 * names sorted, each name and value followed by 0xFF, compared bytewise
 * (spec §9; Go templates range over maps in key order).
 */
export function sortGroups(groups: Iterable<GroupState>): GroupState[] {
  const keyed = [...groups].map((group) => ({
    group,
    key: group.key.labels.map((l) => `${l.name}\xff${l.value}`).join("\xff"),
  }));
  keyed.sort((a, b) => compareUtf8(a.key, b.key));
  return keyed.map((k) => k.group);
}

/** `job` first, then the other labels by name (spec §9). */
export function orderLabels(labels: readonly Label[]): Label[] {
  const job = labels.filter((l) => l.name === "job");
  const rest = labels.filter((l) => l.name !== "job")
    .sort((a, b) => compareUtf8(a.name, b.name));
  return [...job, ...rest];
}

/** What the filter searches: `name="value"` of every grouping label, lower case. */
export function searchText(group: GroupState): string {
  return group.key.labels.map((l) => `${l.name}="${l.value}"`).join(" ")
    .toLowerCase();
}

function queryTerms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter((t) => t !== "");
}

/** Every whitespace-separated term occurs in the text (the page script does the same). */
function matches(text: string, terms: readonly string[]): boolean {
  return terms.every((t) => text.includes(t));
}

/**
 * The relative URL the Delete Group button sends DELETE to (spec §9): the job
 * and every other grouping label `@base64`, each value with one `=` so that
 * empty values work. Relative, so it stays under the route prefix.
 */
export function deletePath(
  labels: readonly Label[],
  options: { readonly utf8Names: boolean },
): string {
  let job = "";
  const rest: string[] = [];
  for (const label of labels) {
    if (label.name === "job") {
      job = base64Url(label.value);
    } else {
      rest.push(
        `/${urlLabelName(label.name, options.utf8Names)}@base64/${
          base64Url(label.value)
        }=`,
      );
    }
  }
  return `metrics/job@base64/${job}${rest.join("")}`;
}

/** A label name as the push URL accepts it: `U__`-escaped in UTF-8 mode (spec §11.1). */
function urlLabelName(name: string, utf8Names: boolean): string {
  if (!utf8Names || (LABEL_NAME_RE.test(name) && !name.startsWith("U__"))) {
    return name;
  }
  let out = "U__";
  for (const char of name) {
    if (/^[a-zA-Z0-9]$/.test(char)) out += char;
    else if (char === "_") out += "__";
    else out += `_${(char.codePointAt(0) as number).toString(16)}_`;
  }
  return out;
}

function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** `name` as is when it is a legacy label name, quoted otherwise (spec §9, newest). */
function labelNameText(name: string): string {
  return LABEL_NAME_RE.test(name) ? name : JSON.stringify(name);
}

function labelBadge(label: Label): Html {
  const kind = label.name === "job"
    ? "job"
    : label.name === "instance"
    ? "instance"
    : "label";
  return html`
    <span
      class="badge badge-${kind}"><span class="badge-name">${labelNameText(
        label.name,
      )}</span>="<span class="badge-value">${label.value}</span>"</span>
  `;
}

function groupTitle(labels: readonly Label[]): string {
  return `{${
    labels.map((l) => `${labelNameText(l.name)}="${l.value}"`).join(", ")
  }}`;
}

interface CardContext {
  readonly input: GroupCardsInput;
  readonly search: string;
  readonly visible: boolean;
}

function groupCard(group: GroupState, context: CardContext): Html {
  const { input } = context;
  const labels = orderLabels(group.key.labels);
  const failed = group.failureTime > group.pushTime;
  const families = groupFamilies(group, input.families(group));
  const pushes = input.recentPushes(group);
  return html`
    <article class="group${failed
      ? " group-failed"
      : ""}" data-search="${context.search}" ${context.visible
      ? ""
      : " hidden"}>
      <details class="group-details" data-state="g${group.id}">
        <summary class="group-head">
      <span class="chevron" aria-hidden="true"></span>
      <span class="group-labels">${labels.map(labelBadge)}</span>
      ${failed &&
        html`<span class="badge badge-failed" role="alert">Last push failed!</span>`}
      <span class="head-spacer"></span>
      <span class="group-meta">${families.length} ${families.length === 1
        ? "family"
        : "families"} · last pushed ${timeWithAge(
          group.pushTime,
          input.now,
        )}${expiry(group, input)}</span>
      <button type="button" class="btn btn-small btn-danger" data-action="delete-group" data-path="${deletePath(
        group.key.labels,
        input,
      )}" data-group="${groupTitle(labels)}">Delete group</button>
        </summary>
        <div class="group-body">
      ${failed && failureAlert(group, pushes)}
      <h3 class="section-title">Metric families</h3>
      <div class="families">${families.map((f) =>
        familyCard(group, f, input.now)
      )}</div>
      <h3 class="section-title">Recent pushes</h3>
      ${recentPushes(pushes, input.now)}
        </div>
      </details>
    </article>
  `;
}

/**
 * When the group expires unless pushed again: its own TTL (Pushvault-TTL
 * header) or `--group.ttl`, counted from the last successful push or from
 * creation, as maintenance.ts counts it.
 */
function expiry(group: GroupState, input: GroupCardsInput): Html | false {
  const ttl = group.ttl ?? input.defaultTtl;
  if (!(ttl > 0)) return false;
  const at = Math.max(group.pushTime, group.createdAt) + ttl;
  const source = group.ttl === undefined ? "--group.ttl" : "Pushvault-TTL";
  const left = at - input.now;
  return html`
    · <span class="expiry" title="${`TTL ${
      formatSpan(ttl)
    } (${source}); expires at ${formatTime(at)}`}">${left > 0
      ? `expires in ${formatSpan(left)}`
      : "expiring"}</span>
  `;
}

function timeWithAge(seconds: number, now: number): Html {
  if (seconds <= 0) return html`<span class="never">never</span>`;
  const text = formatTime(seconds);
  return html`
    <time datetime="${text}" title="${text}">${text}</time> <span
      class="age">(${formatAge(now - seconds)})</span>
  `;
}

function failureAlert(
  group: GroupState,
  pushes: readonly HistoryEntry[],
): Html {
  const refused = pushes.find((p) => isRefused(p));
  return html`<div class="alert" role="alert">
  <strong>The last push to this group was refused</strong> at ${
    formatTime(group.failureTime)
  }${
    group.pushTime > 0
      ? html`; the metrics below are from the last accepted push at ${
        formatTime(group.pushTime)
      }`
      : ""
  }.${refused?.error && html`<pre class="error-text">${refused.error}</pre>`}
</div>`;
}

// --- families -----------------------------------------------------------------

type ShownFamily = LoadedFamily;

/** The group's families plus its two metadata families, sorted by name. */
function groupFamilies(
  group: GroupState,
  families: readonly LoadedFamily[],
): ShownFamily[] {
  const out: ShownFamily[] = [...families];
  const meta = (name: string, help: string, value: number, at: number) =>
    out.push({
      family: {
        name,
        help,
        type: "gauge",
        metrics: [{ labels: group.metadataLabels, value }],
      },
      pushedAt: at,
    });
  meta(PUSH_TIME, PUSH_TIME_HELP, group.pushTime, group.pushTimeWrittenAt);
  meta(
    PUSH_FAILURE_TIME,
    PUSH_FAILURE_TIME_HELP,
    group.failureTime,
    group.failureTimeWrittenAt,
  );
  return out.sort((a, b) => compareNames(a.family.name, b.family.name));
}

function familyCard(group: GroupState, shown: ShownFamily, now: number): Html {
  const { family } = shown;
  const count = family.metrics.length;
  return html`
    <details class="family" data-state="f${group.id}|${family.name}">
      <summary class="family-head">
      <span class="chevron" aria-hidden="true"></span>
      <code class="family-name">${family.name}</code>
      <span class="type type-${family
        .type}">${PROTO_TYPE_NAMES[family.type]}</span>
      ${family.help
        ? html`<span class="help" title="${family.help}">${family.help}</span>`
        : html`<span class="help help-none">no HELP</span>`}
      <span class="head-spacer"></span>
      <span class="family-meta">${count} series · last pushed ${timeWithAge(
        shown.pushedAt,
        now,
      )}</span>
      </summary>
      <div class="family-body">
    <table class="series">
    <thead><tr><th>Labels</th><th>Value</th></tr></thead>
    <tbody>${seriesRows(family)}</tbody>
    </table>${count > MAX_SERIES_ROWS &&
      html`
        <p
          class="truncated">${count -
            MAX_SERIES_ROWS} more series not shown here; see the scrape output or <code>/api/v1/metrics</code>.</p>
      `}
      </div>
    </details>
  `;
}

function labelCell(labels: readonly Label[]): Html {
  return html`
    <td>
      <div class="series-labels">${labels.length === 0
        ? html`<span class="muted">no labels</span>`
        : orderLabels(labels).map(labelBadge)}</div>
    </td>
  `;
}

function seriesRows(family: MetricFamily): Html[] {
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped":
      return family.metrics.slice(0, MAX_SERIES_ROWS).map((m: ScalarMetric) =>
        html`<tr>${labelCell(m.labels)}<td class="value">${
          formatPlainDecimal(m.value)
        }</td></tr>`
      );
    case "summary":
      return family.metrics.slice(0, MAX_SERIES_ROWS).map((m: SummaryMetric) =>
        html`<tr>${labelCell(m.labels)}<td>${summaryTable(m)}</td></tr>`
      );
    case "histogram":
    case "gaugehistogram":
      return family.metrics.slice(0, MAX_SERIES_ROWS).map((
        m: HistogramMetric,
      ) => html`<tr>${labelCell(m.labels)}<td>${histogramTable(m)}</td></tr>`);
    default:
      return unreachable(family);
  }
}

function row(name: string | Html, value: string): Html {
  return html`
    <tr>
      <th scope="row">${name}</th>
      <td class="value">${value}</td>
    </tr>
  `;
}

function summaryTable(m: SummaryMetric): Html {
  return html`<table class="inner">${
    m.quantiles.map((q) =>
      row(`Quantile ${formatGoFloat(q.quantile)}`, formatPlainDecimal(q.value))
    )
  }${row("Sample count", formatPlainDecimal(m.sampleCount))}${
    row("Sample sum", formatPlainDecimal(m.sampleSum))
  }</table>`;
}

function histogramTable(m: HistogramMetric): Html {
  const native = m.native ? nativeBuckets(m.native) : [];
  return html`<table class="inner">${
    m.native &&
    html`
      <tr>
        <th scope="row" colspan="2"
          class="inner-caption">Native histogram, schema ${m.native.schema}</th>
      </tr>${native.map((b) =>
        row(
          html`Bucket <code>${b.interval}</code>`,
          formatPlainDecimal(b.count),
        )
      )}
    `
  }${
    m.buckets.map((b) =>
      row(
        `Sample values ≤ ${formatPlainDecimal(b.upperBound)}`,
        formatPlainDecimal(b.cumulativeCount),
      )
    )
  }${
    row(
      "Total sample count",
      formatPlainDecimal(m.sampleCountFloat ?? m.sampleCount),
    )
  }${row("Sample sum", formatPlainDecimal(m.sampleSum))}</table>`;
}

// --- history ------------------------------------------------------------------

/** A push that changed nothing: refused by a rule, or malformed. */
function isRefused(entry: HistoryEntry): boolean {
  return entry.status >= 300 || entry.error !== null;
}

function recentPushes(pushes: readonly HistoryEntry[], now: number): Html {
  if (pushes.length === 0) {
    return html`<p class="muted">No pushes recorded for this group.</p>`;
  }
  return html`
    <div class="table-scroll">
      <table class="pushes">
        <thead>
          <tr>
            <th>When</th>
            <th>Request</th>
            <th>Result</th>
            <th>Series</th>
            <th>Body</th>
            <th>Client</th>
          </tr>
        </thead>
        <tbody>${pushes.map((p) => pushRow(p, now))}</tbody>
      </table>
    </div>
  `;
}

function pushRow(entry: HistoryEntry, now: number): Html {
  const refused = isRefused(entry);
  const result = refused ? "refused" : "accepted";
  return html`<tr class="push push-${result}">
  <td><time datetime="${formatTime(entry.time)}">${
    formatTime(entry.time)
  }</time> <span class="age">(${formatAge(now - entry.time)})</span></td>
  <td><span class="method">${entry.method}</span></td>
  <td><span class="status status-${result}">${entry.status} ${result}</span></td>
  <td class="num">${entry.series}</td>
  <td class="num">${formatBytes(entry.bodyBytes)}</td>
  <td class="client" title="${entry.userAgent ?? ""}">${
    entry.remoteAddr ?? "–"
  }</td>
</tr>${
    entry.error !== null &&
    html`
      <tr class="push-error">
        <td colspan="6">
          <pre class="error-text">${entry.error}</pre>
        </td>
      </tr>
    `
  }`;
}
