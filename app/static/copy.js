// Copy buttons: shown only when this script runs, so without JavaScript the URL field alone remains
// (it is read-only and selects on focus). Falls back to a plain selection where the Clipboard API
// is unavailable (plain-http hosts other than localhost).
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  var status = document.getElementById(button.dataset.copy.replace(/-url$/, "-copied"));
  button.hidden = false;
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    var done = function (message) { if (status) { status.textContent = message; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { done("Copied."); },
        function () { done("Press Ctrl+C (or ⌘C) to copy the selected URL."); }
      );
    } else {
      done("Press Ctrl+C (or ⌘C) to copy the selected URL.");
    }
  });
});
document.querySelectorAll("input.url").forEach(function (field) {
  field.addEventListener("focus", function () { field.select(); });
});
