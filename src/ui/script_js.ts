/**
 * The web UI's script, served as `static/pushvault.js`. The page is readable
 * without it (a group's own page, `group?id=…`, shows its families); it
 * adds: a group card's body fetched when the card is opened, expansion state
 * kept across reloads in sessionStorage (like the newest Pushgateway,
 * docs/compatibility.md, Web UI), the Delete Group / Delete All buttons with a
 * confirmation dialog, the group filter as one types (answered by the server,
 * README "Web UI"), "Show more" groups in place, Expand/Collapse all, and `/`
 * to focus the filter.
 *
 * Plain ES2017 in a string (no build step). It writes text only through
 * `textContent`, never `innerHTML`; markup comes only from our own server,
 * parsed by DOMParser. Requests use relative URLs, so they stay under the
 * route prefix (docs/compatibility.md, Web UI).
 * @module
 */

export const SCRIPT_JS = `(function () {
  "use strict";

  var STATE_PREFIX = "pushvault.open:";
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }

  // --- fragments the server renders -----------------------------------------
  // Only our own server's markup, escaped there like the page itself, parsed
  // inertly by DOMParser (no script runs in it) and moved into the page.
  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (res) {
      return res.text().then(function (text) {
        if (!res.ok && res.status !== 404) throw new Error(res.status + " " + res.statusText);
        return new DOMParser().parseFromString(text, "text/html").body;
      });
    });
  }
  function withPart(href, part) {
    return href + (href.indexOf("?") >= 0 ? "&" : "?") + "part=" + part;
  }

  // --- expansion state and group bodies ---------------------------------------
  function saveState(details) {
    if (!store || !details.dataset.state) return;
    var key = STATE_PREFIX + details.dataset.state;
    try {
      if (details.open) store.setItem(key, "1"); else store.removeItem(key);
    } catch (e) { /* storage full or disabled: state is only a convenience */ }
  }
  function restore(root) {
    if (!store) return;
    var list = root.querySelectorAll("details[data-state]");
    for (var i = 0; i < list.length; i++) {
      if (!list[i].open && store.getItem(STATE_PREFIX + list[i].dataset.state) === "1") list[i].open = true;
    }
  }
  // A group card's body (its families and recent pushes) is fetched when
  // the card is first opened: the page itself carries only the heads.
  function loadBody(details) {
    var url = details.getAttribute("data-body");
    if (!url || details.hasAttribute("data-loaded")) return;
    details.setAttribute("data-loaded", "loading");
    var body = details.querySelector(".group-body");
    fetchHtml(url).then(function (fragment) {
      while (body.firstChild) body.removeChild(body.firstChild);
      while (fragment.firstChild) body.appendChild(fragment.firstChild);
      details.setAttribute("data-loaded", "1");
      restore(body);
    }, function (err) {
      details.removeAttribute("data-loaded");
      var p = document.createElement("p");
      p.className = "dialog-error";
      p.textContent = "Could not load this group: " + err.message;
      while (body.firstChild) body.removeChild(body.firstChild);
      body.appendChild(p);
    });
  }
  // toggle does not bubble: listen in the capture phase, for every card and
  // family, those fetched later included.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details || details.tagName !== "DETAILS") return;
    saveState(details);
    if (details.open) loadBody(details);
  }, true);
  restore(document);

  // --- filter (on the server) -------------------------------------------------
  var search = document.getElementById("search");
  var countEl = document.getElementById("group-count");
  var noMatch = document.getElementById("no-match");
  var filterSeq = 0;
  var filterTimer = null;
  function showCount(list) {
    var matched = Number(list.getAttribute("data-matched"));
    var total = Number(list.getAttribute("data-total"));
    var noun = total === 1 ? "group" : "groups";
    if (countEl) countEl.textContent = matched === total ? total + " " + noun : matched + " of " + total + " " + noun;
    if (noMatch) noMatch.hidden = matched > 0 || total === 0;
  }
  function applyFilter() {
    clearTimeout(filterTimer);
    var q = search.value.trim();
    var seq = ++filterSeq;
    fetchHtml(withPart(q ? "./?q=" + encodeURIComponent(q) : "./", "groups")).then(function (fragment) {
      var next = fragment.querySelector("#groups");
      var current = document.getElementById("groups");
      if (seq !== filterSeq || !next || !current) return;
      current.parentNode.replaceChild(next, current);
      restore(next);
      showCount(next);
      try {
        history.replaceState(null, "", location.pathname + (q ? "?q=" + encodeURIComponent(q) : ""));
      } catch (e) { /* file:// or sandboxed: the filter still works */ }
    }, function () { /* the page as it is stays usable; the next keystroke retries */ });
  }
  if (search) {
    search.addEventListener("input", function () {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(applyFilter, 200);
    });
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

  // --- more groups ------------------------------------------------------------
  function showMore(link) {
    if (link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    var seq = filterSeq;
    fetchHtml(withPart(link.getAttribute("href"), "groups")).then(function (fragment) {
      var list = document.getElementById("groups");
      var more = document.getElementById("more");
      var next = fragment.querySelector("#groups");
      if (seq !== filterSeq || !list || !more || !next) return;
      var cards = next.querySelectorAll("article.group");
      for (var i = 0; i < cards.length; i++) {
        list.insertBefore(cards[i], more);
        restore(cards[i]);
      }
      var nextMore = next.querySelector("#more");
      if (nextMore) list.replaceChild(nextMore, more); else list.removeChild(more);
    }, function (err) {
      link.removeAttribute("aria-busy");
      window.alert("Loading more groups failed: " + err.message);
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
      case "more":
        event.preventDefault();
        showMore(button);
        break;
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
        // Every group in the store, not only those on the page.
        var counter = button.querySelector(".counter");
        var n = counter ? Number(counter.textContent) : 0;
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
