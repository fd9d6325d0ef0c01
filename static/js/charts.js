/* Charts of the dashboards, drawn with plotly.js (the finance partial bundle, vendored).

   Every chart is an element [data-figure="<id>"] naming the <script type="application/json">
   that holds its figure, built on the server by dashboards/figures.py. This file draws them
   when the page loads and whenever htmx brings new ones, and frees the old ones (Plotly.purge)
   before htmx swaps them out. No inline script, no eval: it runs under script-src 'self'.

   plotly.js is loaded with async, this file with defer: whichever comes second draws.
   When every chart of a batch is drawn, <html data-charts-drawn="<ms since navigation>">
   is set and a "charts:drawn" event is sent (the browser tests and bench/dashboard read it). */
(function () {
  "use strict";

  var registered = {};
  var root = document.documentElement;
  root.classList.add("js-ready");

  function localeName() {
    var source = document.getElementById("plotly-locale");
    if (!source || !window.Plotly) return "en";
    var locale = JSON.parse(source.textContent);
    if (locale.name !== "en" && !registered[locale.name]) {
      window.Plotly.register(locale);
      registered[locale.name] = true;
    }
    return locale.name;
  }

  /* The figures carry the light theme's text colours; a dark page gets its own. */
  function themed(text) {
    if (!window.matchMedia || !window.matchMedia("(prefers-color-scheme: dark)").matches) return text;
    var css = getComputedStyle(root);
    var strong = css.getPropertyValue("--text").trim() || "#e7eaf0";
    var muted = css.getPropertyValue("--text-muted").trim() || "#9aa4b5";
    return text.split("#1d2330").join(strong).split("#5b6474").join(muted);
  }

  function within(node, selector) {
    var found = [];
    if (!node || node.nodeType !== 1) return found;
    if (node.matches(selector)) found.push(node);
    node.querySelectorAll(selector).forEach(function (el) { found.push(el); });
    return found;
  }

  function draw(node) {
    if (!window.Plotly) return;
    if (window.performance && performance.mark) performance.mark("charts:start");
    var locale = localeName();
    var pending = [];
    within(node, "[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(themed(source.textContent));
      var config = Object.assign({}, figure.config, { locale: locale });
      el.dataset.drawn = "pending";
      pending.push(
        window.Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
          el.dataset.drawn = "1";
          el.classList.add("is-drawn");
        })
      );
    });
    if (!pending.length) return;
    Promise.all(pending).then(function () {
      root.dataset.chartsDrawn = String(Math.round(performance.now()));
      document.dispatchEvent(new CustomEvent("charts:drawn", { detail: { count: pending.length } }));
    });
  }

  function purge(node) {
    if (!window.Plotly) return;
    within(node, ".js-plotly-plot").forEach(function (el) { window.Plotly.purge(el); });
  }

  /* After a filter or a period link changed the URL, the form shows the same view. */
  function syncFilters() {
    var form = document.getElementById("filters");
    if (!form) return;
    new URLSearchParams(window.location.search).forEach(function (value, name) {
      var field = form.elements.namedItem(name);
      if (field && field.value !== undefined && field.value !== value) field.value = value;
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) { purge(event.detail.target); });
  document.addEventListener("htmx:oobBeforeSwap", function (event) { purge(event.detail.target); });
  document.addEventListener("htmx:load", function (event) {
    draw(event.target);
    if (event.target.matches && event.target.matches("[data-focus-on-swap]")) {
      event.target.focus();
    }
  });
  document.addEventListener("htmx:pushedIntoHistory", syncFilters);
  /* Back and forward: the server renders the whole view of that URL. (Swapping a full page
     into <body> would run its scripts a second time.) */
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    event.preventDefault();
    window.location.reload();
  });
  /* plotly.js loads async (it is big): draw when both it and the page are ready. */
  function start() {
    if (window.Plotly) {
      draw(document.body);
      return;
    }
    var script = document.querySelector("script[data-plotly]");
    if (script) script.addEventListener("load", function () { draw(document.body); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
