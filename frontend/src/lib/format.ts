import type { Locale } from "@/i18n/config";

const EM_DASH = "—";

/** An Intl formatter made on first use: the first one a page makes loads the language's data,
 * which costs a phone tens of milliseconds, better spent when there is something to format
 * than while the page hydrates. */
function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

/** Number, percent, duration and date formatting for one language (and time zone). */
export function formatters(locale: Locale, timeZone?: string) {
  const integer = lazy(() => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
  const decimal = lazy(() => new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }));
  const compact = lazy(
    () => new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }),
  );
  const ratio = lazy(
    () => new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }),
  );
  const change = lazy(
    () =>
      new Intl.NumberFormat(locale, {
        style: "percent",
        maximumFractionDigits: 1,
        signDisplay: "exceptZero",
      }),
  );
  const seconds = lazy(
    () =>
      new Intl.NumberFormat(locale, {
        style: "unit",
        unit: "second",
        unitDisplay: "narrow",
        maximumFractionDigits: 2,
      }),
  );
  const milliseconds = lazy(
    () =>
      new Intl.NumberFormat(locale, {
        style: "unit",
        unit: "millisecond",
        unitDisplay: "narrow",
        maximumFractionDigits: 0,
      }),
  );
  const dateTime = lazy(
    () =>
      new Intl.DateTimeFormat(locale, {
        timeZone,
        dateStyle: "medium",
        timeStyle: "short",
      }),
  );
  const date = lazy(
    () => new Intl.DateTimeFormat(locale, { timeZone, day: "numeric", month: "short" }),
  );
  const hour = lazy(
    () =>
      new Intl.DateTimeFormat(locale, {
        timeZone,
        day: "numeric",
        month: "short",
        hour: "2-digit",
        minute: "2-digit",
      }),
  );
  const time = lazy(
    () => new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit" }),
  );

  const orDash =
    <T>(format: (value: T) => string) =>
    (value: T | null | undefined): string =>
      value === null || value === undefined ? EM_DASH : format(value);

  return {
    /** Counts: 3 317. */
    count: orDash((value: number) => integer().format(value)),
    /** Averages: 7.95. */
    decimal: orDash((value: number) => decimal().format(value)),
    /** Big counts, shortened: 3.5M. */
    compact: orDash((value: number) => compact().format(value)),
    /** A 0..1 ratio: 3.7 %. */
    ratio: orDash((value: number) => ratio().format(value)),
    /** A change in percent points: +15.4 %, −2.7 %, 0 %. */
    change: orDash((pct: number) => change().format(pct / 100)),
    /** A duration: 850ms under a second, 2.6s above. */
    duration: orDash((ms: number) =>
      ms < 1000 ? milliseconds().format(ms) : seconds().format(ms / 1000),
    ),
    dateTime: orDash((iso: string) => dateTime().format(new Date(iso))),
    date: orDash((iso: string) => date().format(new Date(iso))),
    hour: orDash((iso: string) => hour().format(new Date(iso))),
    time: orDash((iso: string) => time().format(new Date(iso))),
  };
}

export type Formatters = ReturnType<typeof formatters>;
