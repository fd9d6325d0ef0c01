// On a phone the main navigation scrolls sideways: bring the current page's link into view,
// and fade the edge only while more links lie past it.
(function () {
  "use strict";
  function start() {
    var nav = document.querySelector(".mainnav");
    if (!nav) return;
    var current = nav.querySelector('[aria-current="page"]');
    function edge() {
      nav.classList.toggle("is-end", nav.scrollLeft + nav.clientWidth >= nav.scrollWidth - 2);
    }
    if (current && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - nav.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
    edge();
    nav.addEventListener("scroll", edge, { passive: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
