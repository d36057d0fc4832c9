/* Qingshan map helpers for Leaflet: compact point layers on a canvas, GeoJSON layers,
 * legends and the wall screen's rotating views.
 * Every text from the data is put into the page with textContent, never as HTML:
 * names come from ledgers typed by people. */
(function (global) {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function table(title, rows, history) {
    var box = el("div", "qs-popup");
    box.appendChild(el("div", "qs-popup-title", title));
    var t = el("table");
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") return;
      var tr = el("tr");
      tr.appendChild(el("th", null, r[0]));
      tr.appendChild(el("td", null, r[1]));
      t.appendChild(tr);
    });
    box.appendChild(t);
    if (history && history.length) {
      box.appendChild(el("div", "qs-popup-sub", "状态记录"));
      var ul = el("ul", "qs-history");
      history.forEach(function (h) { ul.appendChild(el("li", null, h)); });
      box.appendChild(ul);
    }
    return box;
  }

  /* A link to a site's file (一企一档): only the encoded layer and id go into the URL; opens a new tab
   * (the map's iframe may not navigate the page). */
  function siteLink(base, layer, id) {
    var a = el("a", "qs-popup-link", "查看档案（一企一档）");
    a.href = (base || "/site") + "?layer=" + encodeURIComponent(layer) + "&id=" + encodeURIComponent(id);
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  /* data: {x, y, c (palette index), palette, radius, stroke, labels, rows, title (column index),
   *        history (optional, list per point), highlight (optional list of 0/1), tip (optional column)} */
  function points(data, opts) {
    opts = opts || {};
    // No renderer of its own: every layer shares the map's canvas (preferCanvas), because only
    // the topmost canvas receives the mouse and would hide the layers below it.
    var group = L.featureGroup();
    var n = data.x.length;
    // A wall screen at 4K with 100 % scaling: markers twice the size, like everything around them.
    var big = document.body && document.body.classList.contains("qs-wall") &&
      window.innerWidth >= 2000 && window.innerHeight >= 1200;
    var r0 = big ? data.radius * 2 : data.radius;
    for (var i = 0; i < n; i++) {
      var hi = data.highlight && data.highlight[i];
      var m = L.circleMarker([data.y[i], data.x[i]], {
        radius: hi ? r0 + 3 : r0,
        color: hi ? "#000000" : (data.stroke || "#222222"),
        weight: hi ? 2.5 : 1,
        fillColor: data.palette[data.c[i]],
        fillOpacity: 0.92,
        qsIndex: i
      });
      group.addLayer(m);
    }
    var tipCol = data.tip === undefined ? data.title : data.tip;
    group.bindTooltip(function (layer) {
      var i = layer.options.qsIndex;
      return el("span", "qs-tip", data.rows[i][tipCol]);
    }, { sticky: true });
    group.bindPopup(function (layer) {
      var i = layer.options.qsIndex;
      var rows = data.labels.map(function (lab, k) { return [lab, data.rows[i][k]]; });
      var box = table(data.rows[i][data.title], rows, data.history ? data.history[i] : null);
      var site = data.site && data.site[i];
      if (site) box.appendChild(siteLink(data.siteUrl, site[0], site[1]));
      return box;
    }, { maxWidth: 360 });
    return group;
  }

  /* GeoJSON (polygons, lines) with a style per feature (property _s indexes styles) and a text tooltip. */
  function geo(geojson, opts) {
    opts = opts || {};
    var styles = opts.styles || [{}];
    var layer = L.geoJSON(geojson, {
      style: function (f) { return styles[f.properties._s || 0]; },
      interactive: opts.interactive !== false
    });
    if (opts.tip) {
      layer.bindTooltip(function (l) { return el("span", "qs-tip", l.feature.properties[opts.tip]); },
        { sticky: true });
    }
    if (opts.popupLabels) {
      layer.bindPopup(function (l) {
        var p = l.feature.properties;
        var rows = opts.popupLabels.map(function (pair) { return [pair[1], p[pair[0]]]; });
        return table(p[opts.tip || "name"], rows, null);
      });
    }
    return layer;
  }

  /* Permanent text labels (township names) at given points. */
  function labels(items, cls) {
    var group = L.layerGroup();
    items.forEach(function (it) {
      var icon = L.divIcon({ className: "qs-label " + (cls || ""), html: "", iconSize: null });
      var mk = L.marker([it[1], it[0]], { icon: icon, interactive: false, keyboard: false });
      mk.on("add", function () { if (mk._icon) mk._icon.textContent = it[2]; });
      group.addLayer(mk);
    });
    return group;
  }

  /* items: [[label, colour, kind]] with kind "circle" | "line" | "fill" | "ring" */
  function legend(map, title, items, position) {
    var ctl = L.control({ position: position || "bottomleft" });
    ctl.onAdd = function () {
      var box = el("div", "qs-legend");
      if (title) box.appendChild(el("div", "qs-legend-title", title));
      items.forEach(function (it) {
        var row = el("div", "qs-legend-row");
        var sw = el("span", "qs-swatch qs-" + (it[2] || "circle"));
        sw.style.setProperty("--qs-colour", it[1]);
        row.appendChild(sw);
        row.appendChild(el("span", null, it[0]));
        box.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  }

  /* The wall screen: show one view (a list of layers) at a time, switching every `seconds`. */
  function rotate(map, views, seconds) {
    var k = 0;
    var banner = L.control({ position: "topright" });
    banner.onAdd = function () { return el("div", "qs-view-title", ""); };
    banner.addTo(map);
    function show(i) {
      views.forEach(function (v, j) {
        v.layers.forEach(function (l) {
          if (j === i) { if (!map.hasLayer(l)) map.addLayer(l); } else if (map.hasLayer(l)) map.removeLayer(l);
        });
        (v.legends || []).forEach(function (c) {
          var node = c.getContainer && c.getContainer();
          if (node) node.style.display = j === i ? "" : "none";
        });
      });
      banner.getContainer().textContent = views[i].title;
      map.getContainer().setAttribute("data-qs-view", views[i].key);
    }
    show(0);
    if (views.length > 1 && seconds > 0) {
      setInterval(function () { k = (k + 1) % views.length; show(k); }, seconds * 1000);
    }
  }

  /* A live clock for the unattended wall screen (the page itself reruns only every few minutes). */
  function clock(map, position) {
    var ctl = L.control({ position: position || "topleft" });
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var week = "日一二三四五六";
    ctl.onAdd = function () {
      var box = el("div", "qs-clock");
      var tick = function () {
        var d = new Date();
        box.textContent = d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日 星期" +
          week[d.getDay()] + "  " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
      };
      tick();
      setInterval(tick, 1000);
      return box;
    };
    ctl.addTo(map);
    return ctl;
  }

  global.QS = { points: points, geo: geo, labels: labels, legend: legend, rotate: rotate, clock: clock, el: el,
                siteLink: siteLink };
})(window);
