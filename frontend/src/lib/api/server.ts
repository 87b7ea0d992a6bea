import "server-only";
import createClient from "openapi-fetch";
import { cookies } from "next/headers";
import { cache } from "react";
import { apiBaseUrl } from "./config";
import type { paths } from "./schema";
import type { Account } from "./types";

export type Session =
  | { status: "signed-in"; account: Account }
  | { status: "signed-out" }
  /** webapi could not be reached, or could not answer. */
  | { status: "unavailable" };

/**
 * The visitor's session as webapi sees it (asked directly, with the visitor's cookies); asked
 * once per request however many layouts and pages want it.
 */
export const getSession = cache(async (): Promise<Session> => {
  // Read before the request: outside the try, so Next.js' own signals are not caught.
  const cookie = (await cookies()).toString();
  const client = createClient<paths, "application/json">({
    baseUrl: apiBaseUrl(),
    headers: { cookie },
    cache: "no-store",
  });
  let result;
  try {
    result = await client.GET("/api/v1/auth/me");
  } catch (error) {
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    console.error(
      `console: webapi unreachable (${reason instanceof Error ? reason.message : reason})`,
    );
    return { status: "unavailable" };
  }
  const { data, response } = result;
  if (response.status === 401) return { status: "signed-out" };
  if (data === undefined) {
    console.error(`console: GET /api/v1/auth/me answered ${response.status}`);
    return { status: "unavailable" };
  }
  return { status: "signed-in", account: data };
});
