// Copy buttons: shown only when this script runs, so without JavaScript the URL fields alone remain
// (they are read-only and select on focus). Falls back to a plain selection where the Clipboard API
// is unavailable (plain-http hosts other than localhost). Everything else on the pages works without it.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  var group = button.closest(".copy-fields");
  var status = group ? group.querySelector(".copied") : null;
  button.hidden = false;
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    var done = function (message) { if (status) { status.textContent = message; } };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { done("Copied " + field.value.split(":")[0] + " URL."); },
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
