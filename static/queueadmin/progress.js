/*
 * queueadmin progress.js — follow a job from the browser through its public status URL.
 *
 * A classic script with no dependencies and no build step:
 *
 *   <script src="/static/queueadmin/progress.js"></script>
 *
 * It defines one global, watchJob(url, options), which polls a job's status URL
 * (job.status_url on the server; signed, readable without login) until the job
 * is finished:
 *
 *   const watcher = watchJob(statusUrl, {
 *     onProgress(status) { bar.value = status.progress; },   // every successful poll
 *     onDone(status) { show(status.output); },                // completed
 *     onError(error, status) { alert(error.message); },       // failed, cancelled, 4xx, gave up
 *     interval: 1000,                                          // ms between polls
 *     maxErrors: 10,                                           // consecutive failures tolerated
 *     fetcher: (url, init) => fetch(url, init),                // optional: how to request
 *   });
 *   watcher.stop();  // no request and no callback after this
 *
 * status is the URL's JSON: {status, progress (0..100), output, error, updated_at, finished}.
 *
 * - onProgress(status) runs on every successful poll, the first and the last included.
 * - When status.finished is true, polling stops and either onDone(status) runs
 *   (status "completed") or onError(error, status) with error.message = status.error
 *   (failed or cancelled).
 * - A 4xx answer (404: tampered, unknown or deleted job) calls onError(error, null)
 *   with the message of the JSON error body and error.httpStatus, then stops.
 *   408 and 429 are transient and retried like 5xx.
 * - Network errors, 5xx and non-JSON answers are retried with backoff (interval
 *   doubling per consecutive failure, at most 30 s); after maxErrors consecutive
 *   failures onError(error, null) runs (error.cause is the last failure) and it stops.
 * - One request at a time, chained with setTimeout. Each callback runs at most once
 *   per poll, and an exception thrown by a callback is reported, not swallowed.
 * - fetcher(url, init), when given, is called instead of fetch with the same
 *   arguments (init carries the AbortSignal that stop() uses) and must resolve to
 *   a Response, or an object with its status, ok and json(); anything else
 *   calls onError(TypeError, null) and stops. A fetcher that is not a function
 *   throws a TypeError from watchJob itself.
 *
 * It sets globalThis.watchJob and nothing else, so an ES module may load it for
 * that effect too: static/queueadmin/react.js (useJob) does, `import "./progress.js"`.
 */
(() => {
  "use strict";

  const MAX_DELAY = 30000;
  const RETRIED_4XX = new Set([408, 429]);

  function positive(value, fallback) {
    const number = Number(value);
    return Number.isFinite(number) && number > 0 ? number : fallback;
  }

  function report(error) {
    if (typeof globalThis.reportError === "function") globalThis.reportError(error);
    else setTimeout(() => { throw error; });
  }

  function httpError(response, body) {
    const message = body && body.error && body.error.message;
    const fallback = response.ok ? "without JSON" : "";
    const error = new Error(message || `the status URL answered HTTP ${response.status} ${fallback}`.trim());
    error.httpStatus = response.status;
    return error;
  }

  function watchJob(url, options = {}) {
    const interval = positive(options.interval, 1000);
    const maxErrors = Math.floor(positive(options.maxErrors, 10));
    const fetcher = options.fetcher ?? ((input, init) => fetch(input, init));
    if (typeof fetcher !== "function") {
      throw new TypeError(`watchJob: fetcher must be a function, not ${typeof fetcher}`);
    }
    let stopped = false;
    let timer = null;
    let controller = null;
    let failures = 0;

    function invoke(name, ...args) {
      const callback = options[name];
      if (typeof callback !== "function") return;
      try {
        callback(...args);
      } catch (error) {
        report(error);
      }
    }

    function stop() {
      stopped = true;
      clearTimeout(timer);
      timer = null;
      if (controller) controller.abort();
    }

    // Stop first, so the final callback may not start anything, then call it.
    function end(name, ...args) {
      if (stopped) return;
      stop();
      invoke(name, ...args);
    }

    function schedule(delay) {
      if (!stopped) timer = setTimeout(poll, delay);
    }

    function retry(error) {
      failures += 1;
      if (failures >= maxErrors) {
        const message = `gave up after ${failures} failed polls: ${error.message}`;
        end("onError", new Error(message, { cause: error }), null);
      } else {
        schedule(Math.min(interval * 2 ** failures, Math.max(MAX_DELAY, interval)));
      }
    }

    async function poll() {
      timer = null;
      controller = new AbortController();
      let response;
      let body = null;
      try {
        response = await fetcher(url, {
          credentials: "omit",
          cache: "no-store",
          headers: { Accept: "application/json" },
          signal: controller.signal,
        });
        if (response && typeof response.json === "function") {
          body = await Promise.resolve()
            .then(() => response.json())
            .catch(() => null);
        }
      } catch (error) {
        if (!stopped) retry(error);
        return;
      }
      if (stopped) return;
      if (!response || typeof response.json !== "function" || !Number.isInteger(response.status)) {
        const got = response === null ? "null" : typeof response;
        const what = got === "object" ? "an object without them" : got;
        const message = `the fetcher must resolve to a Response (status, ok, json()), got ${what}`;
        end("onError", new TypeError(message), null);
        return;
      }

      const is4xx = response.status >= 400 && response.status < 500;
      if (response.ok && body && typeof body === "object") {
        failures = 0;
        invoke("onProgress", body);
        if (!body.finished) schedule(interval);
        else if (body.status === "completed") end("onDone", body);
        else end("onError", new Error(body.error || `the job was ${body.status}`), body);
      } else if (is4xx && !RETRIED_4XX.has(response.status)) {
        end("onError", httpError(response, body), null);
      } else {
        retry(httpError(response, body));
      }
    }

    poll();
    return { stop };
  }

  globalThis.watchJob = watchJob;
})();
