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
