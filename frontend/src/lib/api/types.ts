import type { components, operations } from "./schema";

export type Schemas = components["schemas"];

export type Account = Schemas["AccountOut"];
export type ErrorCode = Schemas["ErrorCode"];
export type Metric = Schemas["Metric"];
export type Overview = Schemas["OverviewOut"];
export type Performance = Schemas["PerformanceOut"];
export type Activity = Schemas["ActivityOut"];
export type SeriesPoint = Schemas["SeriesPoint"];
export type TopUser = Schemas["TopUser"];
export type DialogRow = Schemas["DialogRow"];
export type DialogUser = Schemas["DialogUser"];
export type Transcript = Schemas["TranscriptOut"];
export type TranscriptMessage = Schemas["TranscriptMessage"];
export type SortKey = Schemas["SortKey"];
export type StatsWindow = Schemas["WindowOut"];

/** The window every stats endpoint takes: `period`, or `from`/`to`, and `tz`. */
export type StatsWindowQuery = Pick<
  NonNullable<operations["stats_overview_overview_get"]["parameters"]["query"]>,
  "period" | "from" | "to" | "tz"
>;

export type StatsDialogsPage = Schemas["DialogsOut"];

export type ManagedAccount = Schemas["ManagedAccountOut"];
