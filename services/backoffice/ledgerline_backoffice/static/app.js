// The back office's only script (CSP: script-src 'self'): confirmations, progress polling, form helpers.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Back" links go back in history when there is one.
  document.querySelectorAll("a[data-back]").forEach((link) => {
    link.addEventListener("click", (event) => {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });

  // Forms whose action cannot be undone ask first.
  document.querySelectorAll("form[data-confirm], form[data-confirm-production]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const submitter = event.submitter;
      let question = form.dataset.confirm;
      if (form.dataset.confirmProduction && submitter && submitter.value === "production") {
        question = form.dataset.confirmProduction;
      }
      if (question && !window.confirm(question)) {
        event.preventDefault();
      }
    });
  });

  // Long work (billing runs, exports): poll the counters, move the bar, reload when it ends.
  document.querySelectorAll("[data-poll]").forEach((box) => {
    const bar = box.querySelector("[data-progress]");
    const text = box.querySelector("[data-progress-text]");
    const url = box.dataset.poll;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) {
          const state = await response.json();
          if (bar) {
            bar.max = state.total || 1;
            bar.value = state.status === "completed" ? bar.max : state.done;
          }
          if (text) {
            text.textContent = text.textContent.replace(/^\d+ \/ \d+/, `${state.done} / ${state.total}`)
              .replace(/\(\d+ %\)/, `(${state.percent} %)`);
          }
          if (state.finished) {
            stopped = true;
            if (!box.dataset.finished) window.location.reload();
            return;
          }
        }
      } catch (error) {
        // A dropped poll is retried on the next tick.
      }
      window.setTimeout(tick, 1000);
    };
    if (!/(completed|failed)/.test(box.querySelector(".pill")?.className || "")) {
      window.setTimeout(tick, 500);
    }
  });

  // A document just issued is rendered within seconds: look again a few times, then leave it be.
  const pending = document.querySelector("[data-reload-soon]");
  if (pending) {
    const key = `reloads:${window.location.pathname}`;
    const count = Number(window.sessionStorage.getItem(key) || 0);
    if (count < 5) {
      window.sessionStorage.setItem(key, String(count + 1));
      window.setTimeout(() => window.location.reload(), 3000);
    } else {
      pending.textContent += " Reload the page in a moment.";
    }
  } else {
    window.sessionStorage.removeItem(`reloads:${window.location.pathname}`);
  }

  // Credit note: the lines matter only for a partial credit.
  const partial = document.querySelector(".partial-lines");
  if (partial) {
    const sync = () => {
      const chosen = document.querySelector("input[name=mode]:checked");
      partial.hidden = !chosen || chosen.value !== "partial";
    };
    document.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", sync));
    sync();
  }

  // Line tables show three rows; "Add a line" reveals the spare ones one at a time.
  document.querySelectorAll("table.lines-input").forEach((table) => {
    const spare = () => table.querySelector("tr.spare");
    if (!spare()) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small";
    button.textContent = "+ Add a line";
    button.addEventListener("click", () => {
      const row = spare();
      if (row) row.classList.remove("spare");
      if (!spare()) button.remove();
    });
    table.parentElement.after(button);
  });
});
