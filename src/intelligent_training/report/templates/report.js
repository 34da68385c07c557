// Sort a table by a clicked header (numbers numerically, "–" last). No network, no globals.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var raw = cell.getAttribute("data-v");
    return raw === null ? cell.textContent.trim() : raw;
  }
  function compare(a, b) {
    var missingA = a === "" || a === "–", missingB = b === "" || b === "–";
    if (missingA || missingB) { return missingA === missingB ? 0 : (missingA ? 1 : -1); }
    var number = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
    if (number.test(a) && number.test(b)) { return parseFloat(a) - parseFloat(b); }
    return a.localeCompare(b);
  }
  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var descending = !header.classList.contains("sorted-desc");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
    });
    header.classList.add(descending ? "sorted-desc" : "sorted-asc");
    rows.sort(function (r1, r2) {
      var order = compare(cellValue(r1, index), cellValue(r2, index));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
})();

// Draw each plotly figure when it comes near the screen (or when its <details> opens).
(function () {
  "use strict";
  var holder = document.getElementById("figure-data");
  if (!holder || typeof Plotly === "undefined") { return; }
  var specs = JSON.parse(holder.textContent);
  var config = {displaylogo: false, responsive: true, scrollZoom: false,
                modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  var plots = Array.prototype.slice.call(document.querySelectorAll("div.plot[data-plot]"));
  var drawn = 0;
  function draw(el) {
    if (el.getAttribute("data-drawn")) { return; }
    el.setAttribute("data-drawn", "1");
    var spec = specs[el.getAttribute("data-plot")];
    Plotly.newPlot(el, spec.data, spec.layout, config).then(function () {
      drawn += 1;
      document.body.setAttribute("data-plots-drawn", String(drawn));
    });
  }
  window.itReportDrawAll = function () { plots.forEach(draw); };
  if (!("IntersectionObserver" in window)) { plots.forEach(draw); return; }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); draw(entry.target); }
    });
  }, {rootMargin: "400px 0px"});
  plots.forEach(function (el) { observer.observe(el); });
})();
