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
// 3. Security (idle logoff): a request a page makes by itself (an htmx poll, or a "load" trigger) is
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
// End of 3.
