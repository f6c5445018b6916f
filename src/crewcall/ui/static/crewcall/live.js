/*
 * Crewcall live pages: follows the change stream and refreshes what it shows.
 *
 * The page says where to listen and from where, on <body>:
 *   data-live-stream="/api/v1/changes"  data-live-since="<cursor taken when the page was built>"
 * Starting from the page's own cursor, no change made between building the page and
 * opening the stream is missed (one made before may come again: refreshing is idempotent).
 *
 * A fragment that shows data says which tables it shows, and optionally for which event:
 *   <div id="board" data-live="staffing_invitation events_event" data-live-event="42"
 *        hx-get="..." hx-trigger="crewcall:refresh" hx-select="#board" hx-swap="outerHTML">
 * On a matching change it receives the DOM event "crewcall:refresh" (htmx then fetches
 * it again); several changes within REFRESH_DELAY_MS cause one refresh. A fragment with a
 * field the user changed and has not saved waits (HOLD_MS, again and again) until that
 * is saved or undone: a colleague's change never wipes out what someone is typing.
 *
 * On `reset` (the page's cursor is too old, or the database was restored) every live
 * fragment is refreshed. The element #live-status shows "live", "reconnecting…" or
 * "reloaded"; the browser reconnects by itself, resuming from the last event id. Its words
 * come translated from the server, in data attributes of #live-status:
 *   data-text-live, data-text-live-again, data-text-reconnecting, data-text-reloaded
 * (the English below only stands in when an attribute is missing).
 */
(function () {
  "use strict";

  var REFRESH_DELAY_MS = 150;
  var HOLD_MS = 1000;
  var body = document.body;
  var streamUrl = body.getAttribute("data-live-stream");
  if (!streamUrl || typeof EventSource === "undefined") {
    return;
  }
  var since = body.getAttribute("data-live-since");
  var status = document.getElementById("live-status");
  var pending = new Set();
  var timer = null;

  var FALLBACK = {
    "live": "live",
    "live-again": "live again",
    "reconnecting": "reconnecting…",
    "reloaded": "reloaded"
  };

  function words(key) {
    return (status && status.getAttribute("data-text-" + key)) || FALLBACK[key];
  }

  function show(state, key) {
    if (!status) {
      return;
    }
    status.textContent = words(key);
    status.setAttribute("data-state", state);
    body.setAttribute("data-live-state", state);
  }

  function wants(element, change) {
    var tables = (element.getAttribute("data-live") || "").split(/\s+/);
    if (tables.indexOf(change.table) === -1 && tables.indexOf("*") === -1) {
      return false;
    }
    var eventId = element.getAttribute("data-live-event");
    return !eventId || String(change.event) === eventId;
  }

  function schedule(elements) {
    elements.forEach(function (element) { pending.add(element); });
    if (timer === null) {
      timer = window.setTimeout(flush, REFRESH_DELAY_MS);
    }
  }

  // A field the user changed and has not saved yet (typed, picked, ticked).
  function unsaved(element) {
    return Array.from(element.querySelectorAll("input, textarea, select")).some(function (field) {
      if (field.tagName === "SELECT") {
        var options = Array.from(field.options);
        if (field.multiple) {
          return options.some(function (option) { return option.selected !== option.defaultSelected; });
        }
        var initial = options.findIndex(function (option) { return option.defaultSelected; });
        return field.selectedIndex !== (initial === -1 ? 0 : initial);
      }
      if (field.type === "checkbox" || field.type === "radio") {
        return field.checked !== field.defaultChecked;
      }
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") {
        return false;
      }
      return field.value !== field.defaultValue;
    });
  }

  function flush() {
    timer = null;
    var elements = Array.from(pending);
    pending.clear();
    elements.forEach(function (element) {
      // A fragment swapped out since is no longer in the page: its successor has the id.
      var current = element.isConnected ? element : (element.id && document.getElementById(element.id));
      if (!current) {
        return;
      }
      if (unsaved(current)) {
        // Refreshing now would throw away what the user is typing: try again later (their
        // own save swaps the fragment, and the refresh then finds nothing unsaved).
        window.setTimeout(function () { schedule([current]); }, HOLD_MS);
        return;
      }
      current.dispatchEvent(new CustomEvent("crewcall:refresh", { bubbles: false }));
    });
  }

  function liveElements() {
    return Array.from(document.querySelectorAll("[data-live]"));
  }

  var url = streamUrl + (since ? (streamUrl.indexOf("?") === -1 ? "?" : "&") + "since=" + encodeURIComponent(since) : "");
  var source = new EventSource(url, { withCredentials: true });
  var hadError = false;

  source.addEventListener("open", function () {
    show("live", hadError ? "live-again" : "live");
  });
  source.addEventListener("error", function () {
    hadError = true;
    show("reconnecting", "reconnecting");
  });
  var received = 0;
  source.addEventListener("change", function (message) {
    var change;
    try {
      change = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    received += 1;
    body.setAttribute("data-live-received", String(received));  // how many changes came in
    schedule(liveElements().filter(function (element) { return wants(element, change); }));
  });
  source.addEventListener("reset", function () {
    show("reloaded", "reloaded");
    schedule(liveElements());
  });
})();
