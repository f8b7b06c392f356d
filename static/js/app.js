/* Shared helpers for the staff pages: API calls with the session, toasts, confirmations. */
(function () {
  "use strict";

  const t = window.gettext || ((text) => text);
  // Translated text with %s placeholders filled in order (Django's JavaScript catalog).
  const fmt = (text, ...values) => window.interpolate(t(text), values);

  // Staff-readable texts for the API's failure_reason codes.
  const REASONS = {
    validation_error: t("Проверьте выделенные поля."),
    version_conflict: t("Слот уже изменил кто-то другой. Обновите страницу и повторите правку."),
    payload_too_large: t("Файл слишком большой."),
    unsupported_media_type: t("Нужен файл JPEG, PNG или WEBP."),
    invalid_image: t("Файл повреждён или это не изображение."),
    missing_field: t("Не выбран файл."),
    slot_not_found: t("Слот не найден."),
    slot_inactive: t("Слот отключён: включите его и сохраните."),
    slot_busy: t("Слот сейчас занят, попробуйте через несколько секунд."),
    provider_busy: t("Провайдер сейчас занят, попробуйте через несколько секунд."),
    provider_unconfigured: t("У провайдера не задан API-ключ (страница «Настройки»)."),
    provider_5xx: t("Провайдер временно недоступен."),
    quota: t("Исчерпана квота провайдера."),
    network: t("Нет связи с провайдером."),
    safety_blocked: t("Провайдер отклонил изображение по правилам безопасности."),
    bad_response: t("Провайдер вернул ответ без изображения."),
    timeout: t("Провайдер не успел ответить в отведённое время."),
    not_authenticated: t("Сессия истекла: войдите снова."),
    forbidden: t("Недостаточно прав."),
    csrf_failed: t("Страница устарела: обновите её."),
    throttled: t("Слишком много попыток, подождите."),
    internal_error: t("Внутренняя ошибка сервера."),
    database_unavailable: t("База данных недоступна, повторите через несколько секунд."),
  };

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(body.detail || String(status));
      this.status = status;
      this.body = body;
      this.reason = body.failure_reason || "internal_error";
    }
  }

  function describe(error) {
    if (error instanceof ApiError) {
      return REASONS[error.reason] || error.body.detail || t("Ошибка сервера.");
    }
    return t("Нет связи с сервером. Проверьте сеть.");
  }

  /** fetch() with the session cookie and CSRF token; resolves to the Response or throws ApiError. */
  async function request(method, url, body) {
    const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    let payload = body;
    if (body && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    if (!response.ok) {
      let errorBody = {};
      try {
        errorBody = await response.json();
      } catch (ignored) {
        errorBody = { detail: response.statusText };
      }
      throw new ApiError(response.status, errorBody);
    }
    return response;
  }

  async function api(method, url, body) {
    const response = await request(method, url, body);
    return response.status === 204 ? null : response.json();
  }

  function toast(message, kind) {
    const box = document.getElementById("toasts");
    const item = document.createElement("div");
    item.className = "toast" + (kind === "error" ? " error" : "");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = message;
    box.appendChild(item);
    window.setTimeout(() => {
      item.classList.add("leaving");
      item.addEventListener("animationend", () => item.remove(), { once: true });
    }, kind === "error" ? 7000 : 4000);
  }

  /** Restarts the short «pulse» animation on an element. */
  function pulse(element) {
    element.classList.remove("-pulse");
    void element.offsetWidth; // reflow, so the same animation can run again
    element.classList.add("-pulse");
  }

  let questionsAsked = 0;

  /** A modal confirmation; resolves true when the user confirms. */
  function confirmAction(message, confirmLabel) {
    const dialog = document.getElementById("confirm-dialog");
    dialog.querySelector("[data-message]").textContent = message;
    dialog.querySelector("[data-confirm]").textContent = confirmLabel || t("Подтвердить");
    return new Promise((resolve) => {
      const form = dialog.querySelector("form");
      // The answer is the button (or Escape) pressed while this question shows, kept until the
      // close event. That event is queued: it can arrive when a later question already shows,
      // whose buttons are not this question's answer.
      const mine = ++questionsAsked;
      let answer = false;
      const answered = (value) => {
        if (questionsAsked === mine) answer = value;
      };
      const submitted = (event) => answered(Boolean(event.submitter) && event.submitter.value === "confirm");
      const cancelled = () => answered(false);
      function closed() {
        if (dialog.open) return;
        form.removeEventListener("submit", submitted);
        dialog.removeEventListener("cancel", cancelled);
        dialog.removeEventListener("close", closed);
        resolve(answer);
      }
      form.addEventListener("submit", submitted);
      dialog.addEventListener("cancel", cancelled);
      dialog.addEventListener("close", closed);
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  /** Marks a button busy for the duration of `work`, so a double click sends nothing twice. */
  async function busy(button, work) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /** JSON a template left in a <script type="application/json"> (Django's json_script), or null. */
  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (ignored) {
      return null;
    }
  }

  // Times are shown in the server's zone (settings.TIME_ZONE, core/timezones.py), never the
  // browser's, with the zone's name: "20.11.2026 09:08 MSK", as the server's pages write them.
  const ZONE = readJson("time-zone") || {};
  const zoneName = (() => {
    try {
      return new Intl.DateTimeFormat("en-GB", { timeZone: ZONE.name }).resolvedOptions().timeZone;
    } catch (ignored) {
      return undefined; // an unknown zone name: the browser's own, rather than no times at all
    }
  })();
  const CLOCK = new Intl.DateTimeFormat("en-GB", {
    timeZone: zoneName,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  });

  /** The parts of a moment on the server's clock: day, month, year, hour, minute and the zone. */
  function zonedParts(iso) {
    const parts = {};
    CLOCK.formatToParts(new Date(iso)).forEach(({ type, value }) => (parts[type] = value));
    const offset = (parts.timeZoneName.match(/[+-]\d{2}:\d{2}/) || ["+00:00"])[0];
    parts.zone = (ZONE.names || {})[offset] || (offset === "+00:00" ? "UTC" : `UTC${offset}`);
    return parts;
  }

  /** "20.11.2026 09:08 MSK"; `{ year: false }` leaves the year out. */
  function formatTime(iso, options) {
    if (!iso) return "—";
    const p = zonedParts(iso);
    const date = options && options.year === false ? `${p.day}.${p.month}` : `${p.day}.${p.month}.${p.year}`;
    return `${date} ${p.hour}:${p.minute} ${p.zone}`;
  }

  function showFieldErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach((slot) => (slot.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    let first = null;
    Object.entries(errors || {}).forEach(([field, messages]) => {
      const slot = form.querySelector(`[data-error-for="${field}"]`);
      const input = form.querySelector(`[name="${field}"]`);
      if (slot) slot.textContent = [].concat(messages).join(" ");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
    });
    if (first) first.focus();
  }

  function bindCopyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", async () => {
        const field = document.getElementById(button.dataset.copy);
        try {
          await navigator.clipboard.writeText(field.value);
        } catch (ignored) {
          // Without clipboard permission (plain http), select the text for Ctrl+C instead.
          field.select();
          document.execCommand("copy");
        }
        toast(t("Ссылка скопирована"));
      });
    });
  }

  /** The header's menu button (narrow screens): toggles the nav, closes on Escape or outside. */
  function bindMenu() {
    const button = document.querySelector("[data-menu-button]");
    if (!button) return;
    const header = button.closest(".site-header");
    const isOpen = () => button.getAttribute("aria-expanded") === "true";
    const setOpen = (open) => {
      button.setAttribute("aria-expanded", String(open));
      header.classList.toggle("menu-open", open);
    };
    header.classList.add("has-menu");
    button.addEventListener("click", () => setOpen(!isOpen()));
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !isOpen()) return;
      setOpen(false);
      button.focus();
    });
    document.addEventListener("click", (event) => {
      if (isOpen() && !header.contains(event.target)) setOpen(false);
    });
    // Tabbing past the last item closes the menu, so it never covers what gets the focus next.
    header.addEventListener("focusout", (event) => {
      if (isOpen() && event.relatedTarget && !header.contains(event.relatedTarget)) setOpen(false);
    });
  }

  // Runs at once (the script sits at the end of <body>), so the collapsed header is the first paint.
  bindMenu();
  // Forms the page scripts send themselves: Enter in a field must not post them as a page.
  // (An event listener, not an onsubmit attribute: the Content-Security-Policy forbids those.)
  function holdSubmits(root) {
    root.querySelectorAll("form[data-no-submit]").forEach((form) => {
      form.addEventListener("submit", (event) => event.preventDefault());
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    bindCopyButtons(document);
    holdSubmits(document);
  });

  window.PC = { api, request, ApiError, describe, toast, pulse, confirmAction, busy, formatTime, showFieldErrors, t, fmt };
  Object.assign(window.PC, { readJson, zonedParts });
})();
