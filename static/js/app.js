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
