/*
 * The React page of tests/browser/test_react.py: one component follows a status URL
 * with useJob (static/queueadmin/react.js, imported as an application would) under a
 * JobProvider whose fetcher counts requests. index.html loads it as is, "react",
 * "react-dom/client" and "queueadmin/" resolved by its import map; bundled.html loads
 * esbuild's bundle of it (the bundler resolves them). Set by the query string:
 *
 *   status    the status URL to follow (none: the hook follows nothing)
 *   next      the status URL the "Next" button switches to
 *   interval  the provider's pollingInterval (ms); maxErrors likewise
 *   inner     the pollingInterval of a second JobProvider, inside the first
 *   own       the hook's own pollingInterval; with it, the hook's own fetcher too
 *   delay     ms the fetcher waits before each request
 *   strict    "1": render inside <StrictMode>
 *   bad       "1": pass useJob an unknown option (it must throw a TypeError)
 *
 * The provider's fetcher sends the header X-Queueadmin-Test: provider, the hook's own
 * (a new function on each render) X-Queueadmin-Test: hook.
 *
 * For the test to read: window.jobEvents (onComplete/onFailed calls), window.jobHistory
 * (each distinct [status, progress, isLoading, error message] rendered), window.fetches
 * and window.fetchTimes (fetcher calls, and when each began), window.maxInFlight, and
 * window.renderErrors (errors thrown while rendering).
 */
import { StrictMode, createElement as h, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { JobProvider, useJob } from "queueadmin/react.js";

const params = new URLSearchParams(window.location.search);
const number = (name) => (params.has(name) ? Number(params.get(name)) : undefined);

window.jobEvents = [];
window.jobHistory = [];
window.fetches = 0;
window.fetchTimes = [];
window.maxInFlight = 0;
window.renderErrors = [];
let inFlight = 0;

async function fetchAs(who, url, init) {
  inFlight += 1;
  window.fetches += 1;
  window.fetchTimes.push(performance.now());
  window.maxInFlight = Math.max(window.maxInFlight, inFlight);
  try {
    const delay = number("delay");
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    return await fetch(url, { ...init, headers: { ...init.headers, "X-Queueadmin-Test": who } });
  } finally {
    inFlight -= 1;
  }
}

function JobView({ url }) {
  // New callback functions on every render, as components usually write them.
  const options = {
    onComplete: (data) => window.jobEvents.push(["complete", data.status, data.output]),
    onFailed: (error, data) => {
      const httpStatus = error.httpStatus ?? null;
      window.jobEvents.push(["failed", error.message, httpStatus, data && data.status]);
    },
  };
  if (params.has("own")) {
    options.pollingInterval = number("own");
    options.fetcher = (input, init) => fetchAs("hook", input, init);
  }
  if (params.get("bad") === "1") options.interval = 500;
  const { status, progress, data, isLoading, error } = useJob(url, options);

  const message = error ? error.message : null;
  useEffect(() => {
    window.jobHistory.push([status, progress, isLoading, message]);
  }, [status, progress, isLoading, message]);

  return h(
    "section",
    { id: "job", "data-status": status ?? "", "data-loading": String(isLoading) },
    h("progress", { id: "bar", max: 100, value: progress ?? undefined }),
    h("span", { id: "status" }, status ?? "-"),
    h("span", { id: "percent" }, progress == null ? "" : `${progress}%`),
    h("output", { id: "output" }, data && data.output != null ? JSON.stringify(data.output) : ""),
    h("p", { id: "error", role: "alert" }, message ?? ""),
  );
}

const providerFetcher = (input, init) => fetchAs("provider", input, init);

function App() {
  const [shown, setShown] = useState(true);
  const [url, setUrl] = useState(params.get("status"));
  let view = shown ? h(JobView, { url }) : h("p", { id: "unmounted" }, "unmounted");
  if (params.has("inner")) view = h(JobProvider, { pollingInterval: number("inner") }, view);
  return h(
    JobProvider,
    {
      fetcher: providerFetcher,
      pollingInterval: number("interval"),
      maxErrors: number("maxErrors"),
    },
    h("button", { id: "unmount", type: "button", onClick: () => setShown(false) }, "Unmount"),
    h("button", { id: "next", type: "button", onClick: () => setUrl(params.get("next")) }, "Next"),
    view,
  );
}

const root = createRoot(document.getElementById("root"), {
  onUncaughtError(error) {
    window.renderErrors.push(`${error.name}: ${error.message}`);
    document.body.dataset.renderError = error.message;
  },
});
root.render(params.get("strict") === "1" ? h(StrictMode, null, h(App)) : h(App));
