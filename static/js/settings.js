/* Settings page: save global settings (secrets write-only) and clean the media cache. */
(function () {
  "use strict";

  const { api, describe, toast, pulse, confirmAction, busy, showFieldErrors, t, fmt } = window.PC;
  const form = document.getElementById("settings-form");
  const fields = form.elements;
  const NUMBERS = ["sync_response_seconds", "result_ttl_hours", "max_upload_mb", "gallery_size", "per_slot_concurrency"];

  function collect() {
    const errors = {};
    const payload = { hash_check: fields.hash_check.value, per_provider_concurrency: {}, provider_keys: {} };
    NUMBERS.forEach((name) => {
      const input = fields[name];
      if (!input.checkValidity()) errors[name] = [input.validationMessage];
      payload[name] = Number(input.value);
    });
    form.querySelectorAll("[data-provider-limit]").forEach((input) => {
      if (!input.checkValidity()) errors.per_provider_concurrency = [input.validationMessage];
      payload.per_provider_concurrency[input.dataset.providerLimit] = Number(input.value);
    });
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
    showFieldErrors(form, errors);
    return Object.keys(errors).length ? null : payload;
  }

  function showSecrets(current) {
    Object.entries(current.provider_keys).forEach(([name, key]) => {
      const state = form.querySelector(`[data-key-state="${name}"]`);
      state.textContent = key.configured ? t("Задан") : t("Не задан");
      state.classList.toggle("configured", key.configured);
      form.querySelector(`[data-provider-key="${name}"]`).value = "";
    });
    if (current.ingest_password_rotated_at) {
      form.querySelector("[data-password-state]").textContent = fmt(
        "Последняя смена: %s, %s",
        PC.formatTime(current.ingest_password_rotated_at),
        current.ingest_password_rotated_by || "—"
      );
    }
    fields.ingest_password.value = "";
  }

  async function save(payload, button) {
    try {
      const current = await busy(button, () => api("PUT", "/api/settings", payload));
      showSecrets(current);
      pulse(form);
      toast(t("Настройки сохранены"));
    } catch (error) {
      if (error.body && error.body.errors) showFieldErrors(form, error.body.errors);
      toast(describe(error), "error");
    }
  }

  form.querySelector("[data-save]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const payload = collect();
    if (!payload) {
      toast(t("Проверьте выделенные поля."), "error");
      return;
    }
    if (payload.ingest_password) {
      const ok = await confirmAction(
        t("Сменить ingest-пароль? Фотобудки со старым паролем перестанут отправлять снимки."),
        t("Сменить")
      );
      if (!ok) return;
    }
    save(payload, button);
  });

  form.querySelectorAll("[data-remove-key]").forEach((button) => {
    button.addEventListener("click", async () => {
      const name = button.dataset.removeKey;
      if (!(await confirmAction(fmt("Удалить ключ %s? Слоты этого провайдера перестанут работать.", name), t("Удалить")))) {
        return;
      }
      await save({ provider_keys: { [name]: "" } }, button);
      button.remove();
    });
  });

  const slider = fields.sync_response_seconds;
  slider.addEventListener("input", () => {
    form.querySelector("[data-slider-value]").textContent = slider.value;
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
