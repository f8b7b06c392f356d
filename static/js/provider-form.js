/* Provider settings forms built from each driver's JSON Schema, and the editor of one link of a
   slot's chain (provider, operation, settings). The schema's presentation keys (title,
   description, default, x-enum-labels, x-operations, x-step, x-pattern-hint) are described in
   CONTRIBUTING.md; the checks and their Russian words are the server's (slots/schema_messages.py). */
(function () {
  "use strict";

  const { t, fmt } = window.PC;
  const COLOUR = "^#[0-9a-fA-F]{6}$";
  const TYPE_NAMES = {
    string: "текст",
    integer: "целое число",
    number: "число",
    boolean: "да или нет",
    object: "объект",
    array: "список",
    null: "пустое значение",
  };
  const SHOWN_MAX = 40;
  const TEXTAREA_FROM = 200; // a string allowed to be longer than this gets a text area

  /** An element with attributes (`text` sets its text) and children; never a style attribute. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => {
      if (value === false || value === undefined || value === null) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  const shown = (value) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length <= SHOWN_MAX ? text : text.slice(0, SHOWN_MAX - 1) + "…";
  };
  const characters = (n) => (n % 10 === 1 && n % 100 !== 11 ? t("символа") : t("символов"));
  const hint = (prop) => (prop["x-pattern-hint"] ? ` (${prop["x-pattern-hint"]})` : "");
  const types = (prop) => [].concat(prop.type || []);

  function typeFits(type, value) {
    const checks = {
      string: () => typeof value === "string",
      integer: () => Number.isInteger(value),
      number: () => typeof value === "number" && Number.isFinite(value),
      boolean: () => typeof value === "boolean",
      object: () => value !== null && typeof value === "object" && !Array.isArray(value),
      array: () => Array.isArray(value),
      null: () => value === null,
    };
    return checks[type] ? checks[type]() : true;
  }

  function boundsProblem(prop, title, value) {
    const low = prop.minimum ?? prop.exclusiveMinimum;
    const high = prop.maximum ?? prop.exclusiveMaximum;
    const under =
      (prop.minimum !== undefined && value < prop.minimum) ||
      (prop.exclusiveMinimum !== undefined && value <= prop.exclusiveMinimum);
    const over =
      (prop.maximum !== undefined && value > prop.maximum) ||
      (prop.exclusiveMaximum !== undefined && value >= prop.exclusiveMaximum);
    if (!under && !over) return "";
    if (low !== undefined && high !== undefined) return fmt("%s: от %s до %s, а не %s.", title, low, high, value);
    if (low !== undefined) return fmt("%s: не меньше %s, а не %s.", title, low, value);
    return fmt("%s: не больше %s, а не %s.", title, high, value);
  }

  function textProblem(prop, title, value) {
    const length = [...value].length; // code points, as the server counts
    if (prop.minLength !== undefined && length < prop.minLength) {
      return prop.minLength === 1
        ? fmt("%s: заполните поле.", title)
        : fmt("%s: не короче %s %s.", title, prop.minLength, characters(prop.minLength));
    }
    if (prop.maxLength !== undefined && length > prop.maxLength) {
      return fmt("%s: не длиннее %s %s (сейчас %s).", title, prop.maxLength, characters(prop.maxLength), length);
    }
    if (prop.pattern && !new RegExp(prop.pattern, "u").test(value)) {
      return prop.pattern === COLOUR
        ? fmt("%s: нужен цвет вида #rrggbb, а не «%s».", title, shown(value))
        : fmt("%s: «%s» — неверный формат%s.", title, shown(value), hint(prop));
    }
    return "";
  }

  /** What is wrong with `value` for the schema property `prop`, in the server's words, or "". */
  function problem(prop, key, value) {
    const title = prop.title || key;
    if (prop.anyOf) {
      const fits = prop.anyOf.some((branch) => !problem(branch, key, value));
      return fits ? "" : fmt("%s: недопустимое значение «%s»%s.", title, shown(value), hint(prop));
    }
    if (types(prop).length && !types(prop).some((type) => typeFits(type, value))) {
      const names = types(prop).map((type) => t(TYPE_NAMES[type] || type)).join(t(" или "));
      return fmt("%s: ожидается %s, а не «%s».", title, names, shown(value));
    }
    if (prop.enum && !prop.enum.includes(value)) {
      const labels = prop["x-enum-labels"] || {};
      const options = prop.enum.map((option) => labels[option] || option).join(", ");
      return fmt("%s: значения «%s» нет, выберите: %s.", title, shown(value), options);
    }
    if (typeof value === "string") return textProblem(prop, title, value);
    if (typeof value === "number") return boundsProblem(prop, title, value);
    return "";
  }

  /** The control a property gets: its prompt a text area, enums a list, #rrggbb a colour… */
  function widgetFor(prop, key, promptKey) {
    const type = types(prop)[0];
    if (key === promptKey) return "textarea";
    if (prop.enum) return "select";
    if (prop.anyOf) return "suggest";
    if (type === "boolean") return "checkbox";
    if (type === "integer" || type === "number") {
      const slider = prop["x-step"] !== undefined && prop.minimum !== undefined && prop.maximum !== undefined;
      return slider ? "range" : "number";
    }
    if (prop.pattern === COLOUR) return "colour";
    return (prop.maxLength || 0) > TEXTAREA_FROM ? "textarea" : "text";
  }

  const appliesTo = (prop, operation) => !prop["x-operations"] || prop["x-operations"].includes(operation);

  /** The settings fields of one driver: renders them, keeps `settings` in step, checks them. */
  class SettingsForm {
    constructor(container, { prefix, schema, promptKey, onChange }) {
      this.container = container;
      this.prefix = prefix;
      this.schema = schema;
      this.promptKey = promptKey;
      this.onChange = onChange;
      this.settings = {};
      this.unreadable = new Set(); // number fields holding text that is not a number
    }

    get properties() {
      return this.schema.properties || {};
    }

    nameOf(key) {
      return key === this.promptKey ? `${this.prefix}prompt` : `${this.prefix}s-${key}`;
    }

    render(settings, operation) {
      this.settings = { ...settings };
      this.unreadable.clear();
      const keys = Object.keys(this.properties);
      // The prompt first: it is what staff write most.
      keys.sort((a, b) => (b === this.promptKey) - (a === this.promptKey));
      this.container.replaceChildren(...keys.map((key) => this.field(key)));
      this.showFor(operation);
    }

    showFor(operation) {
      this.operation = operation;
      Object.entries(this.properties).forEach(([key, prop]) => {
        const box = this.container.querySelector(`[data-setting="${key}"]`);
        if (box) box.classList.toggle("hidden", !appliesTo(prop, operation));
      });
    }

    field(key) {
      const prop = this.properties[key];
      const name = this.nameOf(key);
      const widget = widgetFor(prop, key, this.promptKey);
      const described = [prop.description ? `${name}-hint` : null, `${name}-error`].filter(Boolean).join(" ");
      const control = this.control(widget, key, prop, name, described);
      const required = (this.schema.required || []).includes(key);
      const title = prop.title || key;
      const label =
        widget === "checkbox"
          ? null
          : el("label", { for: name }, title, required ? el("span", { class: "required", text: " *", "aria-hidden": "true" }) : null);
      return el(
        "div",
        { class: `field setting setting-${widget}`, "data-setting": key },
        label,
        control,
        prop.description ? el("p", { class: "hint", id: `${name}-hint`, text: prop.description }) : null,
        el("p", { class: "field-error", id: `${name}-error`, "data-error-for": name })
      );
    }

    control(widget, key, prop, name, described) {
      const value = this.settings[key];
      const present = Object.prototype.hasOwnProperty.call(this.settings, key);
      const common = { id: name, name, "aria-describedby": described, "data-key": key };
      const builders = {
        textarea: () => this.textControl(el("textarea", { ...common, maxlength: prop.maxLength }), key, value),
        text: () => this.textControl(el("input", { ...common, type: "text", maxlength: prop.maxLength }), key, value),
        suggest: () => this.suggestControl(common, key, prop, value),
        select: () => this.selectControl(common, key, prop, present ? value : undefined),
        checkbox: () => this.checkboxControl(common, key, prop, present ? value : prop.default),
        colour: () => this.colourControl(common, key, present ? value : prop.default),
        range: () => this.rangeControl(common, key, prop, present ? value : prop.default ?? prop.minimum),
        number: () => this.numberControl(common, key, prop, value),
      };
      return builders[widget]();
    }

    set(key, value) {
      if (value === undefined) delete this.settings[key];
      else this.settings[key] = value;
      this.onChange();
    }

    textControl(input, key, value) {
      input.value = typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);
      input.addEventListener("input", () => this.set(key, input.value === "" ? undefined : input.value));
      return input;
    }

    suggestControl(common, key, prop, value) {
      const listId = `${common.id}-options`;
      const input = this.textControl(el("input", { ...common, type: "text", list: listId, autocomplete: "off" }), key, value);
      input.placeholder = t("по умолчанию");
      const labels = prop["x-enum-labels"] || {};
      const known = (prop.anyOf.find((branch) => branch.enum) || { enum: [] }).enum;
      const list = el("datalist", { id: listId }, ...known.map((option) => el("option", { value: option, label: labels[option] || option })));
      return el("div", { class: "suggest" }, input, list);
    }

    selectControl(common, key, prop, value) {
      const labels = prop["x-enum-labels"] || {};
      const fallback = prop.default !== undefined ? fmt("По умолчанию — %s", labels[prop.default] || prop.default) : t("Не задано");
      const select = el("select", common, el("option", { value: "", text: fallback }));
      prop.enum.forEach((option, index) => {
        select.append(el("option", { value: String(index), text: labels[option] || String(option) }));
      });
      const index = prop.enum.indexOf(value);
      select.value = index >= 0 ? String(index) : "";
      if (value !== undefined && index < 0) {
        // A stored value the schema no longer lists stays visible (and is refused on save).
        select.append(el("option", { value: "stored", text: String(value) }));
        select.value = "stored";
      }
      select.addEventListener("change", () => {
        if (select.value === "stored") return;
        this.set(key, select.value === "" ? undefined : prop.enum[Number(select.value)]);
      });
      return select;
    }

    checkboxControl(common, key, prop, value) {
      const box = el("input", { ...common, type: "checkbox" });
      box.checked = value === true;
      box.addEventListener("change", () => this.set(key, box.checked));
      return el("label", { class: "switch" }, box, el("span", { class: "track", "aria-hidden": "true" }), prop.title || key);
    }

    colourControl(common, key, value) {
      const input = el("input", { ...common, type: "color" });
      input.value = typeof value === "string" && new RegExp(COLOUR).test(value) ? value.toLowerCase() : "#000000";
      const code = el("code", { class: "colour-value", "aria-hidden": "true", text: input.value });
      input.addEventListener("input", () => {
        code.textContent = input.value;
        this.set(key, input.value);
      });
      return el("div", { class: "inline-control" }, input, code);
    }

    rangeControl(common, key, prop, value) {
      const input = el("input", { ...common, type: "range", min: prop.minimum, max: prop.maximum, step: prop["x-step"] });
      input.value = String(typeof value === "number" ? value : prop.minimum);
      const output = el("output", { class: "slider-value", for: common.id, text: input.value });
      input.addEventListener("input", () => {
        output.textContent = input.value;
        this.set(key, Number(input.value));
      });
      return el("div", { class: "inline-control" }, input, output);
    }

    numberControl(common, key, prop, value) {
      const integer = types(prop).includes("integer");
      const input = el("input", {
        ...common,
        type: "number",
        min: prop.minimum,
        max: prop.maximum,
        step: integer ? 1 : "any",
        inputmode: integer ? "numeric" : "decimal",
      });
      input.value = typeof value === "number" ? String(value) : "";
      if (prop.default !== undefined) input.placeholder = fmt("по умолчанию: %s", prop.default);
      input.addEventListener("input", () => {
        const unreadable = input.validity.badInput;
        this.unreadable[unreadable ? "add" : "delete"](key);
        this.set(key, input.value === "" || unreadable ? undefined : Number(input.value));
      });
      return input;
    }

    /** The settings to send: text trimmed, empty text left out. */
    value() {
      const settings = {};
      Object.entries(this.settings).forEach(([key, value]) => {
        const text = typeof value === "string" ? value.trim() : value;
        if (text !== "") settings[key] = text;
      });
      return settings;
    }

    /** Field name → messages; problems of hidden fields (other operations) go under `general`. */
    errors(general) {
      const errors = {};
      const add = (key, message) => {
        const prop = this.properties[key];
        const visible = prop && appliesTo(prop, this.operation);
        const name = visible ? this.nameOf(key) : general;
        errors[name] = (errors[name] || []).concat(message);
      };
      const settings = this.value();
      this.unreadable.forEach((key) => add(key, fmt("%s: введите число.", this.properties[key].title || key)));
      (this.schema.required || []).forEach((key) => {
        if (!(key in settings)) add(key, fmt("Заполните обязательное поле «%s».", this.properties[key]?.title || key));
      });
      Object.entries(settings).forEach(([key, value]) => {
        const prop = this.properties[key];
        if (!prop) {
          const allowed = Object.keys(this.properties).join(", ") || t("никаких");
          add(key, fmt("Неизвестный параметр: %s. Допустимые параметры: %s.", key, allowed));
          return;
        }
        const found = problem(prop, key, value);
        if (found) add(key, found);
      });
      return errors;
    }
  }

  /** One link of the chain: provider, operation and its settings, and the raw JSON for experts.
   *  Values typed for a provider are kept while staff try another one, until the page saves. */
  class ProviderEditor {
    /** `head`: the provider and operation fields as the server rendered them, if it did. */
    constructor({ prefix, link, drivers, names, onChange, head }) {
      this.prefix = prefix;
      this.drivers = drivers;
      this.names = names; // provider, operation, json and general error names
      this.onChange = onChange || (() => {});
      this.drafts = {};
      this.root = this.build(head || this.head());
      this.load(link);
    }

    head() {
      const { provider, operation } = this.names;
      const hintId = `${this.prefix}operation-hint`;
      const options = Object.entries(this.drivers).map(([name, driver]) => el("option", { value: name, text: driver.label }));
      return el(
        "div",
        { class: "row" },
        el(
          "div",
          { class: "field" },
          el("label", { for: provider, text: t("AI-модель (провайдер)") }),
          el("select", { id: provider, name: provider, "data-provider": true }, ...options),
          el("p", { class: "field-error", "data-error-for": provider })
        ),
        el(
          "div",
          { class: "field" },
          el("label", { for: operation, text: t("Операция") }),
          el("select", { id: operation, name: operation, "data-operation": true, "aria-describedby": hintId }),
          el("p", { class: "hint", id: hintId, "data-operation-hint": true }),
          el("p", { class: "field-error", "data-error-for": operation })
        )
      );
    }

    build(head) {
      const p = this.prefix;
      const names = this.names;
      this.providerSelect = head.querySelector("[data-provider]");
      this.operationSelect = head.querySelector("[data-operation]");
      this.operationHint = head.querySelector("[data-operation-hint]");
      this.status = el("div", { class: "link-status", "data-link-status": true, "aria-live": "polite" });
      this.fields = el("div", { class: "settings-fields", "data-fields": true });
      this.json = el("textarea", { id: names.json, name: names.json, class: "code", spellcheck: "false", "aria-describedby": `${p}json-hint` });
      this.expert = el(
        "details",
        { class: "field expert" },
        el("summary", { text: t("Для специалистов") }),
        el("label", { for: names.json, text: t("Параметры провайдера в JSON") }),
        this.json,
        el("p", { class: "hint", id: `${p}json-hint`, text: t("Те же параметры, что в полях выше; правка здесь меняет и поля.") }),
        el("p", { class: "field-error", "data-error-for": names.json })
      );
      this.bind();
      return el(
        "div",
        { class: "provider-editor" },
        head,
        this.status,
        this.fields,
        el("p", { class: "field-error", "data-error-for": names.general }),
        this.expert
      );
    }

    bind() {
      this.providerSelect.addEventListener("change", () => this.switchProvider(this.providerSelect.value));
      this.operationSelect.addEventListener("change", () => {
        this.form.showFor(this.operationSelect.value);
        this.describeOperation();
        this.changed();
      });
      this.json.addEventListener("input", () => this.readJson());
    }

    get driver() {
      return this.drivers[this.providerSelect.value];
    }

    load(link) {
      const known = this.drivers[link.provider] ? link.provider : Object.keys(this.drivers)[0];
      this.drafts = {};
      this.providerSelect.value = known;
      this.current = known;
      this.show(link.operation, link.settings || {});
    }

    show(operation, settings) {
      const driver = this.driver;
      const operations = Object.entries(driver.operations);
      const current = driver.operations[operation] ? operation : operations[0][0];
      this.operationSelect.replaceChildren(...operations.map(([name, op]) => el("option", { value: name, text: op.label })));
      this.operationSelect.value = current;
      this.form = new SettingsForm(this.fields, {
        prefix: this.prefix,
        schema: driver.schema,
        promptKey: driver.prompt_key,
        onChange: () => this.changed(),
      });
      this.form.render(settings, current);
      this.describeOperation();
      this.writeJson();
    }

    switchProvider(provider) {
      this.drafts[this.current] = { operation: this.operationSelect.value, settings: this.form.settings };
      this.current = provider;
      const draft = this.drafts[provider] || { operation: "", settings: {} };
      this.show(draft.operation, draft.settings);
      this.changed();
    }

    describeOperation() {
      const op = this.driver.operations[this.operationSelect.value];
      const roles = op.roles.map((role) => `«${role}»`).join(t(" или "));
      const needs = op.roles.length ? " " + fmt("Нужен шаблон с ролью %s.", roles) : "";
      this.operationHint.textContent = (op.hint || "") + needs;
    }

    changed() {
      this.writeJson();
      this.onChange(this);
    }

    writeJson() {
      if (document.activeElement === this.json) return; // staff are typing there
      this.json.value = JSON.stringify(this.form.value(), null, 2);
      this.jsonBroken = false;
    }

    readJson() {
      let parsed = null;
      try {
        parsed = JSON.parse(this.json.value || "{}");
      } catch (ignored) {
        parsed = null;
      }
      this.jsonBroken = parsed === null || typeof parsed !== "object" || Array.isArray(parsed);
      if (this.jsonBroken) return;
      this.form.render(parsed, this.operationSelect.value);
      this.onChange(this);
    }

    /** {provider, operation, settings} as it would be saved. */
    value() {
      return { provider: this.providerSelect.value, operation: this.operationSelect.value, settings: this.form.value() };
    }

    errors() {
      const errors = this.form.errors(this.names.general);
      if (this.jsonBroken) {
        this.expert.open = true; // so the message and the box it is about can be seen
        errors[this.names.json] = [t("Нужен JSON-объект, например {\"filter\": \"sepia\"}.")];
      }
      return errors;
    }

    /** Shows whether this link can work: `link` from the server ({ready, problems}) or null when
     *  the link has changed since it was checked. */
    showStatus(link) {
      if (!link && this.statusPending) return; // said once, not at every keystroke
      this.statusPending = !link;
      this.status.replaceChildren();
      this.status.className = "link-status";
      if (!link) {
        this.status.append(el("span", { text: t("Готовность проверится при сохранении.") }));
        return;
      }
      this.status.classList.add(link.ready ? "ok" : "problem");
      if (link.ready) {
        this.status.append(el("span", { text: t("Готов к работе") }));
        return;
      }
      this.status.append(el("ul", {}, ...link.problems.map((text) => el("li", { text }))));
    }
  }

  window.PCProviderForm = { ProviderEditor, SettingsForm, problem, el };
})();
