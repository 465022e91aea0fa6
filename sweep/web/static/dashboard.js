// The command dashboard: polls one JSON snapshot and redraws the map, tiles, curve and tables.
(function () {
  "use strict";
  // The page's settings come as a JSON block: the pages run no inline script (Content-Security-Policy).
  var S = window.SWEEP = JSON.parse(document.getElementById("sweep-config").textContent), T = S.t;
  var COLORS = { not_ready: "#6b7785", ready: "#4dabf7", sampling: "#fab005", behind: "#fa5252", done: "#40c057" };
  var base = "/api/campaigns/" + S.campaign;

  var map = L.map("map", { zoomControl: true, attributionControl: !!S.tileUrl });
  if (S.tileUrl) { L.tileLayer(S.tileUrl, { maxZoom: 18 }).addTo(map); }
  var gridLayer = null, siteLayer = L.layerGroup().addTo(map), fitted = false;
  var chart = echarts.init(document.getElementById("curve"), "dark", { renderer: "canvas" });

  function fmt(n) { return n == null ? "–" : Number(n).toLocaleString(S.lang === "zh" ? "zh-CN" : "en-US"); }
  function pct(x) { return (100 * x).toFixed(2) + "%"; }
  function hm(minutes) {
    if (minutes == null) { return "–"; }
    var h = Math.floor(minutes / 60), m = Math.round(minutes % 60);
    return h + ":" + (m < 10 ? "0" : "") + m;
  }
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
  function gridColor(f) { return f >= 0.99 ? "#2b8a3e" : f >= 0.95 ? "#5c940d" : f >= 0.8 ? "#e67700" : f > 0 ? "#c92a2a" : "#343a40"; }

  function drawGrids(geojson) {
    if (gridLayer) { map.removeLayer(gridLayer); }
    gridLayer = L.geoJSON(geojson, {
      style: function (f) { return { color: "#445", weight: 1, fillOpacity: 0.45, fillColor: gridColor(f.properties.fraction) }; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(p.name + " · " + T.coverage + " " + pct(p.fraction) + " (" + fmt(p.sampled) + "/" + fmt(p.expected) + ")");
      }
    }).addTo(map);
    gridLayer.bringToBack();
    if (!fitted && geojson.features.length) { map.fitBounds(gridLayer.getBounds()); fitted = true; }
  }

  function drawSites(sites) {
    siteLayer.clearLayers();
    sites.forEach(function (s) {
      L.circleMarker([s.lat, s.lon], {
        radius: 4 + Math.min(8, s.desks), color: "#111", weight: 1, fillColor: COLORS[s.state], fillOpacity: 0.95,
        className: "site site-" + s.state
      }).bindTooltip(s.name + " (" + s.code + ") · " + T.state[s.state] + " · " + fmt(s.sampled) + "/" + fmt(s.expected) + " · " + s.desks + " " + T.desks)
        .addTo(siteLayer);
    });
  }

  function drawCurve(curve, deadline) {
    chart.setOption({
      backgroundColor: "transparent",
      grid: { left: 60, right: 16, top: 28, bottom: 28 },
      legend: { data: [T.sampled, T.called], textStyle: { color: "#ccc" } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", min: 0, max: curve.minutes[curve.minutes.length - 1], axisLabel: { formatter: function (v) { return hm(v); } } },
      yAxis: { type: "value" },
      series: [
        { name: T.sampled, type: "line", showSymbol: false, data: curve.minutes.map(function (m, i) { return [m, curve.sampled[i]]; }) },
        { name: T.called, type: "line", showSymbol: false, lineStyle: { type: "dashed" }, data: curve.minutes.map(function (m, i) { return [m, curve.called[i]]; }),
          markLine: { symbol: "none", data: [{ xAxis: deadline, name: T.deadline }], lineStyle: { color: "#fa5252" }, label: { formatter: T.deadline } } }
      ]
    });
  }

  function render(d) {
    var f = d.figures, c = d.campaign;
    document.body.dataset.updated = d.now;
    set("clock", (d.now || "").replace("T", " ").slice(0, 16));
    // Read from a standby: how far its figures may trail the primary's.
    var db = d.database || {}, replica = document.getElementById("replica");
    replica.hidden = db.read_from !== "standby";
    if (!replica.hidden) {
      replica.textContent = (db.streaming ? T.standbyLag : T.standbyCut) + " " + (db.lag_s == null ? "–" : db.lag_s.toFixed(1) + " s") + " ·";
      replica.classList.toggle("red", !db.streaming || db.lag_s > 30);
    }
    set("t-sampled", fmt(f.sampled)); set("t-people", fmt(f.people)); set("t-coverage", pct(f.coverage));
    set("t-tubes", fmt(f.tubes)); set("t-boxes", fmt(f.boxes_in_transit) + " / " + fmt(f.boxes_received));
    set("t-results", fmt(f.results)); set("t-positives", fmt(f.positives) + " / " + fmt(f.retests_open));
    document.getElementById("tile-positives").classList.toggle("red", f.positives > 0);
    // The forecast's median finish once it has one; until then the last swab so far.
    var finish = forecast ? forecast.finish.p50 : f.finish_minutes;
    set("t-finish", hm(finish) + " / " + hm(c.deadline_minutes));
    set("t-ontime", forecast ? T.onTime + " " + Math.round(100 * forecast.p_on_time) + "%" : "");
    var tile = document.getElementById("tile-finish");
    tile.classList.toggle("red", finish != null && finish > c.deadline_minutes);
    tile.classList.toggle("green", finish != null && finish <= c.deadline_minutes);
    drawSites(d.sites);
    drawCurve(d.curve, c.deadline_minutes);
    var late = document.getElementById("late-items"); late.innerHTML = "";
    set("late-count", "(" + d.late_items.length + ")");
    d.late_items.forEach(function (it) {
      var tr = document.createElement("tr"); tr.className = "red";
      cell(tr, it.site_code); cell(tr, it.label); cell(tr, it.due_at.slice(11, 16)); cell(tr, Math.round(it.minutes_late));
      late.appendChild(tr);
    });
    // Terminals whose clocks are off: their times are refused past a few minutes ahead; set them right.
    var skew = document.getElementById("clock-skew"); skew.innerHTML = "";
    set("skew-count", "(" + (d.clock_skew || []).length + ")");
    (d.clock_skew || []).forEach(function (s) {
      var tr = document.createElement("tr"); tr.className = "red";
      cell(tr, s.site_code); cell(tr, s.user); cell(tr, (s.skew_s > 0 ? "+" : "") + Math.round(s.skew_s / 60));
      skew.appendChild(tr);
    });
    // The chain of custody: tubes held at a site, boxes on the road, past their limits.
    var custody = document.getElementById("custody-flags"); custody.innerHTML = "";
    set("custody-count", "(" + d.custody.tubes_waited_too_long + " / " + d.custody.boxes_too_long_in_transit + ")");
    d.custody.flags.forEach(function (f) {
      var tr = document.createElement("tr"); tr.className = "red";
      cell(tr, f.site_code); cell(tr, f.tube_code || f.box_code);
      cell(tr, f.kind === "transit" ? T.onTheRoad : T.waitAtSite); cell(tr, Math.round(f.minutes) + " > " + f.limit_minutes);
      custody.appendChild(tr);
    });
    var behind = document.getElementById("behind-sites"); behind.innerHTML = "";
    d.sites.filter(function (s) { return s.state === "behind"; }).slice(0, 20).forEach(function (s) {
      var tr = document.createElement("tr");
      cell(tr, s.name); cell(tr, s.community); cell(tr, fmt(s.sampled) + "/" + fmt(s.expected));
      behind.appendChild(tr);
    });
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }

  var forecast = null;
  function drawPositives(alerts) {
    var body = document.getElementById("positives"); body.innerHTML = "";
    set("positive-count", "(" + alerts.length + ")");
    alerts.forEach(function (a) {
      var tr = document.createElement("tr"); if (a.open) { tr.className = "red"; }
      cell(tr, a.tube_code); cell(tr, a.site_code); cell(tr, a.resulted_at.slice(11, 16));
      cell(tr, (a.retests.length - a.open) + " / " + a.retests.length);
      body.appendChild(tr);
    });
  }
  function drawFindings(sites) {
    var body = document.getElementById("findings"), n = 0; body.innerHTML = "";
    sites.forEach(function (s) {
      s.findings.forEach(function (x) {
        n += 1;
        var tr = document.createElement("tr"); if (x.overdue) { tr.className = "red"; }
        cell(tr, s.site_code); cell(tr, x.description); cell(tr, x.rectify_by ? x.rectify_by.slice(5, 16).replace("T", " ") : "");
        body.appendChild(tr);
      });
    });
    set("finding-count", "(" + n + ")");
  }

  var ticks = 0;
  function poll() {
    var jobs = [get(base + "/dashboard").then(render)];
    if (ticks % 6 === 0) { jobs.push(get(base + "/grids").then(drawGrids)); }
    if (ticks % 3 === 0) {
      jobs.push(get(base + "/alerts?include_closed=true").then(drawPositives));
      jobs.push(get(base + "/findings").then(drawFindings));
      jobs.push(get(base + "/forecast").then(function (f) { forecast = f.now > 0 ? f : null; }));
    }
    ticks += 1;
    Promise.all(jobs).catch(function (e) { document.body.dataset.error = String(e); })
      .then(function () { setTimeout(poll, S.poll); });
  }
  window.addEventListener("resize", function () { chart.resize(); });
  poll();
})();
