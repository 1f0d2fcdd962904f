/**
 * The Metrics tab of the web UI (docs/compatibility.md, Web UI): one card per
 * group, ordered by grouping key, a page of them at a time (README "Web UI":
 * the page's size is bounded, not the store's); inside, the group's families
 * sorted by name, each with a Labels | Value table, and the group's recent
 * pushes, accepted and refused. A card's inside is rendered on its own
 * (`renderGroupBody`), fetched when the card is opened, or on the group's own
 * page.
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
  formatTimeMs,
  nativeBuckets,
} from "./format.ts";
import type { Html } from "./html.ts";
import { html } from "./html.ts";
import type { GroupSelection } from "./group_selection.ts";
import { groupSortKey, searchText } from "./group_selection.ts";

/** Rows shown per family; the rest is summarised (a page must stay loadable). */
export const MAX_SERIES_ROWS = 1000;
/**
 * Rows shown per opened group, over all its families: a group of many
 * families gets a bounded body too (README "Web UI").
 */
export const MAX_GROUP_ROWS = 5000;

/** Groups on one page of the Metrics tab; more come by "Show more" (README "Web UI"). */
export const PAGE_GROUPS = 100;

/**
 * A group's pushes are counted up to one more than this (more: "more than
 * 10,000"), and its log links to that many rows, the history API's limit.
 */
export const PUSH_COUNT_LIMIT = 10_000;

/** What every group card needs besides its group. */
export interface CardOptions {
  /** Unix seconds. */
  readonly now: number;
  readonly enableAdminApi: boolean;
  /** `--push.enable-utf8-names`: other label names go into URLs `U__`-escaped. */
  readonly utf8Names: boolean;
  /** `--group.ttl` in seconds; 0 keeps groups forever (a group's own TTL wins). */
  readonly defaultTtl: number;
  /** Whether a group adds what is pushed to it (README "Aggregating groups"). */
  readonly isAggregating?: (group: GroupState) => boolean;
}

export interface GroupCardsInput extends CardOptions {
  /** The groups of this page and the counts around them. */
  readonly selection: GroupSelection;
  /** Server-side filter (`?q=`). */
  readonly query: string;
  /** A push URL for the empty state, e.g. `http://host:9091/metrics/job/`. */
  readonly pushUrl: string;
}

/** What an opened group shows, read from the database. */
export interface GroupBody {
  /** The group's families with their values (or the first of them). */
  readonly families: readonly CardFamily[];
  /** The group's latest pushes, newest first. */
  readonly recentPushes: readonly HistoryEntry[];
  /** The group's rows in the push log, counted up to PUSH_COUNT_LIMIT + 1. */
  readonly pushCount: number;
}

/**
 * The Metrics tab: toolbar, one page of group cards (their heads only: a
 * card's body is fetched when it is opened), confirmation dialog.
 */
export function renderGroupCards(input: GroupCardsInput): Html {
  const { total, matched } = input.selection;
  return html`
    <section class="toolbar" aria-label="Groups">
      <form class="search" method="get" action="./" role="search">
        <input type="search" id="search" name="q" value="${input
          .query}" placeholder="Filter groups by label name or value  ( / )" aria-label="Filter groups by label name or value" autocomplete="off" spellcheck="false">
      </form>
      <span class="group-count" id="group-count" data-total="${total}">${countText(
        matched,
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
      ${renderGroupList(input)}
      <p class="empty" id="no-match"
        ${matched > 0
          ? " hidden"
          : ""}>No group matches this filter. <a href="./">Show all groups</a></p>
    `}
    ${confirmDialog()}
  `;
}

/**
 * The page's list of groups, `#groups`: also what the script fetches
 * (`?part=groups`) to filter as one types and to show more groups.
 */
export function renderGroupList(input: GroupCardsInput): Html {
  const { selection, query } = input;
  const rest = selection.matched - selection.before - selection.groups.length;
  return html`
    <div class="groups" id="groups" data-matched="${selection
      .matched}"
      data-total="${selection.total}">
      ${selection.before > 0 &&
        html`
          <p
            class="more more-before">${selection
              .before} ${selection.before === 1
              ? "group"
              : "groups"} before these. <a href="${listHref(
                query,
                undefined,
              )}">From the first group</a></p>
        `}${selection.groups.map((group) =>
          groupCard(group, { options: input, body: undefined })
        )}${rest > 0 && selection.next !== undefined &&
        html`
          <p class="more"
            id="more"><a class="btn" data-action="more" href="${listHref(
              query,
              selection.next,
            )}">Show ${Math.min(rest, PAGE_GROUPS)} more</a> <span
              class="muted">${rest} more ${rest === 1
                ? "group"
                : "groups"} not shown</span></p>
        `}
    </div>
  `;
}

