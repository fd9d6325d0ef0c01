/* The form adding a slide: show the fields the chosen kind uses, and the fixed period only
   when the period is fixed. Without JavaScript every field shows, each saying what it is for. */
(function () {
  "use strict";

  const form = document.querySelector("form.slide-form");
  if (!form) {
    return;
  }
  const kind = form.elements.namedItem("kind");
  const period = form.elements.namedItem("period");

  function update() {
    form.querySelectorAll("[data-kinds]").forEach(function (group) {
      const usedByKind = group.dataset.kinds.split(" ").indexOf(kind.value) !== -1;
      const usedByPeriod = !group.dataset.period || group.dataset.period === period.value;
      group.hidden = !(usedByKind && usedByPeriod);
    });
  }

  kind.addEventListener("change", update);
  period.addEventListener("change", update);
  update();
})();
