/* The data-entry grids (values and targets): move like a spreadsheet, paste a block, open
   a cell's history, say when a save failed.

   Saving is htmx's work: every cell is a form posted on "change" (leaving a modified cell).
   This file moves the focus (Enter, Tab, arrows), so leaving a cell saves it; it sends a
   pasted block to the server for checking; nothing else. No inline script (CSP). */
(function () {
  "use strict";

  // Pickers apply on change; their "Show" button is for browsers without JavaScript.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
  document.querySelectorAll(".js-hide").forEach(function (element) {
    element.hidden = true;
  });

  const grid = document.querySelector("table.entry-grid");
  if (!grid) {
    return;
  }
  const statusRegion = document.getElementById("grid-status");
  const historyPanel = document.getElementById("history-panel");
  let lastCellId = null;
  let historyOpener = null;
  let pasteOriginId = null;

  function isCellInput(element) {
    return Boolean(element && element.classList && element.classList.contains("cell-input"));
  }

  function inputIn(row, column) {
    const td = row && row.cells[column];
    return td ? td.querySelector("input.cell-input") : null;
  }

  function vertical(input, step) {
    const td = input.closest("td");
    const tr = td.parentElement;
    const rows = Array.from(tr.parentElement.rows);
    for (let i = rows.indexOf(tr) + step; i >= 0 && i < rows.length; i += step) {
      const next = inputIn(rows[i], td.cellIndex);
      if (next) {
        return next;
      }
    }
    return null;
  }

  function horizontal(input, step) {
    const td = input.closest("td");
    const tr = td.parentElement;
    for (let column = td.cellIndex + step; column >= 0 && column < tr.cells.length; column += step) {
      const next = inputIn(tr, column);
      if (next) {
        return next;
      }
    }
    return null;
  }

  function sequential(input, step) {
    const inputs = Array.from(grid.querySelectorAll("input.cell-input"));
    return inputs[inputs.indexOf(input) + step] || null;
  }

  function go(next) {
    if (!next) {
      return false;
    }
    next.focus();
    return true;
  }

  function focusById(id) {
    const element = id && document.getElementById(id);
    if (element) {
      element.focus();
    }
    return Boolean(element);
  }

  function cancelPaste() {
    const cancel = document.querySelector("#paste-bar [data-paste-cancel]");
    if (!cancel) {
      return false;
    }
    cancel.click();
    return true;
  }

  function closeHistory() {
    if (!historyPanel || !historyPanel.firstElementChild) {
      return false;
    }
    historyPanel.replaceChildren();
    if (historyOpener && document.body.contains(historyOpener)) {
      historyOpener.focus();
    } else {
      focusById(lastCellId);
    }
    return true;
  }

  function openHistory(link) {
    if (!historyPanel) {
      return;
    }
    const input = link.closest("form") && link.closest("form").querySelector("input.cell-input");
    historyOpener = input || link;
    htmx.ajax("GET", link.href, { target: "#history-panel", swap: "innerHTML" });
  }

  grid.addEventListener("focusin", function (event) {
    if (isCellInput(event.target)) {
      lastCellId = event.target.id;
      event.target.select();
    } else if (event.target.closest && event.target.closest(".cell")) {
      lastCellId = null;
    }
  });

  // A click on another cell selects its value, so typing replaces it (as in a
  // spreadsheet); a click in the cell being edited places the caret.
  grid.addEventListener("mousedown", function (event) {
    const input = event.target;
    if (isCellInput(input) && event.button === 0 && document.activeElement !== input) {
      event.preventDefault();
      input.focus();
    }
  });

  grid.addEventListener("keydown", function (event) {
    const input = event.target;
    if (!isCellInput(input) || event.isComposing) {
      return;
    }
    const length = input.value.length;
    const start = input.selectionStart;
    const end = input.selectionEnd;
    const allSelected = start === 0 && end === length;
    switch (event.key) {
      case "Enter":
        event.preventDefault();
        if (!go(vertical(input, event.shiftKey ? -1 : 1))) {
          // The last row: save where we are ("change" fires on blur), and stay.
          input.blur();
          input.focus();
        }
        return;
      case "Tab":
        if (!event.shiftKey && input.form.querySelector(".cell-actions button")) {
          return; // let Tab reach "Keep theirs" and "Overwrite"
        }
        if (go(sequential(input, event.shiftKey ? -1 : 1))) {
          event.preventDefault();
        }
        return;
      case "ArrowUp":
      case "ArrowDown":
        event.preventDefault();
        go(vertical(input, event.key === "ArrowUp" ? -1 : 1));
        return;
      case "ArrowLeft":
        if ((allSelected || (start === 0 && end === 0)) && go(horizontal(input, -1))) {
          event.preventDefault();
        }
        return;
      case "ArrowRight":
        if ((allSelected || (start === length && end === length)) && go(horizontal(input, 1))) {
          event.preventDefault();
        }
        return;
      case "Escape":
        if (input.value !== input.defaultValue && !input.readOnly) {
          input.value = input.defaultValue;
          input.select();
          event.preventDefault();
        } else if (cancelPaste() || closeHistory()) {
          event.preventDefault();
        }
        return;
      default:
        if (event.altKey && event.code === "KeyH") {
          const link = input.form.querySelector(".cell-history");
          event.preventDefault();
          if (link) {
            openHistory(link);
          }
        }
    }
  });

  // Escape outside the cells: leave the paste preview, or close the history.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || isCellInput(event.target)) {
      return;
    }
    if (cancelPaste() || closeHistory()) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!target.closest) {
      return;
    }
    if (target.closest("[data-history-close]")) {
      closeHistory();
      return;
    }
    const history = target.closest(".cell-history, .cell-history-link");
    if (history && grid.contains(history) && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      openHistory(history);
      return;
    }
    const link = target.closest("[data-cell-link]");
    if (link && focusById(link.dataset.cellLink)) {
      event.preventDefault();
    }
  });

  // A block copied from a spreadsheet: the server checks it and shows it; saving is a
  // second, explicit step. A single value is pasted into the cell as usual.
  grid.addEventListener("paste", function (event) {
    const input = event.target;
    const url = grid.dataset.pasteUrl;
    if (!url || !isCellInput(input) || input.readOnly || !event.clipboardData) {
      return;
    }
    const text = event.clipboardData.getData("text/plain");
    if (!/[\t\n\r]/.test(text.replace(/[\r\n]+$/, ""))) {
      return;
    }
    event.preventDefault();
    const fields = input.form.elements;
    pasteOriginId = input.id;
    htmx.ajax("POST", url, {
      target: "#grid-metrics",
      swap: "outerHTML",
      values: {
        csrfmiddlewaretoken: fields.csrfmiddlewaretoken.value,
        campaign: fields.campaign.value,
        metric: fields.metric.value,
        month: fields.month.value,
        text: text,
        step: "check",
      },
    });
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (!target) {
      return;
    }
    if (target.id === "grid-metrics") {
      const bar = document.getElementById("paste-bar");
      const button = bar && bar.querySelector("[data-paste-focus]");
      if (button) {
        button.focus();
      } else {
        focusById(pasteOriginId);
      }
    } else if (target === historyPanel) {
      const title = historyPanel.querySelector("h2");
      if (title) {
        title.focus();
      }
    }
  });

  // Typing again in a cell whose save is on its way: the answer must not wipe the new
  // text. It is put back into the returned cell, and saved when the person leaves it.
  let typedMeanwhile = null;
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.detail.elt;
    if (form.matches && form.matches("form.cell")) {
      const input = form.querySelector("input.cell-input");
      form.dataset.sent = input ? input.value : "";
    }
  });
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const form = event.detail.elt;
    if (!form.matches || !form.matches("form.cell")) {
      return;
    }
    // Anything but a cell (a login page after the session expired...) is not swapped in.
    if (!/^\s*<form id="f-/.test(event.detail.serverResponse || "")) {
      event.detail.shouldSwap = false;
      saveFailed(event);
      return;
    }
    const input = form.querySelector("input.cell-input");
    typedMeanwhile = null;
    if (input && document.activeElement === input && input.value !== form.dataset.sent) {
      typedMeanwhile = { id: input.id, value: input.value };
    }
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (!typedMeanwhile) {
      return;
    }
    const input = document.getElementById(typedMeanwhile.id);
    if (input && input.value !== typedMeanwhile.value) {
      input.value = typedMeanwhile.value;
      input.dataset.dirty = "1";
      input.setSelectionRange(input.value.length, input.value.length);
    }
    typedMeanwhile = null;
  });
  grid.addEventListener("change", function (event) {
    delete event.target.dataset.dirty;
  });
  grid.addEventListener("focusout", function (event) {
    const input = event.target;
    if (isCellInput(input) && input.dataset.dirty) {
      delete input.dataset.dirty;
      htmx.trigger(input.form, "change");
    }
  });

  // A save refused (403, 5xx) or lost (network): keep the text, say so in the cell.
  function saveFailed(event) {
    const source = event.detail.elt;
    const form = source && source.closest && source.closest("form.cell");
    const message = grid.dataset.msgFailed;
    if (!form || !message) {
      return;
    }
    form.classList.add("cell-invalid");
    const input = form.querySelector("input.cell-input");
    let note = form.querySelector(".cell-msg");
    if (!note) {
      note = document.createElement("p");
      note.className = "cell-msg";
      note.id = "m-" + input.id.slice(2);
      form.insertBefore(note, input.nextSibling);
    }
    note.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    if (statusRegion) {
      statusRegion.textContent = message;
    }
  }
  document.body.addEventListener("htmx:responseError", saveFailed);
  document.body.addEventListener("htmx:sendError", saveFailed);
})();
