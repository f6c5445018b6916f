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
 * it again); several changes within REFRESH_DELAY_MS cause one refresh.
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

  function flush() {
    timer = null;
    var elements = Array.from(pending);
    pending.clear();
    elements.forEach(function (element) {
      // A fragment swapped out since is no longer in the page: its successor has the id.
      var current = element.isConnected ? element : (element.id && document.getElementById(element.id));
      if (current) {
        current.dispatchEvent(new CustomEvent("crewcall:refresh", { bubbles: false }));
      }
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
  source.addEventListener("change", function (message) {
    var change;
    try {
      change = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    schedule(liveElements().filter(function (element) { return wants(element, change); }));
  });
  source.addEventListener("reset", function () {
    show("reloaded", "reloaded");
    schedule(liveElements());
  });
})();
