/*
 * The example page /examples/progress/: start a demo.slow job, then follow it
 * with watchJob() from progress.js. Copy and adapt; it needs no framework.
 *
 * Each progress value shown is also appended to the bar's data-progress-history
 * attribute (comma-separated), and the status line's data-status says where the
 * job is ("starting", a job status, or "error"), so tests can read what a visitor saw.
 */
(() => {
  "use strict";

  const form = document.getElementById("start-form");
  const button = document.getElementById("start-button");
  const bar = document.getElementById("job-progress");
  const percent = document.getElementById("job-percent");
  const statusLine = document.getElementById("job-status");
  const output = document.getElementById("job-output");
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  let watcher = null;

  function showStatus(state, text) {
    statusLine.dataset.status = state;
    statusLine.textContent = text;
  }

  function showProgress(value) {
    bar.value = value;
    percent.textContent = `${value}%`;
    const history = bar.dataset.progressHistory;
    bar.dataset.progressHistory = history ? `${history},${value}` : String(value);
  }

  function showOutput(value) {
    output.textContent = JSON.stringify(value, null, 2);
    output.hidden = false;
  }

  // POST the form; answers {job_id, status_url} or throws with the server's message.
  async function startJob() {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body || !body.status_url) {
      const message = body && body.error && body.error.message;
      throw new Error(message || `could not start the job (HTTP ${response.status})`);
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (watcher) watcher.stop();
    button.disabled = true;
    output.hidden = true;
    bar.value = 0;
    bar.dataset.progressHistory = "";
    showStatus("starting", "starting…");

    let job;
    try {
      job = await startJob();
    } catch (error) {
      showStatus("error", `error: ${error.message}`);
      button.disabled = false;
      return;
    }

    watcher = watchJob(job.status_url, {
      interval: 500,
      onProgress(status) {
        showProgress(status.progress);
        showStatus(status.status, `job #${job.job_id}: ${status.status}`);
      },
      onDone(status) {
        showStatus(status.status, status.status);
        showOutput(status.output);
        button.disabled = false;
      },
      onError(error, status) {
        const state = status ? status.status : "error";
        showStatus(state, `${state}: ${error.message}`);
        button.disabled = false;
      },
    });
  });
})();
