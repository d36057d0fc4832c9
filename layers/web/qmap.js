/* Qingshan map helpers for Leaflet: compact point layers drawn as symbols on a canvas (shapes and
 * colours from layers/symbols.py), clusters, GeoJSON layers, legends drawn from the same symbols,
 * a metric scale bar and the wall screen's rotating views.
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

  /* --- symbols: shapes come from layers/symbols.py as SVG path data around (0, 0), radius 1 ------------ */

  var SVGNS = "http://www.w3.org/2000/svg";
  var CIRCLE = { name: "circle", path: "M1,0A1,1 0 1,1 -1,0A1,1 0 1,1 1,0Z", extent: 1, tip: false };
  var RING_GAP = 2.5, RING_WEIGHT = 2.5;
  var paths = {};
  function path2d(d) { return paths[d] || (paths[d] = new Path2D(d)); }

  /* A wall screen at 4K with 100 % scaling: markers and lines twice the size, like everything around them.
   * The wall's map frame is narrow (the district is tall), so the wall page marks a 4K screen with
   * ``qs-wall-4k`` on the body (layers/wall.py); a wide frame still tells by its own size. */
  function zoomFactor() {
    var body = document.body, wall = body && body.classList.contains("qs-wall");
    return wall && (body.classList.contains("qs-wall-4k") ||
                    (window.innerWidth >= 2000 && window.innerHeight >= 1200)) ? 2 : 1;
  }

  /* Black or white, whichever reads better on a fill colour (WCAG relative luminance). */
  function ink(hex) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
    if (!m) return "#000000";
    var lum = [m[1], m[2], m[3]].map(function (h) {
      var v = parseInt(h, 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    var L1 = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return (L1 + 0.05) / 0.05 > 1.05 / (L1 + 0.05) ? "#000000" : "#ffffff";
  }

  /* Leaflet classes are made on first use: qmap.js may be loaded before Leaflet by some hosts. */
  var lib = null;
  function leaflet() {
    if (lib) return lib;
    lib = {};
    /* A point drawn as a shape (with an optional ring around it) on the map's shared canvas. */
    lib.Symbol = L.CircleMarker.extend({
      options: { qsPath: CIRCLE.path, qsExtent: 1, qsTip: false, qsRing: null, qsRingDash: false, qsRingWeight: 2.5 },
      _centre: function () {
        return this.options.qsTip ? this._point.subtract([0, 2.05 * this._radius]) : this._point;
      },
      _ringRadius: function () {
        return this._radius * (this.options.qsTip ? 1.05 : this.options.qsExtent) + RING_GAP + this.options.qsRingWeight / 2;
      },
      _updateBounds: function () {
        var o = this.options, r = this._radius * o.qsExtent + o.weight;
        if (o.qsRing) r = Math.max(r, this._ringRadius() + o.qsRingWeight + (o.qsTip ? 2.05 * this._radius : 0));
        var e = r + this._clickTolerance();
        this._pxBounds = L.bounds(this._point.subtract([e, e]), this._point.add([e, e]));
      },
      _updatePath: function () {
        if (this._renderer._updateQsSymbol) this._renderer._updateQsSymbol(this);
        else this._renderer._updateCircle(this);
      },
      _containsPoint: function (p) {
        return p.distanceTo(this._centre()) <= this._radius * 1.15 + this._clickTolerance();
      }
    });
    L.Canvas.include({
      _updateQsSymbol: function (layer) {
        if (!this._drawing || layer._empty()) return;
        var ctx = this._ctx, o = layer.options, r = Math.max(layer._radius, 1), p = layer._point;
        ctx.save();
        ctx.translate(p.x, p.y);
        if (o.qsRing) {  // the ring goes around the symbol: the symbol itself stays visible
          ctx.beginPath();
          ctx.arc(0, o.qsTip ? -2.05 * r : 0, layer._ringRadius(), 0, Math.PI * 2, false);
          ctx.setLineDash(o.qsRingDash ? [5, 3] : []);
          ctx.globalAlpha = 1;
          ctx.lineWidth = o.qsRingWeight;
          ctx.strokeStyle = o.qsRing;
          ctx.stroke();
          ctx.setLineDash([]);
        }
        ctx.scale(r, r);
        var shape = path2d(o.qsPath);
        if (o.fill) {
          ctx.globalAlpha = o.fillOpacity;
          ctx.fillStyle = o.fillColor || o.color;
          ctx.fill(shape, "evenodd");
        }
        if (o.stroke && o.weight !== 0) {
          ctx.globalAlpha = o.opacity;
          ctx.lineWidth = o.weight / r;
          ctx.strokeStyle = o.color;
          ctx.lineJoin = "round";
          ctx.stroke(shape);
        }
        ctx.restore();
        if (o.qsText) {  // a short label inside the symbol (a patrol stop's order)
          var c = layer._centre();
          ctx.globalAlpha = 1;
          // long labels (an aggregate's count) shrink to stay inside the symbol
          var fit = Math.min(1, 2.4 / Math.max(1, String(o.qsText).length));
          ctx.font = "700 " + Math.round(r * 1.05 * fit) + "px 'Noto Sans CJK SC', sans-serif";
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillStyle = ink(o.fillColor);
          ctx.fillText(o.qsText, c.x, c.y + 0.5);
        }
      }
    });
    /* Township names in a pane above every marker and cluster, below tooltips and popups. */
    lib.LabelGroup = L.LayerGroup.extend({
      onAdd: function (map) {
        if (!map.getPane("qsLabels")) {
          var pane = map.createPane("qsLabels");
          pane.style.zIndex = 640;
          pane.style.pointerEvents = "none";
        }
        L.LayerGroup.prototype.onAdd.call(this, map);
      }
    });
    return lib;
  }

  /* An <svg> drawing one shape (the same path the canvas draws): legends, clusters, icons. */
  function svgShape(shape, fill, stroke, px, strokePx, margin) {
    var tip = !!shape.tip, e = margin || 1.6;
    var svg = document.createElementNS(SVGNS, "svg");
    var vb = tip ? [-1.6, -3.25, 3.2, 3.4] : [-e, -e, 2 * e, 2 * e];
    svg.setAttribute("viewBox", vb.join(" "));
    svg.setAttribute("width", px);
    svg.setAttribute("height", tip ? Math.round(px * 3.4 / 3.2) : px);
    svg.setAttribute("class", "qs-svg");
    var p = document.createElementNS(SVGNS, "path");
    p.setAttribute("d", shape.path);
    p.setAttribute("fill", fill || "none");
    p.setAttribute("fill-rule", "evenodd");
    p.setAttribute("stroke", stroke || "none");
    p.setAttribute("stroke-width", strokePx || 1.2);
    p.setAttribute("stroke-linejoin", "round");
    p.setAttribute("vector-effect", "non-scaling-stroke");
    svg.appendChild(p);
    return svg;
  }

  var clipSeq = 0;
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  /* A pie of `parts` ([[colour, count]]) clipped to a shape: a cluster icon (the count is laid over it).
   * The shape still says what the points are, the colours how many of them stand how, the number how many. */
  function pieShape(shape, parts, px) {
    var total = parts.reduce(function (a, p) { return a + p[1]; }, 0);
    var svg = svgEl("svg", { viewBox: "-1.6 -1.6 3.2 3.2", width: px, height: px, "class": "qs-svg qs-pie" });
    var id = "qs-clip-" + (++clipSeq);
    var clip = svgEl("clipPath", { id: id });
    clip.appendChild(svgEl("path", { d: shape.path }));
    var defs = svgEl("defs", {});
    defs.appendChild(clip);
    svg.appendChild(defs);
    var g = svgEl("g", { "clip-path": "url(#" + id + ")" });
    var a0 = -Math.PI / 2, R = 1.8;
    parts.forEach(function (p) {
      if (!p[1]) return;
      if (p[1] === total) { g.appendChild(svgEl("rect", { x: -R, y: -R, width: 2 * R, height: 2 * R, fill: p[0] })); return; }
      var a1 = a0 + 2 * Math.PI * p[1] / total;
      var d = "M0,0L" + (R * Math.cos(a0)).toFixed(3) + "," + (R * Math.sin(a0)).toFixed(3) + "A" + R + "," + R +
        " 0 " + (a1 - a0 > Math.PI ? 1 : 0) + ",1 " + (R * Math.cos(a1)).toFixed(3) + "," + (R * Math.sin(a1)).toFixed(3) + "Z";
      g.appendChild(svgEl("path", { d: d, fill: p[0] }));
      a0 = a1;
    });
    svg.appendChild(g);
    svg.appendChild(svgEl("path", { d: shape.path, fill: "none", stroke: "#ffffff", "stroke-width": 2.2,
                                    "stroke-linejoin": "round", "vector-effect": "non-scaling-stroke" }));
    svg.appendChild(svgEl("path", { d: shape.path, fill: "none", stroke: "#1b1b1b", "stroke-width": 0.8,
                                    "stroke-linejoin": "round", "vector-effect": "non-scaling-stroke" }));
    return svg;
  }

  /* The size of a cluster icon (px) for markers of radius r0: larger on the wall, read from afar. */
  function clusterSize(r0) {
    var wall = document.body && document.body.classList.contains("qs-wall") ? 1.35 : 1;
    return Math.max(30 * zoomFactor(), r0 * 4.2) * wall;
  }

  /* A cluster: its commonest shape as a pie of its points' colours, with their count. */
  function clusterIcon(cluster, data, r0) {
    var kids = cluster.getAllChildMarkers(), n = kids.length, colours = {}, shapes = {}, ring = null;
    kids.forEach(function (k) {
      var i = k.options.qsIndex;
      colours[data.c[i]] = (colours[data.c[i]] || 0) + 1;
      var s = data.s ? data.s[i] : 0;
      shapes[s] = (shapes[s] || 0) + 1;
      if (k.options.qsRing && !ring) ring = k.options.qsRing;
    });
    var best = 0, most = -1;
    Object.keys(shapes).forEach(function (s) { if (shapes[s] > most) { most = shapes[s]; best = +s; } });
    var shape = (data.shapes || [CIRCLE])[best] || CIRCLE;
    if (shape.tip) shape = CIRCLE;
    // palette order, merged by colour (two statuses may share one)
    var parts = [], at = {};
    data.palette.forEach(function (col, ci) {
      if (!colours[ci]) return;
      if (at[col] === undefined) { at[col] = parts.length; parts.push([col, 0]); }
      parts[at[col]][1] += colours[ci];
    });
    var size = Math.round(clusterSize(r0) * (n >= 100 ? 1.3 : (n >= 10 ? 1.12 : 1)));
    var box = el("div", "qs-cluster" + (ring ? " qs-cluster-ring" : ""));
    if (ring) box.style.setProperty("--qs-ring", ring);
    box.style.width = box.style.height = size + "px";
    // on the wall a count is read from 4 m: never below the wall's smallest text (24 px, twice at 4K)
    var floor = document.body && document.body.classList.contains("qs-wall") ? 24 * zoomFactor() : 0;
    box.style.fontSize = Math.max(Math.round(size * 0.42), floor) + "px";
    box.appendChild(pieShape(shape, parts, size));
    var num = el("span", "qs-pie-n", n);
    if (shape.name === "triangle") num.style.paddingTop = Math.round(size * 0.12) + "px";
    if (shape.name === "triangle_down") num.style.paddingBottom = Math.round(size * 0.12) + "px";
    box.appendChild(num);
    return L.divIcon({ html: box, className: "qs-cluster-icon", iconSize: L.point(size, size) });
  }

  /* data: {x, y, c (palette index), palette, shapes [{path, extent, tip}], s (shape index per point, optional),
   *        radius, weight, stroke, labels, rows, title (column index), history (optional, list per point),
   *        ring (optional: ring index per point, -1 none), rings [{colour, dashed}], tip (optional column),
   *        cluster (optional {radius (× marker radius), until (zoom)}), text (optional label per point),
   *        r (optional radius per point, px)} */
  function points(data, opts) {
    opts = opts || {};
    var lb = leaflet();
    var n = data.x.length, k = zoomFactor();
    var r0 = data.radius * k;
    var shapes = data.shapes && data.shapes.length ? data.shapes : [CIRCLE];
    var rings = data.rings || [];
    // No renderer of its own: every layer shares the map's canvas (preferCanvas), because only
    // the topmost canvas receives the mouse and would hide the layers below it.
    var group;
    if (data.cluster && L.markerClusterGroup) {
      group = L.markerClusterGroup({
        // merge what would overlap: markers, and the cluster icons themselves
        maxClusterRadius: Math.round(Math.max(clusterSize(r0) * 0.9, r0 * (data.cluster.radius || 4))),
        disableClusteringAtZoom: data.cluster.until || 14,
        showCoverageOnHover: false, spiderfyOnMaxZoom: true, chunkedLoading: true, animate: false,
        iconCreateFunction: function (cl) { return clusterIcon(cl, data, r0); }
      });
    } else {
      group = L.featureGroup();
    }
    var markers = new Array(n);
    for (var i = 0; i < n; i++) {
      var sh = shapes[data.s ? data.s[i] : 0] || CIRCLE;
      var ri = data.ring ? data.ring[i] : -1;
      var ring = ri >= 0 ? rings[ri] : null;
      markers[i] = new lb.Symbol([data.y[i], data.x[i]], {
        radius: data.r ? data.r[i] * k : r0,
        color: data.stroke || "#222222",
        weight: (data.weight || 1) * k,
        fillColor: data.palette[data.c[i]],
        fillOpacity: 0.95,
        qsPath: sh.path, qsExtent: sh.extent || 1, qsTip: !!sh.tip,
        qsRing: ring ? ring.colour : null, qsRingDash: ring ? !!ring.dashed : false, qsRingWeight: RING_WEIGHT * k,
        qsShape: sh.name || "circle",
        qsText: data.text ? data.text[i] : null,
        qsIndex: i
      });
    }
    if (group.addLayers) group.addLayers(markers);
    else markers.forEach(function (m) { group.addLayer(m); });
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
    group.qsData = data;
    return group;
  }

  /* GeoJSON (polygons, lines) with a style per feature (property _s indexes styles) and a text tooltip. */
  function geo(geojson, opts) {
    opts = opts || {};
    var k = zoomFactor();
    var styles = (opts.styles || [{}]).map(function (st) {
      var out = {};
      Object.keys(st).forEach(function (key) { out[key] = st[key]; });
      if (out.weight !== undefined) out.weight = out.weight * k;
      return out;
    });
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
    var group = new (leaflet().LabelGroup)();
    items.forEach(function (it) {
      var icon = L.divIcon({ className: "qs-label " + (cls || ""), html: "", iconSize: null });
      var mk = L.marker([it[1], it[0]], { icon: icon, interactive: false, keyboard: false, pane: "qsLabels" });
      mk.on("add", function () { if (mk._icon) mk._icon.textContent = it[2]; });
      group.addLayer(mk);
    });
    return group;
  }

  /* A legend swatch for one row from layers/symbols.py: {label, swatch, role, colour, path, tip, dashed}. */
  function swatch(it) {
    var box = el("span", "qs-swatch qs-" + (it.swatch === "cluster" ? "cluster-key" : it.swatch));
    box.setAttribute("data-role", it.role || "colour");
    if (it.colour) box.setAttribute("data-colour", it.colour);
    if (it.swatch === "shape") {
      var shape = { path: it.path, tip: it.tip };
      // a layer's shape is drawn hollow: it names a layer, not a colour
      box.appendChild(it.role === "shape" ? svgShape(shape, "none", null, 16, 1.6, 1.35)
                                          : svgShape(shape, it.colour, "#222222", 16, 1, 1.35));
      if (it.shape) box.setAttribute("data-shape", it.shape);
    } else if (it.swatch === "cluster") {  // neutral greys: a cluster's colours are its points' own
      var mini = el("span", "qs-cluster qs-cluster-mini");
      mini.appendChild(pieShape(CIRCLE, [["#bdbdbd", 2], ["#757575", 1]], 18));
      mini.appendChild(el("span", "qs-pie-n", "n"));
      box.appendChild(mini);
    } else if (it.swatch === "ring") {
      box.style.borderColor = it.colour;
      if (it.dashed) box.style.borderStyle = "dashed";
    } else {
      box.style.background = it.colour;
    }
    return box;
  }

  /* items: rows from layers/symbols.py (older [label, colour, kind] triples still work). */
  function legend(map, title, items, position, fit) {
    position = position || "bottomleft";
    var ctl = L.control({ position: position });
    ctl.onAdd = function () {
      var box = el("div", "qs-legend");
      if (title) box.appendChild(el("div", "qs-legend-title", title));
      var body = el("div", "qs-legend-body"), group = null;
      box.appendChild(body);
      items.forEach(function (it) {
        if (Array.isArray(it)) {
          it = { label: it[0], colour: it[1], swatch: it[2] === "circle" ? "shape" : it[2], role: "colour",
                 path: CIRCLE.path, shape: "circle" };
        }
        if (it.swatch === "heading" || !group) {  // a heading starts a group; groups sit side by side
          group = el("div", "qs-legend-group");
          body.appendChild(group);
          if (it.swatch === "heading") { group.appendChild(el("div", "qs-legend-sub", it.label)); return; }
        }
        var row = el("div", "qs-legend-row");
        row.appendChild(swatch(it));
        row.appendChild(el("span", "qs-legend-label", it.label));
        group.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      if (title) {  // the title folds the legend away (and back) on a small screen
        box.firstChild.addEventListener("click", function () { box.classList.toggle("qs-folded"); });
      }
      return box;
    };
    ctl.addTo(map);
    // groups side by side on a wide map; stacked when that would cover too much of a narrow one
    refit(map, ctl, position, fit);
    return ctl;
  }

  /* Fit the map's own area (its data bounds) beside the legend rather than under it, when there is room.
   * The frame may not be laid out yet when the map is built: try again shortly until it is. */
  function refit(map, ctl, position, fit) {
    if (!fit) return;
    var tries = 0;
    function attempt() {
      var node = ctl.getContainer(), size = map.getSize();
      if (!node || !node.offsetWidth || !size.x || !size.y) {
        if (tries++ < 30) setTimeout(attempt, 100);
        return;
      }
      if (size.x * 0.45 < node.offsetWidth) node.classList.add("qs-legend-narrow");
      var w = node.offsetWidth + 16;
      if (w > size.x * 0.55) return;
      // the controls on the other side (the layer list) take room too, when there is some to spare
      var left = position.indexOf("left") >= 0;
      var other = map.getContainer().querySelector(left ? ".leaflet-top.leaflet-right" : ".leaflet-top.leaflet-left");
      var o = other ? other.offsetWidth + 8 : 8;
      if (w + o > size.x * 0.7) o = 8;
      // no animation: a pan still running when the frame resizes would be stopped where it began
      var opts = left ? { paddingTopLeft: [w, 4], paddingBottomRight: [o, 4], animate: false }
                      : { paddingTopLeft: [o, 4], paddingBottomRight: [w, 4], animate: false };
      map.fitBounds(fit, opts);
    }
    setTimeout(attempt, 0);  // after the rest of the map's controls are added
  }

  /* Fit the map to its data at once (no zoom animation whose end would undo a later refit). */
  function fit(map, bounds) {
    map.fitBounds(bounds, { animate: false });
  }

  /* A metric scale bar: metres and kilometres only. */
  function scale(map, position) {
    return L.control.scale({ position: position || "bottomleft", metric: true, imperial: false,
                             maxWidth: 160 }).addTo(map);
  }

  /* A fixed icon (the patrol depot): the shape as an <svg> marker above the canvas. */
  function icon(lat, lon, shape, colour, px, tooltip) {
    var k = zoomFactor(), size = Math.round((px || 26) * k);
    var holder = el("div", "qs-icon");
    holder.appendChild(svgShape(shape, colour, "#ffffff", size, 1.5));
    var mk = L.marker([lat, lon], {
      icon: L.divIcon({ html: holder, className: "qs-icon-wrap", iconSize: L.point(size, size),
                        iconAnchor: L.point(size / 2, shape.tip ? size : size / 2) }),
      keyboard: false, zIndexOffset: 1000
    });
    if (tooltip) mk.bindTooltip(function () { return el("span", "qs-tip", tooltip); });
    return mk;
  }

  /* The wall screen: show one view (a list of layers) at a time, switching every `seconds`. */
  function rotate(map, views, seconds) {
    var k = 0;
    var banner = L.control({ position: "topright" });
    banner.onAdd = function () { return el("div", "qs-view-title", ""); };
    banner.addTo(map);
    function show(i) {
      // a layer may belong to several views (the water): only those not in view i are taken off
      var keep = views[i].layers;
      views.forEach(function (v, j) {
        v.layers.forEach(function (l) {
          if (keep.indexOf(l) < 0 && map.hasLayer(l)) map.removeLayer(l);
        });
        (v.legends || []).forEach(function (c) {
          var node = c.getContainer && c.getContainer();
          if (node) node.style.display = j === i ? "" : "none";
        });
      });
      keep.forEach(function (l) { if (!map.hasLayer(l)) map.addLayer(l); });
      banner.getContainer().textContent = views[i].title;
      map.getContainer().setAttribute("data-qs-view", views[i].key);
    }
    show(0);
    if (views.length > 1 && seconds > 0) {
      setInterval(function () { k = (k + 1) % views.length; show(k); }, seconds * 1000);
    }
  }

  global.QS = { points: points, geo: geo, labels: labels, legend: legend, scale: scale, fit: fit, icon: icon, rotate: rotate,
                el: el, svgShape: svgShape, pieShape: pieShape, siteLink: siteLink };
})(window);
