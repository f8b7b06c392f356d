/* Slot page: the slot's chain, print and gallery, saved after the server says what the slot's
   state will be; template images; a test photo shown exactly as the booth receives it. */
(function () {
  "use strict";

  const { api, request, ApiError, describe, toast, pulse, confirmAction, busy, showFieldErrors, t, fmt } =
    window.PC;
  const { ProviderEditor, el } = window.PCProviderForm;
  const state = JSON.parse(document.getElementById("slot-state").textContent);
  const form = document.getElementById("slot-form");
  const fields = form.elements;
  const $ = (selector) => document.querySelector(selector);
  const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const PROFILE_BOUNDS = { long_side: [Number(fields.long_side.min), Number(fields.long_side.max)], quality: [1, 100] };
  let saved = state.saved;
  let dirty = false;
  let testFile = null;
  let testFileUrl = "";

  const label = (provider) => (state.drivers[provider] || { label: provider }).label;

  function setVersion(version) {
    state.saved.version = version;
    saved.version = version;
    $("[data-version]").textContent = version;
  }

  function markDirty(value) {
    dirty = value;
    $("[data-dirty-hint]").hidden = !value;
  }

  /** dd.mm.yyyy HH:MM and the zone, in the zone the server's own pages use. */
  function formatTime(iso) {
    const options = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    let parts;
    try {
      parts = new Intl.DateTimeFormat("ru", { ...options, timeZone: state.time_zone }).formatToParts(new Date(iso));
    } catch (ignored) {
      parts = new Intl.DateTimeFormat("ru", options).formatToParts(new Date(iso)); // a zone the browser does not know
    }
    const part = Object.fromEntries(parts.map(({ type, value }) => [type, value]));
    return `${part.day}.${part.month}.${part.year} ${part.hour}:${part.minute} ${part.timeZoneName}`;
  }

  // --- the chain: the slot's own provider and up to two fallbacks ------------------------------

  function editorNames(prefix, general) {
    return {
      provider: `${prefix}provider`,
      operation: `${prefix}operation`,
      json: `${prefix}settings_json`,
      general,
    };
  }

  function editorChanged(editor) {
    editor.showStatus(null);
    markDirty(true);
  }

  const primaryBox = $("[data-primary-editor]");
  const primary = new ProviderEditor({
    prefix: "",
    link: saved,
    drivers: state.drivers,
    names: editorNames("", "settings"),
    onChange: editorChanged,
    head: primaryBox.querySelector("[data-link-head]"),
  });
  primaryBox.append(primary.root);

  const fallbackList = $("[data-fallbacks]");
  const addButton = $("[data-add-fallback]");
  let fallbacks = [];
  let fallbackSerial = 0;

  function addFallback(link) {
    fallbackSerial += 1;
    const prefix = `fb${fallbackSerial}-`;
    const editor = new ProviderEditor({
      prefix,
      link,
      drivers: state.drivers,
      names: editorNames(prefix, `${prefix}settings`),
      onChange: editorChanged,
    });
    const button = (text, kind) => el("button", { type: "button", class: `button ${kind} small`, text });
    const entry = { editor, legend: el("legend"), up: button(t("Выше"), "secondary"), down: button(t("Ниже"), "secondary") };
    entry.remove = button(t("Убрать"), "danger");
    entry.item = el(
      "li",
      { class: "fallback" },
      el("fieldset", {}, entry.legend, el("div", { class: "fallback-tools" }, entry.up, entry.down, entry.remove), editor.root)
    );
    entry.up.addEventListener("click", () => moveFallback(entry, -1));
    entry.down.addEventListener("click", () => moveFallback(entry, 1));
    entry.remove.addEventListener("click", () => removeFallback(entry));
    fallbacks.push(entry);
    fallbackList.append(entry.item);
    renumber();
    return entry;
  }

  function renumber() {
    fallbacks.forEach((entry, index) => {
      const number = index + 1;
      entry.legend.textContent = fmt("Запасной провайдер %s", number);
      entry.up.disabled = index === 0;
      entry.down.disabled = index === fallbacks.length - 1;
      entry.up.setAttribute("aria-label", fmt("Запасной провайдер %s: поднять выше", number));
      entry.down.setAttribute("aria-label", fmt("Запасной провайдер %s: опустить ниже", number));
      entry.remove.setAttribute("aria-label", fmt("Убрать запасной провайдер %s", number));
    });
    addButton.classList.toggle("hidden", fallbacks.length >= state.max_fallbacks);
  }

  function moveFallback(entry, step) {
    const from = fallbacks.indexOf(entry);
    const to = from + step;
    if (to < 0 || to >= fallbacks.length) return;
    [fallbacks[from], fallbacks[to]] = [fallbacks[to], fallbacks[from]];
    fallbackList.replaceChildren(...fallbacks.map((item) => item.item));
    renumber();
    fallbacks.forEach((item) => item.editor.showStatus(null));
    const button = step < 0 ? entry.up : entry.down;
    (button.disabled ? entry.remove : button).focus();
    markDirty(true);
  }

  function removeFallback(entry) {
    fallbacks = fallbacks.filter((item) => item !== entry);
    entry.item.remove();
    renumber();
    fallbacks.forEach((item) => item.editor.showStatus(null));
    addButton.focus();
    markDirty(true);
  }

  function loadChain(slot) {
    primary.load(slot);
    fallbacks.forEach((entry) => entry.item.remove());
    fallbacks = [];
    (slot.fallbacks || []).forEach((link) => addFallback(link));
    renumber();
    showChainStatus(slot.chain_status || []);
  }

  function showChainStatus(links) {
    [primary, ...fallbacks.map((entry) => entry.editor)].forEach((editor, index) => {
      editor.statusPending = false;
      editor.showStatus(links[index] || null);
    });
  }

  // --- the state pill, the same as the dashboard's --------------------------------------------

  function showState(detail) {
    const pill = $("[data-state-pill]");
    pill.className = `pill ${detail.status}`;
    pill.textContent = detail.status_label;
    $("[data-state-reasons]").replaceChildren(...detail.status_reasons.map((text) => el("li", { text })));
  }

  // --- print: size, aspect, overlay, QR code ---------------------------------------------------

  function loadProfile(profile) {
    const stored = profile && typeof profile === "object" ? profile : {};
    const values = { ...state.profile_defaults, ...stored };
    const preset = Object.keys(state.presets).find(
      (name) => state.presets[name].aspect === values.aspect && state.presets[name].long_side === values.long_side
    );
    fields.print_preset.value = Object.keys(stored).length === 0 ? "" : preset || "custom";
    fields.aspect.value = values.aspect;
    fields.long_side.value = values.long_side ?? "";
    fields.fit.value = values.fit;
    fields.pad_color.value = values.pad_color;
    fields.quality.value = values.quality;
    fields.sharpen.checked = values.sharpen;
    showProfile();
  }

  function choosePreset() {
    const preset = state.presets[fields.print_preset.value];
    if (preset) {
      fields.aspect.value = preset.aspect;
      fields.long_side.value = preset.long_side;
      fields.sharpen.checked = preset.sharpen;
    }
    showProfile();
  }

  function showProfile() {
    const choice = fields.print_preset.value;
    $("[data-custom-size]").classList.toggle("hidden", choice !== "custom");
    $("[data-profile-options]").classList.toggle("hidden", choice === "");
    $("[data-pad-field]").classList.toggle("hidden", fields.fit.value !== "pad");
    $("[data-pad-value]").textContent = fields.pad_color.value;
    fields.qr_caption.disabled = !fields.qr_corner.value;
    $("[data-print-size]").textContent = printSize(choice);
  }

  function printSize(choice) {
    if (choice === "") return t("Размер и пропорции — как у ответа провайдера.");
    const ratio = state.aspects[fields.aspect.value];
    const longSide = Number(fields.long_side.value) || 0;
    if (!ratio) {
      return longSide
        ? fmt("Пропорции снимка, длинная сторона %s px.", longSide)
        : t("Пропорции снимка, длинная сторона — как у ответа провайдера.");
    }
    if (!longSide) return fmt("Пропорции %s, длинная сторона — как у ответа провайдера.", fields.aspect.value);
    const [width, height] = ratio;
    const size = width >= height ? [longSide, Math.round((longSide * height) / width)] : [Math.round((longSide * width) / height), longSide];
    return fmt("Отпечаток %s × %s px: рамку-наложение готовьте этого размера.", size[0], size[1]);
  }

  function wholeNumber(input, bounds, message, errors) {
    if (input.value === "" && !input.validity.badInput) return null;
    const value = Number(input.value);
    if (input.validity.badInput || !Number.isInteger(value) || value < bounds[0] || value > bounds[1]) {
      errors[input.name] = [fmt(message, bounds[0], bounds[1])];
    }
    return value;
  }

  function profileValue(errors) {
    if (fields.print_preset.value === "") return {};
    const longSide = wholeNumber(fields.long_side, PROFILE_BOUNDS.long_side, "Длинная сторона — целое число от %s до %s px или пусто (как у ответа).", errors);
    const quality = wholeNumber(fields.quality, PROFILE_BOUNDS.quality, "Качество — целое число от %s до %s.", errors);
    if (quality === null) errors.quality = [t("Укажите качество от 1 до 100.")];
    return {
      aspect: fields.aspect.value,
      long_side: longSide,
      fit: fields.fit.value,
      pad_color: fields.pad_color.value,
      sharpen: fields.sharpen.checked,
      quality,
    };
  }

  // --- gallery -----------------------------------------------------------------------------------

  function showGallery(slot) {
    const url = slot.gallery_url;
    $("[data-gallery-box]").classList.toggle("hidden", !url);
    $("[data-gallery-off]").classList.toggle("hidden", Boolean(url));
    const keyed = slot.gallery_visibility === "token";
    $("[data-rotate-token]").classList.toggle("hidden", !keyed);
    $("[data-token-hint]").classList.toggle("hidden", !keyed);
    if (!url) return;
    document.getElementById("gallery-url").value = url;
    $("[data-gallery-link]").href = url;
    $("[data-gallery-qr]").src = `${state.urls.gallery_qr}?v=${slot.version}`;
  }

  async function rotateToken(button) {
    const ok = await confirmAction(
      t("Сменить ключ галереи? Старая ссылка и QR-код перестанут открывать галерею: раздайте гостям новые."),
      t("Сменить ключ")
    );
    if (!ok) return;
    try {
      const result = await busy(button, () => api("POST", state.urls.gallery_token));
      setVersion(result.version);
      showGallery({ ...saved, gallery_url: result.gallery_url, version: result.version });
      toast(t("Ключ галереи сменён: старые ссылки больше не открываются"));
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  // --- saving ------------------------------------------------------------------------------------

  function addErrors(errors, more) {
    Object.entries(more).forEach(([name, messages]) => {
      errors[name] = (errors[name] || []).concat(messages);
    });
  }

  /** Opens the collapsed sections holding a field with an error, so it can be seen and focused. */
  function reveal(errors) {
    Object.keys(errors).forEach((name) => {
      const target = form.querySelector(`[name="${name}"]`) || form.querySelector(`[data-error-for="${name}"]`);
      const details = target && target.closest("details");
      if (details) details.open = true;
    });
  }

  /** The PUT body, or null after showing what is wrong (checked before anything is sent). */
  function collect() {
    const errors = {};
    addErrors(errors, primary.errors());
    fallbacks.forEach((entry) => addErrors(errors, entry.editor.errors()));
    if (!fields.display_name.value.trim()) errors.display_name = [t("Введите название.")];
    const payload = {
      version: saved.version,
      display_name: fields.display_name.value.trim(),
      is_active: fields.is_active.checked,
      ...primary.value(),
      fallbacks: fallbacks.map((entry) => entry.editor.value()),
      last_resort: fields.last_resort.value,
      output_format: fields.output_format.value,
      output_profile: profileValue(errors),
      qr_corner: fields.qr_corner.value,
      qr_caption: fields.qr_caption.checked,
      gallery_visibility: fields.gallery_visibility.value,
      sync_response_seconds: wholeNumber(fields.sync_response_seconds, [10, 60], "Окно ожидания — от %s до %s с или пусто (общее).", errors),
      size_limit_mb: wholeNumber(fields.size_limit_mb, [1, 50], "Лимит файла — от %s до %s МБ или пусто (общий).", errors),
    };
    reveal(errors);
    showFieldErrors(form, errors);
    return Object.keys(errors).length ? null : payload;
  }

  /** What a live slot's staff must agree to before it is saved; false when they decline. */
  async function confirmChanges(payload, check) {
    const questions = [];
    if (saved.is_active && !payload.is_active) {
      questions.push([
        t("Отключить работающий слот? Фотобудка будет получать ошибку вместо обработки и печатать оригиналы, пока слот снова не включат."),
        t("Отключить"),
      ]);
    }
    if (saved.is_active && payload.provider !== saved.provider) {
      const from = label(saved.provider);
      const to = label(payload.provider);
      questions.push([fmt("Сменить провайдера работающего слота: %s → %s? Следующие снимки с фотобудки пойдут через %s.", from, to, to), t("Сменить")]);
    }
    if (payload.is_active && check.status === "not_ready") {
      questions.push([fmt("Слот не готов — %s. Всё равно сохранить?", check.status_reasons.join("; ")), t("Сохранить")]);
    }
    for (const [message, confirmLabel] of questions) {
      if (!(await confirmAction(message, confirmLabel))) return false;
    }
    return true;
  }

  function applySaved(slot) {
    saved = { ...slot };
    state.saved = saved;
    setVersion(slot.version);
    $("[data-slot-title]").textContent = slot.display_name;
    $("[data-model-name]").textContent = label(slot.provider);
    const who = slot.updated_by ? fmt(" · изменён %s, %s", formatTime(slot.updated_at), slot.updated_by) : "";
    $("[data-updated]").textContent = who;
    showState(slot);
    loadChain(slot);
    loadProfile(slot.output_profile);
    showGallery(slot);
    markDirty(false);
  }

  async function save(button) {
    const payload = collect();
    if (!payload) {
      toast(t("Проверьте выделенные поля."), "error");
      return;
    }
    try {
      const slot = await busy(button, async () => {
        const check = await api("POST", state.urls.validate, payload);
        if (!(await confirmChanges(payload, check))) return null;
        return api("PUT", state.urls.slot, payload);
      });
      if (!slot) return;
      applySaved(slot);
      pulse(form);
      toast(t("Сохранено"));
    } catch (error) {
      if (error instanceof ApiError && error.body.errors) {
        reveal(error.body.errors);
        showFieldErrors(form, error.body.errors);
      }
      toast(describe(error), "error");
    }
  }

  /** The slot as the server has it now: after a template image came or went. */
  async function refresh() {
    const slot = await api("GET", state.urls.slot);
    setVersion(slot.version);
    showState(slot);
    if (!dirty) showChainStatus(slot.chain_status); // else the links on screen are not those saved
  }

  // --- template images ---------------------------------------------------------------------------

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
    const image = el("img", { src, alt: caption });
    const remove = el("button", { type: "button", class: "button danger small", text: t("Убрать"), "aria-label": fmt("Убрать: %s", caption) });
    const item = el("li", { class: "thumb" }, image, el("span", { class: "thumb-role", text: caption }), remove);
    remove.addEventListener("click", () => onRemove(item, remove));
    return item;
  }

  async function uploadTemplate(file) {
    const errorSlot = form.querySelector('[data-error-for="template_media"]');
    errorSlot.textContent = checkImage(file);
    if (errorSlot.textContent) return;
    const role = document.getElementById("template-role");
    const body = new FormData();
    body.append("slot_id", saved.id);
    body.append("role", role.value);
    body.append("file", file);
    const zone = $('[data-dropzone="template"]');
    zone.setAttribute("aria-busy", "true");
    try {
      const media = await api("POST", state.urls.register_template, body);
      setVersion(media.slot_version);
      const caption = role.options[role.selectedIndex].text;
      $("[data-thumbs]").append(thumb(media.url, caption, (item, button) => removeTemplate(media.id, item, button)));
      toast(t("Шаблон загружен"));
      await refresh();
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
      await refresh();
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  // --- the test photo: before and after, the print's size and warnings ---------------------------

  function chooseTestPhoto(file) {
    const errorSlot = $("[data-test-error]");
    errorSlot.textContent = checkImage(file);
    const preview = $("[data-test-preview]");
    preview.replaceChildren();
    if (testFileUrl) URL.revokeObjectURL(testFileUrl);
    testFile = errorSlot.textContent ? null : file;
    testFileUrl = testFile ? URL.createObjectURL(file) : "";
    if (!testFile) return;
    preview.append(
      thumb(testFileUrl, file.name, () => {
        testFile = null;
        preview.replaceChildren();
      })
    );
  }

  async function runTest(button) {
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
    pulse(document.getElementById("test-panel"));
    try {
      const response = await busy(button, () => request("POST", state.urls.test_run, body));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const blob = await response.blob();
      showResult(blob, seconds, response.headers);
      toast(fmt("Готово за %s с", seconds));
      showWarnings(response.headers.get("X-Job-Id"));
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  function showSize(image, target, format) {
    const write = () => (target.textContent = format(image.naturalWidth, image.naturalHeight));
    if (image.complete && image.naturalWidth) write();
    else image.addEventListener("load", write, { once: true });
  }

  function showResult(blob, seconds, headers) {
    const box = $("[data-result]");
    const image = box.querySelector("[data-result-image]");
    const before = box.querySelector("[data-before-image]");
    image.getAnimations().forEach((animation) => {
      animation.cancel(); // the fade-in again, for every new result
      animation.play();
    });
    const kind = (blob.type.split("/")[1] || "").toUpperCase();
    const kilobytes = Math.max(1, Math.round(blob.size / 1024));
    showSize(image, box.querySelector("[data-result-size]"), (width, height) =>
      fmt("Отпечаток: %s × %s px · %s · %s КБ", width, height, kind, kilobytes)
    );
    showSize(before, box.querySelector("[data-before-size]"), (width, height) => fmt("(%s × %s px)", width, height));
    if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(blob);
    before.src = testFileUrl;
    box.querySelector("[data-result-latency]").textContent = fmt(
      "Время ответа: %s с · задача %s", seconds, headers.get("X-Job-Id") || "—"
    );
    box.querySelector("[data-result-link]").href = headers.get("X-Result-Url") || "#";
    box.querySelector("[data-result-warnings]").classList.add("hidden");
    box.classList.remove("hidden");
  }

  // The print's warnings are notes for operators in English (media/output.py); the known ones
  // read in Russian here, anything else as it is.
  const WARNINGS = [
    [/^answer of (\d+)x(\d+) px enlarged ([\d.]+)x to (\d+)x(\d+): the print will look soft$/, "Ответ провайдера %s×%s px увеличен в %s раза до %s×%s px: отпечаток может выглядеть нерезким."],
    [/^overlay of (\d+)x(\d+) px stretched to the (\d+)x(\d+) print: upload it at the print's aspect$/, "Рамка %s×%s px растянута до отпечатка %s×%s px: загрузите её в пропорциях отпечатка."],
    [/^the ICC profile could not be applied: colours taken as sRGB$/, "Цветовой профиль ответа не удалось применить: цвета взяты как sRGB."],
    [/^overlay left out: (.*)$/, "Рамка не наложена: %s"],
  ];

  function warningText(note) {
    for (const [pattern, text] of WARNINGS) {
      const match = note.match(pattern);
      if (match) return fmt(text, ...match.slice(1));
    }
    return note;
  }

  async function showWarnings(jobId) {
    if (!jobId) return;
    try {
      const job = await api("GET", state.urls.job.replace("JOB_ID", jobId));
      const box = $("[data-result-warnings]");
      box.querySelector("ul").replaceChildren(...(job.warnings || []).map((note) => el("li", { text: warningText(note) })));
      box.classList.toggle("hidden", !(job.warnings || []).length);
    } catch (ignored) {
      // The result is shown already; its warnings are a bonus the page can do without.
    }
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

  (saved.fallbacks || []).forEach((link) => addFallback(link));
  renumber();
  showChainStatus(saved.chain_status || []);
  loadProfile(saved.output_profile);
  addButton.addEventListener("click", () => {
    const first = Object.keys(state.drivers)[0];
    const entry = addFallback({ provider: first, operation: "", settings: {} });
    entry.editor.showStatus(null);
    entry.editor.providerSelect.focus();
    markDirty(true);
  });
  fields.print_preset.addEventListener("change", choosePreset);
  ["aspect", "long_side", "fit", "pad_color", "qr_corner"].forEach((name) => fields[name].addEventListener("input", showProfile));
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
  bindDropzone($('[data-dropzone="template"]'), uploadTemplate);
  bindDropzone($('[data-dropzone="test"]'), chooseTestPhoto);
  form.querySelector("[data-save]").addEventListener("click", (event) => save(event.currentTarget));
  $("[data-rotate-token]").addEventListener("click", (event) => rotateToken(event.currentTarget));
  $("[data-test-run]").addEventListener("click", (event) => runTest(event.currentTarget));
  $("[data-cleanup]").addEventListener("click", (event) => cleanup(event.currentTarget));
})();
