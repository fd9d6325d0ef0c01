// Data-entry forms: the objective form's assist panel and the KPI formula's code list.
// Loaded with defer; no inline script anywhere (CSP script-src 'self').
(function () {
  "use strict";

  function isAssistForm(element) {
    return element && element.hasAttribute && element.hasAttribute("data-assist-form");
  }

  // Tell the assist view which field changed: a new KPI or baseline period fills the
  // baseline in again from history; typing a target does not touch it. The CSRF token
  // has no business in a GET's URL.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!isAssistForm(event.detail.elt)) return;
    var trigger = event.detail.triggeringEvent;
    var name = trigger && trigger.target && trigger.target.name;
    if (name) event.detail.parameters["changed"] = name;
    delete event.detail.parameters["csrfmiddlewaretoken"];
  });

  // Numbers refresh the assist panel while they are typed, not only when the field is left.
  var timers = new WeakMap();
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.form || !isAssistForm(input.form)) return;
    if (input.getAttribute("inputmode") !== "decimal") return;
    clearTimeout(timers.get(input));
    timers.set(
      input,
      setTimeout(function () {
        input.dispatchEvent(new Event("assist-input", { bubbles: true }));
      }, 400)
    );
  });

  // A click on a code of the list inserts it in the formula, at the caret.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-code]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-target"));
    if (!field || field.disabled) return;
    event.preventDefault();
    var code = button.getAttribute("data-insert-code");
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    var before = field.value.slice(0, start);
    var after = field.value.slice(end);
    var text = (before && !/[\s(]$/.test(before) ? " " : "") + code;
    text += after && !/^[\s)]/.test(after) ? " " : "";
    field.value = before + text + after;
    field.focus();
    field.setSelectionRange(before.length + text.length, before.length + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
