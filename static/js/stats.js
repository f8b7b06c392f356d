/* Stats page: one GET /api/stats/overview per refresh, drawn as counters, a chart and a table. */
(function () {
  "use strict";

  const { api, describe, toast, formatTime, t, fmt } = window.PC;
  const filters = document.getElementById("stats-filters");
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

  /** Grouped bars per time bucket, scaled to the busiest bucket; no chart library needed. */
  function drawChart(timeline) {
    const chart = document.querySelector("[data-chart]");
    const width = 900;
    const height = 220;
    const bottom = height - 22;
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    chart.replaceChildren(svg("line", { class: "axis", x1: 0, y1: bottom, x2: width, y2: bottom }));
    const peak = Math.max(1, ...timeline.map((bucket) => bucket.jobs));
    const step = width / Math.max(1, timeline.length);
    const bar = Math.max(1, step / 3.5);
    timeline.forEach((bucket, index) => {
      [["jobs", 0], ["timeouts", 1], ["errors", 2]].forEach(([kind, offset]) => {
        const h = (bucket[kind] / peak) * (bottom - 10);
        const rect = svg("rect", {
          class: `bar-${kind}`,
          x: index * step + offset * bar,
          y: bottom - h,
          width: bar * 0.9,
          height: h,
        });
        rect.appendChild(svg("title", {})).textContent = `${formatTime(bucket.start)}: ${kind} ${bucket[kind]}`;
        chart.appendChild(rect);
      });
    });
    [0, timeline.length - 1].forEach((index) => {
      if (!timeline[index]) return;
      const label = svg("text", { x: index ? width : 0, y: height - 4, "text-anchor": index ? "end" : "start" });
      label.textContent = formatTime(timeline[index].start);
      chart.appendChild(label);
    });
    chart.setAttribute("aria-label", fmt("Задачи во времени: не больше %s за интервал", peak));
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function stateOf(row) {
    if (!row.is_active) return ["disabled", t("Отключён")];
    if (row.timeouts_last_window || row.provider_errors_last_window) return ["errors", t("Ошибки")];
    return ["active", t("Активен")];
  }

  function showRows(rows) {
    const body = document.querySelector("[data-rows]");
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = document.createElement("tr");
        const [kind, label] = stateOf(row);
        const pill = document.createElement("span");
        pill.className = `pill ${kind}`;
        pill.textContent = label;
        const state = cell("");
        state.appendChild(pill);
        tr.append(
          cell(row.display_name || row.slot_id),
          cell(row.jobs_last_window, "num"),
          cell(row.timeouts_last_window, "num"),
          cell(row.provider_errors_last_window, "num"),
          cell(share(row.error_share_last_window), "num"),
          cell(formatTime(row.last_success_at)),
          cell(row.last_error_reason || "—"),
          state
        );
        return tr;
      })
    );
    body.removeAttribute("aria-busy");
  }

  async function refresh() {
    const query = new URLSearchParams(new FormData(filters));
    if (!query.get("slot_id")) query.delete("slot_id");
    try {
      const overview = await api("GET", `/api/stats/overview?${query}`);
      showCounters(overview.system);
      drawChart(overview.timeline);
      showRows(overview.slots);
      showLatest(overview.latest_results);
    } catch (error) {
      toast(describe(error), "error");
    }
  }

  filters.addEventListener("change", refresh);
  filters.querySelector("[data-refresh]").addEventListener("click", refresh);
  window.setInterval(() => document.visibilityState === "visible" && refresh(), REFRESH_MS);
  refresh();
})();