/** A page of groups: `./?q=…&after=…`, relative like every URL of the page. */
function listHref(query: string, after: string | undefined): string {
  const params = new URLSearchParams();
  if (query !== "") params.set("q", query);
  if (after !== undefined) params.set("after", after);
  const search = params.toString();
  return search === "" ? "./" : `./?${search}`;
}

/** Where a group's own page is, and (with `&part=body`) its card's body. */
export function groupHref(group: GroupState): string {
  return `group?id=${encodeURIComponent(group.id)}`;
}

/**
 * One group's page (`group?id=…`): its card, open, body included, so that
 * a group can be read without the script and linked to.
 */
export function renderGroupPage(
  group: GroupState,
  body: GroupBody,
  options: CardOptions,
): Html {
  return html`
    <section class="toolbar" aria-label="Group">
      <a class="btn" href="./">All groups</a>
    </section>
    <div class="groups" id="groups">${groupCard(group, { options, body })}</div>
    ${confirmDialog()}
  `;
}

/** The page for a group that is not (or no longer) in the store. */
export function renderMissingGroup(): Html {
  return html`
    <p class="empty">This group does not exist (any more). <a
        href="./">Show all groups</a></p>
  `;
}

function confirmDialog(): Html {
  return html`
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

/** Groups in the Pushgateway's order (see {@link groupSortKey}). */
export function sortGroups(groups: Iterable<GroupState>): GroupState[] {
  const keyed = [...groups].map((group) => ({
    group,
    key: groupSortKey(group),
  }));
  keyed.sort((a, b) => compareUtf8(a.key, b.key));
  return keyed.map((k) => k.group);
}

/**
 * `job` first, then the other labels by name (docs/compatibility.md, Web UI).
 */
export function orderLabels(labels: readonly Label[]): Label[] {
  const job = labels.filter((l) => l.name === "job");
  const rest = labels.filter((l) => l.name !== "job")
    .sort((a, b) => compareUtf8(a.name, b.name));
  return [...job, ...rest];
}

/**
 * The relative URL the Delete Group button sends DELETE to
 * (docs/compatibility.md, Web UI): the job and every other grouping label
 * `@base64`, each value with one `=` so that empty values work. Relative, so it
 * stays under the route prefix.
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

/**
 * A label name as the push URL accepts it: `U__`-escaped in UTF-8 mode
 * (docs/compatibility.md, UTF-8 names).
 */
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

/**
 * `name` as is when it is a legacy label name, quoted otherwise, as the
 * newest Pushgateway does (docs/compatibility.md, Web UI).
 */
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
  readonly options: CardOptions;
  /** The card's body; undefined: fetched by the script when opened. */
  readonly body: GroupBody | undefined;
}

function groupCard(group: GroupState, context: CardContext): Html {
  const { options, body } = context;
  const labels = orderLabels(group.key.labels);
  const failed = group.failureTime > group.pushTime;
  // The group's families plus its two metadata families.
  const familyCount = group.families.size + 2;
  const href = groupHref(group);
  return html`
    <article class="group${failed
      ? " group-failed"
      : ""}" data-search="${searchText(group)}">
      <details class="group-details" data-state="g${group.id}" ${body
        ? html`
          open
        `
        : html`
          data-body="${href}&amp;part=body"
        `}>
        <summary class="group-head">
      <span class="chevron" aria-hidden="true"></span>
      <span class="group-labels">${labels.map(labelBadge)}</span>
      ${failed &&
        html`<span class="badge badge-failed" role="alert">Last push failed!</span>`}
      ${options.isAggregating?.(group) === true &&
        html`
          <span class="badge badge-aggregating"
            title="pushes to /aggregate/metrics/job/… add to its values">aggregating</span>
        `}
      <span class="head-spacer"></span>
      <span class="group-meta">${familyCount} ${familyCount === 1
        ? "family"
        : "families"} · last pushed ${timeWithAge(
          group.pushTime,
          options.now,
        )}${expiry(group, options)}</span>
      <button type="button" class="btn btn-small btn-danger" data-action="delete-group" data-path="${deletePath(
        group.key.labels,
        options,
      )}" data-group="${groupTitle(labels)}">Delete group</button>
        </summary>
        <div class="group-body">${body
          ? renderGroupBody(group, body, options)
          : html`
            <p
              class="muted loading"><a href="${href}">Show the families and recent pushes of this group</a></p>
          `}</div>
      </details>
    </article>
  `;
}

/** An opened group card's body: failure, families with values, recent pushes. */
export function renderGroupBody(
  group: GroupState,
  body: GroupBody,
  options: CardOptions,
): Html {
  const failed = group.failureTime > group.pushTime;
  const families = groupFamilies(group, body.families);
  let budget = MAX_GROUP_ROWS;
  return html`
    ${failed && failureAlert(group, body.recentPushes)}
    <h3 class="section-title">Metric families</h3>
    <div class="families">${families.map((f) => {
      const rows = Math.min(MAX_SERIES_ROWS, budget);
      budget -= Math.min(rows, f.family.metrics.length);
      return familyCard(group, f, { now: options.now, rows });
    })}</div>
    <h3 class="section-title">Recent pushes</h3>
    ${pushLogLink(group, body)}
    ${recentPushes(body.recentPushes, options.now)}
  `;
}

/**
 * When the group expires unless pushed again: its own TTL (Pushvault-TTL
 * header) or `--group.ttl`, counted from the last successful push or from
 * creation, as maintenance.ts counts it.
 */
function expiry(group: GroupState, input: CardOptions): Html | false {
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

/**
 * A family as a card gets it: `family.metrics` may be only the first
 * `seriesCount` series, those the card shows (a group of a million series
 * is not read whole for a page that shows 5,000).
 */
export interface CardFamily extends LoadedFamily {
  /** Series the family holds; absent: `family.metrics.length`. */
  readonly seriesCount?: number;
}

type ShownFamily = CardFamily;

/** The group's families plus its two metadata families, sorted by name. */
function groupFamilies(
  group: GroupState,
  families: readonly CardFamily[],
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

function familyCard(
  group: GroupState,
  shown: ShownFamily,
  context: { readonly now: number; readonly rows: number },
): Html {
  const { now, rows } = context;
  const { family } = shown;
  const count = shown.seriesCount ?? family.metrics.length;
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
    <tbody>${seriesRows(family, rows)}</tbody>
    </table>${count > rows &&
      html`
        <p
          class="truncated">${count -
            rows} more series not shown here; see the scrape output or <code>/api/v1/metrics</code>.</p>
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

