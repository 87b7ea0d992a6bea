/*
 * The browser's IANA time zone, asked in a worker thread. The first Intl call a page makes
 * loads the browser's ICU data, which took a phone's main thread one long task (about 80 ms
 * on a desktop CPU, four times that on a slow phone) right after hydration. ICU's data is
 * shared by the whole page, so a worker that asks first takes that cost off the main thread,
 * and the formatters the dashboard makes later (in the page's language, which the worker warms
 * up too) find it loaded. Without workers (tests, an old browser), or if the worker fails,
 * the main thread asks itself.
 */

const WORKER_SOURCE = `
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
try {
  const locale = self.name || undefined;
  new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(1234.5);
  new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "medium", timeStyle: "short" }).format(0);
} catch {}
postMessage(timeZone);
`;

let asked: Promise<string> | null = null;

function askHere(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function askWorker(): Promise<string> {
  return new Promise((resolve) => {
    if (typeof Worker === "undefined" || typeof Blob === "undefined") {
      resolve(askHere());
      return;
    }
    let url: string | null = null;
    let worker: Worker | null = null;
    const done = (timeZone: unknown) => {
      worker?.terminate();
      if (url) URL.revokeObjectURL(url);
      resolve(typeof timeZone === "string" && timeZone ? timeZone : askHere());
    };
    try {
      url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      worker = new Worker(url, { name: document.documentElement.lang });
      worker.onmessage = (event: MessageEvent<unknown>) => done(event.data);
      worker.onerror = () => done(null);
    } catch {
      done(null);
    }
  });
}

/** The browser's IANA time zone (e.g. "Europe/Moscow"); asked once per page. */
export function browserTimeZone(): Promise<string> {
  asked ??= askWorker();
  return asked;
}
