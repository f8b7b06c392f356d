/* Settings page: save global settings (secrets write-only), guarded by the settings' version. */
(function () {
  "use strict";

  const { api, describe, toast, pulse, confirmAction, busy, showFieldErrors, readJson, formatTime, t, fmt } = window.PC;
  const form = document.getElementById("settings-form");
  const fields = form.elements;
  // The version the page was drawn at, the server's bounds (core/runtime.py) and provider names.
  const state = readJson("settings-state");
  const NUMBERS = ["sync_response_seconds", "result_ttl_hours", "max_upload_mb", "gallery_size", "per_slot_concurrency"];
  let dirty = false;

  /** A whole number inside the server's bounds, or the Russian message saying what is wanted. */
  function checkNumber(input, bounds) {
    const [low, high] = bounds;
    const text = input.value.trim();
    const value = Number(text);
    if (text === "") return [null, t("Заполните поле.")];
    if (!/^-?\d+$/.test(text) || value < low || value > high) {
      return [null, fmt("Целое число от %s до %s.", low, high)];
    }
    return [value, null];
  }

  function collectLimits(payload, errors) {
    const problems = [];
    form.querySelectorAll("[data-provider-limit]").forEach((input) => {
      const name = input.dataset.providerLimit;
      const [value, problem] = checkNumber(input, state.bounds.per_provider_concurrency);
      if (problem) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (problem) problems.push(`${state.providers[name] || name}: ${problem}`);
      payload.per_provider_concurrency[name] = value;
    });
    if (problems.length) errors.per_provider_concurrency = problems;
  }

  /** The form as a PUT body, checked here with the server's own rules; null when a field is wrong. */
  function collect() {
    const errors = {};
    const payload = { hash_check: fields.hash_check.value, per_provider_concurrency: {}, provider_keys: {} };
    NUMBERS.forEach((name) => {
      const [value, problem] = checkNumber(fields[name], state.bounds[name]);
      if (problem) errors[name] = [problem];
      payload[name] = value;
    });
    collectLimits(payload, errors);
    form.querySelectorAll("[data-provider-key]").forEach((input) => {
      if (input.value) payload.provider_keys[input.dataset.providerKey] = input.value;
    });
    const password = fields.ingest_password.value;
    if (password) {
      if (password.length < 8 || password.trim() !== password) {
        errors.ingest_password = [t("Не короче 8 символов, без пробелов по краям.")];
      }
      payload.ingest_password = password;
    }
    showErrors(errors);
    return Object.keys(errors).length ? null : payload;
  }

  /** Field errors beside their fields; collapsed sections holding one open, the first gets focus. */
  function showErrors(errors) {
    const invalid = [...form.querySelectorAll("[data-provider-limit][aria-invalid]")]; // marked above
    showFieldErrors(form, errors);
    invalid.forEach((input) => input.setAttribute("aria-invalid", "true"));
    const slots = [...form.querySelectorAll("[data-error-for]")].filter((slot) => slot.textContent);
    slots.forEach((slot) => {
      const section = slot.closest("details");
      if (section) section.open = true;
    });
    if (slots.length) targetOf(slots[0]).focus();
  }

  /** The control an error message belongs to: its named field, else the first wrong one in its group. */
  function targetOf(slot) {
    const name = slot.dataset.errorFor;
    const named = form.querySelector(`[name="${name}"]`);
    if (named) return named;
    const group = slot.closest("[data-field-group]") || slot.parentElement;
    return group.querySelector("[aria-invalid]") || group.querySelector("input, select") || slot;
  }

  function showKey(name, key) {
    const stateLine = form.querySelector(`[data-key-state="${name}"]`);
    const when = key.configured && key.updated_at ? ` · ${formatTime(key.updated_at)}` : "";
    stateLine.textContent = (key.configured ? t("Задан") : t("Не задан")) + when;
    stateLine.classList.toggle("configured", key.configured);
    form.querySelector(`[data-remove-key="${name}"]`).hidden = !key.configured;
    form.querySelector(`[data-provider-key="${name}"]`).value = "";
  }

  /** The page drawn again from the server's answer, without a reload. */
  function show(current) {
    state.version = current.version;
    Object.entries(current.provider_keys).forEach(([name, key]) => showKey(name, key));
    if (current.ingest_password_rotated_at) {
      form.querySelector("[data-password-state]").textContent = fmt(
        "Последняя смена: %s, %s",
        formatTime(current.ingest_password_rotated_at),
        current.ingest_password_rotated_by || "—"
      );
    }
    fields.ingest_password.value = "";
  }

  function setDirty(value) {
    dirty = value;
    form.querySelector("[data-unsaved]").hidden = !value;
  }

  function showConflict() {
    const notice = document.querySelector("[data-conflict]");
    notice.hidden = false;
    notice.querySelector("[data-reload]").focus();
    toast(t("Настройки уже изменил кто-то другой — обновите страницу"), "error");
  }

  /** One PUT made to the version this page knows; true when it was stored. */
  async function save(payload, button) {
    try {
      const current = await busy(button, () => api("PUT", "/api/settings", { ...payload, version: state.version }));
      show(current);
      return true;
    } catch (error) {
      if (error.reason === "version_conflict") {
        showConflict();
        return false;
      }
      if (error.body && error.body.errors) showErrors(error.body.errors);
      toast(describe(error), "error");
      return false;
    }
  }

  /** Asks before what cannot be undone: a stored key overwritten, the booths' password changed. */
  async function confirmed(payload) {
    const replaced = Object.keys(payload.provider_keys).filter((name) =>
      form.querySelector(`[data-key-state="${name}"]`).classList.contains("configured")
    );
    if (replaced.length) {
      const names = replaced.map((name) => state.providers[name] || name).join(", ");
      const ok = await confirmAction(
        fmt("Заменить сохранённый ключ (%s)? Старый ключ перестанет действовать сразу.", names),
        t("Заменить")
      );
      if (!ok) return false;
    }
    if (payload.ingest_password) {
      return confirmAction(
        t("Сменить ingest-пароль? Фотобудки со старым паролем перестанут отправлять снимки."),
        t("Сменить")
      );
    }
    return true;
  }

  form.querySelector("[data-save]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const payload = collect();
    if (!payload) {
      toast(t("Проверьте выделенные поля."), "error");
      return;
    }
    if (!(await confirmed(payload))) return;
    if (await save(payload, button)) {
      setDirty(false);
      pulse(form);
      toast(t("Настройки сохранены"));
    }
  });

  form.querySelectorAll("[data-remove-key]").forEach((button) => {
    button.addEventListener("click", async () => {
      const name = button.dataset.removeKey;
      const label = state.providers[name] || name;
      if (!(await confirmAction(fmt("Удалить ключ %s? Слоты этого провайдера перестанут работать.", label), t("Удалить")))) {
        return;
      }
      if (await save({ provider_keys: { [name]: "" } }, button)) {
        toast(fmt("Ключ %s удалён", label));
        form.querySelector(`[data-provider-key="${name}"]`).focus();
      }
    });
  });

  function showBoothTimeout() {
    const seconds = Number(fields.sync_response_seconds.value);
    form.querySelector("[data-slider-value]").textContent = seconds;
    form.querySelector("[data-booth-timeout]").textContent = seconds + state.booth_timeout_margin;
  }

  fields.sync_response_seconds.addEventListener("input", showBoothTimeout);
  form.addEventListener("input", () => setDirty(true));
  form.addEventListener("change", () => setDirty(true));
  // Leaving with unsaved changes asks first (the browser shows its own wording).
  window.addEventListener("beforeunload", (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  document.querySelector("[data-reload]").addEventListener("click", () => {
    setDirty(false); // asked for: the reload is the way out of the conflict
    window.location.reload();
  });

  document.querySelector("[data-cleanup]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const ok = await confirmAction(
      t("Удалить просроченные результаты и временные файлы? Шаблоны и действующие результаты останутся."),
      t("Очистить")
    );
    if (!ok) return;
    toast(t("Очистка запланирована: будут удалены только устаревшие результаты"));
    try {
      const report = await busy(button, () => api("POST", "/api/media/cleanup"));
      toast(fmt("Удалено файлов: %s, освобождено %s МБ", report.files, (report.bytes / 1048576).toFixed(1)));
    } catch (error) {
      toast(describe(error), "error");
    }
  });
})();
