// The console's own liveness, for its container's healthcheck: answers without webapi (the
// api's health is its own check), so a webapi outage does not restart the console.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ status: "ok" });
}
