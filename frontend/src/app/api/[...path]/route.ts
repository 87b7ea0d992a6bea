import { apiBaseUrl } from "@/lib/api/config";
import { proxyToApi } from "@/lib/server/proxy";

// Every /api/* request goes to webapi, as it is, when it is made: nothing here is cached.
export const dynamic = "force-dynamic";
export const runtime = "nodejs";

function handle(request: Request): Promise<Response> {
  return proxyToApi(request, { upstream: apiBaseUrl() });
}

export {
  handle as DELETE,
  handle as GET,
  handle as HEAD,
  handle as OPTIONS,
  handle as PATCH,
  handle as POST,
  handle as PUT,
};
