import createClient from "openapi-fetch";
import { ApiError, apiErrorFrom } from "./errors";
import type { paths } from "./schema";

/**
 * The browser's client: same origin, through the console's /api proxy, which carries the
 * HttpOnly session cookie both ways. JSON only: CSV downloads are plain links.
 */
export const api = createClient<paths, "application/json">({
  baseUrl: "",
  credentials: "same-origin",
});

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call; an ApiError otherwise (network failures included). */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", error instanceof Error ? error.message : String(error));
  }
  if (!result.response.ok || result.data === undefined) {
    throw apiErrorFrom(result.response, result.error);
  }
  return result.data;
}
