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
