// HMS page behaviour without inline scripts.
// 1. After HTMX swaps content in, move focus to it so keyboard and screen-reader users follow.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  var cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  // Only after a click or a submit: never steal focus from typing (live search) or from polling.
  if (!target || !target.isConnected || !cause || (cause.type !== "click" && cause.type !== "submit")) return;
  var focusable = target.querySelector("[autofocus], [data-focus], [role=alert]") || target;
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
// 3. Loading indicator for every HTMX request a person starts (click, submit, typing): the element
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
