// HMS page behaviour without inline scripts: keep focus on the content that HTMX swaps in.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  if (!target) return;
  var focusable = target.querySelector("[autofocus], [data-focus]") || (target.matches("[data-focus]") ? target : null);
  if (focusable && typeof focusable.focus === "function") focusable.focus();
});
