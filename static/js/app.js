// HMS page behaviour without inline scripts.
// 1. After HTMX swaps content in because of a click or a submit, move focus into it so keyboard and
//    screen-reader users follow: the autofocus field (htmx focuses it) or an element kept by id stays;
//    otherwise an alert, a [data-focus] element, the region's heading, or the region itself.
//    Polling, live search and event-driven refreshes never move focus (their triggering event differs).
document.addEventListener("htmx:afterSettle", function (event) {
  var detail = event.detail;
  var xhr = detail.xhr;
  if (!xhr || xhr.hmsFocused) return; // afterSettle fires once per settled element; act once per request
  xhr.hmsFocused = true;
  var cause = detail.requestConfig && detail.requestConfig.triggeringEvent;
  if (!cause || (cause.type !== "click" && cause.type !== "submit")) return;
  var target = detail.target;
  // An outerHTML swap replaced the target: its successor carries the same id.
  var region = target && target.isConnected ? target : target && target.id ? document.getElementById(target.id) : null;
  if (!region) return;
  var active = document.activeElement;
  if (active && active !== document.body && region.contains(active)) return;
  var focusable =
    region.querySelector("[role=alert]") ||
    region.querySelector("[data-focus]") ||
    region.querySelector("#messages .flash") || // a whole page swapped in (e.g. the booking's confirmation)
    region.querySelector("h1, h2, h3, h4, legend") ||
    region;
  if (!focusable.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(focusable.tagName)) {
    focusable.setAttribute("tabindex", "-1");
  }
  focusable.focus({ preventScroll: false });
});
// 2. The day strip marks the chosen day (the slots themselves come from the server).
document.addEventListener("click", function (event) {
  var day = event.target.closest(".day-strip .day");
  if (!day) return;
  day.parentElement.querySelectorAll("[aria-current]").forEach(function (el) { el.removeAttribute("aria-current"); });
  day.setAttribute("aria-current", "date");
});
// 3. After a redirect, a page without an autofocus field starts at its message ("Your appointment is
//    booked."), which screen readers then read first.
document.addEventListener("DOMContentLoaded", function () {
  var flash = document.querySelector("#messages .flash");
  if (!flash || document.querySelector("[autofocus]")) return;
  flash.setAttribute("tabindex", "-1");
  flash.focus();
});

// 4. Security (idle logoff): a request a page makes by itself (an htmx poll, or a "load" trigger) is
//    marked as background, so that it does not keep an idle session alive; a dialog warns shortly
//    before the server ends an idle session, and "Stay logged in" pings the keep-alive endpoint.
(function () {
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.triggeringEvent) event.detail.headers["HMS-Background"] = "1";
  });
  var body = document.body;
  var dialog = document.getElementById("idle-warning");
  var left = body ? parseInt(body.getAttribute("data-idle-seconds"), 10) : NaN;
  if (!dialog || isNaN(left) || typeof dialog.showModal !== "function") return;
  var warnBefore = parseInt(body.getAttribute("data-idle-warning"), 10) || 60;
  var warnTimer = null;
  var endTimer = null;
  function schedule(seconds) {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    if (dialog.open && seconds > warnBefore) dialog.close();
    warnTimer = setTimeout(function () {
      if (!dialog.open) dialog.showModal();
    }, Math.max(0, seconds - warnBefore) * 1000);
    // Once the server has ended the session, reload: the page then says so and offers the login.
    endTimer = setTimeout(function () { window.location.reload(); }, (seconds + 2) * 1000);
  }
  schedule(left);
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    var seconds = xhr ? parseInt(xhr.getResponseHeader("HMS-Idle-Seconds"), 10) : NaN;
    if (!isNaN(seconds)) schedule(seconds);
  });
})();
// End of 4.

// 5. Loading indicator for every HTMX request a person starts (click, submit, typing): the element
//    that sent it, and the form's submit button, get aria-busy="true" (Pico draws a spinner; app.css
//    dims busy forms). Timed polls (no triggering event) stay quiet.
(function () {
  function busyElements(event) {
    var elt = event.detail.elt;
    var list = [elt];
    if (elt && elt.tagName === "FORM") {
      var cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
      var button = (cause && cause.submitter) || elt.querySelector("button[type=submit], button:not([type])");
      // A switch keeps its own look (its ::before is the track); the dimmed form shows it is busy.
      if (button && button.getAttribute("role") !== "switch") list.push(button);
    }
    return list;
  }
  document.addEventListener("htmx:beforeSend", function (event) {
    var cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (!cause) return;
    var list = busyElements(event);
    list.forEach(function (el) { if (el) el.setAttribute("aria-busy", "true"); });
    event.detail.elt.hmsBusy = list;
  });
  ["htmx:afterRequest", "htmx:sendError", "htmx:timeout", "htmx:sendAbort"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var list = event.detail.elt && event.detail.elt.hmsBusy;
      if (!list) return;
      list.forEach(function (el) { if (el) el.removeAttribute("aria-busy"); });
      event.detail.elt.hmsBusy = null;
    });
  });
})();

// 6. A "Print" button (the recovery codes): the browser's print dialog; the page's print CSS hides the rest.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
