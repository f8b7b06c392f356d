/* Slot page: edit and save the slot, manage template images, run a test photo. */
(function () {
  "use strict";

  const { api, request, ApiError, describe, toast, pulse, confirmAction, busy, showFieldErrors, t, fmt } =
    window.PC;
  const state = JSON.parse(document.getElementById("slot-state").textContent);
  const form = document.getElementById("slot-form");
  const fields = form.elements;
  const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
  let dirty = false;
  let testFile = null;

  const driver = () => state.drivers[fields.provider.value];

  function setVersion(version) {
    state.version = version;
    document.querySelector("[data-version]").textContent = version;
  }

  function markDirty(value) {
    dirty = value;
    document.querySelector("[data-dirty-hint]").hidden = !value;
  }

  function fillOperations(current) {
    fields.operation.replaceChildren(
      ...Object.entries(driver().operations).map(
        ([name, label]) => new Option(label, name, false, name === current)
      )
    );
  }

  /** The prompt gets its own box; every other provider setting stays in the JSON box. */
  function showSettings(settings) {
    const key = driver().prompt_key;
    const rest = { ...settings };
    fields.prompt.value = key && typeof rest[key] === "string" ? rest[key] : "";
    if (key) delete rest[key];
    fields.settings.value = JSON.stringify(rest, null, 2);
    document.querySelector("[data-prompt-field]").classList.toggle("hidden", !key);
    const known = Object.keys(driver().schema.properties || {}).filter((name) => name !== key);
    document.querySelector("[data-schema-hint]").textContent = known.length
      ? fmt("Допустимые параметры: %s", known.join(", "))
      : "";
    document.querySelector("[data-model-name]").textContent = driver().label;
  }

  function numberOrNull(input) {
    return input.value === "" ? null : Number(input.value);
  }

  /** The PUT body, or null after showing what is wrong (checked before anything is sent). */
  function collect() {
    const errors = {};
    const key = driver().prompt_key;
    let settings = {};
    try {
      settings = JSON.parse(fields.settings.value || "{}");
      if (settings === null || typeof settings !== "object" || Array.isArray(settings)) throw new Error();
    } catch (ignored) {
      errors.settings = [t("Нужен JSON-объект, например {\"filter\": \"sepia\"}.")];
    }
    if (key && fields.prompt.value.trim()) settings[key] = fields.prompt.value.trim();
    if (key && (driver().schema.required || []).includes(key) && !settings[key]) {
      errors.prompt = [t("Для этой модели промпт обязателен.")];
    }
    if (!fields.display_name.value.trim()) errors.display_name = [t("Введите название.")];
    showFieldErrors(form, errors);
    if (Object.keys(errors).length) return null;
    return {
      version: state.version,
      display_name: fields.display_name.value.trim(),
      provider: fields.provider.value,
      operation: fields.operation.value,
      settings,
      is_active: fields.is_active.checked,
      sync_response_seconds: numberOrNull(fields.sync_response_seconds),
      size_limit_mb: numberOrNull(fields.size_limit_mb),
      output_format: fields.output_format.value,
    };
  }

  async function save(button) {
    const payload = collect();
    if (!payload) {
      toast(t("Проверьте выделенные поля."), "error");
      return;
    }
    try {
      const slot = await busy(button, () => api("PUT", state.urls.slot, payload));
      setVersion(slot.version);
      showSettings(slot.settings);
      document.querySelector("[data-slot-title]").textContent = slot.display_name;
      markDirty(false);
      pulse(form);
      toast(t("Сохранено"));
    } catch (error) {
      if (error instanceof ApiError && error.body.errors) showFieldErrors(form, error.body.errors);
      toast(describe(error), "error");
    }
  }

  function checkImage(file) {
    if (!IMAGE_TYPES.includes(file.type)) return t("Нужен файл JPEG, PNG или WEBP.");
    if (file.size > state.max_upload_mb * 1048576) return t("Файл больше допустимого размера.");
    return "";
  }

  /** Binds a drop zone to `onFile`; the hidden file input keeps it usable from the keyboard. */
  function bindDropzone(zone, onFile) {
    const input = zone.querySelector("input[type=file]");
    input.addEventListener("change", () => input.files[0] && onFile(input.files[0]));
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragover");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragover"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragover");
      if (event.dataTransfer.files[0]) onFile(event.dataTransfer.files[0]);
    });
  }

  function thumb(src, caption, onRemove) {
    const item = document.createElement("li");
    item.className = "thumb";
    const image = new Image();
    image.src = src;
    image.alt = caption;
    const label = document.createElement("span");
    label.className = "thumb-role";
    label.textContent = caption;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button danger small";
    remove.textContent = t("Убрать");
    remove.setAttribute("aria-label", fmt("Убрать: %s", caption));
    remove.addEventListener("click", () => onRemove(item, remove));
    item.append(image, label, remove);
    return item;
  }

  async function uploadTemplate(file) {
    const errorSlot = form.querySelector('[data-error-for="template_media"]');
    errorSlot.textContent = checkImage(file);
    if (errorSlot.textContent) return;
    const role = document.getElementById("template-role");
    const body = new FormData();
    body.append("slot_id", state.id);
    body.append("role", role.value);
    body.append("file", file);
    const zone = document.querySelector('[data-dropzone="template"]');
    zone.setAttribute("aria-busy", "true");
    try {
      const media = await api("POST", state.urls.register_template, body);
      setVersion(media.slot_version);
      const caption = role.options[role.selectedIndex].text;
      document.querySelector("[data-thumbs]").append(
        thumb(media.url, caption, (item, button) => removeTemplate(media.id, item, button))
      );
      toast(t("Шаблон загружен"));
    } catch (error) {
      errorSlot.textContent = describe(error);
      toast(describe(error), "error");
    } finally {
      zone.removeAttribute("aria-busy");
      zone.querySelector("input").value = "";
    }
  }

  async function removeTemplate(mediaId, item, button) {
    if (!(await confirmAction(t("Убрать этот шаблон из слота? Файл будет удалён."), t("Убрать")))) return;
    try {
      const result = await busy(button, () => api("DELETE", `/api/template-media/${mediaId}`));
      setVersion(result.slot_version);
      item.remove();
      toast(t("Шаблон убран"));
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  function chooseTestPhoto(file) {
    const errorSlot = document.querySelector("[data-test-error]");
    errorSlot.textContent = checkImage(file);
    const preview = document.querySelector("[data-test-preview]");
    preview.replaceChildren();
    testFile = errorSlot.textContent ? null : file;
    if (!testFile) return;
    preview.append(
      thumb(URL.createObjectURL(file), file.name, () => {
        testFile = null;
        preview.replaceChildren();
      })
    );
  }

  async function runTest(button) {
    const panel = document.getElementById("test-panel");
    if (!testFile) {
      document.getElementById("toggle-test").checked = true;
      document.getElementById("test-section").classList.remove("hidden");
      toast(t("Сначала выберите тестовое фото."), "error");
      return;
    }
    if (dirty && !(await confirmAction(t("Есть несохранённые изменения. Тест использует сохранённые настройки. Продолжить?"), t("Продолжить")))) {
      return;
    }
    const body = new FormData();
    body.append("test_image", testFile);
    const started = performance.now();
    pulse(panel);
    try {
      const response = await busy(button, () => request("POST", state.urls.test_run, body));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      showResult(URL.createObjectURL(await response.blob()), seconds, response.headers);
      toast(fmt("Готово за %s с", seconds));
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  function showResult(src, seconds, headers) {
    const box = document.querySelector("[data-result]");
    const image = box.querySelector("[data-result-image]");
    image.style.animation = "none";
    void image.offsetWidth; // restart the fade-in for every new result
    image.style.animation = "";
    image.src = src;
    box.querySelector("[data-result-latency]").textContent = fmt(
      "Время ответа: %s с · задача %s", seconds, headers.get("X-Job-Id") || "—"
    );
    box.querySelector("[data-result-link]").href = headers.get("X-Result-Url") || "#";
    box.classList.remove("hidden");
  }

  async function cleanup(button) {
    const ok = await confirmAction(
      t("Удалить файлы этого слота с истёкшим сроком хранения? Шаблоны и действующие результаты останутся."),
      t("Удалить")
    );
    if (!ok) return;
    try {
      const report = await busy(button, () => api("POST", state.urls.cleanup));
      toast(fmt("Удалено файлов: %s", report.files));
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  function bindToggle(toggleId, sectionId) {
    const toggle = document.getElementById(toggleId);
    toggle.addEventListener("change", () =>
      document.getElementById(sectionId).classList.toggle("hidden", !toggle.checked)
    );
  }

  fillOperations(fields.operation.dataset.current);
  showSettings(state.settings);
  fields.provider.addEventListener("change", () => {
    const prompt = fields.prompt.value;
    fillOperations(Object.keys(driver().operations)[0]);
    showSettings({});
    fields.prompt.value = prompt;
  });
  form.addEventListener("input", (event) => {
    if (event.target.name) markDirty(true); // unnamed inputs (toggles, uploads) are not slot fields
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });
  document.querySelectorAll("[data-thumbs] [data-remove]").forEach((button) => {
    const item = button.closest("[data-media-id]");
    button.addEventListener("click", () => removeTemplate(item.dataset.mediaId, item, button));
  });
  bindToggle("toggle-templates", "templates-section");
  bindToggle("toggle-test", "test-section");
  bindDropzone(document.querySelector('[data-dropzone="template"]'), uploadTemplate);
  bindDropzone(document.querySelector('[data-dropzone="test"]'), chooseTestPhoto);
  form.querySelector("[data-save]").addEventListener("click", (event) => save(event.currentTarget));
  document.querySelector("[data-test-run]").addEventListener("click", (event) => runTest(event.currentTarget));
  document.querySelector("[data-cleanup]").addEventListener("click", (event) => cleanup(event.currentTarget));
})();
