import { NextResponse, type NextRequest } from "next/server";
import { SESSION_COOKIE } from "@/lib/api/config";
import { REQUEST_PATH_HEADER, loginPath } from "@/lib/next-path";

/**
 * The address the browser asked for. request.url names the server's own host (localhost in a
 * container) instead; X-Forwarded-Host/-Proto are the Host and scheme the request came with
 * (Next.js fills them in when no proxy in front did).
 */
function browserUrl(request: NextRequest, path: string): URL {
  const first = (name: string) => request.headers.get(name)?.split(",")[0]?.trim();
  const host = first("x-forwarded-host") ?? first("host") ?? request.nextUrl.host;
  const scheme = first("x-forwarded-proto") ?? request.nextUrl.protocol.replace(/:$/, "");
  return new URL(path, `${scheme}://${host}`);
}

/**
 * Every page but /login needs a session: without the cookie, straight to the sign-in page
 * (whether the session is still valid, webapi says: the console's layout asks it).
 */
export function middleware(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  if (!request.cookies.has(SESSION_COOKIE)) {
    return NextResponse.redirect(browserUrl(request, loginPath(pathname + search)));
  }
  const headers = new Headers(request.headers);
  headers.set(REQUEST_PATH_HEADER, pathname + search);
  return NextResponse.next({ request: { headers } });
}

export const config = {
  // Not the proxy (webapi answers 401 itself), the sign-in page, the healthcheck, Next.js' files.
  matcher: ["/((?!api/|login|healthz|_next/static|_next/image|favicon.ico|icon.svg).*)"],
};
