/**
 * The web UI's stylesheet, served as `static/pushvault.css`: system fonts,
 * cards, badges, tables; a dark scheme follows the operating system. Our own
 * small design, no framework; embedded so that nothing is read from disk.
 * @module
 */

export const STYLE_CSS = `:root {
  color-scheme: light dark;
  --bg: #f4f5f7;
  --surface: #ffffff;
  --surface-2: #f8f9fb;
  --border: #e2e5ea;
  --border-strong: #cfd4dc;
  --text: #1b2130;
  --muted: #667085;
  --accent: #e6522c;
  --topbar: #1c2130;
  --topbar-text: #e8ebf1;
  --focus: #3b82f6;
  --job-bg: #fff3d4; --job-fg: #7a4b00; --job-bd: #f1d28a;
  --inst-bg: #e2ecff; --inst-fg: #1d48b8; --inst-bd: #b9cdf7;
  --label-bg: #dcf5f3; --label-fg: #0d6460; --label-bd: #a6ddd8;
  --danger: #c8321f; --danger-bg: #fdecea; --danger-bd: #f3b8b0;
  --ok: #177a3c; --ok-bg: #e5f5eb;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.06), 0 1px 3px rgba(16, 24, 40, 0.04);
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151c;
    --surface: #1a1f29;
    --surface-2: #202633;
    --border: #2c3342;
    --border-strong: #3a4356;
    --text: #e4e7ee;
    --muted: #98a2b3;
    --topbar: #0c0f15;
    --job-bg: #3b2f12; --job-fg: #f6d58a; --job-bd: #5c4a1c;
    --inst-bg: #1a2a4a; --inst-fg: #a8c4ff; --inst-bd: #2b4474;
    --label-bg: #12322f; --label-fg: #8ee0d7; --label-bd: #1f4d48;
    --danger: #f07866; --danger-bg: #3a1d1a; --danger-bd: #6b2c24;
    --ok: #6fd39a; --ok-bg: #15301f;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: inherit; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
[hidden] { display: none !important; }
.muted { color: var(--muted); }

/* top bar */
.topbar {
  position: sticky; top: 0; z-index: 10;
  display: flex; align-items: center; gap: 24px;
  padding: 0 24px; height: 52px;
  background: var(--topbar); color: var(--topbar-text);
  box-shadow: 0 1px 0 rgba(0, 0, 0, 0.2);
}
.brand {
  display: flex; align-items: center; gap: 9px;
  font-weight: 650; font-size: 16px; letter-spacing: 0.2px; text-decoration: none;
}
.tabs { display: flex; gap: 4px; height: 100%; }
.tab {
  display: flex; align-items: center; padding: 0 12px;
  color: #aab2c3; text-decoration: none; border-bottom: 2px solid transparent; white-space: nowrap;
}
.tab:hover { color: #fff; }
.tab-current { color: #fff; border-bottom-color: var(--accent); }
.version { margin-left: auto; color: #8a93a6; font-size: 12px; }

.page { max-width: 1320px; margin: 0 auto; padding: 20px 24px 48px; }

/* buttons */
.btn {
  display: inline-flex; align-items: center; gap: 6px;
  padding: 6px 12px; border-radius: 6px;
  border: 1px solid var(--border-strong); background: var(--surface); color: var(--text);
  font: inherit; font-size: 13px; font-weight: 500; line-height: 1.2; cursor: pointer;
  white-space: nowrap;
}
.btn:hover:not(:disabled) { background: var(--surface-2); }
.btn:focus-visible, summary:focus-visible, input:focus-visible {
  outline: 2px solid var(--focus); outline-offset: 2px;
}
.btn:disabled { opacity: 0.5; cursor: not-allowed; }
.btn-danger { color: var(--danger); border-color: var(--danger-bd); }
.btn-danger:hover:not(:disabled) { background: var(--danger-bg); }
.btn-solid, .btn-solid:hover:not(:disabled) { background: var(--danger); border-color: var(--danger); color: #fff; }
.btn-small { padding: 3px 9px; font-size: 12px; }
.counter {
  display: inline-block; min-width: 20px; padding: 0 6px; border-radius: 10px;
  background: var(--danger-bg); font-weight: 650; text-align: center;
}

/* toolbar */
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-bottom: 16px; }
.search { flex: 1 1 320px; max-width: 560px; }
.search input {
  width: 100%; padding: 8px 12px 8px 34px; border-radius: 8px;
  border: 1px solid var(--border-strong); background: var(--surface); color: var(--text);
  font: inherit;
  background-image: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='16' height='16' viewBox='0 0 24 24' fill='none' stroke='%23889' stroke-width='2.2' stroke-linecap='round'%3E%3Ccircle cx='11' cy='11' r='7'/%3E%3Cpath d='m20 20-3.5-3.5'/%3E%3C/svg%3E");
  background-repeat: no-repeat; background-position: 11px center;
}
.group-count { color: var(--muted); font-size: 13px; }
.toolbar-spacer { flex: 1 1 0; }

/* cards */
.groups { display: flex; flex-direction: column; gap: 10px; }
.group {
  background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  box-shadow: var(--shadow); overflow: hidden;
}
.group-failed { border-left: 4px solid var(--danger); }
summary { list-style: none; cursor: pointer; }
summary::-webkit-details-marker { display: none; }
.group-head, .family-head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
.group-head { padding: 11px 14px; }
.group-head:hover { background: var(--surface-2); }
.chevron {
  flex: none; width: 8px; height: 8px; margin: 0 6px 0 2px;
  border-right: 2px solid var(--muted); border-bottom: 2px solid var(--muted);
  transform: rotate(-45deg); transition: transform 0.12s ease;
}
details[open] > summary > .chevron { transform: rotate(45deg); }
.group-labels { display: flex; flex-wrap: wrap; gap: 6px; min-width: 0; }
.head-spacer { flex: 1 1 auto; }
.group-meta, .family-meta { color: var(--muted); font-size: 12.5px; }
.age { color: var(--muted); }
.expiry { text-decoration: underline dotted; text-underline-offset: 3px; cursor: help; }
.never { font-style: italic; }

/* badges */
.badge {
  display: inline-block; max-width: 100%; padding: 2px 8px; border-radius: 999px;
  border: 1px solid transparent; font-family: var(--mono); font-size: 12px; line-height: 1.5;
  overflow-wrap: anywhere;
}
.badge-name { font-weight: 600; }
.badge-value { white-space: pre-wrap; }
.badge-job { background: var(--job-bg); color: var(--job-fg); border-color: var(--job-bd); }
.badge-instance { background: var(--inst-bg); color: var(--inst-fg); border-color: var(--inst-bd); }
.badge-label { background: var(--label-bg); color: var(--label-fg); border-color: var(--label-bd); }
.badge-failed {
  background: var(--danger); color: #fff; font-family: inherit; font-weight: 600;
}
.badge-aggregating {
  border-color: var(--border); color: var(--muted); font-family: inherit; font-weight: 600;
}

/* group body */
.group-body { padding: 4px 18px 18px; border-top: 1px solid var(--border); }
.section-title {
  margin: 16px 0 8px; color: var(--muted);
  font-size: 11.5px; font-weight: 650; letter-spacing: 0.6px; text-transform: uppercase;
}
.alert {
  margin: 14px 0 0; padding: 10px 14px; border-radius: 8px;
  background: var(--danger-bg); border: 1px solid var(--danger-bd); color: var(--text);
}
.alert strong { color: var(--danger); }
.error-text {
  margin: 6px 0 0; padding: 0; background: none; color: var(--danger);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.families { border: 1px solid var(--border); border-radius: 8px; overflow: hidden; }
.family + .family { border-top: 1px solid var(--border); }
.family-head { padding: 8px 12px; background: var(--surface); }
.family-head:hover { background: var(--surface-2); }
.family-name { font-weight: 650; font-size: 13px; }
.help {
  min-width: 0; max-width: 48ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  color: var(--muted);
}
.help-none { font-style: italic; opacity: 0.7; }
.type {
  padding: 1px 7px; border-radius: 4px; font-size: 10.5px; font-weight: 700; letter-spacing: 0.4px;
  background: var(--surface-2); color: var(--muted); border: 1px solid var(--border);
}
.type-counter { color: #17803d; background: #e6f6ec; border-color: #b7e2c5; }
.type-gauge { color: #3845c2; background: #eceffe; border-color: #c6cdf8; }
.type-histogram, .type-gaugehistogram { color: #a2470b; background: #fdf0e5; border-color: #f2cfb1; }
.type-summary { color: #7a2f9e; background: #f5ebfb; border-color: #dfc4ef; }
@media (prefers-color-scheme: dark) {
  .type-counter, .type-gauge, .type-histogram, .type-gaugehistogram, .type-summary {
    background: var(--surface-2); border-color: var(--border-strong);
  }
  .type-counter { color: #7fd6a0; } .type-gauge { color: #a9b3ff; }
  .type-histogram, .type-gaugehistogram { color: #f5b27d; } .type-summary { color: #d7a6f0; }
}
.family-body { padding: 0 12px 12px 34px; background: var(--surface); overflow-x: auto; }
.truncated { margin: 8px 0 0; color: var(--muted); }
.more { display: flex; align-items: center; gap: 10px; margin: 12px 0; color: var(--muted); }
.more .btn { text-decoration: none; }
.loading { margin: 0; }

/* tables */
table { border-collapse: collapse; }
.series, .pushes { width: 100%; font-size: 13px; }
.series th, .pushes th {
  text-align: left; font-size: 11.5px; font-weight: 650; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.5px;
  padding: 7px 10px; border-bottom: 1px solid var(--border-strong);
}
.series > tbody > tr > td, .pushes td {
  padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top;
}
.series > tbody > tr:last-child > td { border-bottom: none; }
.series > tbody > tr:nth-child(even) > td { background: var(--surface-2); }
.series-labels { display: flex; flex-wrap: wrap; gap: 5px; }
.series th:last-child { width: 36%; }
.value { font-family: var(--mono); font-size: 12.5px; font-variant-numeric: tabular-nums; }
.inner { font-size: 12.5px; }
.inner th, .inner td { padding: 2px 16px 2px 0; text-align: left; border: none; }
.inner th { font-weight: 500; color: var(--muted); text-transform: none; letter-spacing: 0; }
.inner-caption { color: var(--text) !important; font-weight: 600 !important; }
.table-scroll { overflow-x: auto; }
.pushes { border: 1px solid var(--border); border-radius: 8px; border-collapse: separate; border-spacing: 0; overflow: hidden; }
.pushes tbody tr:last-child td { border-bottom: none; }
.push-refused td { background: var(--danger-bg); }
.push-error td { background: var(--danger-bg); padding-top: 0; }
.push-error .error-text { margin: 0; }
.push-refused:has(+ .push-error) td { border-bottom: none; }
.num { font-variant-numeric: tabular-nums; }
.method { font-family: var(--mono); font-size: 12px; font-weight: 600; }
.status {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  white-space: nowrap;
}
.status-accepted { background: var(--ok-bg); color: var(--ok); }
.status-refused { background: var(--danger); color: #fff; }
.client { color: var(--muted); }

/* status tab */
.panel {
  background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  box-shadow: var(--shadow); padding: 6px 18px 14px; margin-bottom: 16px;
}
.panel h2 { font-size: 15px; margin: 12px 0 10px; }
.kv { width: 100%; font-size: 13px; }
.kv th, .kv td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
.kv tr:last-child th, .kv tr:last-child td { border-bottom: none; }
.kv th { width: 30%; font-weight: 600; white-space: nowrap; }
.kv td { overflow-wrap: anywhere; }
.kv-code th, .kv-code td { font-family: var(--mono); font-size: 12.5px; }

/* empty states and dialog */
.empty, .empty-state { color: var(--muted); }
.empty-state {
  padding: 32px; text-align: center; background: var(--surface);
  border: 1px dashed var(--border-strong); border-radius: 10px;
}
.empty-state h2 { margin: 0 0 6px; font-size: 16px; color: var(--text); }
.empty-state pre {
  display: inline-block; margin: 8px 0 0; padding: 10px 14px; text-align: left;
  background: var(--surface-2); border: 1px solid var(--border); border-radius: 6px; color: var(--text);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.dialog {
  width: min(460px, calc(100vw - 32px)); padding: 20px 22px; border: 1px solid var(--border);
  border-radius: 12px; background: var(--surface); color: var(--text);
  box-shadow: 0 20px 50px rgba(16, 24, 40, 0.25);
}
.dialog::backdrop { background: rgba(16, 20, 30, 0.45); }
.dialog h2 { margin: 0 0 10px; font-size: 16px; }
.dialog p { margin: 0 0 12px; overflow-wrap: anywhere; }
.dialog-error { color: var(--danger); }
.dialog-actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 18px; }

@media (prefers-color-scheme: dark) {
  /* White on the lighter dark-scheme red is hard to read. */
  .status-refused, .badge-failed, .btn-solid, .btn-solid:hover:not(:disabled) { color: #1b0806; }
}
@media (max-width: 720px) {
  .topbar { padding: 0 12px; gap: 8px; }
  .tab { padding: 0 8px; }
  .page { padding: 14px 10px 32px; }
  .version { display: none; }
  .group-body { padding: 4px 10px 12px; }
  .family-body { padding-left: 12px; }
  .pushes th:nth-child(n+4), .pushes tr.push td:nth-child(n+4) { display: none; }
}
`;
