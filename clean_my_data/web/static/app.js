// clean-my-data pages: upload with progress (to the API, or straight to S3), live job and download status (Server-Sent
// Events, polling as the fallback), table sort and filter.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var POLL_MS = 2000;

  function getJSON(url, onDone, onFail) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 200) { onDone(JSON.parse(xhr.responseText)); } else { onFail(xhr); }
    };
    xhr.onerror = function () { onFail(xhr); };
    xhr.send();
  }

  function problemText(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      return body.detail || body.title || ("HTTP " + xhr.status);
    } catch (e) {
      return xhr.status ? "HTTP " + xhr.status : "the server cannot be reached";
    }
  }

  function showJob(job) {
    var status = document.getElementById("job-status");
    var phase = document.getElementById("job-phase");
    var bar = document.getElementById("job-progress");
    if (status) { status.textContent = job.status; }
    if (phase) { phase.textContent = job.phase || "-"; }
    if (bar) {
      var pct = Math.round((job.status === "succeeded" ? 1 : job.progress || 0) * 100);
      bar.value = pct;
      bar.textContent = pct + " %";
    }
  }

  // Live updates of one analysis: Server-Sent Events, or polling the API every 2 s when the
  // stream cannot be opened or breaks off.
  function watchAnalysis(analysisId, onSnapshot) {
    var url = "/api/v1/analyses/" + encodeURIComponent(analysisId);
    var stopped = false;
    function stop() { stopped = true; }
    function poll() {
      if (stopped) { return; }
      getJSON(url, function (doc) {
        var entries = (doc.final_object && doc.final_object.report.downloads) || [];
        onSnapshot({ job: doc.job, downloads: entries }, stop);
        window.setTimeout(poll, POLL_MS);
      }, function () { window.setTimeout(poll, POLL_MS * 2); });
    }
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource(url + "/events");
    source.addEventListener("analysis", function (e) {
      onSnapshot(JSON.parse(e.data), function () { stop(); source.close(); });
    });
    source.onerror = function () {
      source.close();
      if (!stopped) { window.setTimeout(poll, POLL_MS); }
    };
  }

  function followJob(analysisId, errorEl) {
    watchAnalysis(analysisId, function (snapshot, stop) {
      var job = snapshot.job;
      if (!job) { return; }
      showJob(job);
      if (job.status === "succeeded") {
        stop();
        window.location.assign("/analyses/" + encodeURIComponent(analysisId));
      } else if (job.status === "failed") {
        stop();
        errorEl.textContent = "Error: " + (job.error ? job.error.message : "the analysis failed");
        errorEl.hidden = false;
      }
    });
  }

  function setUpUpload() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var input = document.getElementById("file");
    var zone = document.getElementById("drop-zone");
    var errorEl = document.getElementById("upload-error");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = input.files && input.files[0];
      document.getElementById("progress").hidden = false;
      errorEl.hidden = true;
      if (!file) { fail("choose a file first."); return; }
      if (file.size > maxBytes) { fail("the file is larger than " + maxBytes + " bytes."); return; }
      document.getElementById("upload-button").disabled = true;
      if (form.getAttribute("data-direct") === "true" && window.cmdSha256 && file.size > 0) {
        sendDirect(file);
      } else {
        sendThroughApi(file);
      }
    });

    function fail(message) {
      errorEl.textContent = "Error: " + message;
      errorEl.hidden = false;
      document.getElementById("upload-button").disabled = false;
    }

    function showUpload(loaded, total) {
      var pct = total ? Math.round(loaded / total * 100) : 100;
      var bar = document.getElementById("upload-progress");
      bar.value = pct;
      bar.textContent = pct + " %";
      document.getElementById("upload-text").textContent = pct + " %";
    }

    function accepted(xhr) {
      showUpload(1, 1);
      followJob(JSON.parse(xhr.responseText).job.analysis_id, errorEl);
    }

    function post(url, contentType, onDone) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", contentType);
      xhr.onload = function () { onDone(xhr); };
      xhr.onerror = function () { fail("the server cannot be reached."); };
      return xhr;
    }

    // The store is a local directory (or the browser cannot hash): the file goes to the API.
    function sendThroughApi(file) {
      var url = "/api/v1/analyses?file_name=" + encodeURIComponent(file.name);
      var xhr = post(url, "application/octet-stream", function (done) {
        if (done.status === 202) { accepted(done); } else { fail(problemText(done)); }
      });
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) { showUpload(ev.loaded, ev.total); }
      };
      xhr.onerror = function () { fail("the upload was interrupted."); };
      xhr.send(file);
    }

    // S3 store: hash the file, ask for a presigned POST, send the file straight to the store,
    // then queue the analysis of the stored object.
    function sendDirect(file) {
      var hashBar = document.getElementById("hash-progress");
      window.cmdSha256(file, function (read, total) {
        hashBar.value = Math.round(read / total * 100);
      }, function (sha256) {
        var body = JSON.stringify({ file_name: file.name, size_bytes: file.size, sha256: sha256 });
        post("/api/v1/uploads", "application/json", function (xhr) {
          if (xhr.status === 409) { sendThroughApi(file); return; }
          if (xhr.status !== 201) { fail(problemText(xhr)); return; }
          sendToStore(file, JSON.parse(xhr.responseText));
        }).send(body);
      }, function () { fail("the file cannot be read."); });
    }

    function sendToStore(file, upload) {
      var data = new FormData();
      Object.keys(upload.fields).forEach(function (name) { data.append(name, upload.fields[name]); });
      data.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) { showUpload(ev.loaded, ev.total); }
      };
      xhr.onload = function () {
        if (xhr.status < 200 || xhr.status > 299) {
          fail("the store refused the file (HTTP " + xhr.status + ").");
          return;
        }
        var body = JSON.stringify({ upload_id: upload.upload_id, file_name: file.name });
        post("/api/v1/analyses", "application/json", function (done) {
          if (done.status === 202) { accepted(done); } else { fail(problemText(done)); }
        }).send(body);
      };
      xhr.onerror = function () { fail("the store cannot be reached or refused this site (CORS)."); };
      xhr.send(data);
    }
  }

  function setUpJob() {
    var section = document.getElementById("job");
    if (!section) { return; }
    followJob(section.getAttribute("data-analysis-id"), document.getElementById("job-error"));
  }

  function showDownload(li, entry) {
    var link = li.querySelector("a.button");
    var status = li.querySelector('[data-role="status"]');
    var error = li.querySelector('[data-role="error"]');
    li.setAttribute("data-status", entry.status);
    status.textContent = entry.status;
    status.className = "status status-" + entry.status;
    if (entry.status === "uploaded") {
      link.setAttribute("href", link.getAttribute("data-href"));
      link.classList.remove("disabled");
      link.removeAttribute("aria-disabled");
    } else {
      link.removeAttribute("href");
      link.classList.add("disabled");
      link.setAttribute("aria-disabled", "true");
    }
    if (entry.status === "upload_failed") {
      error.textContent = "Upload failed" + (entry.error ? ": " + entry.error : "");
      error.hidden = false;
    } else {
      error.hidden = true;
    }
  }

  function setUpDownloads() {
    var section = document.getElementById("downloads");
    if (!section || !section.querySelector('.download[data-status="pending"]')) { return; }
    watchAnalysis(section.getAttribute("data-analysis-id"), function (snapshot, stop) {
      (snapshot.downloads || []).forEach(function (entry) {
        var li = section.querySelector('.download[data-download-id="' + entry.download_id + '"]');
        if (li) { showDownload(li, entry); }
      });
      if (!section.querySelector('.download[data-status="pending"]')) { stop(); }
    });
  }

  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell.getAttribute("data-value") || cell.textContent.trim();
  }

  function setUpTables() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
      var body = table.tBodies[0];
      Array.prototype.forEach.call(table.querySelectorAll("th button[data-sort]"), function (button) {
        button.addEventListener("click", function () {
          var index = parseInt(button.getAttribute("data-sort"), 10);
          var numeric = button.hasAttribute("data-numeric") || index === 0;
          var th = button.parentNode;
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          Array.prototype.forEach.call(table.querySelectorAll("th"), function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var x = cellValue(a, index), y = cellValue(b, index);
            var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
            return ascending ? c : -c;
          });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter-table]"), function (input) {
      var table = document.getElementById(input.getAttribute("data-filter-table"));
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) === -1;
        });
      });
    });
  }

  function setUpSelectAll() {
    var all = document.getElementById("select-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll('input[name="download_id"]'), function (box) {
        box.checked = all.checked;
      });
    });
  }

  function setUpLiveStats() {
    var section = document.getElementById("live-stats");
    if (!section || !window.EventSource) { return; }
    var source = new EventSource("/api/v1/stats/events");
    source.addEventListener("stats", function (e) {
      var stats = JSON.parse(e.data);
      Array.prototype.forEach.call(section.querySelectorAll("[data-stat]"), function (cell) {
        var value = cell.getAttribute("data-stat").split(".").reduce(function (node, key) {
          return node === undefined || node === null ? undefined : node[key];
        }, stats);
        if (value !== undefined && value !== null) { cell.textContent = String(value); }
      });
    });
    source.onerror = function () { source.close(); };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpLiveStats();
    setUpUpload();
    setUpJob();
    setUpDownloads();
    setUpTables();
    setUpSelectAll();
  });
})();
