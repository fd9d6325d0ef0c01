/* The board screen: slides turn by themselves, data refreshes in place, the screen survives
   a lost network, and hours of rotation do not grow the page's memory.

   - Rotation: one slide is current; its charts are drawn when it arrives and purged
     (Plotly.purge) when it leaves, so only one slide's charts ever exist.
   - Keyboard: space pauses and resumes, ←/→ (and a clicker's PageUp/PageDown) move,
     F toggles full screen, Escape leaves present mode.
   - Refresh: htmx fetches the slides' data every few minutes (less often while the tab is
     hidden, at once when it shows again) into a hidden box; this file moves the new data
     into the page: texts replaced, charts updated with Plotly.react only when their figure
     changed; no flicker, no re-layout.
   - Offline: a failed refresh keeps everything on screen and shows "offline since HH:MM";
     retries come sooner; the next success clears it. A 404/410 (link revoked or expired,
     board deleted) reloads the page, which then says the link is no longer valid.
   No inline script (CSP); figures come as JSON in <script type="application/json">. */
(function () {
  "use strict";

  const board = document.getElementById("board");
  if (!board) {
    return;
  }
  const slidesBox = document.getElementById("slides");
  const incoming = document.getElementById("board-incoming");
  const refresher = document.getElementById("board-refresh");
  const counter = document.querySelector("[data-counter]");
  const pausedBadge = document.querySelector("[data-paused]");
  const offlineBadge = document.querySelector("[data-offline]");
  const stampView = document.querySelector("[data-stamp-view]");
  const progress = document.querySelector("[data-progress]");

  const REFRESH_MS = Math.max(1, Number(board.dataset.refreshSeconds) || 180) * 1000;
  const HIDDEN_REFRESH_MS = REFRESH_MS * 5;
  const OFFLINE_RETRY_MS = Math.min(REFRESH_MS, 30000);
  const VISIBLE_STALE_MS = 15000;
  const DEFAULT_SECONDS = 20;
  const CHART_CONFIG = { staticPlot: true, displayModeBar: false, responsive: false };

  // Month names and separators of the page's language (dashboards/figures.plotly_locale).
  const localeSource = document.getElementById("plotly-locale");
  if (localeSource && window.Plotly) {
    const locale = JSON.parse(localeSource.textContent);
    if (locale.name !== "en") {
      window.Plotly.register(locale);
    }
    CHART_CONFIG.locale = locale.name;
  }

  let current = null;
  let paused = false;
  let slideTimer = null;
  let refreshTimer = null;
  let resizeTimer = null;
  let lastRefresh = Date.now();
  let offlineSince = null;

  document.documentElement.classList.add("js");

  // ------------------------------------------------------------------------- slides

  function dataRoot() {
    return slidesBox.querySelector("[data-board-data]");
  }

  function slideList() {
    const root = dataRoot();
    return root ? Array.from(root.querySelectorAll(":scope > .slide")) : [];
  }

  function duration(slide) {
    return (Number(slide.dataset.duration) || DEFAULT_SECONDS) * 1000;
  }

  // -------------------------------------------------------------------------- charts

  function figureScript(box) {
    return box.parentElement.querySelector('script[type="application/json"]');
  }

  function figureOf(box) {
    const script = figureScript(box);
    if (!script) {
      return null;
    }
    const figure = JSON.parse(script.textContent);
    scaleFonts(figure, window.innerHeight / 1080);
    return figure;
  }

  // Figures are made for 1080 lines: every font size follows the screen's height.
  function scaleFonts(node, ratio) {
    if (Array.isArray(node)) {
      node.forEach(function (item) {
        scaleFonts(item, ratio);
      });
    } else if (node && typeof node === "object") {
      Object.keys(node).forEach(function (key) {
        const value = node[key];
        if (/font$/.test(key) && value && typeof value.size === "number") {
          value.size = Math.max(9, Math.round(value.size * ratio));
        }
        scaleFonts(value, ratio);
      });
    }
  }

  function drawChart(box) {
    const figure = window.Plotly && figureOf(box);
    if (figure) {
      window.Plotly.newPlot(box, figure.data, figure.layout, CHART_CONFIG);
    }
  }

  function disposeChart(box) {
    if (window.Plotly && box.classList.contains("js-plotly-plot")) {
      window.Plotly.purge(box);
    }
    box.replaceChildren();
    box.classList.remove("js-plotly-plot");
  }

  function draw(slide) {
    slide.querySelectorAll("[data-chart]").forEach(drawChart);
  }

  function dispose(slide) {
    slide.querySelectorAll("[data-chart]").forEach(disposeChart);
  }

  // ------------------------------------------------------------------------ rotation

  function show(slide) {
    if (!slide) {
      return;
    }
    if (slide !== current) {
      if (current) {
        dispose(current); // before it leaves: nothing of its charts stays behind
        current.classList.remove("is-current");
      }
      current = slide;
      slide.classList.add("is-current");
      draw(slide);
    }
    updateCounter();
    schedule();
  }

  function step(offset) {
    const list = slideList();
    if (!list.length) {
      return;
    }
    const index = list.indexOf(current);
    show(list[index < 0 ? 0 : (index + offset + list.length) % list.length]);
  }

  function schedule() {
    clearTimeout(slideTimer);
    slideTimer = null;
    progress.classList.remove("run", "paused");
    if (!current || slideList().length < 2) {
      return;
    }
    if (paused) {
      return;
    }
    void progress.offsetWidth; // restarts the progress animation
    progress.style.animationDuration = duration(current) + "ms";
    progress.classList.add("run");
    slideTimer = setTimeout(function () {
      step(1);
    }, duration(current));
  }

  function togglePause() {
    paused = !paused;
    pausedBadge.hidden = !paused;
    schedule();
  }

  function updateCounter() {
    const list = slideList();
    counter.textContent = list.length > 1 ? list.indexOf(current) + 1 + " / " + list.length : "";
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () {});
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    switch (event.key) {
      case " ":
        togglePause();
        break;
      case "ArrowRight":
      case "PageDown":
        step(1);
        break;
      case "ArrowLeft":
      case "PageUp":
        step(-1);
        break;
      case "f":
      case "F":
        toggleFullscreen();
        break;
      case "Escape":
        if (!board.dataset.exitUrl || document.fullscreenElement) {
          return;
        }
        window.location.assign(board.dataset.exitUrl);
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // The type of the charts follows the screen's height: redraw after a resize settles.
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (current) {
        dispose(current);
        draw(current);
      }
    }, 250);
  });

  // ------------------------------------------------------------------------- refresh

  function refreshDelay() {
    if (offlineSince) {
      return OFFLINE_RETRY_MS;
    }
    return document.hidden ? HIDDEN_REFRESH_MS : REFRESH_MS;
  }

  function scheduleRefresh(ms) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, ms);
  }

  function refresh() {
    clearTimeout(refreshTimer);
    if (window.htmx) {
      window.htmx.trigger(refresher, "board:refresh");
    } else {
      scheduleRefresh(refreshDelay());
    }
  }

  function timeText(date) {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options).format(date);
  }

  function goneOffline() {
    if (!offlineSince) {
      offlineSince = new Date();
      offlineBadge.textContent = board.dataset.offlineLabel + " " + timeText(offlineSince);
      offlineBadge.hidden = false;
    }
  }

  function backOnline() {
    if (offlineSince) {
      offlineSince = null;
      offlineBadge.hidden = true;
      offlineBadge.textContent = "";
    }
  }

  function sameShape(a, b) {
    return (
      a.dataset.kind === b.dataset.kind &&
      a.querySelectorAll("[data-part]").length === b.querySelectorAll("[data-part]").length &&
      a.querySelectorAll("[data-chart]").length === b.querySelectorAll("[data-chart]").length
    );
  }

  // The slide on screen keeps its elements: its texts are swapped, its charts updated.
  function updateInPlace(slide, fresh) {
    const freshParts = fresh.querySelectorAll("[data-part]");
    slide.querySelectorAll("[data-part]").forEach(function (part, i) {
      part.replaceWith(freshParts[i]);
    });
    const freshCharts = fresh.querySelectorAll("[data-chart]");
    slide.querySelectorAll("[data-chart]").forEach(function (box, i) {
      const script = figureScript(box);
      const freshScript = figureScript(freshCharts[i]);
      if (script && freshScript && script.textContent !== freshScript.textContent) {
        script.textContent = freshScript.textContent;
        const figure = window.Plotly && figureOf(box);
        if (figure) {
          window.Plotly.react(box, figure.data, figure.layout, CHART_CONFIG);
        }
      }
    });
    slide.dataset.duration = fresh.dataset.duration;
    slide.setAttribute("aria-label", fresh.getAttribute("aria-label") || "");
  }

  function applyIncoming() {
    const fresh = incoming.querySelector("[data-board-data]");
    if (!fresh) {
      // Not the board's data (a login page: the session ended): go through the front door.
      incoming.replaceChildren();
      window.location.reload();
      return;
    }
    document.body.dataset.theme = fresh.dataset.theme;
    stampView.textContent = fresh.dataset.stamp;
    const root = dataRoot();
    const freshSlides = Array.from(fresh.querySelectorAll(":scope > .slide"));
    freshSlides.forEach(function (slide) {
      slide.classList.remove("is-current");
    });
    const same =
      current &&
      freshSlides.find(function (slide) {
        return slide.dataset.slideId === current.dataset.slideId && sameShape(current, slide);
      });
    if (same) {
      updateInPlace(current, same);
      slideList().forEach(function (slide) {
        if (slide !== current) {
          slide.remove(); // not on screen: no chart drawn
        }
      });
      const at = freshSlides.indexOf(same);
      freshSlides.slice(0, at).forEach(function (slide) {
        root.insertBefore(slide, current);
      });
      freshSlides.slice(at + 1).forEach(function (slide) {
        root.appendChild(slide);
      });
      root.dataset.theme = fresh.dataset.theme;
      root.dataset.stamp = fresh.dataset.stamp;
      updateCounter();
    } else {
      // The slide on screen was removed or changed: go on from the same place.
      const index = Math.max(0, slideList().indexOf(current));
      if (current) {
        dispose(current);
      }
      current = null;
      root.replaceWith(fresh);
      const list = slideList();
      show(list[Math.min(index, list.length - 1)]);
    }
    incoming.replaceChildren();
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === incoming) {
      applyIncoming();
    }
  });

  refresher.addEventListener("htmx:afterRequest", function (event) {
    const xhr = event.detail.xhr;
    const status = xhr ? xhr.status : 0;
    lastRefresh = Date.now();
    if (event.detail.successful) {
      backOnline();
    } else if (status === 404 || status === 410) {
      window.location.replace(board.dataset.selfUrl);
      return;
    } else if (status === 429) {
      backOnline(); // the server answered: only asked to wait
      const wait = Number(xhr.getResponseHeader("Retry-After")) || 60;
      scheduleRefresh(Math.max(1, wait) * 1000);
      return;
    } else {
      goneOffline(); // no answer, a timeout or a server error: keep the data on screen
    }
    scheduleRefresh(refreshDelay());
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      return;
    }
    const elapsed = Date.now() - lastRefresh;
    if (elapsed > VISIBLE_STALE_MS) {
      refresh();
    } else {
      scheduleRefresh(Math.max(1000, REFRESH_MS - elapsed));
    }
  });
  window.addEventListener("online", refresh);

  // -------------------------------------------------------------------------- start

  const list = slideList();
  show(
    list.find(function (slide) {
      return slide.classList.contains("is-current");
    }) || list[0]
  );
  scheduleRefresh(REFRESH_MS);
})();
