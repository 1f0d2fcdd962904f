/**
 * The web UI's script, served as `static/pushvault.js`. The page is readable
 * without it; it adds: expansion state kept across reloads in sessionStorage
 * (like the newest Pushgateway, spec §11), the Delete Group / Delete All
 * buttons with a confirmation dialog, the live group filter, Expand/Collapse
 * all, and `/` to focus the filter.
 *
 * Plain ES2017 in a string (no build step). It writes user data only through
 * `textContent`, never `innerHTML`. Requests use relative URLs, so they stay
 * under the route prefix (spec §9).
 * @module
 */

export const SCRIPT_JS = `(function () {
  "use strict";

  var STATE_PREFIX = "pushvault.open:";
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }

  // --- expansion state ----------------------------------------------------
  function saveState(event) {
    var details = event.target;
    if (!store || !details.dataset.state) return;
    var key = STATE_PREFIX + details.dataset.state;
    try {
      if (details.open) store.setItem(key, "1"); else store.removeItem(key);
    } catch (e) { /* storage full or disabled: state is only a convenience */ }
  }
  var allDetails = document.querySelectorAll("details[data-state]");
  for (var i = 0; i < allDetails.length; i++) {
    var d = allDetails[i];
    if (store && store.getItem(STATE_PREFIX + d.dataset.state) === "1") d.open = true;
    d.addEventListener("toggle", saveState);
  }

  // --- filter ---------------------------------------------------------------
  var search = document.getElementById("search");
  var countEl = document.getElementById("group-count");
  var noMatch = document.getElementById("no-match");
  function applyFilter() {
    var terms = search.value.toLowerCase().split(/\\s+/).filter(function (t) { return t !== ""; });
    var cards = document.querySelectorAll("article.group");
    var shown = 0;
    for (var i = 0; i < cards.length; i++) {
      var text = cards[i].getAttribute("data-search") || "";
      var visible = terms.every(function (t) { return text.indexOf(t) >= 0; });
      cards[i].hidden = !visible;
      if (visible) shown++;
    }
    var total = cards.length;
    var noun = total === 1 ? "group" : "groups";
    if (countEl) countEl.textContent = shown === total ? total + " " + noun : shown + " of " + total + " " + noun;
    if (noMatch) noMatch.hidden = shown > 0 || total === 0;
    var q = search.value.trim();
    try {
      history.replaceState(null, "", location.pathname + (q ? "?q=" + encodeURIComponent(q) : ""));
    } catch (e) { /* file:// or sandboxed: the filter still works */ }
  }
  if (search) {
    search.addEventListener("input", applyFilter);
    search.form.addEventListener("submit", function (event) {
      event.preventDefault();
      applyFilter();
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { search.value = ""; applyFilter(); search.blur(); }
    });
    document.addEventListener("keydown", function (event) {
      var t = event.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    });
  }

  // --- confirmation dialog and deletes -----------------------------------------
  var dialog = document.getElementById("confirm");
  var message = document.getElementById("confirm-message");
  var errorEl = document.getElementById("confirm-error");
  var ok = document.getElementById("confirm-ok");
  var pending = null;

  function run() {
    if (!pending) return;
    var action = pending;
    if (ok) ok.disabled = true;
    fetch(action.url, { method: action.method, credentials: "same-origin" }).then(function (res) {
      if (res.ok) { location.reload(); return; }
      return res.text().then(function (body) {
        fail(action.what + " failed: " + res.status + " " + res.statusText + (body.trim() ? ": " + body.trim() : ""));
      });
    }, function (err) {
      fail(action.what + " failed: " + err);
    });
  }
  function fail(text) {
    if (ok) ok.disabled = false;
    if (dialog && dialog.open && errorEl) {
      errorEl.textContent = text;
      errorEl.hidden = false;
    } else {
      window.alert(text);
    }
  }
  function ask(text, action) {
    pending = action;
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text)) run();
      return;
    }
    message.textContent = text;
    errorEl.hidden = true;
    errorEl.textContent = "";
    ok.disabled = false;
    ok.textContent = action.label;
    dialog.showModal();
    ok.focus();
  }
  if (ok) ok.addEventListener("click", run);

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-action]") : null;
    if (!button || button.disabled) return;
    switch (button.getAttribute("data-action")) {
      case "delete-group":
        // The button sits in the group's <summary>: do not toggle the card.
        event.preventDefault();
        event.stopPropagation();
        ask("Do you really want to delete all metrics of group " + button.getAttribute("data-group") + "?", {
          method: "DELETE",
          url: button.getAttribute("data-path"),
          what: "Deleting the group",
          label: "Delete group"
        });
        break;
      case "delete-all": {
        var n = document.querySelectorAll("article.group").length;
        ask("Do you really want to delete all metrics from all " + n + (n === 1 ? " group" : " groups") + "?", {
          method: "PUT",
          url: "api/v1/admin/wipe",
          what: "Deleting all groups",
          label: "Delete all"
        });
        break;
      }
      case "expand-all":
        document.querySelectorAll("article.group:not([hidden]) > details").forEach(function (d) { d.open = true; });
        break;
      case "collapse-all":
        document.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
        break;
    }
  });
})();
`;
