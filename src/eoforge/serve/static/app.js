// eoforge map viewer: the page behind `eoforge serve`.
//
// Plain JavaScript on MapLibre GL JS (vendored in ./vendor, no build step, no
// network beyond the server that sent this page). It reads GET /api/layers
// once, draws each raster layer as a MapLibre raster source over
// /api/tiles/<id>/{z}/{x}/{y}.png and each vector layer from
// /api/vectors/<id>.geojson, and asks GET /api/point when the map is clicked.
//
// The layers panel has one row per entry: a layer, or a time series (layers
// of one group at several dates, switched with the slider in #time). The swipe
// (#swipe) shows the left layer on the main map and the right one on a second,
// synchronised map clipped to the right of a draggable divider.
"use strict";

(function () {
  const CLASS_KINDS = new Set(["classes", "reference", "errors"]);
  const RAMP_KINDS = new Set(["confidence", "probability", "regression"]);
  const VECTOR_COLORS = ["#ffd400", "#ff5fd2", "#00e5ff", "#ff8c00", "#a0ff5a", "#ffffff"];
  // Colour ramps for the colour bars (the server draws the tiles; these are
  // matplotlib's ramps sampled at even steps, enough for a bar).
  const RAMPS = {
    viridis: ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"],
    magma: ["#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f", "#cd4071", "#f1605d", "#fd9668", "#feca8d", "#fcfdbf"],
    inferno: ["#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60", "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"],
    plasma: ["#0d0887", "#46039f", "#7201a8", "#9c179e", "#bd3786", "#d8576b", "#ed7953", "#fb9f3a", "#fdca26", "#f0f921"],
    cividis: ["#00224e", "#123570", "#3b496c", "#575d6d", "#707173", "#8a8678", "#a59c74", "#c3b369", "#e1cc55", "#fee838"],
    gray: ["#000000", "#ffffff"],
    greys: ["#ffffff", "#000000"],
    rdylgn: ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee08b", "#ffffbf", "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850", "#006837"],
    rdbu: ["#67001f", "#d6604d", "#f7f7f7", "#4393c3", "#053061"],
    spectral: ["#9e0142", "#f46d43", "#fee08b", "#e6f598", "#66c2a5", "#5e4fa2"],
    turbo: ["#30123b", "#4686fb", "#1ae4b6", "#a2fc3c", "#faba39", "#e4460a", "#7a0403"],
    blues: ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
    ylgn: ["#ffffe5", "#d9f0a3", "#78c679", "#238443", "#004529"],
  };
  const BACKGROUND = "#1d2328";

  // Colours of a ramp by name; "<name>_r" is the ramp reversed.
  function rampStops(name) {
    const key = name.toLowerCase();
    if (RAMPS[key]) return RAMPS[key];
    if (key.endsWith("_r") && RAMPS[key.slice(0, -2)]) return RAMPS[key.slice(0, -2)].slice().reverse();
    return RAMPS.gray;
  }

  const state = {
    info: null, // the /api/layers answer
    entries: [], // rows of the layers panel, in drawing order (first = bottom)
    compare: { on: false, left: null, right: null, fraction: 0.5 },
    vectors: new Map(), // vector layer id -> FeatureCollection last fetched
    inspectSeq: 0,
  };
  let map = null;
  let compareMap = null;
  let marker = null;
  let popup = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key === "style") node.setAttribute("style", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e7) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  }

  function formatArea(m2) {
    if (m2 >= 1e6) return `${fmt(m2 / 1e6)} km²`;
    return `${fmt(m2 / 1e4)} ha`;
  }

  function setStatus(text, isError) {
    const node = $("status");
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  // ---- entries: layers and time series ------------------------------------

  function buildEntries(layers) {
    const groups = new Map();
    for (const layer of layers) {
      if (!groups.has(layer.group)) groups.set(layer.group, []);
      groups.get(layer.group).push(layer);
    }
    const entries = [];
    const done = new Set();
    for (const layer of layers) {
      if (done.has(layer.id)) continue;
      const group = groups.get(layer.group);
      const dates = new Set(group.map((l) => l.date));
      const series =
        group.length > 1 &&
        group.every((l) => l.date && l.kind === layer.kind) &&
        dates.size === group.length;
      const members = series
        ? group.slice().sort((a, b) => (a.date < b.date ? -1 : 1))
        : [layer];
      members.forEach((l) => done.add(l.id));
      let index = members.findIndex((l) => l.visible);
      if (index < 0) index = members.length - 1;
      const first = members[0];
      entries.push({
        key: series ? `group-${entries.length}` : first.id,
        name: series ? first.group : first.name,
        kind: first.kind,
        members,
        index,
        series,
        visible: members.some((l) => l.visible),
        opacity: 1,
        render: first.renders && first.renders.length ? first.renders[0].id : null,
        band: first.bands && first.bands.length ? first.bands[0] : null,
        stretch: null, // [lo, hi] set by the user, else the server's default
        colormap: null, // set by the user, else the layer's default
        color: first.kind === "vector" ? VECTOR_COLORS[entries.filter((e) => e.kind === "vector").length % VECTOR_COLORS.length] : null,
      });
    }
    return entries;
  }

  const current = (entry) => entry.members[entry.index];
  const isRaster = (entry) => entry.kind !== "vector";
  const usesRamp = (entry) =>
    RAMP_KINDS.has(entry.kind) || (entry.kind === "scene" && entry.render === "band");
  const rampName = (entry) => entry.colormap || current(entry).colormap || "viridis";

  function tileUrl(entry, layer) {
    const params = new URLSearchParams();
    if (layer.kind === "scene" && entry.render) {
      params.set("render", entry.render);
      if (entry.render === "band" && entry.band) params.set("band", entry.band);
    } else if (layer.kind === "probability" && entry.band && layer.bands && layer.bands.length > 1) {
      params.set("band", entry.band);
    }
    if (entry.stretch) params.set("stretch", entry.stretch.join(","));
    if (entry.colormap && usesRamp(entry)) params.set("colormap", entry.colormap);
    const query = params.toString();
    // Not through URL(): it would percent-encode the {z}/{x}/{y} placeholders.
    const base = /^https?:/.test(layer.tiles) ? layer.tiles : window.location.origin + layer.tiles;
    return query ? `${base}?${query}` : base;
  }

  // Whether `layer` (a member of `entry`) is drawn on the map of `side`.
  function shown(entry, layer, side) {
    if (current(entry) !== layer) return false;
    if (state.compare.on) {
      if (entry === state.compare.left) return side === "main";
      if (entry === state.compare.right) return side === "compare";
    }
    return entry.visible;
  }

  const sourceId = (layer) => `src-${layer.id}`;
  const vectorLayerIds = (layer) => [`vec-${layer.id}-fill`, `vec-${layer.id}-line`, `vec-${layer.id}-point`];

  function addLayers(target, side) {
    for (const entry of state.entries) {
      for (const layer of entry.members) {
        const visibility = shown(entry, layer, side) ? "visible" : "none";
        if (entry.kind === "vector") {
          target.addSource(sourceId(layer), {
            type: "geojson",
            data: state.vectors.get(layer.id) || { type: "FeatureCollection", features: [] },
          });
          const [fill, line, point] = vectorLayerIds(layer);
          target.addLayer({
            id: fill, type: "fill", source: sourceId(layer), layout: { visibility },
            filter: ["==", ["geometry-type"], "Polygon"],
            paint: { "fill-color": entry.color, "fill-opacity": 0.06 * entry.opacity },
          });
          target.addLayer({
            id: line, type: "line", source: sourceId(layer), layout: { visibility },
            filter: ["!=", ["geometry-type"], "Point"],
            paint: { "line-color": entry.color, "line-width": 1.5, "line-opacity": entry.opacity },
          });
          target.addLayer({
            id: point, type: "circle", source: sourceId(layer), layout: { visibility },
            filter: ["==", ["geometry-type"], "Point"],
            paint: {
              "circle-radius": 4, "circle-color": entry.color, "circle-opacity": entry.opacity,
              "circle-stroke-color": "#000", "circle-stroke-width": 1,
            },
          });
        } else {
          target.addSource(sourceId(layer), {
            type: "raster",
            tiles: [tileUrl(entry, layer)],
            tileSize: 256,
            bounds: layer.bounds,
            minzoom: layer.minzoom,
            maxzoom: layer.maxzoom,
          });
          target.addLayer({
            id: `ras-${layer.id}`, type: "raster", source: sourceId(layer), layout: { visibility },
            paint: {
              "raster-opacity": entry.opacity,
              "raster-fade-duration": 0,
              "raster-resampling": CLASS_KINDS.has(entry.kind) ? "nearest" : "linear",
            },
          });
        }
      }
    }
  }

  function maps() {
    const out = [[map, "main"]];
    if (compareMap && compareMap._eoforgeReady) {
      out.push([compareMap, "compare"]);
    }
    return out;
  }

  // Push an entry's visibility, opacity and tile parameters to the maps.
  function applyEntry(entry, refreshTiles) {
    for (const [target, side] of maps()) {
      for (const layer of entry.members) {
        const visibility = shown(entry, layer, side) ? "visible" : "none";
        if (entry.kind === "vector") {
          const [fill, line, point] = vectorLayerIds(layer);
          for (const id of [fill, line, point]) target.setLayoutProperty(id, "visibility", visibility);
          target.setPaintProperty(fill, "fill-opacity", 0.06 * entry.opacity);
          target.setPaintProperty(line, "line-opacity", entry.opacity);
          target.setPaintProperty(point, "circle-opacity", entry.opacity);
        } else {
          const id = `ras-${layer.id}`;
          target.setLayoutProperty(id, "visibility", visibility);
          target.setPaintProperty(id, "raster-opacity", entry.opacity);
          if (refreshTiles) target.getSource(sourceId(layer)).setTiles([tileUrl(entry, layer)]);
        }
      }
    }
  }

  function applyAll() {
    state.entries.forEach((entry) => applyEntry(entry, false));
    renderLegend();
  }

  // ---- vectors ---------------------------------------------------------------

  async function loadVectors(layer, bbox) {
    const url = new URL(layer.geojson, window.location.href);
    if (bbox) url.searchParams.set("bbox", bbox.map((v) => v.toFixed(6)).join(","));
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${layer.name}: ${response.status} ${response.statusText}`);
    const data = await response.json();
    state.vectors.set(layer.id, data);
    for (const [target] of maps()) {
      const source = target.getSource(sourceId(layer));
      if (source) source.setData(data);
    }
    return data;
  }

  async function loadAllVectors() {
    const truncated = [];
    for (const entry of state.entries) {
      if (entry.kind !== "vector") continue;
      for (const layer of entry.members) {
        try {
          const data = await loadVectors(layer, null);
          if (data.truncated) truncated.push(layer);
        } catch (error) {
          setStatus(`Could not load ${layer.name}: ${error.message}`, true);
        }
      }
    }
    if (truncated.length) {
      // Large layers: the server caps the features, so fetch what is in view.
      const refresh = () => {
        const b = map.getBounds();
        const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
        truncated.forEach((layer) => loadVectors(layer, bbox).catch(() => {}));
      };
      map.on("moveend", refresh);
      refresh();
    }
  }

  // ---- layers panel ------------------------------------------------------------

  function colorBar(entry) {
    const layer = current(entry);
    const name = rampName(entry);
    const stops = rampStops(name);
    const stretch = entry.stretch || (entry.kind === "scene" ? null : layer.stretch);
    const units = layer.units ? ` ${layer.units}` : "";
    return el(
      "div",
      { className: "colorbar", "data-ramp": name },
      el("div", { className: "ramp", role: "img", "aria-label": `Colour ramp ${name}`, style: `background: linear-gradient(to right, ${stops.join(", ")})` }),
      el(
        "div",
        { className: "ramp-labels" },
        el("span", { text: stretch ? fmt(stretch[0]) + units : "low" }),
        el("span", { text: name }),
        el("span", { text: stretch ? fmt(stretch[1]) + units : "high" }),
      ),
    );
  }

  function select(id, label, options, value, onChange) {
    const node = el("select", { id, "aria-label": label });
    for (const option of options) {
      const opt = el("option", { value: option.id, text: option.name });
      if (option.id === value) opt.selected = true;
      node.append(opt);
    }
    node.addEventListener("change", () => onChange(node.value));
    return node;
  }

  function entryControls(entry, index) {
    const layer = current(entry);
    const prefix = `layer-${index}`;
    const box = el("div", { className: "controls" });
    const rebuild = () => {
      const fresh = entryControls(entry, index);
      box.replaceWith(fresh);
    };
    const update = (rerender) => {
      applyEntry(entry, true);
      renderLegend();
      if (rerender) rebuild();
    };

    if (entry.kind === "scene" && layer.renders && layer.renders.length) {
      box.append(
        el("label", { for: `${prefix}-render`, text: "Render" }),
        select(`${prefix}-render`, `Render of ${entry.name}`, layer.renders, entry.render, (value) => {
          entry.render = value;
          entry.stretch = null;
          update(true);
        }),
      );
    }
    const bandPicker =
      (entry.kind === "scene" && entry.render === "band") ||
      (entry.kind === "probability" && layer.bands && layer.bands.length > 1);
    if (bandPicker && layer.bands) {
      box.append(
        el("label", { for: `${prefix}-band`, text: entry.kind === "probability" ? "Class" : "Band" }),
        select(`${prefix}-band`, `Band of ${entry.name}`, layer.bands.map((b) => ({ id: b, name: b })), entry.band, (value) => {
          entry.band = value;
          update(true);
        }),
      );
    }
    if (entry.kind === "scene" || RAMP_KINDS.has(entry.kind)) {
      const defaults = entry.kind === "scene" && entry.render === "band" ? null : layer.stretch;
      const lo = el("input", {
        type: "number", id: `${prefix}-min`, step: "any", "aria-label": `Stretch minimum of ${entry.name}`,
        placeholder: defaults ? fmt(defaults[0]) : "auto", value: entry.stretch ? entry.stretch[0] : null,
      });
      const hi = el("input", {
        type: "number", id: `${prefix}-max`, step: "any", "aria-label": `Stretch maximum of ${entry.name}`,
        placeholder: defaults ? fmt(defaults[1]) : "auto", value: entry.stretch ? entry.stretch[1] : null,
      });
      const onStretch = () => {
        const a = lo.value === "" ? null : Number(lo.value);
        const b = hi.value === "" ? null : Number(hi.value);
        if (a === null && b === null) entry.stretch = null;
        else if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b) && a < b) entry.stretch = [a, b];
        else return; // incomplete or inverted: keep drawing what is shown
        update(false);
        const bar = box.querySelector(".colorbar");
        if (bar) bar.replaceWith(colorBar(entry));
      };
      lo.addEventListener("change", onStretch);
      hi.addEventListener("change", onStretch);
      box.append(el("label", { for: `${prefix}-min`, text: "Stretch" }), el("div", { className: "stretch" }, lo, hi));
    }
    if (usesRamp(entry)) {
      const names = Object.keys(RAMPS);
      const value = rampName(entry);
      if (!names.includes(value)) names.unshift(value);
      box.append(
        el("label", { for: `${prefix}-colormap`, text: "Ramp" }),
        select(`${prefix}-colormap`, `Colour ramp of ${entry.name}`, names.map((n) => ({ id: n, name: n })), value, (v) => {
          entry.colormap = v;
          update(true);
        }),
        colorBar(entry),
      );
    }
    return box;
  }

  function entryLabel(entry) {
    const date = current(entry).date;
    return date && !entry.series && !entry.name.includes(date) ? `${entry.name} (${date})` : entry.name;
  }

  function renderLayers() {
    const list = $("layers");
    list.replaceChildren();
    // Top of the list = top of the map.
    state.entries
      .map((entry, index) => [entry, index])
      .reverse()
      .forEach(([entry, index]) => {
        const id = `layer-${index}-on`;
        const box = el("input", { type: "checkbox", id, "data-entry": entry.key });
        box.checked = entry.visible;
        box.addEventListener("change", () => {
          entry.visible = box.checked;
          item.classList.toggle("off", !entry.visible);
          applyEntry(entry, false);
          renderLegend();
        });
        const opacity = el("input", {
          type: "range", id: `layer-${index}-opacity`, className: "opacity", min: 0, max: 100, step: 5,
          value: Math.round(entry.opacity * 100), "aria-label": `Opacity of ${entry.name}`,
          title: "Opacity",
        });
        opacity.addEventListener("input", () => {
          entry.opacity = Number(opacity.value) / 100;
          applyEntry(entry, false);
        });
        const kind = entry.series ? `${entry.kind}, ${entry.members.length} dates` : entry.kind;
        const swatch = entry.kind === "vector" ? el("span", { className: "swatch", style: `background:${entry.color}` }) : null;
        // Controls of a layer that is off are folded away (its checkbox unfolds them).
        const item = el(
          "li",
          { "data-entry": entry.key, "data-kind": entry.kind, className: entry.visible ? null : "off" },
          el("div", { className: "layer-head" }, box, swatch, el("label", { for: id, text: entryLabel(entry), title: entryLabel(entry) }), el("span", { className: "kind", text: kind }), opacity),
          entryControls(entry, index),
        );
        list.append(item);
      });
  }

  // ---- time slider ---------------------------------------------------------------

  function renderTime() {
    const series = state.entries.filter((entry) => entry.series);
    $("time").hidden = series.length === 0;
    const holder = $("time-groups");
    holder.replaceChildren();
    series.forEach((entry, n) => {
      const id = `time-${n}`;
      const output = el("output", { className: "date", for: id, id: `${id}-date`, text: current(entry).date });
      const slider = el("input", {
        type: "range", id, min: 0, max: entry.members.length - 1, step: 1, value: entry.index,
        "aria-label": `Date of ${entry.name}`, "data-entry": entry.key,
        "aria-valuetext": current(entry).date,
      });
      slider.addEventListener("input", () => {
        entry.index = Number(slider.value);
        output.textContent = current(entry).date;
        slider.setAttribute("aria-valuetext", current(entry).date);
        applyEntry(entry, false);
        renderLegend();
      });
      holder.append(el("label", { for: id }, `${entry.name}: `, output), slider);
    });
  }

  // ---- legend --------------------------------------------------------------------

  function onMap(entry) {
    if (state.compare.on && (entry === state.compare.left || entry === state.compare.right)) return true;
    return entry.visible;
  }

  function renderLegend() {
    const legend = $("legend");
    legend.replaceChildren();
    for (const entry of state.entries.slice().reverse()) {
      if (!onMap(entry)) continue;
      const layer = current(entry);
      if (CLASS_KINDS.has(entry.kind) && layer.classes) {
        const list = el("ul");
        for (const item of layer.classes) {
          list.append(
            el(
              "li",
              { "data-value": item.value },
              el("span", { className: "swatch", style: `background:${item.color}`, "aria-hidden": "true" }),
              el("span", { className: "class-name", text: item.name }),
              el("span", { className: "area", text: formatArea(item.area_m2) }),
            ),
          );
        }
        legend.append(el("h3", { text: entryLabel(entry) }), list);
      } else if (usesRamp(entry)) {
        legend.append(el("h3", { text: entryLabel(entry) }), colorBar(entry));
      }
    }
    if (!legend.childElementCount) legend.append(el("p", { className: "kind", text: "No class or ramp layer shown." }));
  }

  // ---- report metrics --------------------------------------------------------------

  function renderMetrics(report) {
    const panel = $("metrics");
    if (!report) {
      panel.hidden = true;
      return;
    }
    const body = $("metrics-body");
    body.replaceChildren();
    const metrics = Object.entries(report.metrics || {});
    if (metrics.length) {
      const table = el("table", { "aria-label": "Metrics" });
      for (const [name, value] of metrics) {
        table.append(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { className: "num", text: fmt(value) })));
      }
      body.append(table);
    }
    if (report.per_class) {
      const classes = Object.entries(report.per_class);
      const columns = [...new Set(classes.flatMap(([, values]) => Object.keys(values)))];
      const table = el("table", { "aria-label": "Metrics per class" });
      table.append(el("tr", {}, el("th", { text: "class" }), ...columns.map((c) => el("th", { className: "num", text: c }))));
      for (const [name, values] of classes) {
        table.append(el("tr", {}, el("th", { scope: "row", text: name }), ...columns.map((c) => el("td", { className: "num", text: fmt(values[c]) }))));
      }
      body.append(table);
    }
    if (report.link) {
      body.append(el("p", {}, el("a", { href: report.link, target: "_blank", rel: "noopener", text: "Open the full report" })));
    }
    panel.hidden = false;
  }

  // ---- inspector ---------------------------------------------------------------------

  async function inspect(lngLat) {
    const seq = ++state.inspectSeq;
    const panel = $("inspector");
    const body = $("inspector-body");
    panel.hidden = false;
    $("inspector-where").textContent = `${lngLat.lat.toFixed(5)}°, ${lngLat.lng.toFixed(5)}°`;
    body.replaceChildren(el("p", { className: "kind", text: "Reading…" }));
    if (!marker) marker = new maplibregl.Marker({ color: "#ff3b30", scale: 0.6 });
    marker.setLngLat(lngLat).addTo(map);
    let answer;
    try {
      const url = new URL("/api/point", window.location.href);
      url.searchParams.set("lon", String(lngLat.lng));
      url.searchParams.set("lat", String(lngLat.lat));
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      answer = await response.json();
    } catch (error) {
      if (seq === state.inspectSeq) body.replaceChildren(el("p", { className: "kind", text: `No answer: ${error.message}` }));
      return;
    }
    if (seq !== state.inspectSeq) return; // a later click already asked
    body.replaceChildren();
    if (!answer.layers.length) {
      body.append(el("p", { className: "kind", text: "No layer covers this point." }));
    }
    // Layers drawn now first, then top of the map first.
    const rank = new Map();
    state.entries.forEach((entry, n) => {
      entry.members.forEach((layer) => {
        const drawn = shown(entry, layer, "main") || shown(entry, layer, "compare");
        rank.set(layer.id, (drawn ? 0 : 1000) - n);
      });
    });
    const items = answer.layers.slice().sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
    for (const item of items) {
      const units = (state.info.layers.find((l) => l.id === item.id) || {}).units;
      const block = el("div", { className: "inspect-layer", "data-layer": item.id, "data-kind": item.kind });
      block.append(el("h3", { text: `${item.name} ` }, el("span", { className: "kind", text: item.kind })));
      if (item.class !== null && item.class !== undefined) {
        block.append(el("div", {}, "Class: ", el("strong", { className: "inspect-class", text: item.class })));
      }
      if (item.value !== null && item.value !== undefined && (item.class === null || item.class === undefined)) {
        block.append(el("div", { className: "inspect-value", text: `Value: ${fmt(item.value)}${units ? " " + units : ""}` }));
      }
      if (item.probabilities) {
        const table = el("table", { "aria-label": `Probabilities of ${item.name}` });
        const rows = Object.entries(item.probabilities).sort((a, b) => b[1] - a[1]);
        for (const [name, p] of rows) {
          table.append(
            el(
              "tr", {},
              el("th", { scope: "row", text: name }),
              el("td", {}, el("span", { className: "bar", style: `width:${Math.round(Math.max(0, Math.min(1, p)) * 80)}px` })),
              el("td", { className: "num", text: fmt(p) }),
            ),
          );
        }
        block.append(table);
      }
      if (item.bands) {
        const table = el("table", { "aria-label": `Band values of ${item.name}` });
        for (const [name, v] of Object.entries(item.bands)) {
          table.append(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { className: "num", text: fmt(v) })));
        }
        block.append(table);
      }
      body.append(block);
    }
  }

  function showPopup(feature, lngLat) {
    const layerId = feature.layer.id.replace(/^vec-/, "").replace(/-(fill|line|point)$/, "");
    const layer = state.info.layers.find((l) => l.id === layerId);
    const props = feature.properties || {};
    const names = layer && layer.properties ? layer.properties : Object.keys(props);
    const table = el("table");
    for (const name of names) {
      if (!(name in props)) continue;
      table.append(el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: fmt(props[name]) })));
    }
    const content = el("div", { className: "popup" }, el("strong", { text: layer ? layer.name : layerId }), table);
    if (popup) popup.remove();
    popup = new maplibregl.Popup({ closeButton: true, maxWidth: "280px" }).setLngLat(lngLat).setDOMContent(content).addTo(map);
  }

  // ---- swipe -------------------------------------------------------------------------

  function renderSwipe() {
    const options = state.entries.map((entry) => ({ id: entry.key, name: entryLabel(entry) }));
    const rasters = state.entries.filter(isRaster);
    // Left: the scene shown (a hidden one under it would not show through the
    // layers above it); right: the class map.
    const left =
      rasters.find((e) => e.kind === "scene" && e.visible) ||
      rasters.find((e) => e.kind === "scene") ||
      rasters[0] ||
      state.entries[0];
    const right =
      rasters.find((e) => e !== left && e.kind === "classes") ||
      rasters.find((e) => e !== left) ||
      state.entries.find((e) => e !== left);
    state.compare.left = left || null;
    state.compare.right = right || null;
    const byKey = (key) => state.entries.find((e) => e.key === key) || null;
    for (const [id, chosen, side] of [["swipe-left", left, "left"], ["swipe-right", right, "right"]]) {
      const node = $(id);
      node.replaceChildren(...options.map((o) => el("option", { value: o.id, text: o.name })));
      if (chosen) node.value = chosen.key;
      node.addEventListener("change", () => {
        state.compare[side] = byKey(node.value);
        if (state.compare.on) applyAll();
      });
    }
    $("swipe-on").disabled = state.entries.length < 2;
    $("swipe-on").addEventListener("change", (event) => setCompare(event.target.checked));
    const divider = $("swipe-divider");
    divider.addEventListener("pointerdown", (event) => {
      divider.setPointerCapture(event.pointerId);
      const move = (e) => placeDivider(e.clientX / window.innerWidth);
      const up = () => {
        divider.removeEventListener("pointermove", move);
        divider.removeEventListener("pointerup", up);
      };
      divider.addEventListener("pointermove", move);
      divider.addEventListener("pointerup", up);
    });
    divider.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowLeft" ? -0.02 : event.key === "ArrowRight" ? 0.02 : 0;
      if (step) {
        placeDivider(state.compare.fraction + step);
        event.preventDefault();
      }
    });
    window.addEventListener("resize", () => placeDivider(state.compare.fraction));
  }

  function placeDivider(fraction) {
    state.compare.fraction = Math.max(0, Math.min(1, fraction));
    const x = Math.round(state.compare.fraction * window.innerWidth);
    $("swipe-divider").style.left = `${x}px`;
    $("swipe-divider").setAttribute("aria-valuenow", String(Math.round(state.compare.fraction * 100)));
    $("map-compare").style.clipPath = `inset(0 0 0 ${x}px)`;
  }

  function syncCompare() {
    if (!compareMap) return;
    compareMap.jumpTo({ center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() });
  }

  function setCompare(on) {
    state.compare.on = on;
    if (popup) popup.remove(); // the compare map would hide part of it
    const container = $("map-compare");
    $("swipe-divider").hidden = !on;
    if (on && !compareMap) {
      container.hidden = false;
      placeDivider(state.compare.fraction);
      compareMap = new maplibregl.Map({
        container,
        style: baseStyle(),
        center: map.getCenter(),
        zoom: map.getZoom(),
        bearing: map.getBearing(),
        pitch: map.getPitch(),
        interactive: false,
        attributionControl: false,
      });
      compareMap.on("load", () => {
        addLayers(compareMap, "compare");
        compareMap._eoforgeReady = true;
        syncCompare();
      });
      map.on("move", syncCompare);
    } else if (!on && compareMap) {
      map.off("move", syncCompare);
      compareMap.remove();
      compareMap = null;
      container.hidden = true;
    }
    applyAll();
  }

  // ---- start -------------------------------------------------------------------------

  function baseStyle() {
    return {
      version: 8,
      // Paint changes (opacity, dates) apply at once rather than fading in.
      transition: { duration: 0, delay: 0 },
      sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": BACKGROUND } }],
    };
  }

  async function start() {
    let info;
    try {
      const response = await fetch("/api/layers");
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      info = await response.json();
    } catch (error) {
      setStatus(`Could not read the layers: ${error.message}`, true);
      document.body.dataset.state = "error";
      throw error;
    }
    state.info = info;
    state.entries = buildEntries(info.layers);
    document.title = `${info.title} – eoforge`;
    $("title").textContent = info.title;
    const wide = window.innerWidth > 900;
    map = new maplibregl.Map({
      container: "map",
      style: baseStyle(),
      bounds: info.bounds,
      fitBoundsOptions: { padding: wide ? { top: 30, bottom: 30, left: 330, right: info.report ? 380 : 30 } : 20 },
      attributionControl: false,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "bottom-left");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    map.on("error", (event) => {
      const message = event.error && event.error.message ? event.error.message : "map error";
      setStatus(`Map: ${message}`, true);
      console.warn("eoforge map:", message);
    });
    renderLayers();
    renderTime();
    renderSwipe();
    renderMetrics(info.report);
    renderLegend();
    $("inspector-close").addEventListener("click", () => {
      $("inspector").hidden = true;
      if (marker) marker.remove();
    });
    await new Promise((resolve) => map.on("load", resolve));
    addLayers(map, "main");
    map.on("click", (event) => {
      const ids = [];
      for (const entry of state.entries) {
        if (entry.kind !== "vector") continue;
        for (const layer of entry.members) if (shown(entry, layer, "main")) ids.push(...vectorLayerIds(layer));
      }
      const features = ids.length ? map.queryRenderedFeatures(event.point, { layers: ids }) : [];
      if (features.length) showPopup(features[0], event.lngLat);
      inspect(event.lngLat);
    });
    await loadAllVectors();
    const rasters = info.layers.filter((l) => l.kind !== "vector").length;
    setStatus(`${info.layers.length} layers (${rasters} raster, ${info.layers.length - rasters} vector)`);
    document.body.dataset.state = "ready";
  }

  const ready = start();
  // For scripted checks (the browser tests): the state, the maps, and a
  // promise that settles once the layers are on the map.
  window.eoforgeViewer = {
    state,
    ready,
    map: () => map,
    compareMap: () => compareMap,
    inspect: (lng, lat) => inspect({ lng, lat }),
    // Settles once every map has drawn all its tiles (after the next frames).
    settled: () =>
      Promise.all(
        [map, compareMap].filter(Boolean).map(
          (m) =>
            new Promise((resolve) => {
              const check = () => {
                if (m.loaded() && m.areTilesLoaded() && !m.isMoving()) resolve();
                else m.once("idle", resolve);
              };
              requestAnimationFrame(() => requestAnimationFrame(check));
            }),
        ),
      ),
  };
})();
