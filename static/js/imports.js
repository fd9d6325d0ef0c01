/* Import preview: the choices re-check the file as soon as they change (htmx posts the form
   on "change"), so the button that does it without JavaScript is hidden. No inline script (CSP). */
(function () {
  "use strict";

  function hideFallbacks(root) {
    root.querySelectorAll(".js-hide").forEach(function (element) {
      element.hidden = true;
    });
  }

  hideFallbacks(document);
  // Content htmx brings in (the preview after an upload or a new choice) has them too.
  document.addEventListener("htmx:load", function () {
    hideFallbacks(document);
  });
})();
