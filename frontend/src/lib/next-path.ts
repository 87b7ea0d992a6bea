/** The header through which the middleware tells server components the requested path. */
export const REQUEST_PATH_HEADER = "x-aidd-request-path";

/**
 * Where to go after signing in: a path of this site only (`/...`, never `//host` or
 * `/\host`, which browsers read as another site), else the dashboard.
 */
export function safeNextPath(value: string | string[] | null | undefined): string {
  const path = Array.isArray(value) ? value[0] : value;
  if (!path || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) {
    return "/";
  }
  if (path === "/login" || path.startsWith("/login?") || path.startsWith("/login/")) return "/";
  return path;
}

export function loginPath(next: string): string {
  return next === "/" ? "/login" : `/login?${new URLSearchParams({ next })}`;
}
