/* Copy buttons of the researcher's study page.
 *
 * The buttons are hidden in the HTML and shown here, so without JavaScript the links are
 * plain text to select. The clipboard API needs a secure context and permission; when it
 * is missing or refused, the link's text is selected and execCommand("copy") tried, and
 * the live region says what happened either way.
 */
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function announce(text) {
    if (!status) { return; }
    // Emptied first so that the same message twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fallback(node) {
    selectText(node);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    announce(copied ? "Copied" : "Selected: press Ctrl+C (or Cmd+C) to copy");
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var node = document.getElementById(button.getAttribute("data-copy"));
    if (!node) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = node.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { announce("Copied"); },
          function () { fallback(node); }
        );
      } else {
        fallback(node);
      }
    });
  });
})();
