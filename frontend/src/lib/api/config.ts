/** webapi's base URL, read when a request is served (not when the console is built). */
export function apiBaseUrl(): string {
  return (process.env.API_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");
}

export const SESSION_COOKIE = "aidd_session";
