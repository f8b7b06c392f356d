/* Slot dashboard: redraws every card from GET /api/slots every few seconds while the tab is
   visible, filters by name and state, and remembers the card or compact view. */
(function () {
  "use strict";

  const { api, formatTime, readJson, t, fmt } = window.PC;
  const config = readJson("dashboard-state");
  const list = document.querySelector("[data-slots]");
  const filters = document.querySelector("[data-filters]");
  const VIEW_KEY = "photochanger.dashboard.view";
  let timer = null;
  let loading = false;

  function cardOf(slotId) {
    return list.querySelector(`[data-slot="${CSS.escape(slotId)}"]`);
  }

  function field(card, name) {
    return card.querySelector(`[data-field="${name}"]`);
  }

  /** Sets text only when it differs, so a redraw neither flickers nor moves a reader's place. */
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function showTime(node, iso) {
    if (!iso) {
      setText(node, "—");
      return;
    }
    let time = node.querySelector("time");
    if (!time) {
      time = document.createElement("time");
      node.replaceChildren(time);
    }
    time.dateTime = iso;
    setText(time, formatTime(iso));
  }

  function showAlert(node, text) {
    node.hidden = !text;
    setText(node.querySelector("[data-text]"), text);
  }

  function showReasons(node, reasons) {
    const now = [...node.children].map((item) => item.textContent);
    if (now.join("\n") === reasons.join("\n")) return;
    node.replaceChildren(
      ...reasons.map((reason) => {
        const item = document.createElement("li");
        item.className = "hint";
        item.textContent = reason;
        return item;
      })
    );
  }

  function showResult(card, slot) {
    const figure = field(card, "result");
    figure.hidden = !slot.last_result_preview_url;
    if (!slot.last_result_preview_url) return;
    const image = figure.querySelector("img");
    if (image.getAttribute("src") !== slot.last_result_preview_url) {
      image.src = slot.last_result_preview_url;
    }
    image.alt = fmt("Последний результат: %s", slot.display_name || slot.id);
    const time = figure.querySelector("time");
    time.dateTime = slot.last_result_at || "";
    setText(time, formatTime(slot.last_result_at));
  }

  function showStatus(card, slot) {
    const pill = field(card, "status");
    if (card.dataset.state !== slot.status) {
      announce(fmt("%s: %s", slot.display_name || slot.id, slot.status_label));
    }
    card.dataset.state = slot.status;
    pill.className = `pill ${slot.status}`;
    setText(pill, slot.status_label);
    showReasons(field(card, "reasons"), slot.status_reasons);
  }

  /** One card brought up to date with the slot's summary from the API. */
  function showSlot(slot) {
    const card = cardOf(slot.id);
    if (!card) return;
    const name = slot.display_name || slot.id;
    card.dataset.name = name;
    setText(field(card, "name"), name);
    setText(field(card, "provider"), slot.provider_label);
    showTime(field(card, "last_job_at"), slot.last_job_at);
    setText(field(card, "in_flight"), String(slot.in_flight));
    // Left out when a reason beside the pill already says it.
    const told = slot.status_reasons.some((reason) => slot.last_error && reason.includes(slot.last_error));
    showAlert(field(card, "last_error"), told ? "" : slot.last_error);
    showAlert(field(card, "wrong_passwords"), slot.wrong_passwords_last_hour ? String(slot.wrong_passwords_last_hour) : "");
    showResult(card, slot);
    showStatus(card, slot);
  }

  function announce(text) {
    setText(document.querySelector("[data-announce]"), text);
  }

  /** Cards that match the search text (name or slot id) and the chosen state; the rest hide. */
  function applyFilters() {
    const query = filters.elements.q.value.trim().toLowerCase();
    const state = filters.elements.state.value;
    const cards = [...list.querySelectorAll("[data-slot]")];
    let shown = 0;
    cards.forEach((card) => {
      const text = `${card.dataset.name} ${card.dataset.slot}`.toLowerCase();
      const visible = (!query || text.includes(query)) && (!state || card.dataset.state === state);
      card.hidden = !visible;
      shown += visible ? 1 : 0;
    });
    document.querySelector("[data-nothing-found]").hidden = shown > 0 || !cards.length;
    setText(document.querySelector("[data-shown]"), fmt("Показано слотов: %s из %s", shown, cards.length));
  }

  function setView(view) {
    list.classList.toggle("compact", view === "compact");
    filters.querySelectorAll("[data-view]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.view === view));
    });
    try {
      window.localStorage.setItem(VIEW_KEY, view);
    } catch (ignored) {
      // Storage refused (private mode): the view simply is not remembered.
    }
  }

  function storedView() {
    try {
      return window.localStorage.getItem(VIEW_KEY) === "compact" ? "compact" : "cards";
    } catch (ignored) {
      return "cards";
    }
  }

  /** When the page last heard from the server; read aloud only when that stops, not every 5 s. */
  function showRefreshed(ok) {
    const line = document.querySelector("[data-refresh-state]");
    if (!ok && !line.classList.contains("stale")) announce(t("Нет связи с сервером"));
    line.classList.toggle("stale", !ok);
    const now = new Date().toISOString();
    setText(
      line,
      ok
        ? fmt("Обновлено: %s", formatTime(now))
        : fmt("Нет связи с сервером: данные на %s могут быть устаревшими", line.dataset.lastOk || "—")
    );
    if (ok) line.dataset.lastOk = formatTime(now);
  }

  async function refresh() {
    window.clearTimeout(timer);
    timer = null;
    if (loading) return; // the answer on its way schedules the next one
    loading = true;
    try {
      const slots = await api("GET", config.slots_url);
      slots.forEach(showSlot);
      applyFilters();
      showRefreshed(true);
    } catch (error) {
      showRefreshed(false);
    } finally {
      loading = false;
    }
    schedule();
  }

  // Polls only while the page is on screen; a hidden tab costs the server nothing and catches
  // up the moment it is shown again.
  function schedule() {
    window.clearTimeout(timer);
    timer = document.hidden ? null : window.setTimeout(refresh, config.refresh_seconds * 1000);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      window.clearTimeout(timer);
      timer = null;
    } else {
      refresh();
    }
  });

  filters.addEventListener("input", applyFilters);
  filters.addEventListener("change", applyFilters);
  filters.querySelectorAll("[data-view]").forEach((button) => {
    button.addEventListener("click", () => setView(button.dataset.view));
  });

  setView(storedView());
  applyFilters();
  schedule();
})();
