/* Stats page: one GET /api/stats/overview per refresh, drawn as counters, a chart and a table. */
(function () {
  "use strict";

  const { api, describe, toast, formatTime, zonedParts, readJson, fmt } = window.PC;
  const filters = document.getElementById("stats-filters");
  const DEFAULTS = readJson("stats-defaults");
  const SVG = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 30000;

  function share(value) {
    return value === null || value === undefined ? "—" : `${Math.round(value * 1000) / 10} %`;
  }

  function showCounters(system) {
    document.querySelectorAll("[data-counter]").forEach((node) => {
      const value = system[node.dataset.counter];
      node.textContent = node.dataset.counter.startsWith("error_share") ? share(value) : value;
    });
  }

  /** The newest downloadable results: a preview linking to the file. */
  function showLatest(results) {
    const list = document.querySelector("[data-latest]");
    list.replaceChildren(
      ...results.map((result) => {
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = result.result_url;
        link.target = "_blank";
        link.rel = "noopener";
        const image = document.createElement("img");
        image.src = result.preview_url;
        image.loading = "lazy";
        image.alt = fmt("%s, %s", result.slot_id, formatTime(result.finished_at));
        const caption = document.createElement("span");
        caption.className = "muted";
        caption.textContent = `${result.slot_id} · ${formatTime(result.finished_at)}`;
        link.append(image, caption);
        item.appendChild(link);
        return item;
      })
    );
    document.querySelector("[data-latest-empty]").hidden = results.length > 0;
  }

  function svg(name, attributes) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, value));
    return node;
  }

  const CHART_HEIGHT = 220;
  const MIN_BUCKET_PX = 12; // narrower buckets are merged, so bars stay visible on phones
  let lastTimeline = [];

  /** Adjacent buckets summed `size` at a time; each merged bucket keeps the first start. */
  function mergeBuckets(timeline, size) {
    const merged = [];
    for (let index = 0; index < timeline.length; index += size) {
      const group = timeline.slice(index, index + size);
      const sum = (kind) => group.reduce((total, bucket) => total + bucket[kind], 0);
      merged.push({ start: group[0].start, jobs: sum("jobs"), timeouts: sum("timeouts"), errors: sum("errors") });
    }
    return merged;
  }

  const DAY_MS = 86400000;

  /** How axis labels read on the server's clock (the buckets are its minutes, hours and days):
      the date for daily buckets, the time inside a day, both when hours span days (24 h). */
  function labelFormat(timeline) {
    const at = (index) => new Date(timeline[index].start).getTime();
    const last = timeline.length - 1;
    const step = last > 0 ? at(1) - at(0) : 0;
    if (step >= DAY_MS) return (p) => `${p.day}.${p.month}`;
    if (last > 0 && at(last) - at(0) >= DAY_MS / 2) return (p) => `${p.day}.${p.month} ${p.hour}:${p.minute}`;
    return (p) => `${p.hour}:${p.minute}`;
  }

  const KINDS = [
    ["jobs", "задач: %s"],
    ["timeouts", "таймаутов: %s"],
    ["errors", "ошибок: %s"],
  ];

  /** A bucket's tooltip: "20.11.2026 09:00 MSK — задач: 4, таймаутов: 1, ошибок: 0". */
  function bucketTitle(bucket) {
    const counts = KINDS.map(([kind, text]) => fmt(text, bucket[kind])).join(", ");
    return `${formatTime(bucket.start)} — ${counts}`;
  }

  /** Evenly spread bucket indexes for `count` labels, first and last included. */
  function labelIndexes(length, count) {
    if (length <= 1 || count <= 1) return length ? [0] : [];
    const picked = new Set();
    for (let step = 0; step < count; step += 1) picked.add(Math.round((step * (length - 1)) / (count - 1)));
    return [...picked];
  }

  function drawLabels(chart, timeline, width, step, format) {
    if (!timeline.length) return;
    const room = 110; // px per label: "30.11 09:00" at 12 px with generous space around it
    const count = Math.min(timeline.length, Math.max(2, Math.floor(width / room)));
    labelIndexes(timeline.length, count).forEach((index, position, all) => {
      const first = position === 0;
      const last = position === all.length - 1 && all.length > 1;
      const x = first ? 0 : last ? width : index * step + step / 2;
      const anchor = first ? "start" : last ? "end" : "middle";
      const label = svg("text", { x, y: CHART_HEIGHT - 4, "text-anchor": anchor });
      label.textContent = format(zonedParts(timeline[index].start));
      chart.appendChild(label);
    });
  }

  /** Grouped bars per time bucket, drawn at the box's own pixel width; no chart library needed. */
  function drawChart(timeline) {
    lastTimeline = timeline;
    const chart = document.querySelector("[data-chart]");
    const width = Math.max(200, Math.round(chart.getBoundingClientRect().width) || 900);
    const bottom = CHART_HEIGHT - 22;
    const buckets = mergeBuckets(timeline, Math.max(1, Math.ceil((timeline.length * MIN_BUCKET_PX) / width)));
    chart.setAttribute("viewBox", `0 0 ${width} ${CHART_HEIGHT}`);
    chart.dataset.width = width;
    chart.replaceChildren(svg("line", { class: "axis", x1: 0, y1: bottom, x2: width, y2: bottom }));
    const peak = Math.max(1, ...buckets.map((bucket) => bucket.jobs));
    const step = width / Math.max(1, buckets.length);
    const bar = Math.max(1, step / 3.5);
    buckets.forEach((bucket, index) => {
      const group = svg("g", { class: "bucket" });
      group.appendChild(svg("title", {})).textContent = bucketTitle(bucket);
      // The whole column answers the pointer, so a thin bar's tooltip is easy to reach.
      group.appendChild(svg("rect", { class: "hit", x: index * step, y: 0, width: step, height: bottom }));
      KINDS.forEach(([kind], offset) => {
        const h = (bucket[kind] / peak) * (bottom - 10);
        group.appendChild(
          svg("rect", {
            class: `bar-${kind}`,
            x: index * step + offset * bar,
            y: bottom - h,
            width: bar * 0.9,
            height: h,
          })
        );
      });
      chart.appendChild(group);
    });
    drawLabels(chart, buckets, width, step, labelFormat(timeline));
    chart.setAttribute("aria-label", fmt("Задачи во времени: не больше %s за интервал", peak));
  }

  /** Redraws when the box changes width (rotation, window resize), at most once a frame. */
  function redrawOnResize() {
    const chart = document.querySelector("[data-chart]");
    let pending = false;
    new ResizeObserver(() => {
      const width = Math.round(chart.getBoundingClientRect().width);
      if (pending || !lastTimeline.length || String(width) === chart.dataset.width) return;
      pending = true;
      window.requestAnimationFrame(() => {
        pending = false;
        drawChart(lastTimeline);
      });
    }).observe(chart);
  }

  // Column names, shown beside each value when a narrow screen turns rows into cards.
  const COLUMNS = [...document.querySelector("[data-rows]").closest("table").querySelectorAll("thead th")].map(
    (th) => th.textContent.trim()
  );

  function labelCells(tr) {
    tr.setAttribute("role", "row");
    [...tr.children].forEach((td, index) => {
      td.setAttribute("role", "cell");
      td.dataset.label = COLUMNS[index] || "";
    });
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function showRows(rows) {
    const body = document.querySelector("[data-rows]");
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        // The state the dashboard shows (ingest/status.py), not one worked out here.
        const pill = document.createElement("span");
        pill.className = `pill ${row.status}`;
        pill.textContent = row.status_label;
        const state = cell("");
        state.appendChild(pill);
        tr.append(
          cell(row.display_name || row.slot_id),
          cell(row.jobs_last_window, "num"),
          cell(row.timeouts_last_window, "num"),
          cell(row.provider_errors_last_window, "num"),
          cell(share(row.error_share_last_window), "num"),
          cell(formatTime(row.last_success_at)),
          cell(row.last_error_text || "—"),
          cell(row.wrong_passwords_last_window, "num"),
          state
        );
        labelCells(tr);
        return tr;
      })
    );
    body.removeAttribute("aria-busy");
  }

  /** The chosen filters as a query string; an empty slot filter is left out. */
  function currentQuery() {
    const query = new URLSearchParams(new FormData(filters));
    if (!query.get("slot_id")) query.delete("slot_id");
    return query;
  }

  /** The filters from the address (after back or forward); missing or unknown ones: defaults. */
  function applyQuery(query) {
    filters.querySelectorAll("select").forEach((select) => {
      const wanted = query.get(select.name);
      const known = [...select.options].some((option) => option.value === wanted);
      select.value = known ? wanted : DEFAULTS[select.name];
    });
  }

  let latest = 0; // the newest request: an older answer arriving after it is dropped

  async function refresh() {
    const query = currentQuery();
    const asked = ++latest;
    try {
      const overview = await api("GET", `/api/stats/overview?${query}`);
      if (asked !== latest) return;
      showCounters(overview.system);
      drawChart(overview.timeline);
      showRows(overview.slots);
      showLatest(overview.latest_results);
    } catch (error) {
      if (asked === latest) toast(describe(error), "error");
    }
  }

  // Each change of a filter is a step in the history: reload, back and forward keep it.
  filters.addEventListener("change", () => {
    const query = currentQuery().toString();
    if (query !== window.location.search.slice(1)) window.history.pushState(null, "", `?${query}`);
    refresh();
  });
  window.addEventListener("popstate", () => {
    applyQuery(new URLSearchParams(window.location.search));
    refresh();
  });
  filters.querySelector("[data-refresh]").addEventListener("click", refresh);
  window.setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
  redrawOnResize();
  refresh();
})();
