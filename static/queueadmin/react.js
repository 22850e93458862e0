/*
 * queueadmin react.js — follow a job's status URL from a React component.
 *
 * A static ES module, no build step: React comes from the application, imported
 * with the bare specifier "react" (a bundler resolves it, or an import map does),
 * and the polling is progress.js's watchJob, loaded beside this file.
 *
 *   import { useJob, JobProvider } from "/static/queueadmin/react.js";
 *
 *   const { status, progress, data, isLoading, error } = useJob(statusUrl, {
 *     pollingInterval: 1000,          // ms between polls (watchJob's interval)
 *     maxErrors: 10,                  // consecutive failed polls before giving up
 *     fetcher: (url, init) => fetch(url, init),
 *     onComplete(data) {},            // once, when the job completed
 *     onFailed(error, data) {},       // once: failed or cancelled (data), 4xx or gave up (null)
 *   });
 *
 *   <JobProvider fetcher={…} pollingInterval={500}>…</JobProvider>  // defaults for the hooks below
 *
 * - statusUrl null, undefined or "" follows nothing (isLoading false); a new
 *   statusUrl starts over from the empty state.
 * - status, progress: those of the last answer (null before the first one);
 *   data: that whole answer ({status, progress, output, error, updated_at, finished}).
 * - isLoading: true from the start until the first answer or the error that ends it.
 * - error: null, or the Error that ended the polling: the job's own message when it
 *   failed or was cancelled, the JSON error's for a 4xx (error.httpStatus), or
 *   "gave up after N failed polls: …". Retried failures are not shown.
 * - Polling stops when the job is finished, on such an error, when statusUrl or
 *   pollingInterval changes (it restarts) and when the component unmounts; one
 *   request at a time, with watchJob's backoff. New callback or fetcher functions
 *   on each render are fine: the latest ones are used, and polling goes on.
 * - Bad options (an unknown name, a fetcher that is not a function, an interval
 *   that is not a positive number) throw a TypeError while rendering.
 */
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import "./progress.js";

const SHARED = ["fetcher", "pollingInterval", "maxErrors"];
const HOOK_OPTIONS = new Set([...SHARED, "onComplete", "onFailed"]);

const JobContext = createContext({});

function checkOptions(where, options, allowed) {
  for (const name of Object.keys(options)) {
    if (!allowed.has(name)) {
      const known = [...allowed].join(", ");
      throw new TypeError(`${where}: unknown option "${name}" (known: ${known})`);
    }
  }
  const { fetcher, pollingInterval, maxErrors, onComplete, onFailed } = options;
  for (const [name, value] of Object.entries({ fetcher, onComplete, onFailed })) {
    if (value != null && typeof value !== "function") {
      throw new TypeError(`${where}: ${name} must be a function, not ${typeof value}`);
    }
  }
  if (pollingInterval != null && !(Number.isFinite(pollingInterval) && pollingInterval > 0)) {
    const got = String(pollingInterval);
    throw new TypeError(`${where}: pollingInterval must be a positive number of ms, not ${got}`);
  }
  if (maxErrors != null && !(Number.isInteger(maxErrors) && maxErrors > 0)) {
    throw new TypeError(`${where}: maxErrors must be a positive integer, not ${String(maxErrors)}`);
  }
}

function toUrl(statusUrl) {
  if (statusUrl == null || statusUrl === "") return null;
  if (typeof statusUrl === "string") return statusUrl;
  if (statusUrl instanceof URL) return statusUrl.href;
  throw new TypeError(`useJob: statusUrl must be a string or a URL, not ${typeof statusUrl}`);
}

/** Defaults (fetcher, pollingInterval, maxErrors) for every useJob below it; nests. */
export function JobProvider({ children, ...settings }) {
  checkOptions("JobProvider", settings, new Set(SHARED));
  const outer = useContext(JobContext);
  const { fetcher, pollingInterval, maxErrors } = settings;
  const value = useMemo(
    () => ({
      fetcher: fetcher ?? outer.fetcher,
      pollingInterval: pollingInterval ?? outer.pollingInterval,
      maxErrors: maxErrors ?? outer.maxErrors,
    }),
    [outer, fetcher, pollingInterval, maxErrors],
  );
  return createElement(JobContext.Provider, { value }, children);
}

const EMPTY = { data: null, error: null };

/** Follows the job at statusUrl: {status, progress, data, isLoading, error}. */
export function useJob(statusUrl, options = {}) {
  if (options === null || typeof options !== "object") {
    const got = options === null ? "null" : typeof options;
    throw new TypeError(`useJob: options must be an object, not ${got}`);
  }
  checkOptions("useJob", options, HOOK_OPTIONS);
  const url = toUrl(statusUrl);
  const shared = useContext(JobContext);
  const interval = options.pollingInterval ?? shared.pollingInterval;
  const maxErrors = options.maxErrors ?? shared.maxErrors;

  // The latest callbacks and fetcher, read when used: new functions on each
  // render neither restart the polling nor are missed.
  const latest = useRef(null);
  useEffect(() => {
    latest.current = {
      fetcher: options.fetcher ?? shared.fetcher,
      onComplete: options.onComplete,
      onFailed: options.onFailed,
    };
  });

  // The state belongs to one URL; a state of another URL reads as EMPTY.
  const [state, setState] = useState({ url, ...EMPTY });

  useEffect(() => {
    if (url === null) return undefined;
    const watcher = globalThis.watchJob(url, {
      interval,
      maxErrors,
      fetcher: (input, init) => (latest.current.fetcher ?? fetch)(input, init),
      onProgress: (data) => setState({ url, data, error: null }),
      onDone: (data) => latest.current.onComplete?.(data),
      onError: (error, data) => {
        setState((previous) => ({
          url,
          data: data ?? (previous.url === url ? previous.data : null),
          error,
        }));
        latest.current.onFailed?.(error, data);
      },
    });
    return () => watcher.stop();
  }, [url, interval, maxErrors]);

  const { data, error } = state.url === url ? state : EMPTY;
  return {
    status: data ? data.status : null,
    progress: data ? data.progress : null,
    data,
    isLoading: url !== null && data === null && error === null,
    error,
  };
}
