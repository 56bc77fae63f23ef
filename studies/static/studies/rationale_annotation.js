/* Rationale annotation: arrow keys move between words, Space toggles (native checkboxes),
   and a press-and-drag marks or unmarks a run of words with the mouse, pen or finger. */
(function () {
  "use strict";
  var box = document.querySelector("[data-rationale]");
  if (!box) { return; }
  var inputs = Array.prototype.slice.call(box.querySelectorAll("input[data-index]"));
  var counter = box.querySelector("[data-rationale-count]");
  var dragging = false, dragState = false, pressed = false;

  function refresh() {
    var n = 0;
    inputs.forEach(function (input) {
      input.parentNode.classList.toggle("rat-marked", input.checked);
      if (input.checked) { n += 1; }
    });
    if (counter) { counter.textContent = n + (n === 1 ? " word marked" : " words marked"); }
  }
  function labelAt(x, y) {
    var el = document.elementFromPoint(x, y);
    while (el && el !== box) {
      if (el.classList && el.classList.contains("rat-tok")) { return el; }
      el = el.parentNode;
    }
    return null;
  }
  function inputOf(label) { return label ? label.querySelector("input[data-index]") : null; }

  box.addEventListener("keydown", function (event) {
    var index = inputs.indexOf(event.target);
    if (index < 0) { return; }
    var next = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { next = inputs[index + 1]; }
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") { next = inputs[index - 1]; }
    else if (event.key === "Home") { next = inputs[0]; }
    else if (event.key === "End") { next = inputs[inputs.length - 1]; }
    else { return; }
    event.preventDefault();
    if (next) { next.focus(); }
  });
  box.addEventListener("change", refresh);
  box.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) { return; }
    var input = inputOf(labelAt(event.clientX, event.clientY));
    if (!input || input.disabled) { return; }
    dragging = true; pressed = true;
    dragState = !input.checked;
    input.checked = dragState;
    input.focus();
    refresh();
    event.preventDefault();
  });
  document.addEventListener("pointermove", function (event) {
    if (!dragging) { return; }
    var input = inputOf(labelAt(event.clientX, event.clientY));
    if (input && !input.disabled && input.checked !== dragState) {
      input.checked = dragState; refresh();
    }
  });
  function stop() {
    dragging = false;
    window.setTimeout(function () { pressed = false; }, 0);  /* after the click that follows */
  }
  document.addEventListener("pointerup", stop);
  document.addEventListener("pointercancel", stop);
  /* The press already toggled the word: cancel the label's own click so it does not toggle back. */
  box.addEventListener("click", function (event) {
    if (!pressed) { return; }  /* keyboard (Space) clicks keep their native toggle */
    pressed = false;
    event.preventDefault();
  });
  refresh();
})();