function seriesRows(family: MetricFamily, rows: number): Html[] {
  switch (family.type) {
    case "counter":
    case "gauge":
    case "untyped":
      return family.metrics.slice(0, rows).map((m: ScalarMetric) =>
        html`<tr>${labelCell(m.labels)}<td class="value">${
          formatPlainDecimal(m.value)
        }</td></tr>`
      );
    case "summary":
      return family.metrics.slice(0, rows).map((m: SummaryMetric) =>
        html`<tr>${labelCell(m.labels)}<td>${summaryTable(m)}</td></tr>`
      );
    case "histogram":
    case "gaugehistogram":
      return family.metrics.slice(0, rows).map((
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

/**
 * "10 of 30" and a link to the group's whole log: the history API filtered
 * to exactly this grouping key, relative so it works under a route prefix.
 */
function pushLogLink(group: GroupState, body: GroupBody): Html | false {
  if (body.pushCount === 0) return false;
  const total = body.pushCount > PUSH_COUNT_LIMIT
    ? `more than ${PUSH_COUNT_LIMIT.toLocaleString("en-US")}`
    : body.pushCount.toLocaleString("en-US");
  const href = `api/v1/history?group=${
    encodeURIComponent(group.id)
  }&limit=${PUSH_COUNT_LIMIT}`;
  return html`<p class="muted push-count">
  <span class="push-shown">${body.recentPushes.length} of ${total}</span>
  (pushes, deletes and wipes of this group) · <a href="${href}">the group's whole push log (JSON)</a>
</p>`;
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
  <td><time datetime="${formatTimeMs(entry.time)}">${
    formatTimeMs(entry.time)
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
